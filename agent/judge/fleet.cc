#include "judge/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "trend/detector.h"
#include "trend/statistics.h"

namespace leakwatch::judge {
namespace {

// The detector that judges the stitched series: the in-process production
// rules (a day of history, the 26 h new-high guard, multi-scale evidence). The
// only place that touches trend::Params.
// `min_growth` raises the growth bar of every scale above the stitched
// series' random walk.
trend::Params StitchedSeriesParams(double min_growth) {
  trend::Params p = trend::ProductionPreset();
  p.min_growth = std::max(p.min_growth, min_growth);
  return p;
}

// The trend window of the production preset, over which the random walk is
// measured.
constexpr double kWalkWindow = 6 * 3600;

// One grid point of one lifetime.
struct Point {
  int64_t k;    // grid index from the start of the judged range
  double mean;  // mean of the lifetime's samples in that grid step
};

// One increment of one lifetime: the change from its previous grid point.
struct Increment {
  int64_t k;        // grid index of the later point
  double age;       // process age at the later point, seconds
  double delta;     // value change
  double dt;        // seconds between the two points
  int lifetime;     // index of the lifetime in canonical order
  bool young_seen;  // the lifetime started inside the judged range
  bool reference;   // of a lifetime that started before now - reference_seconds
};

bool Finite(double x) { return std::isfinite(x); }

// The warm-up age: see fleet.h, step 3. `level` is the group's median value.
double ChooseWarmup(const std::vector<Increment>& increments, double level, const FleetParams& p) {
  const double bin = p.warmup_bin_seconds;
  // The profile of the reference lifetimes (those that started before
  // now - reference_seconds) when they cover warmup_min_bins age bins, else of
  // all: a deploy that ships a leak makes its young lifetimes rise while the
  // older ones stayed flat, which the profile of all lifetimes took for a
  // warm-up (W rose to 6-12 h within hours of the deploy and the leak's
  // increments were dropped).
  double reference_seconds = 0;
  for (const Increment& inc : increments) {
    if (inc.reference && inc.young_seen && inc.age >= p.min_warmup_seconds) {
      reference_seconds += inc.dt;
    }
  }
  const bool reference_only = reference_seconds >= p.warmup_min_bins * bin;
  // Age bins up to 2 x max_warmup; older ages share one last bin, which
  // counts in the rates beyond W but not in the profile's line.
  const int64_t bins = static_cast<int64_t>(std::ceil(2 * p.max_warmup_seconds / bin)) + 1;
  std::vector<double> sum(bins, 0), seconds(bins, 0);
  for (const Increment& inc : increments) {
    if (!inc.young_seen || (reference_only && !inc.reference)) continue;
    const int64_t j = std::min<int64_t>(bins - 1, static_cast<int64_t>(inc.age / bin));
    if (j < 0) continue;
    sum[j] += inc.delta;
    seconds[j] += inc.dt;
  }
  // The line of the profile: the median rate of the well-covered bins (at
  // least a quarter of the best-covered bin's data: one old lifetime's wander
  // is not the profile) in the later half of the well-covered ages. A leak
  // rises at that rate at every age; a warm-up faster at first.
  const double support =
      std::max(bin, 0.25 * *std::max_element(seconds.begin(), seconds.end() - 1));
  int64_t last = -1, covered = 0;
  for (int64_t j = 0; j + 1 < bins; ++j) {
    if (seconds[j] >= support) {
      last = j;
      ++covered;
    }
  }
  // Too little seen of young ages to tell a warm-up: only old ages count.
  if (covered < p.warmup_min_bins) return p.max_warmup_seconds;
  std::vector<double> late;
  for (int64_t j = last / 2; j <= last; ++j) {
    if (seconds[j] >= support) late.push_back(sum[j] / seconds[j]);
  }
  const double slope = trend::Median(late);
  // How far the mean rate beyond W strays from the line by noise alone: the
  // robust spread of the late bins' rates, for the hour-long bins the load's
  // wander (correlated over an hour) makes of them. With lifetimes that
  // restart together, age is time and the profile is the load's wander.
  std::vector<double> deviations;
  for (double r : late) deviations.push_back(std::abs(r - slope));
  const double bin_noise = 1.4826 * trend::Median(deviations);
  // The smallest W after which the increments rise no faster than that line
  // by more than warmup_tolerance x the level per hour: whatever a warm-up
  // still adds after W reaches the stitched series once per lifetime, so a
  // tolerance per lifetime would grow with the restart rate.
  const double tolerance = p.warmup_tolerance * std::max(level, 1.0) / 3600;
  double tail_sum = 0, tail_seconds = 0;
  int64_t tail_bins = 0;
  std::vector<double> excess(bins, 0);
  for (int64_t j = bins - 1; j >= 0; --j) {
    tail_sum += sum[j];
    tail_seconds += seconds[j];
    if (seconds[j] >= support) ++tail_bins;
    const double hours = std::max(1.0, static_cast<double>(tail_bins) * bin / 3600);
    const double noise = p.warmup_noise_z * bin_noise * std::sqrt(bin / 3600 / hours);
    excess[j] = tail_seconds > 0 ? tail_sum / tail_seconds - slope - noise : 0;
  }
  for (int64_t j = 0; j < bins; ++j) {
    const double w = static_cast<double>(j) * bin;
    if (w < p.min_warmup_seconds) continue;
    if (w > p.max_warmup_seconds) break;
    if (excess[j] <= tolerance) {
      // A warm-up seen is skipped with a margin: the mean over lifetimes whose
      // warm-ups differ still rises at W.
      return w <= p.min_warmup_seconds ? w : std::min(p.max_warmup_seconds, w * p.warmup_margin);
    }
  }
  return p.max_warmup_seconds;
}

}  // namespace

absl::Status ValidateFleetParams(const FleetParams& p) {
  auto positive = [](const char* name, double v) -> absl::Status {
    if (!Finite(v) || v <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("FleetParams.", name, " must be positive and finite, got ", v));
    }
    return absl::OkStatus();
  };
  for (const auto& [name, v] :
       {std::pair<const char*, double>{"lookback_seconds", p.lookback_seconds},
        {"step_seconds", p.step_seconds},
        {"smooth_seconds", p.smooth_seconds},
        {"max_gap_seconds", p.max_gap_seconds},
        {"warmup_bin_seconds", p.warmup_bin_seconds},
        {"warmup_tolerance", p.warmup_tolerance},
        {"warmup_margin", p.warmup_margin},
        {"reference_seconds", p.reference_seconds},
        {"walk_z", p.walk_z},
        {"warmup_noise_z", p.warmup_noise_z}}) {
    if (absl::Status s = positive(name, v); !s.ok()) return s;
  }
  if (!Finite(p.min_warmup_seconds) || p.min_warmup_seconds < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "FleetParams.min_warmup_seconds must be finite and >= 0, got ", p.min_warmup_seconds));
  }
  if (!Finite(p.max_warmup_seconds) || p.max_warmup_seconds < p.min_warmup_seconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("FleetParams.max_warmup_seconds (", p.max_warmup_seconds,
                     ") must be finite and >= min_warmup_seconds (", p.min_warmup_seconds, ")"));
  }
  if (p.max_gap_seconds < p.step_seconds) {
    return absl::InvalidArgumentError(absl::StrCat("FleetParams.max_gap_seconds (",
                                                   p.max_gap_seconds, ") must be >= step_seconds (",
                                                   p.step_seconds, ")"));
  }
  if (p.lookback_seconds / p.step_seconds > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat("FleetParams.lookback_seconds / step_seconds must be at most 1e6, got ",
                     p.lookback_seconds / p.step_seconds));
  }
  if (p.warmup_min_bins < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("FleetParams.warmup_min_bins must be at least 3, got ", p.warmup_min_bins));
  }
  return absl::OkStatus();
}

