#include "fleet_scenarios.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "noise.h"

namespace leakwatch::judgetest {
namespace {

constexpr double kEpoch = 1704067200;  // 2024-01-01T00:00:00Z
constexpr double kStep = 60;           // one sample a minute
constexpr double kHour = 3600;
constexpr double kDay = 86400;

// The draws of tests/trend/noise.h.
using testnoise::Hash;
using testnoise::Rng;
using testnoise::Wander;

// What a job looks like (see fleet_scenarios.h).
struct Model {
  int replicas = 1;
  double level = 100;
  double restart_hours = 0;  // 0 = never
  double deploy_lo_hours = 12, deploy_hi_hours = 48;
  double step_lo = 1, step_hi = 1;  // level factor per deploy (log-uniform)
  double amplitude = 0;             // daily cycle; 0 = none
  double pool = 0;                  // share of the level that does not cycle
  bool autoscale = false;
  double tau_lo_hours = 2.0 / 60, tau_hi_hours = 10.0 / 60;
  int crash_episodes = 0;
  bool bursts = false;
  bool outages = false;
  double leak_rate = 0;  // per process per hour, relative to the level
  double leak_step_lo = 1, leak_step_hi = 1;
};

struct Slot {
  std::string name;
  size_t lifetime = 0;
  double start = 0;
  double factor = 1;  // version level x instance imbalance
  double version_level = 1;
  bool leaking = false;
  int64_t leaked = 0;
  double tau = 60;
  double offset = 0;  // scrape second within the minute
  double next_restart = 1e300;
  double crash_next = 1e300;
  Wander wander;
};

class Simulation {
 public:
  Simulation(const Model& m, Rng& rng, FleetScenario& s, double t0, double end)
      : m_(m), rng_(rng), s_(s), t0_(t0), end_(end), shared_(rng, kHour, kStep) {}

