// trend/statistics.h — the robust trend statistics the leak detector is built on.
//
// Mann–Kendall tells whether a series rises more often than it falls (a z-score,
// tie-corrected, so integer task counts with many equal values are judged
// correctly); Theil–Sen estimates how fast it rises (the median of all pairwise
// slopes, which ignores up to ~29% of outlying points such as bursts).
//
//   std::vector<double> t = {0, 900, 1800, 2700}, x = {10, 12, 11, 15};
//   leakwatch::trend::MannKendall mk = leakwatch::trend::MannKendallTest(x);
//   double per_second = leakwatch::trend::TheilSenSlope(t, x);
//
// Both are O(n^2) in the number of points; the detector calls them on at most a
// few dozen floors. Pure functions: thread-safe, no allocation beyond a
// thread-local scratch buffer that is reused across calls.

#ifndef LEAKWATCH_TREND_STATISTICS_H_
#define LEAKWATCH_TREND_STATISTICS_H_

#include "absl/types/span.h"

namespace leakwatch::trend {

// The Mann–Kendall trend test of a series against "no monotonic trend".
struct MannKendall {
  double s = 0;         // sum over i < j of sign(x[j] - x[i])
  double variance = 0;  // Var(S) under the null hypothesis, corrected for ties
  double z = 0;         // continuity-corrected (S -/+ 1) / sqrt(variance); 0 when
                        // S == 0 or the variance is 0 (all values equal)
};

// Runs the test on `x`, taken in order (equal spacing is not required: the test
// uses ranks only). Fewer than two points yield all zeros.
MannKendall MannKendallTest(absl::Span<const double> x);

// The Theil–Sen slope of `x` over `t`: the median of (x[j]-x[i])/(t[j]-t[i])
// over all pairs i < j with t[j] != t[i] (the mean of the two middle slopes when
// their number is even). Units are those of x per unit of t. Returns 0 when no
// pair has distinct times. `t` and `x` must have the same size.
double TheilSenSlope(absl::Span<const double> t, absl::Span<const double> x);

// Like TheilSenSlope, but over the pairs at most `max_lag` positions apart
// (all pairs when max_lag <= 0). With max_lag a quarter of the series, a single
// jump moves only ~1/7 of the pairs, so a step does not read as growth while a
// steady rise still moves them all.
double TheilSenSlopeMaxLag(absl::Span<const double> t, absl::Span<const double> x, int max_lag);

// The median of `x` (mean of the two middle values for an even size); 0 when
// empty.
double Median(absl::Span<const double> x);

}  // namespace leakwatch::trend

#endif  // LEAKWATCH_TREND_STATISTICS_H_