StitchedSeries StitchGroup(const GroupHistory& history, double now, const FleetParams& p) {
  StitchedSeries verdict;
  const bool judgeable = Finite(now) && ValidateFleetParams(p).ok();
  const double from = now - p.lookback_seconds;
  // Grid indices are absolute (floor(t / step)) relative to the first one in
  // range, so that grid points do not move with `now`.
  const int64_t k0 = judgeable ? static_cast<int64_t>(std::floor(from / p.step_seconds)) : 0;
  const int64_t grid =
      judgeable ? static_cast<int64_t>(std::floor(now / p.step_seconds)) - k0 + 1 : 0;

  std::unordered_set<std::string_view> instances;
  std::vector<Increment> increments;
  std::vector<std::vector<Point>> points(history.lifetimes.size());
  std::vector<double> starts(history.lifetimes.size(), 0);
  // A canonical order, so that sums (and verdicts) do not depend on the order
  // the reader delivered the lifetimes in.
  std::vector<size_t> order(history.lifetimes.size());
  for (size_t l = 0; l < order.size(); ++l) order[l] = l;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Lifetime& x = history.lifetimes[a];
    const Lifetime& y = history.lifetimes[b];
    const double tx = x.t.empty() ? 0 : x.t.front(), ty = y.t.empty() ? 0 : y.t.front();
    if (x.instance != y.instance) return x.instance < y.instance;
    if (x.process_start != y.process_start) return x.process_start < y.process_start;
    return tx < ty;
  });
  for (size_t l = 0; l < history.lifetimes.size(); ++l) {
    const Lifetime& life = history.lifetimes[order[l]];
    const size_t n = std::min(life.t.size(), life.value.size());
    if (!judgeable) {  // counts only: lifetimes with a sample up to `now`
      for (size_t i = 0; i < n; ++i) {
        if (Finite(life.t[i]) && Finite(life.value[i]) && !(life.t[i] > now)) {
          instances.insert(life.instance);
          ++verdict.lifetimes;
          break;
        }
      }
      continue;
    }
    std::vector<Point>& pts = points[l];
    double sum = 0;
    int count = 0;
    int64_t open = -1;
    double first_t = 0;
    for (size_t i = 0; i < n; ++i) {
      const double t = life.t[i], x = life.value[i];
      if (!Finite(t) || !Finite(x) || t > now || !(t > from)) continue;
      const int64_t k = static_cast<int64_t>(std::floor(t / p.step_seconds)) - k0;
      if (k < open) continue;  // out of order: dropped
      if (open < 0) first_t = t;
      if (k != open && count > 0) {
        pts.push_back({open, sum / count});
        sum = 0;
        count = 0;
      }
      open = k;
      sum += x;
      ++count;
    }
    if (count > 0) pts.push_back({open, sum / count});
    if (pts.empty()) continue;
    instances.insert(life.instance);
    ++verdict.lifetimes;
    // Age from the process start when it is known and consistent, else from
    // the first sample seen.
    const double start = life.process_start > 0 && life.process_start <= first_t + p.step_seconds
                             ? life.process_start
                             : first_t;
    starts[l] = start;
    // Increments of the trailing smooth_seconds mean (see fleet.h, step 2),
    // within segments that no gap breaks.
    const int64_t window =
        std::max<int64_t>(1, static_cast<int64_t>(std::llround(p.smooth_seconds / p.step_seconds)));
    size_t segment = 0, tail = 0;
    double window_sum = 0, previous = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (i > 0 &&
          static_cast<double>(pts[i].k - pts[i - 1].k) * p.step_seconds > p.max_gap_seconds) {
        segment = tail = i;
        window_sum = 0;
      }
      window_sum += pts[i].mean;
      while (pts[tail].k <= pts[i].k - window) window_sum -= pts[tail++].mean;
      const double smoothed = window_sum / static_cast<double>(i + 1 - tail);
      // Counted once the window before this point was full.
      if (i > segment && pts[i - 1].k - pts[segment].k >= window - 1) {
        const double t = (static_cast<double>(k0 + pts[i].k) + 0.5) * p.step_seconds;
        const double dt = static_cast<double>(pts[i].k - pts[i - 1].k) * p.step_seconds;
        increments.push_back({pts[i].k, t - start, smoothed - previous, dt, static_cast<int>(l),
                              start > from, start < now - p.reference_seconds});
      }
      previous = smoothed;
    }
  }
  verdict.instances = static_cast<int>(instances.size());
  if (!judgeable || increments.empty()) return verdict;

  // 3. Warm-up age.
  std::vector<double> values;
  for (const std::vector<Point>& pts : points) {
    for (const Point& pt : pts) values.push_back(pt.mean);
  }
  const double warmup = ChooseWarmup(increments, trend::Median(values), p);
  verdict.warmup_seconds = warmup;

  // 4. The fleet's increment per grid point and its typical level.
  std::vector<double> sum(grid, 0);
  std::vector<int> contributors(grid, 0);
  std::vector<double> change(points.size(), 0), span(points.size(), 0);
  for (const Increment& inc : increments) {
    if (inc.age < warmup || inc.k < 0 || inc.k >= grid) continue;
    sum[inc.k] += inc.delta;
    ++contributors[inc.k];
    change[inc.lifetime] += inc.delta;
    span[inc.lifetime] += inc.dt;
  }
  // The random walk of the stitched series (see fleet.h, step 5): each
  // lifetime adds its change from W to its end, whose noise (the load's
  // wander, which does not telescope across lifetimes) accumulates. Its
  // spread is the robust deviation of the lifetimes' changes around the
  // common rate (a leak's growth is that rate, not noise).
  std::vector<double> rates, residuals;
  int64_t points_with_data = 0, contributions = 0;
  for (int64_t k = 0; k < grid; ++k) {
    if (contributors[k] == 0) continue;
    ++points_with_data;
    contributions += contributors[k];
  }
  int counted = 0;
  for (size_t l = 0; l < points.size(); ++l) {
    if (span[l] <= 0) continue;
    ++counted;
    if (span[l] >= p.smooth_seconds) rates.push_back(change[l] / span[l]);
  }
  if (rates.size() >= 3 && points_with_data > 0) {
    const double rate = trend::Median(rates);
    for (size_t l = 0; l < points.size(); ++l) {
      if (span[l] >= p.smooth_seconds) residuals.push_back(std::abs(change[l] - rate * span[l]));
    }
    const double lifetime_sd = 1.4826 * trend::Median(residuals);
    const double judged = static_cast<double>(points_with_data) * p.step_seconds;
    const double mean_contributors =
        static_cast<double>(contributions) / static_cast<double>(points_with_data);
    // Lifetimes that end (or are cut by `now`) within one trend window.
    const double ends = counted * std::min(1.0, kWalkWindow / judged);
    verdict.walk_sd = lifetime_sd * std::sqrt(ends) / mean_contributors;
  }
  std::vector<double> mature;
  for (size_t l = 0; l < points.size(); ++l) {
    for (const Point& pt : points[l]) {
      const double t = (static_cast<double>(k0 + pt.k) + 0.5) * p.step_seconds;
      if (t - starts[l] >= warmup) mature.push_back(pt.mean);
    }
  }
  if (mature.empty()) return verdict;
  verdict.level = trend::Median(mature);

  double stitched = verdict.level;
  for (int64_t k = 0; k < grid; ++k) {
    if (contributors[k] == 0) continue;
    stitched += sum[k] / contributors[k];
    verdict.t.push_back((static_cast<double>(k0 + k) + 0.5) * p.step_seconds);
    verdict.x.push_back(stitched);
  }
  return verdict;
}

