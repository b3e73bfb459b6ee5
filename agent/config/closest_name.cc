#include "closest_name.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

namespace leakwatch::config {
namespace {

// Keys are short; anything longer is not a misspelling of one.
constexpr size_t kMaxCompared = 64;

std::string Normalize(absl::string_view name) {
  std::string result = absl::AsciiStrToLower(name);
  std::replace(result.begin(), result.end(), '-', '_');
  return result;
}

// Optimal string alignment distance (Levenshtein plus swaps of neighbours).
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<absl::string_view> ClosestName(absl::string_view name,
                                             const std::vector<absl::string_view>& known) {
  if (name.size() > kMaxCompared) return std::nullopt;
  const std::string normalized = Normalize(name);
  std::optional<absl::string_view> best;
  size_t best_distance = 0;
  for (absl::string_view candidate : known) {
    const size_t distance = EditDistance(normalized, candidate);
    if (distance > std::max<size_t>(1, candidate.size() / 3)) continue;
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace leakwatch::config
