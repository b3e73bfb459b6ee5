#include "trend/detector.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "trend/statistics.h"

namespace leakwatch::trend {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// SeriesDetector::Deviation's answer when less than min_history of floors exist.
constexpr double kTooShort = -2;

// The noise of floors `x` as a standard deviation: the median absolute step
// between neighbours, scaled (MAD x 1.4826 / sqrt 2), robust to the trend and
// to a few jumps.
double Jitter(absl::Span<const double> x) {
  if (x.size() < 2) return 0;
  thread_local std::vector<double> steps;
  steps.clear();
  for (size_t i = 1; i < x.size(); ++i) steps.push_back(std::abs(x[i] - x[i - 1]));
  std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
  return 1.4826 * steps[steps.size() / 2] / std::sqrt(2.0);
}

}  // namespace

SeriesDetector::SeriesDetector(const Params& params)
    : params_(params),
      floor_seconds_(Seconds(params.floor_window)),
      window_seconds_(Seconds(params.trend_window)),
      guard_seconds_(Seconds(params.guard_window)),
      min_history_seconds_(Seconds(params.min_history)),
      bin_seconds_(std::max(floor_seconds_, guard_seconds_ / kGuardBins)),
      tracker_(floor_seconds_, params.floor_parts),
      fine_seconds_(Seconds(params.fast_floor_window)),
      fast_span_seconds_(Seconds(params.fast.span)),
      mid_floors_(static_cast<size_t>(std::lround(Seconds(params.mid.span) / floor_seconds_))),
      fine_tracker_(fine_seconds_ > 0 ? fine_seconds_ : floor_seconds_, params.fast_floor_parts) {
  const size_t capacity = static_cast<size_t>(std::ceil(window_seconds_ / floor_seconds_)) + 1;
  times_.reserve(capacity);
  values_.reserve(capacity);
  bins_.reserve(kGuardBins + 2);
  fine_bins_.reserve(kGuardBins + 2);
  if (fast_span_seconds_ > 0) {
    const size_t fine = static_cast<size_t>(std::ceil(fast_span_seconds_ / fine_seconds_)) + 1;
    fine_times_.reserve(fine);
    fine_values_.reserve(fine);
  }
}

void SeriesDetector::Reset() {
  tracker_.Reset();
  times_.clear();
  values_.clear();
  bins_.clear();
  last_growth_ = 0;
  evidence_since_ = -1;
  fast_run_ = 0;
  mid_run_ = 0;
  regime_start_ = -1e300;
  carried_ = -1;
  early_until_ = 0;
  fine_tracker_.Reset();
  fine_times_.clear();
  fine_values_.clear();
  fine_bins_.clear();
  verdict_ = Verdict();
}

Verdict SeriesDetector::Add(double t, double value, double process_start) {
  if (have_t_ && !(t > last_t_)) return verdict_;
  if (!std::isfinite(t) || !std::isfinite(value)) return verdict_;
  have_t_ = true;
  last_t_ = t;
  if (process_start != 0 && std::isfinite(process_start)) {
    if (process_start_ != 0 && process_start != process_start_) {
      // The leaked tasks died with the process; how the series swung before
      // still tells how much it will swing now (see Regime::guard_k).
      // A process that lived less than min_history passes on what its
      // predecessor carried, so a service restarted more often than daily is
      // still judged.
      double deviation = Deviation(std::numeric_limits<double>::infinity());
      if (deviation == kTooShort) deviation = carried_;
      Reset();
      if (deviation >= 0) {
        carried_ = deviation;
        regime_start_ = t;
        early_until_ = t + min_history_seconds_ + window_seconds_;
      }
    }
    process_start_ = process_start;
  }
  if (std::optional<Floor> floor = tracker_.Add(t, value)) {
    AddFloor(*floor);
    Judge(t);
  }
  if (fast_span_seconds_ > 0) {
    if (std::optional<Floor> fine = fine_tracker_.Add(t, value)) AddFineFloor(*fine);
  }
  return verdict_;
}