  void Run() {
    const double period = m_.restart_hours * kHour;
    // Deploys: the leak deploy at s_.leak_deploy, others every 12-48 h,
    // none within 4 h of it.
    std::vector<double> deploys = {s_.leak_deploy};
    for (double d = t0_ + rng_.Uniform(2, m_.deploy_hi_hours) * kHour; d < end_;
         d += rng_.Uniform(m_.deploy_lo_hours, m_.deploy_hi_hours) * kHour) {
      if (std::abs(d - s_.leak_deploy) > 4 * kHour) deploys.push_back(d);
    }
    std::sort(deploys.begin(), deploys.end());
    // Crash-loop episodes and outages.
    struct Window {
      double from, to;
      int slot;  // -1 = all
    };
    std::vector<Window> crashes, gaps, downstream;
    for (int i = 0; i < m_.crash_episodes; ++i) {
      const double from = t0_ + rng_.Uniform(0.5, (end_ - t0_) / kDay - 0.3) * kDay;
      crashes.push_back({from, from + rng_.Uniform(1, 6) * kHour,
                         rng_.Uniform() < 0.5 ? -1 : static_cast<int>(rng_.Next() % 64)});
    }
    if (m_.outages) {
      for (double t = t0_ + rng_.Uniform(2, 20) * kHour; t < end_;
           t += rng_.Uniform(8, 30) * kHour) {
        if (rng_.Uniform() < 0.5) {
          gaps.push_back({t, t + rng_.Uniform(5, 60) * 60, -1});
        } else {
          downstream.push_back({t, t + rng_.Uniform(10, 60) * 60, -1});
        }
      }
    }
    double burst_next = m_.bursts ? t0_ + rng_.Uniform(0.5, 6) * kHour : 1e300;
    double burst_start = -1, burst_len = 0, burst_height = 0;
    const double peak = rng_.Uniform(0, kDay);

    version_level_ = 1;
    for (int i = 0; i < m_.replicas; ++i) {
      AddSlot(t0_ - (period > 0 ? rng_.Uniform(0.05, 1) * period : rng_.Uniform(1, 72) * kHour));
    }
    size_t next_deploy = 0;
    double deploy_at = -1;  // replacement in progress
    size_t deploy_slot = 0;
    double deploy_spacing = 60;
    for (double t = t0_; t < end_; t += kStep) {
      const double cycle =
          m_.amplitude > 0 ? 1 + m_.amplitude * std::cos(2 * std::numbers::pi * (t - peak) / kDay)
                           : 1;
      // Rolling deploy: a new version, then the instances one by one.
      if (next_deploy < deploys.size() && t >= deploys[next_deploy]) {
        const bool leak_deploy = deploys[next_deploy] == s_.leak_deploy;
        double factor = rng_.LogUniform(m_.step_lo, m_.step_hi);
        if (leak_deploy) {
          factor *= rng_.LogUniform(m_.leak_step_lo, m_.leak_step_hi);
          if (m_.leak_rate > 0) leaking_ = true;
        }
        version_level_ *= factor;
        ++version_;
        deploy_at = t;
        deploy_slot = 0;
        deploy_spacing = rng_.Uniform(1, 3) * 60;
        ++next_deploy;
      }
      while (deploy_at >= 0 && deploy_slot < slots_.size() &&
             t >= deploy_at + deploy_slot * deploy_spacing) {
        Replace(slots_[deploy_slot], t + rng_.Uniform(0, 60), /*new_name=*/true);
        ++deploy_slot;
      }
      if (deploy_at >= 0 && deploy_slot >= slots_.size()) deploy_at = -1;
      // Autoscaling follows the daily load, one instance per 5 minutes.
      if (m_.autoscale && static_cast<int64_t>(t) % 300 == 0) {
        const int want = std::max(1, static_cast<int>(std::lround(m_.replicas * cycle)));
        if (want > static_cast<int>(slots_.size())) {
          AddSlot(t + rng_.Uniform(0, 60));
        } else if (want < static_cast<int>(slots_.size()) && slots_.size() > 1) {
          slots_.pop_back();
        }
      }
      // In-place restarts and crash loops.
      for (size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        bool crashing = false;
        for (const Window& w : crashes) {
          if (t >= w.from && t < w.to &&
              (w.slot < 0 || static_cast<size_t>(w.slot) % slots_.size() == i)) {
            crashing = true;
          }
        }
        if (crashing && slot.crash_next > t + kHour) slot.crash_next = t;
        if (!crashing) slot.crash_next = 1e300;
        if (t >= slot.next_restart || t >= slot.crash_next) {
          Replace(slot, t + rng_.Uniform(0, 60), /*new_name=*/false);
          if (crashing) slot.crash_next = t + rng_.Uniform(1, 10) * 60;
        }
      }
      // Bursts.
      if (t >= burst_next) {
        burst_start = t;
        burst_len = rng_.Uniform(5, 60) * 60;
        burst_height = std::max(3.0, m_.level * rng_.Uniform(0.3, 2.0));
        burst_next = t + rng_.Uniform(2, 6) * kHour;
      }
      double burst = 0;
      if (burst_start >= 0) {
        const double age = t - burst_start;
        burst = age < 120         ? burst_height * age / 120
                : age < burst_len ? burst_height
                                  : burst_height * std::exp(-(age - burst_len) / 180);
      }
      bool scraped = true, quiet = false;
      for (const Window& w : gaps) scraped &= !(t >= w.from && t < w.to);
      for (const Window& w : downstream) quiet |= t >= w.from && t < w.to;
      const double shared = shared_.Next(rng_);
      const double load =
          m_.amplitude > 0
              ? m_.pool + (1 - m_.pool) * cycle *
                              (m_.autoscale ? m_.replicas / static_cast<double>(slots_.size()) : 1)
              : 1;
      for (Slot& slot : slots_) {
        const double inst = slot.wander.Next(rng_);
        const double ts = t + slot.offset;
        if (ts <= slot.start) continue;
        const double age = ts - slot.start;
        if (slot.leaking) {
          slot.leaked += rng_.Poisson(m_.leak_rate * m_.level * slot.version_level * kStep / kHour);
        }
        double healthy = m_.level * slot.factor * load * (1 - std::exp(-age / slot.tau));
        if (quiet) healthy *= 0.1;
        healthy += burst * slot.factor;
        const double mean = healthy * (1 + 0.02 * shared + 0.02 * inst);
        const double value = static_cast<double>(rng_.Poisson(std::max(0.0, mean)) + slot.leaked);
        if (!scraped) continue;
        judge::Lifetime& life = s_.history.lifetimes[slot.lifetime];
        life.t.push_back(ts);
        life.value.push_back(value);
        s_.healthy_mean[slot.lifetime].push_back(healthy);
      }
    }
  }

