#include "judge/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "trend/detector.h"
#include "trend/statistics.h"

namespace leakwatch::judge {
namespace {

// The detector that judges the stitched series: params.detector (by default
// the in-process production rules: a day of history, the 26 h new-high guard,
// multi-scale evidence), with its growth bar raised to `min_growth` (above
// the stitched series' random walk).
trend::Params StitchedSeriesParams(const FleetParams& params, double min_growth) {
  trend::Params p = params.detector;
  p.min_growth = std::max(p.min_growth, min_growth);
  return p;
}

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
  double level;     // the lifetime's mature level (> 0)
  int lifetime;     // index of the lifetime in canonical order
  bool young_seen;  // the lifetime started inside the judged range
  bool reference;   // of a lifetime that started before now - reference_seconds
};

bool Finite(double x) { return std::isfinite(x); }

// A profile's age bin counts when this many lifetimes each spent at least half
// of it: one lifetime's wander is not a warm-up (a job of 4 replicas
// restarted daily had one young lifetime in its reference, whose line was
// still rising at its last age; the rest of the warm-up read as a leak).
constexpr int kProfileLifetimes = 3;

// The warm-up: the age below which nothing counts, and the rate the pooled
// age profile rises above its line, per age bin of warmup_bin_seconds,
// relative to each lifetime's level (a deploy that doubles the level doubles
// its warm-up: with absolute rates, the reference's smaller warm-up left a
// part of every young lifetime's rise in, and a job restarted hourly climbed
// by that part at every restart).
struct Warmup {
  double age = 0;
  std::vector<double> excess;  // per second, relative; beyond its end, 0
  // The end of the warm-up's significant rise (>= age).
  double mature_age = 0;
};

// The pooled age profile of `increments` (those of young_seen lifetimes, and
// of reference ones only when `reference_only`): per age bin, the relative
// rate, the seconds behind it and the lifetimes' own rates' spread.
struct Profile {
  std::vector<double> sum, seconds;
  std::vector<double> n_rates, mean_rate, m2_rate;
  int64_t covered = 0;  // bins with kProfileLifetimes lifetimes and support
  // Bin j's mean relative rate, and its standard error from the spread of
  // its lifetimes' own rates (0 with fewer than two).
  double Rate(int64_t j) const { return sum[j] / seconds[j]; }
  double RateError(int64_t j) const {
    const double n = n_rates[j];
    return n >= 2 ? std::sqrt(m2_rate[j] / (n - 1) / n) : 0;
  }
  int64_t last = -1;  // the last such bin
  double support = 0;
};

Profile BuildProfile(const std::vector<Increment>& increments, const FleetParams& p,
                     bool reference_only) {
  const double bin = p.warmup_bin_seconds;
  // Age bins up to 2 x max_warmup; older ages share one last bin, which
  // counts in the rates beyond W but not in the profile's line.
  const int64_t bins = static_cast<int64_t>(std::ceil(2 * p.max_warmup_seconds / bin)) + 1;
  Profile profile;
  profile.sum.assign(bins, 0);
  profile.seconds.assign(bins, 0);
  // Per bin, the spread of the lifetimes' own rates in it (Welford), for the
  // noise of the bin's mean rate.
  profile.n_rates.assign(bins, 0);
  profile.mean_rate.assign(bins, 0);
  profile.m2_rate.assign(bins, 0);
  int open_lifetime = -1;
  int64_t open_bin = -1;
  double open_sum = 0, open_seconds = 0;
  auto close = [&] {
    if (open_bin < 0 || open_seconds < bin / 2) return;
    const double r = open_sum / open_seconds;
    profile.n_rates[open_bin] += 1;
    const double d = r - profile.mean_rate[open_bin];
    profile.mean_rate[open_bin] += d / profile.n_rates[open_bin];
    profile.m2_rate[open_bin] += d * (r - profile.mean_rate[open_bin]);
  };
  for (const Increment& inc : increments) {
    if (!inc.young_seen || (reference_only && !inc.reference)) continue;
    const int64_t j = std::min<int64_t>(bins - 1, static_cast<int64_t>(inc.age / bin));
    if (j < 0) continue;
    const double relative = inc.delta / inc.level;
    profile.sum[j] += relative;
    profile.seconds[j] += inc.dt;
    if (inc.lifetime != open_lifetime || j != open_bin) {
      close();
      open_lifetime = inc.lifetime;
      open_bin = j;
      open_sum = open_seconds = 0;
    }
    open_sum += relative;
    open_seconds += inc.dt;
  }
  close();
  // Well covered: at least a quarter of the best-covered bin's data (one old
  // lifetime's wander is not the profile) and kProfileLifetimes lifetimes.
  profile.support =
      std::max(bin, 0.25 * *std::max_element(profile.seconds.begin(), profile.seconds.end() - 1));
  for (int64_t j = 0; j + 1 < bins; ++j) {
    if (profile.seconds[j] >= profile.support && profile.n_rates[j] >= kProfileLifetimes) {
      profile.last = j;
      ++profile.covered;
    }
  }
  return profile;
}

// The end (an age bin index, exclusive) of the leading run of ages, from the
// minimum warm-up on, whose rise above the profile's line `slope` is
// significant (beyond mature_z x the bin's standard error): a warm-up of hours
// makes a long run; a flat or leaking profile, whose bins differ by noise,
// none (the run then ends where it starts).
int64_t LeadingRunEnd(const Profile& profile, double slope, const FleetParams& p) {
  const double bin = p.warmup_bin_seconds;
  int64_t j = static_cast<int64_t>(p.min_warmup_seconds / bin);
  if (p.mature_z <= 0) return j;
  for (; j + 1 < static_cast<int64_t>(profile.sum.size()) && j <= profile.last; ++j) {
    if (profile.seconds[j] < profile.support) break;
    const double rise = profile.Rate(j) - slope;
    const double error = profile.RateError(j);
    if (error <= 0 || !(rise > p.mature_z * error)) break;
  }
  return j;
}

Warmup ChooseWarmup(const std::vector<Increment>& increments, const FleetParams& p) {
  const double bin = p.warmup_bin_seconds;
  Warmup warmup;
  warmup.age = p.max_warmup_seconds;
  // The profile of the reference lifetimes (those that started before
  // now - reference_seconds) when they cover warmup_min_bins age bins, else of
  // all: a deploy that ships a leak makes its young lifetimes rise while the
  // older ones stayed flat, which the profile of all lifetimes took for a
  // warm-up (W rose to 6-12 h within hours of the deploy and the leak's
  // increments were dropped).
  Profile profile = BuildProfile(increments, p, /*reference_only=*/true);
  if (profile.covered < p.warmup_min_bins) {
    profile = BuildProfile(increments, p, /*reference_only=*/false);
  }
  // Too little seen of young ages to tell a warm-up: only old ages count.
  if (profile.covered < p.warmup_min_bins) return warmup;
  // The line of the profile: the median rate of the well-covered bins in the
  // last third of the well-covered ages. A leak rises at that rate at every
  // age; a warm-up faster at first.
  const int64_t last = profile.last;
  std::vector<double> late;
  for (int64_t j = last - last / 3; j <= last; ++j) {
    if (profile.seconds[j] >= profile.support && profile.n_rates[j] >= kProfileLifetimes) {
      late.push_back(profile.Rate(j));
    }
  }
  const double slope = trend::Median(late);
  // What the age profile rises faster than that line, per age bin: the
  // healthy warm-up every lifetime goes through, taken out of every
  // increment at that age (never put in: a profile below the line is left).
  // A bin's rise counts only beyond warmup_z x the standard error of its mean
  // rate (from the spread of its lifetimes' rates): taking out the positive
  // part of every bin's noise pushed flat series down by a fifth of a 2 %/h
  // leak and hid it.
  warmup.excess.assign(profile.sum.size(), 0);
  const int64_t run_end = LeadingRunEnd(profile, slope, p);
  for (int64_t j = 0; j + 1 < static_cast<int64_t>(profile.sum.size()) && j <= last; ++j) {
    if (profile.seconds[j] < profile.support) continue;
    const double rise = profile.Rate(j) - slope;
    const double error = profile.RateError(j);
    warmup.excess[j] = std::max(0.0, rise - p.warmup_z * error);
  }
  warmup.age = p.min_warmup_seconds;
  // The mature age: the end of the leading run of ages, from the minimum
  // warm-up on, whose rise above the line is significant (beyond mature_z x
  // the bin's standard error). A warm-up of hours makes a long run; a flat
  // or leaking profile, whose bins differ by noise, none.
  warmup.mature_age = std::max(warmup.age, static_cast<double>(run_end) * bin);
  return warmup;
}

}  // namespace

