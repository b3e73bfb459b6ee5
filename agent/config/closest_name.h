// "Did you mean ...?" for misspelled config keys.
//
// Thread-safety: a pure function, safe from any thread.

#ifndef LEAKWATCH_CONFIG_CLOSEST_NAME_H_
#define LEAKWATCH_CONFIG_CLOSEST_NAME_H_

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"

namespace leakwatch::config {

// Returns the name in `known` that `name` most likely misspells: the same name
// up to case and '-' for '_', or within an edit distance (insertions,
// deletions, substitutions, swaps of neighbours) of a third of its length.
// Returns nullopt when nothing is close.
std::optional<absl::string_view> ClosestName(absl::string_view name,
                                             const std::vector<absl::string_view>& known);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_CLOSEST_NAME_H_