 private:
  void NewLifetime(Slot& slot, double start) {
    slot.lifetime = s_.history.lifetimes.size();
    s_.history.lifetimes.push_back({slot.name, start, {}, {}});
    s_.healthy_mean.emplace_back();
    slot.start = start;
    slot.leaked = 0;
    slot.tau = rng_.LogUniform(m_.tau_lo_hours, m_.tau_hi_hours) * kHour;
    slot.next_restart =
        m_.restart_hours > 0 ? start + rng_.Uniform(0.5, 1.5) * m_.restart_hours * kHour : 1e300;
  }
  void AddSlot(double start) {
    Slot slot;
    slot.wander = Wander(rng_, kHour, kStep);
    Rename(slot);
    NewLifetime(slot, start);
    slots_.push_back(std::move(slot));
  }
  // A restart in place (same name) or a replacement by a deploy (new name,
  // the current version's level and leak).
  void Replace(Slot& slot, double start, bool new_name) {
    if (new_name) Rename(slot);
    NewLifetime(slot, start);
  }
  // A new instance name, scrape offset and the current version's level and leak.
  void Rename(Slot& slot) {
    slot.name = absl::StrFormat("10.%d.%d.%d:9464", version_ % 250, names_ / 250, names_ % 250);
    ++names_;
    slot.offset = std::floor(rng_.Uniform(0, 60));
    slot.version_level = version_level_;
    slot.factor = version_level_ * (1 + 0.05 * rng_.Normal());
    slot.leaking = leaking_;
  }

