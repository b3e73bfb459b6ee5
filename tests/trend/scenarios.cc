#include "scenarios.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "noise.h"

namespace leakwatch::trendtest {
namespace {

constexpr int64_t kEpoch = 1704067200;  // 2024-01-01T00:00:00Z
constexpr int64_t kStep = 60;           // one sample a minute
constexpr double kHour = 3600;
constexpr double kDay = 86400;

using testnoise::Hash;
using testnoise::Rng;
using testnoise::Wander;

// A daily load cycle 1 + A sin(...), peaking at a random hour.
struct DailyCycle {
  double amplitude = 0;
  double peak_seconds = 0;
  double At(double t) const {
    return 1 + amplitude * std::cos(2 * std::numbers::pi * (t - peak_seconds) / kDay);
  }
};

// Restart times: the first within [first_lo, first_hi] hours, then every 36–60 h.
std::vector<int64_t> RestartTimes(Rng& rng, int64_t t0, int64_t end, double first_lo,
                                  double first_hi) {
  std::vector<int64_t> times;
  double t = t0 + rng.Uniform(first_lo, first_hi) * kHour;
  while (t < end) {
    times.push_back(static_cast<int64_t>(t));
    t += rng.Uniform(36, 60) * kHour;
  }
  return times;
}

// A linear leak: tasks that never finish, arriving as a Poisson stream at
// `per_hour`, lost at each restart.
struct Leak {
  double start = 0;
  double per_hour = 0;
  int64_t leaked = 0;
  int64_t Next(Rng& rng, double t) {
    if (t >= start) leaked += rng.Poisson(per_hour * kStep / kHour);
    return leaked;
  }
};

Scenario Generate(const std::string& family, int index, uint64_t seed, int days,
                  const AddedLeak* added = nullptr) {
  // The seed and the index are hashed as one delimited text: xor-ing the seed
  // into the hash's basis made seed s with index "s..." repeat seed t with index
  // "t..." (their first step agreed), so about a tenth of every seed's series
  // were shared with every other seed.
  Rng rng(Hash(family, Hash(absl::StrCat(seed, ":", index, ":"), 0xcbf29ce484222325ULL)));
  Scenario s;
  s.family = family;
  s.index = index;
  const int64_t t0 = kEpoch + static_cast<int64_t>(rng.Uniform(0, kDay)) / kStep * kStep;
  const int64_t end = t0 + static_cast<int64_t>(days * kDay);
  int64_t process_start = t0 - static_cast<int64_t>(rng.Uniform(1, 72) * kHour);

  const bool leak = IsLeakFamily(family);
  const bool small = family == "leak_2pct_small";
  double level = leak ? (small ? rng.LogUniform(20, 200) : rng.LogUniform(200, 2000))
                      : rng.LogUniform(5, 2000);
  Wander wander(rng, kHour, kStep);    // slow load wander, 1 h correlation
  Wander day_drift(rng, kDay, kStep);  // day-to-day drift of the daily level
  Wander fast(rng, 10 * 60, kStep);    // long-poll churn, 10 min correlation
  double wander_size = 0.02;

  // Family features.
  DailyCycle cycle;
  double pool = 0;  // idle-pool part of a daily series: does not cycle
  if (family == "daily" || family == "daily_leak" || family == "longpoll") {
    if (family == "longpoll") level = leak ? level : rng.LogUniform(10, 2000);
    cycle.amplitude = rng.Uniform(0.2, 0.5);
    cycle.peak_seconds = rng.Uniform(0, kDay);
    if (family != "longpoll") pool = level * rng.Uniform(0, 0.5);
  }
  if (family == "longpoll") wander_size = 0.1;

  double burst_next = t0 + rng.Uniform(0.5, 6) * kHour, burst_start = -1, burst_len = 0,
         burst_height = 0;
  const double saw_period = rng.Uniform(20, 240) * 60;
  const double saw_height = level * rng.Uniform(0.2, 1.5);
  const double saw_phase = rng.Uniform(0, saw_period);
  int64_t saw_count = 0;
  int64_t saw_cycle = -1;
  const double step_at = t0 + rng.Uniform(24, family == "step" ? 96 : 72) * kHour;
  const double step_size = rng.Uniform(0.2, 1.0);
  const double step_ramp = rng.Uniform(1, 30) * 60;
  const int64_t pool_size = static_cast<int64_t>(std::round(rng.LogUniform(2, 256)));
  const double pool_busy = index % 3 == 0 ? 0 : rng.Uniform(0, 0.05);
  const double warmup = rng.Uniform(3, 20) * 60;

  std::vector<int64_t> restarts;
  if (family == "restarts" || family == "restart_leak") {
    restarts = RestartTimes(rng, t0, end, 12, 48);
  }
  Leak leaked;
  if (leak) {
    const double rate = family == "leak_0.5pct" ? 0.005 : family == "leak_10pct" ? 0.10 : 0.02;
    leaked.per_hour = rate * level;
    leaked.start = family == "step_leak"      ? step_at
                   : family == "restart_leak" ? t0 + rng.Uniform(12, 48) * kHour
                                              : t0 + rng.Uniform(24, 72) * kHour;
    s.leak_start = static_cast<int64_t>(leaked.start);
  }
  // An added leak draws from its own stream, so the series is the family's own
  // until the leak starts, and after it the family's own plus the leak.
  Rng added_rng(
      Hash("added-leak", Hash(absl::StrCat(seed, ":", index, ":"), 0x84222325cbf29ce4ULL)));
  Leak extra;
  if (added != nullptr) {
    const double base = family == "idle_pool" ? static_cast<double>(pool_size) : level;
    extra.per_hour = added->rate * base;
    extra.start = t0 + added_rng.Uniform(added->start_lo_hours, added->start_hi_hours) * kHour;
    s.leak_start = static_cast<int64_t>(extra.start);
  }
  const bool stepped = family == "step" || family == "step_leak";
  const bool bursty = family == "bursts";
  const bool sawtooth = family == "sawtooth";
  const bool restarting = !restarts.empty();
  size_t next_restart = 0;
  double since_restart = 1e18;

  s.samples.reserve(static_cast<size_t>((end - t0) / kStep));
  for (int64_t t = t0; t < end; t += kStep) {
    const double w = wander.Next(rng);
    const double d = day_drift.Next(rng);
    const double f = fast.Next(rng);
    if (restarting && next_restart < restarts.size() && t >= restarts[next_restart]) {
      process_start = restarts[next_restart];
      ++next_restart;
      since_restart = 0;
      leaked.leaked = 0;
    }
    int64_t value = 0;
    if (family == "idle_pool") {
      value = pool_size - std::min(pool_size, rng.Poisson(pool_size * pool_busy));
    } else {
      double mean = level;
      if (cycle.amplitude > 0) {
        mean = pool + (level - pool) * cycle.At(static_cast<double>(t)) * (1 + 0.02 * d);
      }
      if (stepped && t >= step_at) {
        mean *= 1 + step_size * std::min(1.0, (t - step_at) / step_ramp);
      }
      mean *= 1 + wander_size * (family == "longpoll" ? f : w);
      if (restarting) mean *= 1 - std::exp(-since_restart / warmup);
      value = rng.Poisson(std::max(0.0, mean));
      if (bursty) {
        if (t >= burst_next) {
          burst_start = static_cast<double>(t);
          burst_len = rng.Uniform(5, 60) * 60;
          burst_height = std::max(3.0, level * rng.Uniform(0.3, 2.0));
          burst_next = t + rng.Uniform(2, 6) * kHour;
        }
        if (burst_start >= 0) {
          const double age = t - burst_start;
          double extra = 0;
          if (age < 120) {
            extra = burst_height * age / 120;
          } else if (age < burst_len) {
            extra = burst_height;
          } else {
            extra = burst_height * std::exp(-(age - burst_len) / 180);
          }
          value += rng.Poisson(extra);
        }
      }
      if (sawtooth) {
        // Tasks queue behind a periodic drain; all of them leave at once.
        const int64_t cycle_index = static_cast<int64_t>((t + saw_phase) / saw_period);
        if (cycle_index != saw_cycle) {
          saw_cycle = cycle_index;
          saw_count = 0;
        }
        saw_count += rng.Poisson(saw_height * kStep / saw_period);
        value += saw_count;
      }
    }
    if (leak) value += leaked.Next(rng, static_cast<double>(t));
    if (added != nullptr) {
      // Lost at each restart, as the family's own leak.
      if (since_restart == 0) extra.leaked = 0;
      value += extra.Next(added_rng, static_cast<double>(t));
    }
    s.samples.push_back(Sample{t, value, process_start});
    since_restart += kStep;
  }
  return s;
}

}  // namespace

const std::vector<std::string>& Families() {
  static const std::vector<std::string> families = {
      "flat",       "daily",     "bursts",     "sawtooth",     "step",
      "restarts",   "idle_pool", "longpoll",   "leak_0.5pct",  "leak_2pct",
      "leak_10pct", "step_leak", "daily_leak", "restart_leak", "leak_2pct_small"};
  return families;
}

bool IsLeakFamily(const std::string& family) {
  return family.rfind("leak", 0) == 0 || family.find("_leak") != std::string::npos;
}

absl::StatusOr<Scenario> GenerateScenario(const std::string& family, int index, uint64_t seed,
                                          int days) {
  if (std::find(Families().begin(), Families().end(), family) == Families().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown scenario family \"", family, "\""));
  }
  if (days < 1) return absl::InvalidArgumentError("days must be at least 1");
  return Generate(family, index, seed, days);
}