void SeriesDetector::AddFloor(const Floor& floor) {
  if (times_.empty() && bins_.empty()) series_start_ = floor.start;
  times_.push_back(floor.start);
  values_.push_back(floor.value);
  // Floors that leave the trend window live on as guard-bin maxima.
  size_t evicted = 0;
  while (evicted < times_.size() && times_[evicted] <= floor.start - window_seconds_) {
    AddToBins(bins_, times_[evicted], values_[evicted], floor.start);
    ++evicted;
  }
  if (evicted > 0) {
    times_.erase(times_.begin(), times_.begin() + evicted);
    values_.erase(values_.begin(), values_.begin() + evicted);
  }
}

void SeriesDetector::AddToBins(std::vector<Bin>& bins, double t, double value, double now) const {
  if (guard_seconds_ <= 0) return;
  const int64_t index = static_cast<int64_t>(std::floor(t / bin_seconds_));
  if (!bins.empty() && bins.back().index == index) {
    bins.back().max = std::max(bins.back().max, value);
  } else {
    bins.push_back(Bin{index, value});
  }
  size_t stale = 0;
  while (stale < bins.size() &&
         static_cast<double>(bins[stale].index + 1) * bin_seconds_ <= now - guard_seconds_) {
    ++stale;
  }
  if (stale > 0) bins.erase(bins.begin(), bins.begin() + stale);
}

bool SeriesDetector::IsNewHigh(size_t first, double margin, double drawdown_share) const {
  const size_t n = values_.size();
  // The level now: both of the last two floors must clear the reference.
  const double level = n >= 2 ? std::min(values_[n - 1], values_[n - 2]) : values_[n - 1];
  return IsNewHighAt(times_[first], level, margin, drawdown_share);
}

double SeriesDetector::Deviation(double before) const {
  if (params_.regime.guard_k <= 0 || guard_seconds_ <= 0 || min_history_seconds_ <= 0) return -1;
  thread_local std::vector<double> t, x;
  t.clear();
  x.clear();
  for (const Bin& bin : bins_) {
    t.push_back(static_cast<double>(bin.index) * bin_seconds_);
    x.push_back(bin.max);
  }
  for (size_t i = 0; i < times_.size() && times_[i] < before; ++i) {
    t.push_back(times_[i]);
    x.push_back(values_[i]);
  }
  if (x.size() < 3 || t.back() - series_start_ < min_history_seconds_) return kTooShort;
  // Around a robust line, so that a leak's own growth is not taken for a swing.
  const double slope = TheilSenSlope(t, x);
  const double median = Median(x);
  if (!(median > 0)) return -1;
  for (size_t i = 0; i < x.size(); ++i) x[i] -= slope * (t[i] - t.front());
  const double center = Median(x);
  const double excursion = (*std::max_element(x.begin(), x.end()) - center) / median;
  // A series that swung by as much as a step (a daily cycle) cannot tell a step
  // from the start of its daily rise: no early judgment.
  if (!(excursion < params_.regime.step.shift)) return -1;
  for (double& v : x) v = std::abs(v - center);
  return 1.4826 * Median(x) / median;
}

