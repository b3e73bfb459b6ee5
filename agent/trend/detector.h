// trend/detector.h — the growth-trend leak detector for one series.
//
// agent/trend owns the detector: its parameters (trend/params.h), floors
// (trend/floors.h), the rank statistics (trend/statistics.h) and the per-series
// judgment here. It is pure computation over std and absl only: it may include
// nothing of leakwatch but its own headers (no config, Prometheus, threads or
// I/O), so the config layer, the exporter, leakwatch-trend and the judge can
// all build on it; the mapping from `detector.*` config keys to Params lives
// above it, in config/detector_params.h.
//
// The agent's sampler keeps one SeriesDetector per judged series (long-lived
// tasks per kind, stuck tasks per site) and feeds it every tick:
//
//   leakwatch::trend::SeriesDetector detector(
//       leakwatch::config::ParamsFromConfig(config.detector));
//   leakwatch::trend::Verdict v = detector.Add(t_seconds, stuck, process_start);
//   if (v.suspected) ...  // v.growth_per_hour, v.z
//
// How it judges. Each step is there because the scenario benchmark in
// tests/trend (leakwatch-trend --eval) showed false alarms or misses without it:
//  1. Floors. Only one value of each `floor_window` bucket is kept, its
//     "floor" (trend/floors.h): the bucket's mean. Bursts and periodic drains
//     do show in means; the new-high guard (4) keeps them from counting, as
//     they only return to heights the last day has seen. The lowest of three
//     slice means, which hides them in the floors themselves, lagged a rise
//     and carried the Poisson noise of short slices: with it, a 2 %/h leak
//     took 6.4 h instead of 6.1 h, a leak on 20-200 tasks 19 h instead of
//     16.5 h, and healthy series alarmed no less often. Minute-scale windows
//     (the demo), judged without a day of history, keep the minima.
//  2. Trend. Over the last `trend_window` of floors, and over its recent half
//     (and quarter) when those hold at least `min_span_floors` floors, a
//     tie-corrected Mann–Kendall z must reach `z_threshold`. At least
//     `min_floors` floors are needed.
//  3. Growth. The Theil–Sen slope of the span's later part (after the first
//     post_trim of it, or after its largest level shift when post_shift_z > 0,
//     a test the regime rule below has made unnecessary by default) must reach
//     max(min_growth, min_growth_ratio x the median floor) across the span, the
//     most recent third must still rise (recent_z), and the rise over the time
//     it has lasted (not extrapolated to the span) must reach post_growth_share
//     of that bar.
//  4. New high. The latest floors must exceed every floor of the preceding
//     `guard_window` (26 h) by max(guard_margin x the growth threshold,
//     guard_drawdown x the largest fall seen in that history). Daily cycles,
//     load-following waiters and periodic drains rise steeply too, but only back
//     to where they have been; tasks that never finish push the floor to new
//     heights. Nothing is judged before `min_history` (a day, so that a daily
//     peak has been seen) of floors precedes the span.
//  5. Short scales (multi-scale). A fast leak should not wait for a window of
//     coarse floors: the latest `fast_span` (135 m) of fine floors (the means
//     of each `fast_floor_window`, 7.5 m, judged as each completes) and the
//     latest `mid_span` (4 h, 16 floors) of floors are judged on their own, with their
//     own z and growth bars (the bar also at least noise_k x the floors' own
//     jitter), the new-high guard (the level the mean of the scale's floors in
//     the latest floor_window; the fast scale's history made of fine floors,
//     so that means are compared with means), and a shape test: the rise must
//     be spread over the scale (no third below the one before, the recent half
//     keeps the rate) and no single jump_window (30 m) may carry most of it;
//     nor may the scale show a step under way (the regime rule of 6 on its own
//     floors: the fine floors show a deploy's rise before the coarse ones do).
//     One fine floor, or three consecutive floors of the mid scale, of such
//     evidence suspect at once (with two of the mid scale, hours of upward
//     wander on flat series alarmed on about 1 in 2,000 healthy series).
//  6. New regime. A rise of max(regime_shift (20 %) x the level, 4 x the
//     floors' jitter, 3 tasks) between floors an hour apart is a step (a deploy,
//     a resized pool), not a leak; so is, in a series that did not swing
//     before, a rise of 12 % (and 5 x the jitter) within half an hour, which a
//     leak does not do either; for regime_history (12 h) after it nothing
//     is judged against the old history, because that
//     history has not yet seen the new level's own drift (without this rule,
//     a step followed by hours of upward wander was the last false alarm).
//     Unless the series swung by a step's size before (a daily cycle), it is
//     judged early instead, on the new regime's own floors: once
//     regime_min_history (2 h) of them precede a span, with the new-high margin
//     raised by regime_guard_k (2) x the robust deviation the floors showed
//     before the step, so the wander the new regime has not shown yet is
//     allowed for.
//  7. Confirmation. The evidence must still hold `confirm_time` after it first
//     appeared, with the level above every floor of the confirm_time before that
//     moment: a step plateaus, a leak keeps climbing.
//  8. Restarts. A new process start time clears the series (the leaked tasks
//     died with the process). The new process starts a new regime: judged
//     early as in 6 when the old one had a day of floors and no daily swing,
//     else after min_history (a service restarted daily would otherwise never
//     be judged).
//  9. Hysteresis. A verdict clears only after a full `trend_window` in which
//     the window showed no growth.
//
// Memory per series is bounded: the floors of one trend window, the fine floors
// of one fast_span, and one maximum of floors and one of fine floors per guard
// bin (at most kGuardBins + 1 each), about 3 KB with the defaults. A judgment costs O(n^2) in the
// floors of the window (24 by default) or of the fast span (18 fine floors); the other ticks fold a
// sample into the open floors in O(1). Nothing here does I/O, locks, or starts
// threads; a SeriesDetector is a plain value, not thread-safe.