absl::Span<const FleetParamField> FleetParamFields() {
  using P = FleetParams;
  static constexpr FleetParamField kFields[] = {
      {"lookback_seconds", &P::lookback_seconds, nullptr, 0, true},
      {"step_seconds", &P::step_seconds, nullptr, 0, true},
      {"max_gap_seconds", &P::max_gap_seconds, nullptr, 0, true},
      {"smooth_seconds", &P::smooth_seconds, nullptr, 0, true},
      {"min_warmup_seconds", &P::min_warmup_seconds, nullptr, 0, false},
      {"max_warmup_seconds", &P::max_warmup_seconds, nullptr, 0, false},
      {"warmup_bin_seconds", &P::warmup_bin_seconds, nullptr, 0, true},
      {"warmup_min_bins", nullptr, &P::warmup_min_bins, 3, false},
      {"warmup_z", &P::warmup_z, nullptr, 0, false},
      {"reference_seconds", &P::reference_seconds, nullptr, 0, true},
      {"walk_z", &P::walk_z, nullptr, 0, true},
      {"mature_z", &P::mature_z, nullptr, 0, false},
      {"sameage_z", &P::sameage_z, nullptr, 0, false},
      {"corroborated_warmup_z", &P::corroborated_warmup_z, nullptr, 0, false},
      {"sameage_tod_seconds", &P::sameage_tod_seconds, nullptr, 0, false},
      {"restartdrop_z", &P::restartdrop_z, nullptr, 0, false},
  };
  return kFields;
}

namespace {
double FieldValue(const FleetParamField& field, const FleetParams& params) {
  return field.real != nullptr ? params.*field.real : params.*field.integer;
}

// The shortest of %g and %.17g that reads back as `v`.
std::string Exact(double v) {
  std::string s = absl::StrFormat("%g", v);
  double back = 0;
  if (!absl::SimpleAtod(s, &back) || back != v) s = absl::StrFormat("%.17g", v);
  return s;
}
}  // namespace

absl::Status SetFleetParam(FleetParams& params, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected NAME=VALUE, got \"", assignment, "\""));
  }
  const std::string name = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  if (absl::StartsWith(name, "detector.")) {
    return trend::SetParam(params.detector, assignment.substr(sizeof("detector.") - 1));
  }
  for (const FleetParamField& field : FleetParamFields()) {
    if (name != field.name) continue;
    if (field.integer != nullptr) {
      int parsed = 0;
      if (!absl::SimpleAtoi(value, &parsed)) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " wants an integer, got \"", value, "\""));
      }
      params.*field.integer = parsed;
    } else {
      double parsed = 0;
      if (!absl::SimpleAtod(value, &parsed)) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " wants a number, got \"", value, "\""));
      }
      params.*field.real = parsed;
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown fleet parameter \"", name, "\""));
}

absl::Status ValidateFleetParams(const FleetParams& p) {
  for (const FleetParamField& field : FleetParamFields()) {
    const double v = FieldValue(field, p);
    if (!Finite(v) || (field.min_exclusive ? !(v > field.min) : !(v >= field.min))) {
      return absl::InvalidArgumentError(
          absl::StrCat("FleetParams.", field.name, " must be finite and ",
                       field.min_exclusive ? "above " : "at least ", field.min, ", got ", v));
    }
  }
  if (p.max_warmup_seconds < p.min_warmup_seconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("FleetParams.max_warmup_seconds (", p.max_warmup_seconds,
                     ") must be >= min_warmup_seconds (", p.min_warmup_seconds, ")"));
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
  if (absl::Status s = trend::ValidateParams(p.detector); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("FleetParams.detector.", s.message()));
  }
  return absl::OkStatus();
}