bool SeriesDetector::IsNewHighAt(double span_start, double level, double margin,
                                 double drawdown_share, bool fine) const {
  if (guard_seconds_ <= 0) return true;
  if (values_.empty()) return false;
  const double newest = times_.back();
  // Early in a new regime, only its own floors are history (the earlier ones
  // sat at another level), with a margin for the swing they have not shown yet.
  const bool early = Early(newest);
  const double from = early ? regime_start_ : newest - guard_seconds_;
  if (early ? span_start - regime_start_ < Seconds(params_.regime.min_history)
            : span_start - series_start_ < min_history_seconds_) {
    return false;
  }
  thread_local std::vector<double> history;
  history.clear();
  for (const Bin& bin : fine ? fine_bins_ : bins_) {
    const double bin_start = static_cast<double>(bin.index) * bin_seconds_;
    if (early ? bin_start >= from : bin_start + bin_seconds_ > from) history.push_back(bin.max);
  }
  // (The fine floors before the fast span are all in fine_bins_.)
  for (size_t i = 0; !fine && i < times_.size() && times_[i] < span_start; ++i) {
    if (early ? times_[i] >= from : times_[i] > from) history.push_back(values_[i]);
  }
  if (history.empty()) return !early;
  if (early) margin += params_.regime.guard_k * carried_ * Median(history);
  if (drawdown_share > 0) {
    double peak = history.front(), drawdown = 0;
    for (double v : history) {
      peak = std::max(peak, v);
      drawdown = std::max(drawdown, peak - v);
    }
    margin = std::max(margin, drawdown_share * drawdown);
  }
  const size_t rank = std::min<size_t>(history.size(), std::max(1, params_.guard_rank));
  double reference;
  if (rank == 1) {
    reference = *std::max_element(history.begin(), history.end());
  } else {
    std::nth_element(history.begin(), history.begin() + (rank - 1), history.end(),
                     std::greater<double>());
    reference = history[rank - 1];
  }
  return margin > 0 ? level >= reference + margin : level > reference;
}

size_t SeriesDetector::LargestShift(absl::Span<const double> x) const {
  // The split that best explains x as two levels: the largest
  // |mean(after) - mean(before)| * sqrt(before * after / n).
  const size_t n = x.size();
  double total = 0;
  for (double v : x) total += v;
  double before_sum = 0, best = -1;
  size_t split = 0;
  for (size_t k = 1; k < n; ++k) {
    before_sum += x[k - 1];
    const double before = static_cast<double>(k), after = static_cast<double>(n - k);
    const double shift = std::abs((total - before_sum) / after - before_sum / before) *
                         std::sqrt(before * after / static_cast<double>(n));
    if (shift > best) {
      best = shift;
      split = k;
    }
  }
  return split;
}

bool SeriesDetector::StillRising(absl::Span<const double> x) const {
  if (params_.recent_z <= 0) return true;
  const size_t recent = std::max<size_t>(4, x.size() / 3);
  return MannKendallTest(x.subspan(x.size() - std::min(recent, x.size()))).z >= params_.recent_z;
}

bool SeriesDetector::ShortScaleEvidence(absl::Span<const double> t, absl::Span<const double> x,
                                        double floor_seconds, const ShortScale& scale, bool fine,
                                        Verdict& verdict) const {
  if (x.size() < 6 || values_.size() < static_cast<size_t>(params_.min_floors)) return false;
  const MannKendall mk = MannKendallTest(x);
  if (mk.z < scale.z) return false;
  const double duration = t.back() - t.front() + floor_seconds;
  double bar = std::max(params_.min_growth, scale.growth_ratio * level_);
  if (params_.shape.noise_k > 0) {
    // ... and a few times the floors' own noise, so that a small, noisy series
    // needs a rise well above its jitter.
    bar = std::max(bar, params_.shape.noise_k * Jitter(x));
  }
  const double growth = TheilSenSlope(t, x) * duration;
  if (growth < bar) return false;
  // A step under way (the regime rule's rise within the last regime_floors
  // floor windows, seen on this scale's floors, which may not yet show in the
  // coarser ones): left to the regime rule.
  if (StepUnderWay(x, floor_seconds)) return false;
  if (!LeakShaped(t, x, floor_seconds, growth, bar, duration)) return false;
  // The level now is the mean of the floors of the latest floor_window.
  double sum = 0;
  int count = 0;
  for (size_t i = x.size(); i-- > 0 && t[i] > t.back() + floor_seconds - floor_seconds_ - 1;) {
    sum += x[i];
    ++count;
  }
  if (!IsNewHighAt(t.front(), sum / count, scale.guard.margin * bar, scale.guard.drawdown, fine)) {
    return false;
  }
  verdict = Verdict{true, growth / duration * 3600, mk.z};
  return true;
}

