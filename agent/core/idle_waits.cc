#include "core/idle_waits.h"

#include <fnmatch.h>

#include <utility>

#include "core/sites.h"

namespace leakwatch::core {
namespace {

bool MatchesAny(const std::vector<std::string>& patterns, const std::string& text) {
  if (text.empty()) return false;
  for (const std::string& pattern : patterns) {
    if (fnmatch(pattern.c_str(), text.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

IdleWaitRules::IdleWaitRules(std::vector<std::string> site_patterns,
                             std::vector<std::string> thread_patterns)
    : site_patterns_(std::move(site_patterns)),
      thread_patterns_(std::move(thread_patterns)),
      site_class_(new std::atomic<uint8_t>[kSiteCapacity]()) {}

bool IdleWaitRules::LabelIsIdle(std::string_view label) const {
  if (site_patterns_.empty()) return false;
  const std::string text(label);
  if (MatchesAny(site_patterns_, text)) return true;
  // "function+0x1c" is matched as "function" too, so a pattern need not
  // guess the offset (which changes with every build).
  const size_t offset = text.rfind("+0x");
  return offset != std::string::npos && offset > 0 &&
         MatchesAny(site_patterns_, text.substr(0, offset));
}

bool IdleWaitRules::SiteIsIdle(uint32_t site) const noexcept {
  if (site_patterns_.empty() || site >= kSiteCapacity) return false;
  const uint8_t known = site_class_[site].load(std::memory_order_relaxed);
  if (known != 0) return known == 2;
  const SiteInfo* info = GetSite(site);
  if (info == nullptr) return false;
  bool idle = false;
  try {
    idle = site >= kFirstRealSite && LabelIsIdle(info->label);
  } catch (...) {
    return false;  // out of memory: not idle this time, decided again next time
  }
  site_class_[site].store(idle ? 2 : 1, std::memory_order_relaxed);
  return idle;
}

bool IdleWaitRules::ThreadIsIdle(std::string_view name) const {
  return !thread_patterns_.empty() && MatchesAny(thread_patterns_, std::string(name));
}

}  // namespace leakwatch::core