std::string FormatFleetParams(const FleetParams& params) {
  std::string out;
  for (const FleetParamField& field : FleetParamFields()) {
    absl::StrAppend(&out, field.name, "=", Exact(FieldValue(field, params)), "\n");
  }
  for (absl::string_view line : absl::StrSplit(trend::FormatParams(params.detector), '\n')) {
    if (!line.empty()) absl::StrAppend(&out, "detector.", line, "\n");
  }
  return out;
}

namespace {

// The judged range's grid: absolute indices (floor(t / step)) relative to the
// first one in range, so that grid points do not move with `now`.
struct Grid {
  int64_t k0 = 0;    // absolute index of grid point 0
  int64_t size = 0;  // grid points up to `now`
  double step = 0;   // seconds
  double Mid(int64_t k) const { return (static_cast<double>(k0 + k) + 0.5) * step; }
};

// One lifetime on the grid.
struct GridLifetime {
  std::vector<Point> pts;  // its grid means, in grid order
  double start = 0;        // process start (or first sample), seconds
  double own_level = 1;    // median mature grid mean, at least 1
  int instance = -1;       // the instance's rank in canonical order
};

// A canonical order of the lifetimes, so that sums (and verdicts) do not
// depend on the order the reader delivered them in.
std::vector<size_t> CanonicalOrder(const GroupHistory& history) {
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
  return order;
}

// Whether a lifetime has a finite sample at or before `now` (the counts of an
// unjudgeable group).
bool SeenBy(const Lifetime& life, double now) {
  const size_t n = std::min(life.t.size(), life.value.size());
  for (size_t i = 0; i < n; ++i) {
    if (Finite(life.t[i]) && Finite(life.value[i]) && !(life.t[i] > now)) return true;
  }
  return false;
}

// A lifetime's grid means over (from, now], its start and its own level;
// empty points when it has no sample there.
GridLifetime OnGrid(const Lifetime& life, const Grid& grid, double from, double now,
                    const FleetParams& p) {
  GridLifetime out;
  std::vector<Point>& pts = out.pts;
  const size_t n = std::min(life.t.size(), life.value.size());
  double sum = 0;
  int count = 0;
  int64_t open = -1;
  double first_t = 0;
  for (size_t i = 0; i < n; ++i) {
    const double t = life.t[i], x = life.value[i];
    if (!Finite(t) || !Finite(x) || t > now || !(t > from)) continue;
    const int64_t k = static_cast<int64_t>(std::floor(t / grid.step)) - grid.k0;
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
  if (pts.empty()) return out;
  // Age from the process start when it is known and consistent, else from
  // the first sample seen.
  out.start = life.process_start > 0 && life.process_start <= first_t + grid.step
                  ? life.process_start
                  : first_t;
  // The lifetime's mature level: the median of its grid means past the
  // minimum warm-up (of all of them when it never got there), at least 1.
  std::vector<double> mature_means, all_means;
  for (const Point& pt : pts) {
    all_means.push_back(pt.mean);
    if (grid.Mid(pt.k) - out.start >= p.min_warmup_seconds) mature_means.push_back(pt.mean);
  }
  out.own_level = std::max(1.0, trend::Median(mature_means.empty() ? all_means : mature_means));
  return out;
}

// Appends the increments of lifetime `l`'s trailing smooth_seconds mean (see
// fleet.h, step 2), within segments that no gap breaks.
void AddIncrements(const GridLifetime& life, int l, const Grid& grid, double from, double now,
                   const FleetParams& p, std::vector<Increment>& increments) {
  const std::vector<Point>& pts = life.pts;
  const int64_t window =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(p.smooth_seconds / grid.step)));
  size_t segment = 0, tail = 0;
  double window_sum = 0, previous = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0 && static_cast<double>(pts[i].k - pts[i - 1].k) * grid.step > p.max_gap_seconds) {
      segment = tail = i;
      window_sum = 0;
    }
    window_sum += pts[i].mean;
    while (pts[tail].k <= pts[i].k - window) window_sum -= pts[tail++].mean;
    const double smoothed = window_sum / static_cast<double>(i + 1 - tail);
    // Counted once the window before this point was full.
    if (i > segment && pts[i - 1].k - pts[segment].k >= window - 1) {
      const double dt = static_cast<double>(pts[i].k - pts[i - 1].k) * grid.step;
      increments.push_back({pts[i].k, grid.Mid(pts[i].k) - life.start, smoothed - previous, dt,
                            life.own_level, l, life.start > from,
                            life.start < now - p.reference_seconds});
    }
    previous = smoothed;
  }
}

// A lifetime still warming up has not reached its level: its warm-up is
// scaled by the larger of its own level and the fleet's (the median mature
// grid mean) over the trend window before it started.
void ScaleByFleetLevel(const std::vector<GridLifetime>& lives, const Grid& grid,
                       const FleetParams& p, std::vector<Increment>& increments) {
  std::vector<std::vector<double>> at(grid.size);
  for (const GridLifetime& life : lives) {
    for (const Point& pt : life.pts) {
      if (grid.Mid(pt.k) - life.start >= p.min_warmup_seconds && pt.k >= 0 && pt.k < grid.size) {
        at[pt.k].push_back(pt.mean);
      }
    }
  }
  std::vector<double> fleet_level(grid.size, 0);
  for (int64_t k = 0; k < grid.size; ++k) {
    if (!at[k].empty()) fleet_level[k] = trend::Median(at[k]);
  }
  const int64_t before = static_cast<int64_t>(
      std::llround(absl::ToDoubleSeconds(p.detector.trend_window) / grid.step));
  std::vector<double> level(lives.size(), 1);
  for (size_t l = 0; l < lives.size(); ++l) {
    if (lives[l].pts.empty()) continue;
    const int64_t k_start = static_cast<int64_t>(std::floor(lives[l].start / grid.step)) - grid.k0;
    std::vector<double> window;
    for (int64_t k = std::max<int64_t>(0, k_start - before); k <= std::min(grid.size - 1, k_start);
         ++k) {
      if (fleet_level[k] > 0) window.push_back(fleet_level[k]);
    }
    level[l] = std::max(lives[l].own_level, window.empty() ? 0.0 : trend::Median(window));
  }
  for (Increment& inc : increments) inc.level = level[inc.lifetime];
}

