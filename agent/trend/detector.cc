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

// The short scales and the regime rule keep the production defaults'
// proportions to the windows (7.5 m fine floors under 15 m floors, a 135 m fast
// span, a 16-floor mid scale, steps judged over an hour and a 12 h regime in a
// 6 h window).
void ScaleShortWindows(Params& p) {
  const double floors = Seconds(p.trend_window) / Seconds(p.floor_window);
  p.fast_floor_window = p.floor_window / 2;
  p.fast_span = p.trend_window * 0.375;
  p.jump_window = p.floor_window * 2;
  p.mid_floors = static_cast<int>(std::lround(floors * 16 / 24));
  p.regime_floors = std::max(1, static_cast<int>(std::lround(floors * 4 / 24)));
  p.regime_abrupt_floors = std::max(1, static_cast<int>(std::lround(floors * 2 / 24)));
  p.regime_history = p.trend_window * 2;
  p.regime_min_history = p.trend_window / 3;
}

}  // namespace

Params ProductionPreset() { return Params(); }

Params FastPreset() {
  // The demo's detector keys (config/demo.yaml): minute-scale windows.
  Config::Detector demo;
  demo.floor_window = absl::Seconds(10);
  demo.trend_window = absl::Minutes(3);
  demo.min_floors = 6;
  demo.z_threshold = 2.33;
  demo.min_growth = 3;
  demo.min_growth_ratio = 0.05;
  return ParamsFromConfig(demo);
}

Params ParamsFromConfig(const Config::Detector& config) {
  Params p;
  p.floor_window = config.floor_window;
  p.trend_window = config.trend_window;
  p.min_floors = config.min_floors;
  p.z_threshold = config.z_threshold;
  p.min_growth = config.min_growth;
  p.min_growth_ratio = config.min_growth_ratio;
  // Hour-scale windows watch services with daily cycles: a rise is judged only
  // against a full day of history. Minute-scale (demo) windows are not.
  // Nor is a minute-scale window's steep rise taken for a deploy step: a demo
  // leak grows by its whole level every few floors.
  // And without a day of history to have seen a burst before, a minute-scale
  // window keeps floors that hide bursts: the lowest of three slice means.
  if (config.trend_window < absl::Hours(1)) {
    p.min_history = absl::ZeroDuration();
    p.regime_shift = 0;
    p.floor_parts = 3;
    p.fast_floor_parts = 3;
  }
  p.confirm_time = config.trend_window / 12;
  ScaleShortWindows(p);
  return p;
}