bool SeriesDetector::StepUnderWay(absl::Span<const double> x, double floor_seconds) const {
  if (params_.regime.step.shift <= 0) return false;
  const size_t gap =
      static_cast<size_t>(std::lround(params_.regime.step.floors * floor_seconds_ / floor_seconds));
  if (gap < 1 || x.size() <= gap) return false;
  const double before = x[x.size() - 1 - gap];
  const double rise = x.back() - before;
  return rise >= std::max(params_.regime.min_rise, params_.regime.step.shift * before) &&
         rise >= params_.regime.step.noise_k * Jitter(x);
}

bool SeriesDetector::LeakShaped(absl::Span<const double> t, absl::Span<const double> x,
                                double floor_seconds, double growth, double bar,
                                double duration) const {
  // Spread: no third of the scale sits below the one before it (the medians of
  // their floors) ...
  const size_t third = x.size() / 3;
  double previous = Median(x.subspan(0, third));
  for (size_t k = 1; k < 3; ++k) {
    const double m = Median(x.subspan(k * third, k == 2 ? x.size() - 2 * third : third));
    if (m < previous) return false;
    previous = m;
  }
  // ... the recent half keeps the rate ...
  if (params_.shape.half_share > 0) {
    const size_t half = x.size() / 2;
    const double recent = TheilSenSlope(t.subspan(half), x.subspan(half)) * duration;
    if (recent < params_.shape.half_share * growth) return false;
  }
  // ... and no single jump carries the rise.
  if (params_.shape.jump_share < 1) {
    const size_t gap = std::max<size_t>(
        1, static_cast<size_t>(
               std::lround(absl::ToDoubleSeconds(params_.shape.jump_window) / floor_seconds)));
    double jump = 0;
    for (size_t i = gap; i < x.size(); ++i) jump = std::max(jump, x[i] - x[i - gap]);
    if (jump > params_.shape.jump_share * growth) return false;
    if (params_.shape.jump_bar_share > 0 && jump > params_.shape.jump_bar_share * bar) return false;
  }
  return true;
}

void SeriesDetector::AddFineFloor(const Floor& floor) {
  fine_times_.push_back(floor.start);
  fine_values_.push_back(floor.value);
  // Fine floors that leave the fast span are the fast scale's guard history.
  size_t evicted = 0;
  while (evicted < fine_times_.size() &&
         fine_times_[evicted] <= floor.start - fast_span_seconds_ + fine_seconds_ / 2) {
    AddToBins(fine_bins_, fine_times_[evicted], fine_values_[evicted], floor.start);
    ++evicted;
  }
  if (evicted > 0) {
    fine_times_.erase(fine_times_.begin(), fine_times_.begin() + evicted);
    fine_values_.erase(fine_values_.begin(), fine_values_.begin() + evicted);
  }
  Verdict fast;
  const double now = floor.start + fine_seconds_;
  const bool early = Early(now);
  if (!verdict_.suspected &&
      (early ? fine_times_.front() >= regime_start_
             : now - regime_start_ >= Seconds(params_.regime.history)) &&
      fine_times_.front() <= floor.start - fast_span_seconds_ + 1.5 * fine_seconds_ &&
      ShortScaleEvidence(fine_times_, fine_values_, fine_seconds_, params_.fast, /*fine=*/true,
                         fast)) {
    if (++fast_run_ >= params_.fast.confirm) {
      last_growth_ = now;
      if (!verdict_.suspected) verdict_ = fast;
    }
  } else {
    fast_run_ = 0;
  }
}