// Step 4's sums: per grid point the fleet's increments past the warm-up (the
// profile's excess taken out) and how many lifetimes gave one; per lifetime
// its summed change and the seconds it covers.
struct FleetIncrements {
  std::vector<double> sum;
  std::vector<int> contributors;
  std::vector<double> change, span;
};

FleetIncrements SumIncrements(const std::vector<Increment>& increments, const Warmup& profile,
                              double warmup, size_t lifetimes, const Grid& grid,
                              const FleetParams& p) {
  FleetIncrements f{std::vector<double>(grid.size, 0), std::vector<int>(grid.size, 0),
                    std::vector<double>(lifetimes, 0), std::vector<double>(lifetimes, 0)};
  for (const Increment& inc : increments) {
    if (inc.age < warmup || inc.k < 0 || inc.k >= grid.size) continue;
    const size_t j = static_cast<size_t>(inc.age / p.warmup_bin_seconds);
    const double delta =
        inc.delta - (j < profile.excess.size() ? profile.excess[j] * inc.dt * inc.level : 0);
    f.sum[inc.k] += delta;
    ++f.contributors[inc.k];
    f.change[inc.lifetime] += delta;
    f.span[inc.lifetime] += inc.dt;
  }
  return f;
}

// The random walk of the stitched series (see fleet.h, step 5): each
// lifetime adds its change from W to its end, whose noise (the load's
// wander, which does not telescope across lifetimes) accumulates. Its
// spread is the robust deviation of the lifetimes' changes around the
// common rate (a leak's growth is that rate, not noise). 0 with fewer than
// 3 lifetimes that span smooth_seconds.
double WalkSd(const FleetIncrements& f, const Grid& grid, const FleetParams& p) {
  std::vector<double> rates, residuals;
  int64_t points_with_data = 0, contributions = 0;
  for (int64_t k = 0; k < grid.size; ++k) {
    if (f.contributors[k] == 0) continue;
    ++points_with_data;
    contributions += f.contributors[k];
  }
  int counted = 0;
  for (size_t l = 0; l < f.span.size(); ++l) {
    if (f.span[l] <= 0) continue;
    ++counted;
    if (f.span[l] >= p.smooth_seconds) rates.push_back(f.change[l] / f.span[l]);
  }
  if (rates.size() < 3 || points_with_data == 0) return 0;
  const double rate = trend::Median(rates);
  for (size_t l = 0; l < f.span.size(); ++l) {
    if (f.span[l] >= p.smooth_seconds)
      residuals.push_back(std::abs(f.change[l] - rate * f.span[l]));
  }
  const double lifetime_sd = 1.4826 * trend::Median(residuals);
  const double judged = static_cast<double>(points_with_data) * grid.step;
  const double mean_contributors =
      static_cast<double>(contributions) / static_cast<double>(points_with_data);
  // Lifetimes that end (or are cut by `now`) within one trend window.
  const double walk_window = absl::ToDoubleSeconds(p.detector.trend_window);
  const double ends = counted * std::min(1.0, walk_window / judged);
  return lifetime_sd * std::sqrt(ends) / mean_contributors;
}

// The stitched series itself: from the typical mature level (the median of
// the grid means past the warm-up), the fleet's mean increment at each grid
// point that has one. Nothing when no grid mean is past the warm-up.
void AppendStitched(const std::vector<GridLifetime>& lives, const FleetIncrements& f, double warmup,
                    const Grid& grid, StitchedSeries& verdict) {
  std::vector<double> mature;
  for (const GridLifetime& life : lives) {
    for (const Point& pt : life.pts) {
      if (grid.Mid(pt.k) - life.start >= warmup) mature.push_back(pt.mean);
    }
  }
  if (mature.empty()) return;
  verdict.level = trend::Median(mature);
  double stitched = verdict.level;
  for (int64_t k = 0; k < grid.size; ++k) {
    if (f.contributors[k] == 0) continue;
    stitched += f.sum[k] / f.contributors[k];
    verdict.t.push_back(grid.Mid(k));
    verdict.x.push_back(stitched);
  }
}

// The same-age comparison (see fleet.h, 6.): how much faster the lifetimes
// that started within the last trend window grow than the reference
// lifetimes (started more than reference_seconds ago) did at the same age and
// time of day. Three passes: SameAgeReference pools the reference per cell,
// CompareRecent sets each recent increment against its cells, and
// CompareSameAge turns the excess into a rate and its error.

// The reference lifetimes per cell (age bin x time-of-day slot of kSlot
// seconds): the pooled relative change and seconds, and per visit of a
// lifetime its own rate's count, sum and sum of squares (the reference's own
// noise).
struct SameAgeReference {
  static constexpr double kSlot = 3600;
  static constexpr int kSlots = 24;

  SameAgeReference(const std::vector<Increment>& increments, const Grid& grid,
                   const FleetParams& p);

  int64_t Bin(double age) const {
    return std::min<int64_t>(bins - 1, static_cast<int64_t>(age / bin));
  }
  static int SlotOf(double t) {
    const double tod = std::fmod(t, 86400.0);
    return static_cast<int>(std::floor((tod < 0 ? tod + 86400 : tod) / kSlot)) % kSlots;
  }

  double bin;
  int64_t bins;
  size_t cells;
  std::vector<double> sum, seconds;
  std::vector<double> visit_n, visit_sum, visit_sq;
};

