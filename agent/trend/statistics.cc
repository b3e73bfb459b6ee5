#include "trend/statistics.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace leakwatch::trend {
namespace {

// Reused across calls so that a detector tick does not allocate once warm.
std::vector<double>& Scratch() {
  thread_local std::vector<double> scratch;
  return scratch;
}

// Median of `v`, reordering it.
double MedianInPlace(std::vector<double>& v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + mid);
  return (lower + upper) / 2;
}

}  // namespace

MannKendall MannKendallTest(absl::Span<const double> x) {
  MannKendall result;
  const size_t n = x.size();
  if (n < 2) return result;

  long long s = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double xi = x[i];
    for (size_t j = i + 1; j < n; ++j) {
      s += (x[j] > xi) - (x[j] < xi);
    }
  }

  // Tie correction: each group of t equal values removes t(t-1)(2t+5) from
  // n(n-1)(2n+5).
  std::vector<double>& sorted = Scratch();
  sorted.assign(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  double ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && sorted[j] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i);
    ties += t * (t - 1) * (2 * t + 5);
    i = j;
  }
  const double dn = static_cast<double>(n);
  result.s = static_cast<double>(s);
  result.variance = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18.0;
  if (result.variance > 0 && s != 0) {
    const double corrected = s > 0 ? result.s - 1 : result.s + 1;
    result.z = corrected / std::sqrt(result.variance);
  }
  return result;
}

double TheilSenSlope(absl::Span<const double> t, absl::Span<const double> x) {
  return TheilSenSlopeMaxLag(t, x, 0);
}

double TheilSenSlopeMaxLag(absl::Span<const double> t, absl::Span<const double> x, int max_lag) {
  const size_t n = std::min(t.size(), x.size());
  const size_t lag = max_lag <= 0 ? n : static_cast<size_t>(max_lag);
  std::vector<double>& slopes = Scratch();
  slopes.clear();
  for (size_t i = 0; i + 1 < n; ++i) {
    const size_t last = std::min(n, i + lag + 1);
    for (size_t j = i + 1; j < last; ++j) {
      const double dt = t[j] - t[i];
      if (dt != 0) slopes.push_back((x[j] - x[i]) / dt);
    }
  }
  return MedianInPlace(slopes);
}

double Median(absl::Span<const double> x) {
  std::vector<double>& values = Scratch();
  values.assign(x.begin(), x.end());
  return MedianInPlace(values);
}

}  // namespace leakwatch::trend
