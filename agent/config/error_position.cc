#include "error_position.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace leakwatch::config {

Position PositionOf(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

absl::Status ErrorAt(absl::string_view key, Position position, absl::string_view message) {
  std::string text;
  if (!key.empty()) absl::StrAppend(&text, key, ": ");
  if (position.line > 0) {
    absl::StrAppend(&text, "line ", position.line, ", column ", position.column, ": ");
  }
  absl::StrAppend(&text, message);
  return absl::InvalidArgumentError(text);
}

}  // namespace leakwatch::config
