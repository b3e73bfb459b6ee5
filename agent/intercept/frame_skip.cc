#include "intercept/frame_skip.h"

#include <fnmatch.h>

#include <cstring>
#include <utility>

namespace leakwatch::intercept::internal {
namespace {

bool MatchesAny(const std::vector<std::string>& patterns, const char* text) noexcept {
  if (text == nullptr || *text == '\0') return false;
  for (const std::string& pattern : patterns) {
    if (fnmatch(pattern.c_str(), text, 0) == 0) return true;
  }
  return false;
}

}  // namespace

FrameSkipRules::FrameSkipRules(std::vector<std::string> module_patterns,
                               std::vector<std::string> function_patterns)
    : modules_(std::move(module_patterns)), functions_(std::move(function_patterns)) {}

bool FrameSkipRules::Skips(const char* module_path, const char* function) const noexcept {
  if (module_path != nullptr) {
    const char* slash = std::strrchr(module_path, '/');
    if (MatchesAny(modules_, slash != nullptr ? slash + 1 : module_path)) return true;
  }
  return MatchesAny(functions_, function);
}

}  // namespace leakwatch::intercept::internal