absl::Status ValidateParams(const Params& p) {
  if (p.floor_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("floor_window must be positive");
  }
  if (p.trend_window < 2 * p.floor_window) {
    return absl::InvalidArgumentError("trend_window must be at least two floor_windows");
  }
  const double floors = Seconds(p.trend_window) / Seconds(p.floor_window);
  if (floors > 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "trend_window / floor_window is %.0f floors; at most 4096 are supported", floors));
  }
  if (p.min_floors < 2 || p.min_floors > static_cast<int>(floors)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "min_floors must be between 2 and trend_window / floor_window (%.0f)", floors));
  }
  if (!(p.z_threshold > 0)) return absl::InvalidArgumentError("z_threshold must be positive");
  if (!(p.min_growth >= 0)) return absl::InvalidArgumentError("min_growth must be >= 0");
  if (!(p.min_growth_ratio >= 0)) {
    return absl::InvalidArgumentError("min_growth_ratio must be >= 0");
  }
  if (p.guard_window < absl::ZeroDuration() || p.min_history < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("guard_window and min_history must be >= 0");
  }
  if (p.guard_window > absl::ZeroDuration() && p.min_history > p.guard_window) {
    return absl::InvalidArgumentError("min_history must not exceed guard_window");
  }
  if (!(p.guard_margin >= 0 && p.fast_guard_margin >= 0 && p.mid_guard_margin >= 0)) {
    return absl::InvalidArgumentError(
        "guard_margin, fast_guard_margin and mid_guard_margin must be >= 0");
  }
  if (!(p.fast_guard_drawdown >= 0 && p.mid_guard_drawdown >= 0)) {
    return absl::InvalidArgumentError("fast_guard_drawdown and mid_guard_drawdown must be >= 0");
  }
  if (p.spans < 1 || p.spans > 3) return absl::InvalidArgumentError("spans must be 1, 2 or 3");
  if (p.min_span_floors < 3) return absl::InvalidArgumentError("min_span_floors must be >= 3");
  if (p.min_post_floors < 3) return absl::InvalidArgumentError("min_post_floors must be >= 3");
  if (!(p.post_trim >= 0 && p.post_trim < 1)) {
    return absl::InvalidArgumentError("post_trim must be in [0, 1)");
  }
  if (!(p.max_lag_fraction >= 0 && p.max_lag_fraction <= 1)) {
    return absl::InvalidArgumentError("max_lag_fraction must be in [0, 1]");
  }
  if (!(p.guard_drawdown >= 0)) return absl::InvalidArgumentError("guard_drawdown must be >= 0");
  if (p.guard_rank < 1) return absl::InvalidArgumentError("guard_rank must be >= 1");
  if (p.mid_floors < 0 || p.mid_floors > static_cast<int>(floors)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mid_floors must be between 0 and trend_window / floor_window (%.0f)", floors));
  }
  if (p.fast_span < absl::ZeroDuration() || p.fast_span > p.trend_window) {
    return absl::InvalidArgumentError("fast_span must be between 0 and trend_window");
  }
  if (p.fast_span > absl::ZeroDuration() &&
      (p.fast_floor_window <= absl::ZeroDuration() || p.fast_floor_window > p.floor_window ||
       p.fast_span / p.fast_floor_window > 1024)) {
    return absl::InvalidArgumentError(
        "fast_floor_window must be positive, at most floor_window, and at least fast_span / "
        "1024");
  }
  if (p.jump_window < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("jump_window must be >= 0");
  }
  if (p.fast_confirm < 1 || p.mid_confirm < 1) {
    return absl::InvalidArgumentError("fast_confirm and mid_confirm must be >= 1");
  }
  if (!(p.half_share >= 0 && p.jump_share > 0)) {
    return absl::InvalidArgumentError("half_share must be >= 0, jump_share positive");
  }
  if (p.floor_parts < 0 || p.floor_parts > 64 || p.fast_floor_parts < 0 ||
      p.fast_floor_parts > 64) {
    return absl::InvalidArgumentError("floor_parts and fast_floor_parts must be between 0 and 64");
  }
  if (!(p.regime_noise_k >= 0 && p.regime_min >= 0)) {
    return absl::InvalidArgumentError("regime_noise_k and regime_min must be >= 0");
  }
  if (p.regime_floors < 1 || p.regime_floors > static_cast<int>(floors)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "regime_floors must be between 1 and trend_window / floor_window (%.0f)", floors));
  }
  if (!(p.regime_abrupt_shift >= 0 && p.regime_abrupt_noise_k >= 0)) {
    return absl::InvalidArgumentError("regime_abrupt_shift and regime_abrupt_noise_k must be >= 0");
  }
  if (p.regime_abrupt_floors < 1 || p.regime_abrupt_floors > static_cast<int>(floors)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "regime_abrupt_floors must be between 1 and trend_window / floor_window (%.0f)", floors));
  }
  if (!(p.regime_guard_k >= 0)) return absl::InvalidArgumentError("regime_guard_k must be >= 0");
  if (p.regime_min_history < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("regime_min_history must be >= 0");
  }
  if (!(p.post_growth_share >= 0)) {
    return absl::InvalidArgumentError("post_growth_share must be >= 0");
  }
  if (p.confirm_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("confirm_time must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status SetParam(Params& p, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", assignment, "\" is not name=value"));
  }
  const std::string name = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  auto duration = [&](absl::Duration& field) -> absl::Status {
    if (!absl::ParseDuration(text, &field)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": \"", text, "\" is not a duration (use 10s, 15m, 6h)"));
    }
    return absl::OkStatus();
  };
  auto number = [&](double& field) -> absl::Status {
    if (!absl::SimpleAtod(text, &field)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": \"", text, "\" is not a number"));
    }
    return absl::OkStatus();
  };
  auto integer = [&](int& field) -> absl::Status {
    if (!absl::SimpleAtoi(text, &field)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": \"", text, "\" is not an integer"));
    }
    return absl::OkStatus();
  };
  if (name == "floor_window") return duration(p.floor_window);
  if (name == "trend_window") return duration(p.trend_window);
  if (name == "min_floors") return integer(p.min_floors);
  if (name == "z_threshold") return number(p.z_threshold);
  if (name == "min_growth") return number(p.min_growth);
  if (name == "min_growth_ratio") return number(p.min_growth_ratio);
  if (name == "guard_window") return duration(p.guard_window);
  if (name == "min_history") return duration(p.min_history);
  if (name == "guard_margin") return number(p.guard_margin);
  if (name == "guard_drawdown") return number(p.guard_drawdown);
  if (name == "spans") return integer(p.spans);
  if (name == "min_span_floors") return integer(p.min_span_floors);
  if (name == "post_shift_z") return number(p.post_shift_z);
  if (name == "recent_z") return number(p.recent_z);
  if (name == "min_post_floors") return integer(p.min_post_floors);
  if (name == "post_trim") return number(p.post_trim);
  if (name == "max_lag_fraction") return number(p.max_lag_fraction);
  if (name == "clear_z") return number(p.clear_z);
  if (name == "guard_rank") return integer(p.guard_rank);
  if (name == "confirm_time") return duration(p.confirm_time);
  if (name == "fast_floor_window") return duration(p.fast_floor_window);
  if (name == "fast_span") return duration(p.fast_span);
  if (name == "mid_confirm") return integer(p.mid_confirm);
  if (name == "jump_window") return duration(p.jump_window);
  if (name == "jump_bar_share") return number(p.jump_bar_share);
  if (name == "regime_shift") return number(p.regime_shift);
  if (name == "noise_k") return number(p.noise_k);
  if (name == "regime_history") return duration(p.regime_history);
  if (name == "fast_z") return number(p.fast_z);
  if (name == "fast_ratio") return number(p.fast_ratio);
  if (name == "mid_floors") return integer(p.mid_floors);
  if (name == "mid_z") return number(p.mid_z);
  if (name == "mid_ratio") return number(p.mid_ratio);
  if (name == "jump_share") return number(p.jump_share);
  if (name == "half_share") return number(p.half_share);
  if (name == "post_growth_share") return number(p.post_growth_share);
  if (name == "fast_confirm") return integer(p.fast_confirm);
  if (name == "fast_guard_margin") return number(p.fast_guard_margin);
  if (name == "mid_guard_margin") return number(p.mid_guard_margin);
  if (name == "fast_guard_drawdown") return number(p.fast_guard_drawdown);
  if (name == "mid_guard_drawdown") return number(p.mid_guard_drawdown);
  if (name == "floor_parts") return integer(p.floor_parts);
  if (name == "fast_floor_parts") return integer(p.fast_floor_parts);
  if (name == "regime_noise_k") return number(p.regime_noise_k);
  if (name == "regime_min") return number(p.regime_min);
  if (name == "regime_floors") return integer(p.regime_floors);
  if (name == "regime_abrupt_shift") return number(p.regime_abrupt_shift);
  if (name == "regime_abrupt_floors") return integer(p.regime_abrupt_floors);
  if (name == "regime_abrupt_noise_k") return number(p.regime_abrupt_noise_k);
  if (name == "regime_guard_k") return number(p.regime_guard_k);
  if (name == "regime_min_history") return duration(p.regime_min_history);
  return absl::InvalidArgumentError(absl::StrCat("unknown detector parameter \"", name, "\""));
}