SameAgeReference::SameAgeReference(const std::vector<Increment>& increments, const Grid& grid,
                                   const FleetParams& p)
    : bin(p.warmup_bin_seconds),
      bins(static_cast<int64_t>(std::ceil(2 * p.max_warmup_seconds / bin)) + 1),
      cells(static_cast<size_t>(bins * kSlots)),
      sum(cells, 0),
      seconds(cells, 0),
      visit_n(cells, 0),
      visit_sum(cells, 0),
      visit_sq(cells, 0) {
  int open_lifetime = -1;
  size_t open_cell = 0;
  double open_sum = 0, open_seconds = 0;
  auto close_visit = [&] {
    if (open_lifetime < 0 || open_seconds <= 0) return;
    const double r = open_sum / open_seconds;
    visit_n[open_cell] += 1;
    visit_sum[open_cell] += r;
    visit_sq[open_cell] += r * r;
  };
  for (const Increment& inc : increments) {
    if (!inc.young_seen || !inc.reference || inc.age < p.min_warmup_seconds) continue;
    const size_t cell = static_cast<size_t>(Bin(inc.age) * kSlots + SlotOf(grid.Mid(inc.k)));
    sum[cell] += inc.delta / inc.level;
    seconds[cell] += inc.dt;
    if (inc.lifetime != open_lifetime || cell != open_cell) {
      close_visit();
      open_lifetime = inc.lifetime;
      open_cell = cell;
      open_sum = open_seconds = 0;
    }
    open_sum += inc.delta / inc.level;
    open_seconds += inc.dt;
  }
  close_visit();
}

// The recent increments' excess over their reference cells, summed per
// block of floor_window grid points (clock time) and per lifetime, and per
// matched cell set (keyed by the recent increment's cell) the recent seconds
// compared with it and the standard error of its rate.
struct RecentExcess {
  std::vector<double> block_excess, block_seconds;
  std::vector<double> life_excess, life_seconds;
  std::vector<double> used_seconds, used_error;
};

// Each recent increment is compared with the reference's pooled relative
// rate in its age bin over the time-of-day slots within sameage_tod_seconds;
// cells of fewer than kProfileLifetimes lifetimes are skipped.
RecentExcess CompareRecent(const SameAgeReference& ref, const std::vector<Increment>& increments,
                           const std::vector<GridLifetime>& lives, const Grid& grid, double now,
                           const FleetParams& p) {
  constexpr int kSlots = SameAgeReference::kSlots;
  RecentExcess r{{},
                 {},
                 std::vector<double>(lives.size(), 0),
                 std::vector<double>(lives.size(), 0),
                 std::vector<double>(ref.cells, 0),
                 std::vector<double>(ref.cells, 0)};
  const double window = absl::ToDoubleSeconds(p.detector.trend_window);
  const int reach =
      p.sameage_tod_seconds >= 43200
          ? kSlots / 2
          : static_cast<int>(std::floor(p.sameage_tod_seconds / SameAgeReference::kSlot));
  const int64_t block_points = std::max<int64_t>(
      1, std::llround(absl::ToDoubleSeconds(p.detector.floor_window) / grid.step));
  for (const Increment& inc : increments) {
    const GridLifetime& life = lives[static_cast<size_t>(inc.lifetime)];
    if (!(life.start > now - window) || inc.age < p.min_warmup_seconds) continue;
    const int64_t j = ref.Bin(inc.age);
    const int slot = SameAgeReference::SlotOf(grid.Mid(inc.k));
    double sum = 0, seconds = 0, n = 0, rates = 0, squares = 0;
    for (int d = -reach; d <= reach; ++d) {
      if (reach == kSlots / 2 && d == reach) break;  // every slot once
      const size_t cell = static_cast<size_t>(j * kSlots + (slot + d + kSlots) % kSlots);
      sum += ref.sum[cell];
      seconds += ref.seconds[cell];
      n += ref.visit_n[cell];
      rates += ref.visit_sum[cell];
      squares += ref.visit_sq[cell];
    }
    if (seconds < 2 * ref.bin || n < kProfileLifetimes) continue;
    const size_t key = static_cast<size_t>(j * kSlots + slot);
    r.used_seconds[key] += inc.dt;
    r.used_error[key] = std::sqrt(std::max(0.0, squares - rates * rates / n) / (n - 1) / n);
    const size_t block = static_cast<size_t>(inc.k / block_points);
    if (block >= r.block_excess.size()) {
      r.block_excess.resize(block + 1, 0);
      r.block_seconds.resize(block + 1, 0);
    }
    const double excess = inc.delta / inc.level - sum / seconds * inc.dt;
    r.block_excess[block] += excess;
    r.block_seconds[block] += inc.dt;
    r.life_excess[static_cast<size_t>(inc.lifetime)] += excess;
    r.life_seconds[static_cast<size_t>(inc.lifetime)] += inc.dt;
  }
  return r;
}