  const Model& m_;
  Rng& rng_;
  FleetScenario& s_;
  double t0_, end_;
  Wander shared_;
  std::vector<Slot> slots_;
  double version_level_ = 1;
  int version_ = 0;
  int names_ = 0;
  bool leaking_ = false;
};

void Finish(FleetScenario& s) {
  // Lifetimes without samples (a scrape gap, a crash faster than a scrape)
  // are invisible to Prometheus too.
  size_t kept = 0;
  for (size_t i = 0; i < s.history.lifetimes.size(); ++i) {
    if (s.history.lifetimes[i].t.empty()) continue;
    if (kept != i) {
      s.history.lifetimes[kept] = std::move(s.history.lifetimes[i]);
      s.healthy_mean[kept] = std::move(s.healthy_mean[i]);
    }
    ++kept;
  }
  s.history.lifetimes.resize(kept);
  s.healthy_mean.resize(kept);
}

FleetScenario Simulate(const std::string& family, int index, Model m, Rng& rng, int days,
                       bool leaking) {
  FleetScenario s;
  s.family = family;
  s.index = index;
  s.start = kEpoch + std::floor(rng.Uniform(0, kDay) / kStep) * kStep;
  s.end = s.start + days * kDay;
  // The deploy that ships the leak: after 1.25 days (the judge needs a day of
  // history), at least a day before the end.
  s.leak_deploy = s.start + rng.Uniform(1.25, std::min(3.0, days - 1.0)) * kDay;
  if (leaking) s.leak_start = s.leak_deploy;
  if (!leaking) m.leak_rate = 0;
  s.leak_rate = m.leak_rate;
  s.level = m.level;
  s.replicas = m.replicas;
  s.restart_hours = m.restart_hours;
  Simulation(m, rng, s, s.start, s.end).Run();
  Finish(s);
  return s;
}

// The rolling background shared by most families.
Model Rolling(Rng& rng, bool leaking) {
  Model m;
  m.replicas = static_cast<int>(std::lround(rng.LogUniform(1, 30)));
  m.level = leaking ? rng.LogUniform(400, 2000) : rng.LogUniform(5, 2000);
  m.restart_hours = rng.Uniform() < 0.2 ? 0 : rng.LogUniform(1, 48);
  return m;
}

}  // namespace

const std::vector<std::string>& FleetFamilies() {
  static const std::vector<std::string> families = {
      "rolling",        "daily",     "deploy_steps", "warmup",     "crashloop",
      "bursts_outages", "leak_1pct", "leak_2pct",    "leak_10pct", "leak_50pct",
      "daily_leak",     "step_leak", "warmup_leak"};
  return families;
}

bool IsFleetLeakFamily(const std::string& family) {
  return family.rfind("leak", 0) == 0 || family.find("_leak") != std::string::npos;
}

absl::StatusOr<FleetScenario> GenerateFleetScenario(const std::string& family, int index,
                                                    uint64_t seed, int days) {
  if (std::find(FleetFamilies().begin(), FleetFamilies().end(), family) == FleetFamilies().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown fleet family \"", family, "\""));
  }
  if (days < 2) return absl::InvalidArgumentError("days must be at least 2");
  Rng rng(Hash(family, Hash(absl::StrCat("fleet:", seed, ":", index, ":"), 0xcbf29ce484222325ULL)));
  const bool leaking = IsFleetLeakFamily(family);
  Model m = Rolling(rng, leaking);
  if (family == "daily" || family == "daily_leak") {
    m.amplitude = rng.Uniform(0.2, 0.5);
    m.pool = rng.Uniform(0, 0.5);
    m.autoscale = index % 2 == 0 && m.replicas >= 3;
    m.leak_rate = rng.LogUniform(0.02, 0.10);
  } else if (family == "deploy_steps") {
    m.deploy_lo_hours = 6;
    m.deploy_hi_hours = 36;
    m.step_lo = 0.5;
    m.step_hi = 2;
  } else if (family == "warmup" || family == "warmup_leak") {
    m.tau_lo_hours = 0.5;
    m.tau_hi_hours = 3;
    m.restart_hours = rng.Uniform(12, 48);
    m.leak_rate = rng.LogUniform(0.02, 0.10);
  } else if (family == "crashloop") {
    m.crash_episodes = 1 + static_cast<int>(rng.Next() % 3);
    m.restart_hours = rng.Uniform(6, 48);
  } else if (family == "bursts_outages") {
    m.bursts = true;
    m.outages = true;
  } else if (family == "step_leak") {
    m.leak_step_lo = 0.5;
    m.leak_step_hi = 2;
    m.leak_rate = rng.LogUniform(0.02, 0.10);
  } else if (family == "leak_1pct") {
    m.leak_rate = 0.01;
  } else if (family == "leak_2pct") {
    m.leak_rate = 0.02;
  } else if (family == "leak_10pct") {
    m.leak_rate = 0.10;
  } else if (family == "leak_50pct") {
    m.leak_rate = 0.50;
  }
  return Simulate(family, index, m, rng, days, leaking);
}

FleetScenario GenerateGridScenario(int replicas, double restart_hours, double rate, int index,
                                   uint64_t seed, int days) {
  const std::string family = absl::StrFormat("grid_r%d_p%g_l%g", replicas, restart_hours, rate);
  Rng rng(Hash(family, Hash(absl::StrCat("grid:", seed, ":", index, ":"), 0xcbf29ce484222325ULL)));
  Model m;
  m.replicas = replicas;
  m.level = rng.LogUniform(200, 2000);
  m.restart_hours = restart_hours;
  m.leak_rate = rate;
  return Simulate(family, index, m, rng, std::max(days, 2), rate > 0);
}

}  // namespace leakwatch::judgetest
