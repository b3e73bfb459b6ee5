#include "quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace leakwatch::config {

std::string Quote(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  if (text.size() <= kMaxShown) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMaxShown)), "...\"");
}

}  // namespace leakwatch::config