#ifndef LEAKWATCH_TREND_DETECTOR_H_
#define LEAKWATCH_TREND_DETECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "trend/floors.h"
#include "trend/params.h"

namespace leakwatch::trend {

struct Verdict {
  bool suspected = false;
  double growth_per_hour = 0;  // robust (Theil–Sen) growth of the judged span
  double z = 0;                // Mann–Kendall z of the judged span
};

class SeriesDetector {
 public:
  // `params` should satisfy ValidateParams.
  explicit SeriesDetector(const Params& params);

  // Adds a sample: `t` and `process_start` in seconds since the epoch (a
  // `process_start` of 0 means unknown and never restarts the series). Returns
  // the verdict after this sample; it changes only when a floor completes or the
  // process restarts. Samples not later than the previous one are ignored.
  Verdict Add(double t, double value, double process_start);

  const Verdict& verdict() const { return verdict_; }

 private:
  struct Bin {
    int64_t index;
    double max;
  };

  // The long scale's evidence: every span of the trend window (the whole,
  // then halves while at least min_span_floors long).
  struct LongScale {
    bool fired = false;  // some span shows growth
    Verdict best;        // of the spans that fired, the one with the highest z
    double full_z = 0, full_growth = 0, full_slope = 0;  // the whole window's trend
  };