std::string FormatParams(const Params& p) {
  return absl::StrCat(
      "floor_window=", absl::FormatDuration(p.floor_window), "\n",
      "trend_window=", absl::FormatDuration(p.trend_window), "\n", "min_floors=", p.min_floors,
      "\n", "z_threshold=", p.z_threshold, "\n", "min_growth=", p.min_growth, "\n",
      "min_growth_ratio=", p.min_growth_ratio, "\n",
      "guard_window=", absl::FormatDuration(p.guard_window), "\n",
      "min_history=", absl::FormatDuration(p.min_history), "\n", "guard_margin=", p.guard_margin,
      "\n", "guard_drawdown=", p.guard_drawdown, "\n", "spans=", p.spans, "\n",
      "min_span_floors=", p.min_span_floors, "\n", "post_shift_z=", p.post_shift_z, "\n",
      "recent_z=", p.recent_z, "\n", "min_post_floors=", p.min_post_floors, "\n",
      "post_trim=", p.post_trim, "\n", "max_lag_fraction=", p.max_lag_fraction, "\n",
      "clear_z=", p.clear_z, "\n", "guard_rank=", p.guard_rank, "\n",
      "confirm_time=", absl::FormatDuration(p.confirm_time), "\n",
      "fast_floor_window=", absl::FormatDuration(p.fast_floor_window), "\n",
      "fast_span=", absl::FormatDuration(p.fast_span), "\n", "mid_confirm=", p.mid_confirm, "\n",
      "jump_window=", absl::FormatDuration(p.jump_window), "\n",
      "jump_bar_share=", p.jump_bar_share, "\n", "regime_shift=", p.regime_shift, "\n",
      "noise_k=", p.noise_k, "\n", "regime_history=", absl::FormatDuration(p.regime_history), "\n",
      "fast_z=", p.fast_z, "\n", "fast_ratio=", p.fast_ratio, "\n", "mid_floors=", p.mid_floors,
      "\n", "mid_z=", p.mid_z, "\n", "mid_ratio=", p.mid_ratio, "\n", "jump_share=", p.jump_share,
      "\n", "half_share=", p.half_share, "\n", "post_growth_share=", p.post_growth_share, "\n",
      "fast_confirm=", p.fast_confirm, "\n", "fast_guard_margin=", p.fast_guard_margin, "\n",
      "mid_guard_margin=", p.mid_guard_margin, "\n", "fast_guard_drawdown=", p.fast_guard_drawdown,
      "\n", "mid_guard_drawdown=", p.mid_guard_drawdown, "\n", "floor_parts=", p.floor_parts, "\n",
      "fast_floor_parts=", p.fast_floor_parts, "\n", "regime_noise_k=", p.regime_noise_k, "\n",
      "regime_min=", p.regime_min, "\n", "regime_floors=", p.regime_floors, "\n",
      "regime_abrupt_shift=", p.regime_abrupt_shift, "\n",
      "regime_abrupt_floors=", p.regime_abrupt_floors, "\n",
      "regime_abrupt_noise_k=", p.regime_abrupt_noise_k, "\n", "regime_guard_k=", p.regime_guard_k,
      "\n", "regime_min_history=", absl::FormatDuration(p.regime_min_history), "\n");
}