void SeriesDetector::UpdateRegime(double now) {
  const size_t n = values_.size();
  // A step up starts a new regime: a rise of regime_shift of the level within
  // an hour, or of regime_abrupt_shift within half an hour, that is also well
  // above the floors' own jitter, however small the count. rose(): a rise of
  // `shift` of the level over the latest `gap` floors that is also `noise_k` x
  // the floors' jitter (a sort of the window's steps, computed only for a rise
  // that clears the cheap bars).
  auto rose = [&](size_t gap, double shift, double noise_k) {
    if (shift <= 0 || n <= gap) return false;
    const double before = values_[n - 1 - gap];
    const double jump = values_[n - 1] - before;
    return jump >= std::max(params_.regime.min_rise, shift * before) &&
           jump >= noise_k * Jitter(values_);
  };
  if (params_.regime.step.shift <= 0) return;
  size_t gap = static_cast<size_t>(params_.regime.step.floors);
  bool step = rose(gap, params_.regime.step.shift, params_.regime.step.noise_k);
  // The deviation before the step (a step still under way, or a restart's
  // warm-up, keeps the one carried already).
  double deviation = -1;
  bool have_deviation = false;
  if (!step && rose(static_cast<size_t>(params_.regime.abrupt.floors), params_.regime.abrupt.shift,
                    params_.regime.abrupt.noise_k)) {
    // A smaller but abrupt rise is a step only in a series that did not
    // swing before (the start of a daily rise is not one).
    gap = static_cast<size_t>(params_.regime.abrupt.floors);
    if (Early(now)) {
      step = true;
    } else {
      deviation = Deviation(times_[n - 1 - gap]);
      have_deviation = true;
      step = deviation >= 0;
    }
  }
  if (step) {
    if (!Early(now)) {
      carried_ = have_deviation ? deviation : Deviation(times_[n - 1 - gap]);
      early_until_ = now + Seconds(params_.regime.history);
    }
    regime_start_ = now;
  }
}

bool SeriesDetector::SpanGrowth(absl::Span<const double> t, absl::Span<const double> x,
                                size_t first, double threshold, double& growth) const {
  const size_t len = x.size();
  const double duration = t.back() - t.front() + floor_seconds_;
  // Growth is measured after the largest level shift of the span, so a step
  // followed by a plateau shows none while a ramp keeps its slope.
  size_t split = params_.post_shift_z > 0 ? LargestShift(x) : 0;
  split += static_cast<size_t>(params_.post_trim * static_cast<double>(len - split));
  const size_t post = len - split;
  if (post < static_cast<size_t>(params_.min_post_floors)) return false;
  const int max_lag =
      params_.max_lag_fraction > 0
          ? std::max(1, static_cast<int>(std::lround(params_.max_lag_fraction * post)))
          : 0;
  growth = TheilSenSlopeMaxLag(t.subspan(split), x.subspan(split), max_lag) * duration;
  // The rise after the shift, over the time it has actually lasted (a step
  // followed by a slow drift extrapolates to a full window of growth).
  const double post_seconds = t.back() - t[split] + floor_seconds_;
  return growth >= threshold &&
         growth * post_seconds / duration >= params_.post_growth_share * threshold &&
         StillRising(x) &&
         (params_.post_shift_z <= 0 ||
          MannKendallTest(x.subspan(split)).z >= params_.post_shift_z) &&
         IsNewHigh(first, params_.guard.margin * threshold, params_.guard.drawdown);
}

SeriesDetector::LongScale SeriesDetector::LongScaleEvidence(bool early, bool new_regime,
                                                            double threshold) const {
  const size_t n = values_.size();
  LongScale long_scale;
  for (int span = 0; span < params_.spans; ++span) {
    const size_t len = n >> span;
    if (span > 0 && len < static_cast<size_t>(params_.min_span_floors)) break;
    const size_t first = n - len;
    const absl::Span<const double> t = absl::MakeConstSpan(times_).subspan(first);
    const absl::Span<const double> x = absl::MakeConstSpan(values_).subspan(first);
    const MannKendall mk = MannKendallTest(x);
    const double duration = t.back() - t.front() + floor_seconds_;
    double growth = 0;
    const bool evidence = !new_regime && (!early || t.front() >= regime_start_) &&
                          mk.z >= params_.z_threshold && SpanGrowth(t, x, first, threshold, growth);
    if (evidence && (!long_scale.fired || mk.z > long_scale.best.z)) {
      long_scale.best = Verdict{true, growth / duration * 3600, mk.z};
    }
    if (span == 0) {
      const double slope = TheilSenSlope(t, x);
      long_scale.full_z = mk.z;
      long_scale.full_slope = slope;
      long_scale.full_growth = slope * duration;
    }
    long_scale.fired = long_scale.fired || evidence;
  }
  return long_scale;
}