  void Reset();
  void AddFloor(const Floor& floor);
  // Judges the floors so far as of `now`: regime, long scale, mid scale,
  // confirmation and hysteresis, into verdict_.
  void Judge(double now);
  // Starts a new regime at `now` on a step up of the level (see Regime).
  void UpdateRegime(double now);
  LongScale LongScaleEvidence(bool early, bool new_regime, double threshold) const;
  // Whether the span of floors `x` at times `t` (floor `first` on) grew by at
  // least `threshold` after its largest level shift, still rises and stands at
  // a new high; `growth` is that growth over the span.
  bool SpanGrowth(absl::Span<const double> t, absl::Span<const double> x, size_t first,
                  double threshold, double& growth) const;
  // Long-scale evidence at `now` that has lasted confirm_time, with the level
  // above the highest floor of the confirm_time before it began.
  bool HeldForConfirmTime(double now);
  // The new-high guard for the span starting at floor `first`: true when at
  // least min_history of floors precede the span and the latest two floors
  // exceed the guard_rank-th highest floor before the span (within
  // guard_window) by max(margin, guard_drawdown x that history's drawdown).
  bool IsNewHigh(size_t first, double margin, double drawdown_share) const;
  // The same test for a span that starts at `span_start` and stands at `level`
  // now: the history is every guard bin and every floor before span_start.
  // With `fine`, the history is the fine floors that left the fast span.
  bool IsNewHighAt(double span_start, double level, double margin, double drawdown_share,
                   bool fine = false) const;
  // True while a new regime is judged early (see Regime::guard_k).
  bool Early(double now) const { return carried_ >= 0 && now < early_until_; }
  // The relative deviation of the floors so far (see Regime::guard_k),
  // counting those before `before` only; -2 when less than min_history of them
  // exist, -1 when they swung by regime_shift (or early judgment is off).
  double Deviation(double before) const;
  // The index in `x` where the largest shift in mean level begins.
  size_t LargestShift(absl::Span<const double> x) const;
  // True when the last third of `x` rises with z >= recent_z.
  bool StillRising(absl::Span<const double> x) const;
  // Short-scale evidence over the floors `x` starting at times `t`, each
  // `floor_seconds` long (see ShortScale); `fine` for the fast scale.
  bool ShortScaleEvidence(absl::Span<const double> t, absl::Span<const double> x,
                          double floor_seconds, const ShortScale& scale, bool fine,
                          Verdict& verdict) const;
  // True when the regime rule's step is under way in the last regime floors of
  // `x` (floors of floor_seconds): a step that is the regime rule's to judge.
  bool StepUnderWay(absl::Span<const double> x, double floor_seconds) const;
  // True when the rise of `x` (growth over its duration, against the growth
  // bar) has a leak's shape: every third above the one before, the recent
  // half keeping the rate, no single jump carrying it.
  bool LeakShaped(absl::Span<const double> t, absl::Span<const double> x, double floor_seconds,
                  double growth, double bar, double duration) const;
  // Folds a value at time `t` into the maximum of its guard bin and drops the
  // bins that ended before `now` - guard_window.
  void AddToBins(std::vector<Bin>& bins, double t, double value, double now) const;
  void AddFineFloor(const Floor& floor);

  Params params_;
  double floor_seconds_;
  double window_seconds_;
  double guard_seconds_;
  double min_history_seconds_;
  double bin_seconds_;

  FloorTracker tracker_;
  std::vector<double> times_;   // floor start times in the trend window, oldest first
  std::vector<double> values_;  // the floors themselves
  std::vector<Bin> bins_;       // max of floors that left the window, oldest first
  double series_start_ = 0;     // first floor since the last reset
  double last_t_ = 0;
  bool have_t_ = false;
  double process_start_ = 0;
  double last_growth_ = 0;        // time growth was last seen while suspected
  double evidence_since_ = -1;    // start of the current run of evidence, -1 = none
  double last_evidence_ = 0;      // latest floor with evidence
  double high_at_since_ = 0;      // highest floor when the run started
  int fast_run_ = 0;              // consecutive fine floors with fast evidence
  int mid_run_ = 0;               // consecutive floors with mid-scale evidence
  double regime_start_ = -1e300;  // time of the latest abrupt step up
  double carried_ = -1;           // deviation carried into the new regime, -1 = none
  double early_until_ = 0;        // early judgment of the new regime ends then
  double level_ = 0;              // median floor of the window at the last judgment
  double fine_seconds_;
  double fast_span_seconds_;
  size_t mid_floors_;  // the mid scale's span in floors
  FloorTracker fine_tracker_;
  std::vector<double> fine_times_;  // fine floors within fast_span, oldest first
  std::vector<double> fine_values_;
  std::vector<Bin> fine_bins_;  // max of fine floors that left the fast span
  Verdict verdict_;
};

// The number of guard bins kept per series (memory bound).
inline constexpr int kGuardBins = 64;

}  // namespace leakwatch::trend

#endif  // LEAKWATCH_TREND_DETECTOR_H_