FleetVerdict JudgeGroup(const GroupHistory& history, double now, const FleetParams& p) {
  const StitchedSeries series = StitchGroup(history, now, p);
  FleetVerdict verdict;
  verdict.instances = series.instances;
  verdict.lifetimes = series.lifetimes;
  verdict.warmup_seconds = series.warmup_seconds;
  verdict.level = series.level;
  if (series.t.empty()) return verdict;

  // 5. Judge the stitched series.
  trend::SeriesDetector detector(StitchedSeriesParams(p.walk_z * series.walk_sd));
  std::vector<double> recent_t, recent_x;  // 15-minute means of the last 6 h
  constexpr double kRecentWindow = 6 * 3600, kRecentMean = 900;
  double bucket_sum = 0;
  int64_t bucket = -1, bucket_count = 0;
  for (size_t i = 0; i < series.t.size(); ++i) {
    const double t = series.t[i], x = series.x[i];
    detector.Add(t, x, 0);
    if (t > now - kRecentWindow) {
      const int64_t b = static_cast<int64_t>(std::floor(t / kRecentMean));
      if (b != bucket && bucket_count > 0) {
        recent_t.push_back((static_cast<double>(bucket) + 0.5) * kRecentMean);
        recent_x.push_back(bucket_sum / static_cast<double>(bucket_count));
        bucket_sum = 0;
        bucket_count = 0;
      }
      bucket = b;
      bucket_sum += x;
      ++bucket_count;
    }
  }
  if (bucket_count > 0) {
    recent_t.push_back((static_cast<double>(bucket) + 0.5) * kRecentMean);
    recent_x.push_back(bucket_sum / static_cast<double>(bucket_count));
  }
  const trend::Verdict& v = detector.verdict();
  verdict.suspected = v.suspected;
  verdict.growth_per_hour =
      v.suspected ? v.growth_per_hour : trend::TheilSenSlope(recent_t, recent_x) * 3600;
  return verdict;
}

}  // namespace leakwatch::judge