bool SeriesDetector::HeldForConfirmTime(double now) {
  const size_t n = values_.size();
  const double confirm = absl::ToDoubleSeconds(params_.confirm_time);
  // Evidence of a slow leak flickers; a run survives gaps up to a third of the
  // trend window.
  if (evidence_since_ < 0 || now - last_evidence_ > std::max(confirm, window_seconds_ / 3)) {
    evidence_since_ = now;
    // The highest floor of the last confirm_time: a plateau after a step
    // stays below it, a leak climbs past it.
    high_at_since_ = values_[n - 1];
    for (size_t i = n; i-- > 0 && times_[i] > times_[n - 1] - confirm;) {
      high_at_since_ = std::max(high_at_since_, values_[i]);
    }
  }
  last_evidence_ = now;
  const double level = std::min(values_[n - 1], values_[n - 2]);
  return now - evidence_since_ >= confirm && level > high_at_since_;
}

void SeriesDetector::Judge(double now) {
  const size_t n = values_.size();
  UpdateRegime(now);
  const bool early = Early(now);
  // Without an early judgment, nothing is judged for regime_history after a step.
  const bool new_regime = !early && now - regime_start_ < Seconds(params_.regime.history);
  if (n < static_cast<size_t>(params_.min_floors)) {
    evidence_since_ = -1;
    verdict_ = Verdict();
    return;
  }
  const double level = Median(values_);
  level_ = level;
  const double threshold = std::max(params_.min_growth, params_.min_growth_ratio * level);
  const LongScale long_scale = LongScaleEvidence(early, new_regime, threshold);

  // The mid scale.
  Verdict mid;
  const size_t mid_floors = mid_floors_;
  // (Once suspected, the hysteresis below keeps the verdict; the short scales
  // are not needed until it clears.)
  const bool mid_evidence = !new_regime && !verdict_.suspected && mid_floors >= 6 &&
                            n >= mid_floors &&
                            (!early || times_[n - mid_floors] >= regime_start_) &&
                            ShortScaleEvidence(absl::MakeConstSpan(times_).subspan(n - mid_floors),
                                               absl::MakeConstSpan(values_).subspan(n - mid_floors),
                                               floor_seconds_, params_.mid, /*fine=*/false, mid);
  mid_run_ = mid_evidence ? mid_run_ + 1 : 0;
  if (mid_evidence && mid_run_ >= params_.mid.confirm) {
    last_growth_ = now;
    verdict_ = long_scale.fired ? long_scale.best : mid;
    return;
  }

  const bool confirmed =
      long_scale.fired && (verdict_.suspected || params_.confirm_time <= absl::ZeroDuration() ||
                           HeldForConfirmTime(now));
  if (confirmed) {
    last_growth_ = now;
    verdict_ = long_scale.best;
    return;
  }
  // Hysteresis: a suspected leak stays suspected while the whole window still
  // grows, and for a trend window after it last did.
  const Verdict full{false, long_scale.full_slope * 3600, long_scale.full_z};
  if (verdict_.suspected) {
    if (long_scale.full_z >= params_.clear_z && long_scale.full_growth >= 0.5 * threshold) {
      last_growth_ = now;
    }
    if (now - last_growth_ < window_seconds_) {
      verdict_ = Verdict{true, full.growth_per_hour, full.z};
      return;
    }
  }
  verdict_ = full;
}

}  // namespace leakwatch::trend
