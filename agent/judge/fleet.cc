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
trend::Params StitchedSeriesParams() { return trend::ProductionPreset(); }

// One grid point of one lifetime.
struct Point {
  int64_t k;    // grid index from the start of the judged range
  double mean;  // mean of the lifetime's samples in that grid step
};

// One increment of one lifetime: the change from its previous grid point.
struct Increment {
  int64_t k;     // grid index of the later point
  double age;    // process age at the later point, seconds
  double delta;  // value change
  double dt;     // seconds between the two points
};

bool Finite(double x) { return std::isfinite(x); }

// The warm-up age: see fleet.h, step 3.
double ChooseWarmup(const std::vector<Increment>& increments, const FleetParams& p) {
  const double bin = p.warmup_bin_seconds;
  const int64_t bins = static_cast<int64_t>(std::ceil(p.lookback_seconds / bin)) + 1;
  std::vector<double> sum(bins, 0), seconds(bins, 0);
  for (const Increment& inc : increments) {
    const int64_t j = std::min<int64_t>(bins - 1, static_cast<int64_t>(inc.age / bin));
    if (j < 0) continue;
    sum[j] += inc.delta;
    seconds[j] += inc.dt;
  }
  std::vector<double> rates;
  for (double w = p.min_warmup_seconds; w <= p.max_warmup_seconds; w += bin) {
    rates.clear();
    for (int64_t j = static_cast<int64_t>(std::ceil(w / bin)); j < bins; ++j) {
      // A bin counts when it holds at least one bin's length of increments.
      if (seconds[j] >= bin) rates.push_back(sum[j] / seconds[j]);
    }
    if (static_cast<int>(rates.size()) < p.warmup_min_bins) return w;
    if (trend::MannKendallTest(rates).z > -p.warmup_z) return w;
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
        {"warmup_z", p.warmup_z}}) {
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

FleetVerdict JudgeGroup(const GroupHistory& history, double now, const FleetParams& p) {
  FleetVerdict verdict;
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
        increments.push_back({pts[i].k, t - start, smoothed - previous, dt});
      }
      previous = smoothed;
    }
  }
  verdict.instances = static_cast<int>(instances.size());
  if (!judgeable || increments.empty()) return verdict;

  // 3. Warm-up age.
  const double warmup = ChooseWarmup(increments, p);
  verdict.warmup_seconds = warmup;

  // 4. The fleet's increment per grid point and its typical level.
  std::vector<double> sum(grid, 0);
  std::vector<int> contributors(grid, 0);
  for (const Increment& inc : increments) {
    if (inc.age < warmup || inc.k < 0 || inc.k >= grid) continue;
    sum[inc.k] += inc.delta;
    ++contributors[inc.k];
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

  // 5. Judge the stitched series.
  trend::SeriesDetector detector(StitchedSeriesParams());
  std::vector<double> recent_t, recent_x;  // 15-minute means of the last 6 h
  constexpr double kRecentWindow = 6 * 3600, kRecentMean = 900;
  double stitched = verdict.level, bucket_sum = 0;
  int64_t bucket = -1, bucket_count = 0;
  for (int64_t k = 0; k < grid; ++k) {
    if (contributors[k] == 0) continue;
    stitched += sum[k] / contributors[k];
    const double t = (static_cast<double>(k0 + k) + 0.5) * p.step_seconds;
    detector.Add(t, stitched, 0);
    if (t > now - kRecentWindow) {
      const int64_t b = static_cast<int64_t>(std::floor(t / kRecentMean));
      if (b != bucket && bucket_count > 0) {
        recent_t.push_back((static_cast<double>(bucket) + 0.5) * kRecentMean);
        recent_x.push_back(bucket_sum / static_cast<double>(bucket_count));
        bucket_sum = 0;
        bucket_count = 0;
      }
      bucket = b;
      bucket_sum += stitched;
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