absl::StatusOr<Scenario> GenerateScenarioWithLeak(const std::string& family, int index,
                                                  uint64_t seed, int days, const AddedLeak& leak) {
  if (!(leak.rate > 0) || !std::isfinite(leak.rate)) {
    return absl::InvalidArgumentError(
        absl::StrCat("added leak rate must be above 0, got ", leak.rate));
  }
  if (!(leak.start_lo_hours >= 0) || !(leak.start_hi_hours >= leak.start_lo_hours) ||
      leak.start_hi_hours > days * 24.0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("added leak start must be 0 <= lo <= hi <= %d h, got %g:%g", days * 24,
                        leak.start_lo_hours, leak.start_hi_hours));
  }
  if (std::find(Families().begin(), Families().end(), family) == Families().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown scenario family \"", family, "\""));
  }
  return Generate(family, index, seed, days, &leak);
}

absl::Status WriteScenarioSet(const std::string& dir, int per_family, uint64_t seed, int days,
                              const std::vector<std::string>& families, const AddedLeak* leak) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::ofstream labels(fs::path(dir) / "labels.csv");
  if (!labels) return absl::InternalError(absl::StrCat("cannot write ", dir, "/labels.csv"));
  labels << "file,family,leak_start\n";
  for (const std::string& family : families.empty() ? Families() : families) {
    fs::create_directories(fs::path(dir) / family, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, "/", family));
    for (int i = 0; i < per_family; ++i) {
      absl::StatusOr<Scenario> s = leak != nullptr
                                       ? GenerateScenarioWithLeak(family, i, seed, days, *leak)
                                       : GenerateScenario(family, i, seed, days);
      if (!s.ok()) return s.status();
      const std::string file = absl::StrFormat("%s/%s-%03d.csv", family, family, i);
      std::string text = "t,value,process_start\n";
      text.reserve(s->samples.size() * 28);
      for (const Sample& row : s->samples) {
        absl::StrAppend(&text, row.t, ",", row.value, ",", row.process_start, "\n");
      }
      std::ofstream out(fs::path(dir) / file);
      out << text;
      if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", file));
      labels << file << "," << family << ","
             << (s->leak_start ? absl::StrCat(*s->leak_start) : std::string("none")) << "\n";
    }
  }
  if (!labels) return absl::InternalError(absl::StrCat("cannot write ", dir, "/labels.csv"));
  return absl::OkStatus();
}

}  // namespace leakwatch::trendtest