// The excess rate and its error, which adds in quadrature the spread of the
// excess over blocks of clock time (the wander shared by the replicas moves
// all recent lifetimes together, which the spread across lifetimes would not
// show), the spread across the recent lifetimes, and the reference cells' own
// standard errors weighted by the recent seconds compared with them. Sets
// series.sameage_z, sameage_rate and sameage_lifetimes; all stay 0 with fewer
// than 3 blocks or 3 recent lifetimes.
void CompareSameAge(const std::vector<Increment>& increments,
                    const std::vector<GridLifetime>& lives, const Grid& grid, double now,
                    const FleetParams& p, StitchedSeries& series) {
  const SameAgeReference ref(increments, grid, p);
  const RecentExcess r = CompareRecent(ref, increments, lives, grid, now, p);
  std::vector<double> rates, weights;
  double total_excess = 0, total_seconds = 0;
  for (size_t b = 0; b < r.block_excess.size(); ++b) {
    if (r.block_seconds[b] <= 0) continue;
    rates.push_back(r.block_excess[b] / r.block_seconds[b]);
    weights.push_back(r.block_seconds[b]);
    total_excess += r.block_excess[b];
    total_seconds += r.block_seconds[b];
  }
  if (rates.size() < 3 || total_seconds <= 0) return;
  const double rate = total_excess / total_seconds;
  double spread = 0;
  for (size_t b = 0; b < rates.size(); ++b) {
    spread += weights[b] * weights[b] * (rates[b] - rate) * (rates[b] - rate);
  }
  const double n = static_cast<double>(rates.size());
  double error = std::sqrt(spread * n / (n - 1)) / total_seconds;
  // Each lifetime's own change (its wander and its warm-up's tail) does not
  // telescope: the spread of the recent lifetimes' excesses around the
  // common rate, added in quadrature.
  double life_spread = 0;
  int recent = 0;
  for (size_t l = 0; l < lives.size(); ++l) {
    if (r.life_seconds[l] <= 0) continue;
    ++recent;
    const double d = r.life_excess[l] - rate * r.life_seconds[l];
    life_spread += d * d;
  }
  if (recent < 3) return;
  error = std::hypot(error, std::sqrt(life_spread * recent / (recent - 1.0)) / total_seconds);
  // The reference's own noise is shared by every recent lifetime compared
  // with it (after a rolling deploy, a cohort of young lifetimes against a
  // few of a day before).
  double reference_variance = 0;
  for (size_t c = 0; c < ref.cells; ++c) {
    reference_variance += r.used_seconds[c] * r.used_seconds[c] * r.used_error[c] * r.used_error[c];
  }
  error = std::hypot(error, std::sqrt(reference_variance) / total_seconds);
  series.sameage_rate = rate * 3600;
  series.sameage_z = error > 0 ? rate / error : 0;
  series.sameage_lifetimes = recent;
}

// The restart-drop comparison (see fleet.h, 6.): a leak's level is
// base + rate x process age, so at each in-place restart the instance drops
// by about rate x the old lifetime's age; a healthy one drops by its warm-up
// deficit only, in recent and reference restarts alike. Each drop is a
// difference-in-differences against the other instances over the same clock
// interval, so the wander and the time of day the replicas share cancel.

// The mean of `life`'s grid means at grid indices [lo, hi); NaN when fewer
// than half of them hold one.
double WindowMean(const GridLifetime& life, int64_t lo, int64_t hi) {
  auto it = std::lower_bound(life.pts.begin(), life.pts.end(), lo,
                             [](const Point& pt, int64_t k) { return pt.k < k; });
  double sum = 0;
  int64_t n = 0;
  for (; it != life.pts.end() && it->k < hi; ++it, ++n) sum += it->mean;
  return n > 0 && 2 * n >= hi - lo ? sum / static_cast<double>(n) : std::nan("");
}

// The mean relative change, from grid window `before` to `after` (each
// [lo, hi)), of the lifetimes of instances other than `instance` that span
// both past the minimum warm-up; NaN with fewer than 2 of them.
double SharedChange(const std::vector<GridLifetime>& lives, int instance,
                    std::pair<int64_t, int64_t> before, std::pair<int64_t, int64_t> after,
                    const Grid& grid, const FleetParams& p) {
  double sum = 0;
  int n = 0;
  for (const GridLifetime& other : lives) {
    if (other.pts.empty() || other.instance == instance || other.pts.front().k > before.first ||
        other.pts.back().k < after.second - 1 ||
        grid.Mid(before.first) - other.start < p.min_warmup_seconds) {
      continue;
    }
    const double old_mean = WindowMean(other, before.first, before.second);
    const double new_mean = WindowMean(other, after.first, after.second);
    if (!Finite(old_mean) || !Finite(new_mean)) continue;
    sum += (new_mean - old_mean) / std::max(1.0, old_mean);
    ++n;
  }
  return n >= 2 ? sum / n : std::nan("");
}

// One in-place restart's drop, relative to the old lifetime's level: the old
// lifetime's mean over its last min_warmup_seconds less the new one's over
// ages [W, 2W) (W = min_warmup_seconds), plus the other instances' relative
// change over the same interval. NaN when it cannot be measured.
struct RestartDrop {
  double drop = std::nan("");
  double old_age = 0;  // seconds, at the restart
};

RestartDrop MeasureDrop(const std::vector<GridLifetime>& lives, size_t l, const Grid& grid,
                        const FleetParams& p) {
  RestartDrop out;
  const GridLifetime &old_life = lives[l], &new_life = lives[l + 1];
  const double w = p.min_warmup_seconds;
  const int64_t points = std::max<int64_t>(1, std::llround(w / grid.step));
  const int64_t old_end = old_life.pts.back().k + 1;
  out.old_age = grid.Mid(old_end - 1) - old_life.start;
  // A crash loop's or a scrape gap's restart is not a clean one.
  if (out.old_age < 2 * w || new_life.start - grid.Mid(old_end - 1) > p.max_gap_seconds) {
    return out;
  }
  const int64_t new_begin =
      static_cast<int64_t>(std::ceil((new_life.start + w) / grid.step)) - grid.k0;
  if (new_begin + points > grid.size) return out;
  const std::pair<int64_t, int64_t> before{old_end - points, old_end};
  const std::pair<int64_t, int64_t> after{new_begin, new_begin + points};
  const double old_mean = WindowMean(old_life, before.first, before.second);
  const double new_mean = WindowMean(new_life, after.first, after.second);
  if (!Finite(old_mean) || !Finite(new_mean)) return out;
  const double shared = SharedChange(lives, old_life.instance, before, after, grid, p);
  if (!Finite(shared)) return out;
  out.drop = (old_mean - new_mean) / std::max(1.0, old_mean) + shared;
  return out;
}

