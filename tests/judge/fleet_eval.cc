#include "fleet_eval.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace leakwatch::judgetest {
namespace {

constexpr double kDay = 86400;

std::string Number(double v, int digits) {
  if (std::isnan(v)) return "-";
  return absl::StrFormat("%.*f", digits, v);
}

// Runs `jobs` calls of `work(i)` on `threads` threads.
void Parallel(int jobs, int threads, const std::function<void(int)>& work) {
  std::atomic<int> next{0};
  auto run = [&] {
    for (int i = next++; i < jobs; i = next++) work(i);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, threads); ++i) pool.emplace_back(run);
  run();
  for (std::thread& t : pool) t.join();
}

void Add(const ScenarioScore& s, FamilyScore& f) {
  ++f.jobs;
  f.fa_episodes += s.fa_episodes;
  f.exposure_days += s.exposure_days;
  if (s.leaking) {
    ++f.leaking;
    if (s.detected) {
      ++f.detected;
      f.latencies.push_back(s.latency_hours);
    }
  }
}

}  // namespace

ScenarioScore ScoreScenario(const FleetScenario& s, const judge::FleetParams& params,
                            double every_seconds) {
  ScenarioScore score;
  score.leaking = s.leak_start.has_value();
  const double first = s.start + kDay;
  const double fa_until = s.leak_start ? std::min(*s.leak_start, s.end) : s.end;
  score.exposure_days = std::max(0.0, fa_until - first) / kDay;
  bool previous = false;
  for (double now = first; now < s.end; now += every_seconds) {
    const bool suspected = judge::JudgeGroup(s.history, now, params).suspected;
    if (suspected && !previous && now < fa_until) ++score.fa_episodes;
    if (suspected && s.leak_start && now >= *s.leak_start && !score.detected) {
      score.detected = true;
      score.latency_hours = (now - *s.leak_start) / 3600;
      break;  // every false alarm (before the deploy) is counted by now
    }
    previous = suspected;
  }
  return score;
}

double FamilyScore::FaPerJobDay() const {
  return exposure_days > 0 ? fa_episodes / exposure_days : std::numeric_limits<double>::quiet_NaN();
}
double FamilyScore::MedianLatency() const {
  if (latencies.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t n = latencies.size();
  return n % 2 ? latencies[n / 2] : (latencies[n / 2 - 1] + latencies[n / 2]) / 2;
}
double FamilyScore::MaxLatency() const {
  return latencies.empty() ? std::numeric_limits<double>::quiet_NaN() : latencies.back();
}

std::vector<FamilyScore> EvaluateFamilies(const std::vector<std::string>& families,
                                          const std::vector<uint64_t>& seeds, int per_family,
                                          int days, const judge::FleetParams& params,
                                          double every_seconds, int threads) {
  struct Job {
    size_t family;
    uint64_t seed;
    int index;
  };
  std::vector<Job> jobs;
  for (size_t f = 0; f < families.size(); ++f) {
    for (uint64_t seed : seeds) {
      for (int i = 0; i < per_family; ++i) jobs.push_back({f, seed, i});
    }
  }
  std::vector<ScenarioScore> scores(jobs.size());
  Parallel(static_cast<int>(jobs.size()), threads, [&](int j) {
    absl::StatusOr<FleetScenario> s =
        GenerateFleetScenario(families[jobs[j].family], jobs[j].index, jobs[j].seed, days);
    if (s.ok()) scores[j] = ScoreScenario(*s, params, every_seconds);
  });
  std::vector<FamilyScore> table(families.size());
  for (size_t f = 0; f < families.size(); ++f) table[f].family = families[f];
  for (size_t j = 0; j < jobs.size(); ++j) Add(scores[j], table[jobs[j].family]);
  for (FamilyScore& f : table) std::sort(f.latencies.begin(), f.latencies.end());
  return table;
}

std::vector<GridCell> EvaluateGrid(const std::vector<int>& replicas,
                                   const std::vector<double>& restart_hours,
                                   const std::vector<double>& rates,
                                   const std::vector<uint64_t>& seeds, int per_cell, int days,
                                   const judge::FleetParams& params, double every_seconds,
                                   int threads) {
  std::vector<GridCell> grid;
  for (double rate : rates) {
    for (int n : replicas) {
      for (double p : restart_hours) grid.push_back({n, p, rate, {}});
    }
  }
  struct Job {
    size_t cell;
    uint64_t seed;
    int index;
  };
  std::vector<Job> jobs;
  for (size_t c = 0; c < grid.size(); ++c) {
    for (uint64_t seed : seeds) {
      for (int i = 0; i < per_cell; ++i) jobs.push_back({c, seed, i});
    }
  }
  std::vector<ScenarioScore> scores(jobs.size());
  Parallel(static_cast<int>(jobs.size()), threads, [&](int j) {
    const GridCell& c = grid[jobs[j].cell];
    const FleetScenario s = GenerateGridScenario(c.replicas, c.restart_hours, c.rate, jobs[j].index,
                                                 jobs[j].seed, days);
    scores[j] = ScoreScenario(s, params, every_seconds);
  });
  for (size_t j = 0; j < jobs.size(); ++j) Add(scores[j], grid[jobs[j].cell].score);
  for (GridCell& c : grid) std::sort(c.score.latencies.begin(), c.score.latencies.end());
  return grid;
}

std::string FormatFamilies(const std::vector<FamilyScore>& table) {
  std::string out =
      "| family | jobs | FA episodes | FA / job-day | found/total | latency median h | "
      "latency max h |\n|---|---|---|---|---|---|---|\n";
  for (const FamilyScore& f : table) {
    absl::StrAppend(&out, "| ", f.family, " | ", f.jobs, " | ", f.fa_episodes, " | ",
                    Number(f.FaPerJobDay(), 4), " | ",
                    f.leaking > 0 ? absl::StrCat(f.detected, "/", f.leaking) : "-", " | ",
                    Number(f.MedianLatency(), 2), " | ", Number(f.MaxLatency(), 2), " |\n");
  }
  return out;
}

std::string FormatGrid(const std::vector<GridCell>& grid) {
  std::string out =
      "| leak %/h | replicas | restart every h | found/total | latency median h | latency max h "
      "| FA episodes |\n|---|---|---|---|---|---|---|\n";
  for (const GridCell& c : grid) {
    absl::StrAppend(&out, "| ", Number(c.rate * 100, 0), " | ", c.replicas, " | ",
                    c.restart_hours > 0 ? Number(c.restart_hours, 0) : "never", " | ",
                    c.score.detected, "/", c.score.leaking, " | ",
                    Number(c.score.MedianLatency(), 2), " | ", Number(c.score.MaxLatency(), 2),
                    " | ", c.score.fa_episodes, " |\n");
  }
  return out;
}

}  // namespace leakwatch::judgetest