SeriesDetector::SeriesDetector(const Params& params)
    : params_(params),
      floor_seconds_(Seconds(params.floor_window)),
      window_seconds_(Seconds(params.trend_window)),
      guard_seconds_(Seconds(params.guard_window)),
      min_history_seconds_(Seconds(params.min_history)),
      bin_seconds_(std::max(floor_seconds_, guard_seconds_ / kGuardBins)),
      tracker_(floor_seconds_, params.floor_parts),
      fine_seconds_(Seconds(params.fast_floor_window)),
      fast_span_seconds_(Seconds(params.fast_span)),
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
      // still tells how much it will swing now (see Params::regime_guard_k).
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
  if (params_.regime_guard_k <= 0 || guard_seconds_ <= 0 || min_history_seconds_ <= 0) return -1;
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
  if (!(excursion < params_.regime_shift)) return -1;
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
  if (early ? span_start - regime_start_ < Seconds(params_.regime_min_history)
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
  if (early) margin += params_.regime_guard_k * carried_ * Median(history);
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
                                        double floor_seconds, double z_min, double ratio, bool fine,
                                        Verdict& verdict) const {
  if (x.size() < 6 || values_.size() < static_cast<size_t>(params_.min_floors)) return false;
  const MannKendall mk = MannKendallTest(x);
  if (mk.z < z_min) return false;
  const double duration = t.back() - t.front() + floor_seconds;
  double bar = std::max(params_.min_growth, ratio * level_);
  if (params_.noise_k > 0) {
    // ... and a few times the floors' own noise, so that a small, noisy series
    // needs a rise well above its jitter.
    bar = std::max(bar, params_.noise_k * Jitter(x));
  }
  const double growth = TheilSenSlope(t, x) * duration;
  if (growth < bar) return false;
  // A step under way (the regime rule's rise within the last regime_floors
  // floor windows, seen on this scale's floors, which may not yet show in the
  // coarser ones): left to the regime rule.
  if (params_.regime_shift > 0) {
    const size_t gap =
        static_cast<size_t>(std::lround(params_.regime_floors * floor_seconds_ / floor_seconds));
    if (gap >= 1 && x.size() > gap) {
      const double before = x[x.size() - 1 - gap];
      const double rise = x.back() - before;
      if (rise >= std::max(params_.regime_min, params_.regime_shift * before) &&
          rise >= params_.regime_noise_k * Jitter(x)) {
        return false;
      }
    }
  }
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
  if (params_.half_share > 0) {
    const size_t half = x.size() / 2;
    const double recent = TheilSenSlope(t.subspan(half), x.subspan(half)) * duration;
    if (recent < params_.half_share * growth) return false;
  }
  // ... and no single jump carries the rise.
  if (params_.jump_share < 1) {
    const size_t gap = std::max<size_t>(
        1, static_cast<size_t>(
               std::lround(absl::ToDoubleSeconds(params_.jump_window) / floor_seconds)));
    double jump = 0;
    for (size_t i = gap; i < x.size(); ++i) jump = std::max(jump, x[i] - x[i - gap]);
    if (jump > params_.jump_share * growth) return false;
    if (params_.jump_bar_share > 0 && jump > params_.jump_bar_share * bar) return false;
  }
  // The level now is the mean of the floors of the latest floor_window.
  double sum = 0;
  int count = 0;
  for (size_t i = x.size(); i-- > 0 && t[i] > t.back() + floor_seconds - floor_seconds_ - 1;) {
    sum += x[i];
    ++count;
  }
  const double margin = fine ? params_.fast_guard_margin : params_.mid_guard_margin;
  const double drawdown = fine ? params_.fast_guard_drawdown : params_.mid_guard_drawdown;
  if (!IsNewHighAt(t.front(), sum / count, margin * bar, drawdown, fine)) {
    return false;
  }
  verdict = Verdict{true, growth / duration * 3600, mk.z};
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
             : now - regime_start_ >= Seconds(params_.regime_history)) &&
      fine_times_.front() <= floor.start - fast_span_seconds_ + 1.5 * fine_seconds_ &&
      ShortScaleEvidence(fine_times_, fine_values_, fine_seconds_, params_.fast_z,
                         params_.fast_ratio, /*fine=*/true, fast)) {
    if (++fast_run_ >= params_.fast_confirm) {
      last_growth_ = now;
      if (!verdict_.suspected) verdict_ = fast;
    }
  } else {
    fast_run_ = 0;
  }
}