// Sets series.restartdrop_*: the recent restarts (new lifetime started within
// the last trend window) against the reference ones (started more than
// reference_seconds ago), a two-sample comparison with the pooled spread of
// both (under no leak they are drawn alike). Nothing with fewer than 2
// recent or 3 reference restarts.
void CompareRestartDrops(const std::vector<GridLifetime>& lives, const Grid& grid, double now,
                         const FleetParams& p, StitchedSeries& series) {
  const double window = absl::ToDoubleSeconds(p.detector.trend_window);
  std::vector<double> recent, reference;
  double recent_age = 0;
  for (size_t l = 0; l + 1 < lives.size(); ++l) {
    if (lives[l].pts.empty() || lives[l + 1].pts.empty() ||
        lives[l].instance != lives[l + 1].instance) {
      continue;
    }
    const double start = lives[l + 1].start;
    const bool is_recent = start > now - window;
    if (!is_recent && !(start < now - p.reference_seconds)) continue;
    const RestartDrop d = MeasureDrop(lives, l, grid, p);
    if (!Finite(d.drop)) continue;
    (is_recent ? recent : reference).push_back(d.drop);
    if (is_recent) recent_age += d.old_age;
  }
  if (recent.size() < 2 || reference.size() < 3) return;
  auto mean_ss = [](const std::vector<double>& v) {
    double m = 0, ss = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    for (double x : v) ss += (x - m) * (x - m);
    return std::pair<double, double>(m, ss);
  };
  const auto [m_recent, ss_recent] = mean_ss(recent);
  const auto [m_reference, ss_reference] = mean_ss(reference);
  const double n1 = static_cast<double>(recent.size()), n2 = static_cast<double>(reference.size());
  const double error = std::sqrt((ss_recent + ss_reference) / (n1 + n2 - 2) * (1 / n1 + 1 / n2));
  const double excess = m_recent - m_reference;
  series.restartdrop_z = error > 0 ? excess / error : 0;
  series.restartdrop_rate = excess / (recent_age / n1) * 3600;
  series.restartdrop_recent = static_cast<int>(recent.size());
  series.restartdrop_reference = static_cast<int>(reference.size());
}

// The Student-t quantile with `dof` degrees of freedom at the normal
// quantile `z` (Cornish-Fisher): a spread from a few lifetimes is itself
// noisy.
double StudentCritical(double z, int dof) {
  const double v = dof;
  return z + (z * z * z + z) / (4 * v) +
         (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
}

bool SameAgeCorroborates(const StitchedSeries& series, const FleetParams& p) {
  return p.sameage_z > 0 && series.sameage_lifetimes >= 3 &&
         series.sameage_z >= StudentCritical(p.sameage_z, series.sameage_lifetimes - 1);
}

bool RestartDropCorroborates(const StitchedSeries& series, const FleetParams& p) {
  const int dof = series.restartdrop_recent + series.restartdrop_reference - 2;
  return p.restartdrop_z > 0 && series.restartdrop_recent >= 2 &&
         series.restartdrop_z >= StudentCritical(p.restartdrop_z, dof);
}

// Steps 1-2 and the levels of step 3, which every series stitched from one
// history and `now` shares (they depend on no warm-up parameter): the grid,
// the lifetimes on it and their increments. `counts` holds the counts, and
// `judgeable` is false when the params or `now` are invalid.
struct Prepared {
  StitchedSeries counts;
  bool judgeable = false;
  double now = 0;
  Grid grid;
  std::vector<GridLifetime> lives;
  std::vector<Increment> increments;
};

Prepared Prepare(const GroupHistory& history, double now, const FleetParams& p) {
  Prepared out;
  out.now = now;
  out.judgeable = Finite(now) && ValidateFleetParams(p).ok();
  const std::vector<size_t> order = CanonicalOrder(history);
  if (!out.judgeable) {  // counts only: lifetimes with a sample up to `now`
    std::unordered_set<std::string_view> instances;
    for (size_t l : order) {
      if (!SeenBy(history.lifetimes[l], now)) continue;
      instances.insert(history.lifetimes[l].instance);
      ++out.counts.lifetimes;
    }
    out.counts.instances = static_cast<int>(instances.size());
    return out;
  }
  const double from = now - p.lookback_seconds;
  Grid& grid = out.grid;
  grid.step = p.step_seconds;
  grid.k0 = static_cast<int64_t>(std::floor(from / p.step_seconds));
  grid.size = static_cast<int64_t>(std::floor(now / p.step_seconds)) - grid.k0 + 1;

  std::unordered_set<std::string_view> instances;
  out.lives.resize(history.lifetimes.size());
  int instance = -1;
  for (size_t l = 0; l < order.size(); ++l) {
    const Lifetime& life = history.lifetimes[order[l]];
    if (l == 0 || life.instance != history.lifetimes[order[l - 1]].instance) ++instance;
    out.lives[l] = OnGrid(life, grid, from, now, p);
    out.lives[l].instance = instance;
    if (out.lives[l].pts.empty()) continue;
    instances.insert(life.instance);
    ++out.counts.lifetimes;
    AddIncrements(out.lives[l], static_cast<int>(l), grid, from, now, p, out.increments);
  }
  out.counts.instances = static_cast<int>(instances.size());
  if (!out.increments.empty()) ScaleByFleetLevel(out.lives, grid, p, out.increments);
  return out;
}

// The stitched series of steps 3-4 from `prepared` (made with params that
// differ from `p` at most in the warm-up's). With `same_age` (step 6's
// second series), step 6's comparison is made first, and when it does not
// reach its bar nothing is stitched (the series is left empty): the series
// would not count.
StitchedSeries Stitch(const Prepared& prepared, const FleetParams& p, bool mature_only,
                      bool same_age = false) {
  StitchedSeries verdict = prepared.counts;
  if (!prepared.judgeable || prepared.increments.empty()) return verdict;
  const std::vector<Increment>& increments = prepared.increments;
  const std::vector<GridLifetime>& lives = prepared.lives;
  const Grid& grid = prepared.grid;
  if (same_age) {
    if (p.sameage_z > 0) CompareSameAge(increments, lives, grid, prepared.now, p, verdict);
    if (p.restartdrop_z > 0) CompareRestartDrops(lives, grid, prepared.now, p, verdict);
    if (!SameAgeCorroborates(verdict, p) && !RestartDropCorroborates(verdict, p)) return verdict;
  }

  // 3. Warm-up age.
  const Warmup profile = ChooseWarmup(increments, p);
  const double warmup = mature_only ? profile.mature_age : profile.age;
  verdict.mature_seconds = profile.mature_age;
  verdict.warmup_seconds = warmup;

  // 4. The fleet's increment per grid point and its typical level.
  const FleetIncrements f = SumIncrements(increments, profile, warmup, lives.size(), grid, p);
  verdict.walk_sd = WalkSd(f, grid, p);
  AppendStitched(lives, f, warmup, grid, verdict);
  return verdict;
}

}  // namespace

StitchedSeries StitchGroup(const GroupHistory& history, double now, const FleetParams& p) {
  return Stitch(Prepare(history, now, p), p, false);
}

namespace {

// Step 5 on the series stitched with `p`: the detector's verdict, with the
// mature veto.
struct Judged {
  StitchedSeries series;
  bool suspected = false;
  double growth_per_hour = 0;
};

// The detector's verdict after the last point of `series`, its growth bar
// raised by the series' random walk.
trend::Verdict Detect(const StitchedSeries& series, const FleetParams& p) {
  trend::SeriesDetector detector(StitchedSeriesParams(p, p.walk_z * series.walk_sd));
  for (size_t i = 0; i < series.t.size(); ++i) detector.Add(series.t[i], series.x[i], 0);
  return detector.verdict();
}

// With `same_age`, an uncorroborated comparison leaves the series empty, so
// `suspected` implies the corroboration.
Judged JudgeStitched(const Prepared& prepared, const FleetParams& p, bool same_age) {
  Judged out;
  out.series = Stitch(prepared, p, /*mature_only=*/false, same_age);
  const StitchedSeries& series = out.series;
  if (series.t.empty()) return out;
  const trend::Verdict v = Detect(series, p);
  out.suspected = v.suspected;
  out.growth_per_hour = v.growth_per_hour;
  if (out.suspected && series.mature_seconds > series.warmup_seconds + p.warmup_bin_seconds) {
    out.suspected = Detect(Stitch(prepared, p, /*mature_only=*/true), p).suspected;
  }
  return out;
}

}  // namespace

FleetVerdict JudgeGroup(const GroupHistory& history, double now, const FleetParams& p) {
  const Prepared prepared = Prepare(history, now, p);
  const Judged base = JudgeStitched(prepared, p, /*same_age=*/false);
  const StitchedSeries& series = base.series;
  FleetVerdict verdict;
  verdict.instances = series.instances;
  verdict.lifetimes = series.lifetimes;
  verdict.warmup_seconds = series.warmup_seconds;
  verdict.level = series.level;
  if (series.t.empty()) return verdict;

  // 5. Judge the stitched series.
  verdict.suspected = base.suspected;
  if (verdict.suspected) {
    verdict.growth_per_hour = base.growth_per_hour;
    return verdict;
  }
  // 6. The less biased series, when the same-age comparison corroborates it.
  if (p.sameage_z > 0 || p.restartdrop_z > 0) {
    FleetParams less_biased = p;
    less_biased.warmup_z = p.corroborated_warmup_z;
    const Judged other = JudgeStitched(prepared, less_biased, /*same_age=*/true);
    if (other.suspected) {
      verdict.suspected = true;
      verdict.growth_per_hour = other.growth_per_hour;
      return verdict;
    }
  }
  // Floor-window means of the last trend window (15 minutes, 6 h).
  std::vector<double> recent_t, recent_x;
  const double recent_window = absl::ToDoubleSeconds(p.detector.trend_window);
  const double recent_mean = absl::ToDoubleSeconds(p.detector.floor_window);
  double bucket_sum = 0;
  int64_t bucket = -1, bucket_count = 0;
  for (size_t i = 0; i < series.t.size(); ++i) {
    const double t = series.t[i], x = series.x[i];
    if (!(t > now - recent_window)) continue;
    const int64_t b = static_cast<int64_t>(std::floor(t / recent_mean));
    if (b != bucket && bucket_count > 0) {
      recent_t.push_back((static_cast<double>(bucket) + 0.5) * recent_mean);
      recent_x.push_back(bucket_sum / static_cast<double>(bucket_count));
      bucket_sum = 0;
      bucket_count = 0;
    }
    bucket = b;
    bucket_sum += x;
    ++bucket_count;
  }
  if (bucket_count > 0) {
    recent_t.push_back((static_cast<double>(bucket) + 0.5) * recent_mean);
    recent_x.push_back(bucket_sum / static_cast<double>(bucket_count));
  }
  verdict.growth_per_hour = trend::TheilSenSlope(recent_t, recent_x) * 3600;
  return verdict;
}

FleetParams FleetParamsForDetector(const trend::Params& detector, double scrape_seconds) {
  const double floor = absl::ToDoubleSeconds(detector.floor_window);
  const double window = absl::ToDoubleSeconds(detector.trend_window);
  FleetParams p;
  p.detector = detector;
  p.step_seconds = std::max(floor / 15, scrape_seconds);
  p.max_gap_seconds = 10 * p.step_seconds;
  p.smooth_seconds = floor;
  p.warmup_bin_seconds = floor;
  p.min_warmup_seconds = 2 * floor;
  p.max_warmup_seconds = 2 * window;
  p.reference_seconds = std::max(absl::ToDoubleSeconds(detector.min_history), 4 * window);
  p.lookback_seconds = p.reference_seconds + 4 * window;
  return p;
}

absl::Status ValidateGridStep(const FleetParams& params) {
  const double floor = absl::ToDoubleSeconds(params.detector.floor_window);
  if (params.step_seconds <= floor) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("the grid step (", params.step_seconds,
                                                 "s) is longer than the detector's floor_window (",
                                                 floor, "s): some floors would have no point"));
}

}  // namespace leakwatch::judge