void SeriesDetector::Judge(double now) {
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
    return jump >= std::max(params_.regime_min, shift * before) &&
           jump >= noise_k * Jitter(values_);
  };
  if (params_.regime_shift > 0) {
    size_t gap = static_cast<size_t>(params_.regime_floors);
    bool step = rose(gap, params_.regime_shift, params_.regime_noise_k);
    // The deviation before the step (a step still under way, or a restart's
    // warm-up, keeps the one carried already).
    double deviation = -1;
    bool have_deviation = false;
    if (!step && rose(static_cast<size_t>(params_.regime_abrupt_floors),
                      params_.regime_abrupt_shift, params_.regime_abrupt_noise_k)) {
      // A smaller but abrupt rise is a step only in a series that did not
      // swing before (the start of a daily rise is not one).
      gap = static_cast<size_t>(params_.regime_abrupt_floors);
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
        early_until_ = now + Seconds(params_.regime_history);
      }
      regime_start_ = now;
    }
  }
  const bool early = Early(now);
  // Without an early judgment, nothing is judged for regime_history after a step.
  const bool new_regime = !early && now - regime_start_ < Seconds(params_.regime_history);
  if (n < static_cast<size_t>(params_.min_floors)) {
    evidence_since_ = -1;
    verdict_ = Verdict();
    return;
  }
  const double level = Median(values_);
  level_ = level;
  const double threshold = std::max(params_.min_growth, params_.min_growth_ratio * level);

  bool fired = false;
  Verdict best;
  double full_z = 0, full_growth = 0, full_slope = 0;
  for (int span = 0; span < params_.spans; ++span) {
    const size_t len = n >> span;
    if (span > 0 && len < static_cast<size_t>(params_.min_span_floors)) break;
    const size_t first = n - len;
    const absl::Span<const double> t = absl::MakeConstSpan(times_).subspan(first);
    const absl::Span<const double> x = absl::MakeConstSpan(values_).subspan(first);
    const MannKendall mk = MannKendallTest(x);
    double slope = 0;
    if (span == 0) slope = TheilSenSlope(t, x);
    const double duration = t.back() - t.front() + floor_seconds_;
    bool evidence =
        !new_regime && (!early || t.front() >= regime_start_) && mk.z >= params_.z_threshold;
    if (evidence) {
      // Growth is measured after the largest level shift of the span, so a step
      // followed by a plateau shows none while a ramp keeps its slope.
      size_t split = params_.post_shift_z > 0 ? LargestShift(x) : 0;
      split += static_cast<size_t>(params_.post_trim * static_cast<double>(len - split));
      const size_t post = len - split;
      evidence = evidence && post >= static_cast<size_t>(params_.min_post_floors);
      if (evidence) {
        const int max_lag =
            params_.max_lag_fraction > 0
                ? std::max(1, static_cast<int>(std::lround(params_.max_lag_fraction * post)))
                : 0;
        const double growth =
            TheilSenSlopeMaxLag(t.subspan(split), x.subspan(split), max_lag) * duration;
        // The rise after the shift, over the time it has actually lasted (a
        // step followed by a slow drift extrapolates to a full window of growth).
        const double post_seconds = t.back() - t[split] + floor_seconds_;
        evidence = growth >= threshold &&
                   growth * post_seconds / duration >= params_.post_growth_share * threshold &&
                   StillRising(x) &&
                   (params_.post_shift_z <= 0 ||
                    MannKendallTest(x.subspan(split)).z >= params_.post_shift_z) &&
                   IsNewHigh(first, params_.guard_margin * threshold, params_.guard_drawdown);
        if (evidence && (!fired || mk.z > best.z)) {
          best = Verdict{true, growth / duration * 3600, mk.z};
        }
      }
    }
    if (span == 0) {
      full_z = mk.z;
      full_slope = slope;
      full_growth = slope * duration;
    }
    fired = fired || evidence;
  }

  // The mid scale.
  Verdict mid;
  const size_t mid_floors = static_cast<size_t>(params_.mid_floors);
  // (Once suspected, the hysteresis below keeps the verdict; the short scales
  // are not needed until it clears.)
  const bool mid_evidence =
      !new_regime && !verdict_.suspected && mid_floors >= 6 && n >= mid_floors &&
      (!early || times_[n - mid_floors] >= regime_start_) &&
      ShortScaleEvidence(absl::MakeConstSpan(times_).subspan(n - mid_floors),
                         absl::MakeConstSpan(values_).subspan(n - mid_floors), floor_seconds_,
                         params_.mid_z, params_.mid_ratio, /*fine=*/false, mid);
  mid_run_ = mid_evidence ? mid_run_ + 1 : 0;
  if (mid_evidence && mid_run_ >= params_.mid_confirm) {
    last_growth_ = now;
    verdict_ = fired ? best : mid;
    return;
  }

  bool confirmed = fired;
  if (fired && !verdict_.suspected && params_.confirm_time > absl::ZeroDuration()) {
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
    confirmed = now - evidence_since_ >= confirm && level > high_at_since_;
  }
  if (confirmed) {
    last_growth_ = now;
    verdict_ = best;
    return;
  }
  if (verdict_.suspected) {
    if (full_z >= params_.clear_z && full_growth >= 0.5 * threshold) last_growth_ = now;
    if (now - last_growth_ < window_seconds_) {
      verdict_ = Verdict{true, full_slope * 3600, full_z};
      return;
    }
  }
  verdict_ = Verdict{false, full_slope * 3600, full_z};
}

}  // namespace leakwatch::trend
