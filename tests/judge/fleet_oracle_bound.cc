// fleet_oracle_bound — how early any judge could find a leak shipped by a
// deploy on the fleet grid (fleet_scenarios.h) without a false alarm, as the
// yardstick for the fleet judge's latency (a sibling of
// tests/trend/trend_oracle_bound).
//
// The oracle knows what no real judge does: every sample's healthy mean (the
// generator's level, instance imbalance, warm-up, load; only the wander and
// the Poisson draw are unknown to it), when the leak's deploy happened, and
// the leak's shape (tasks growing linearly with the age of every process
// started after the deploy). At each evaluation time it matches the residuals
// (sample - healthy mean) of those processes against their ages, the optimal
// filter for that shape, divided by its standard deviation under Poisson noise
// plus the 2 % + 2 % wander taken as independent. Its threshold, per grid
// cell (replicas x restart period), is the highest value the statistic reaches
// after the deploy on healthy jobs of the same cell and seeds: zero false
// alarms by construction. Then it reports when the statistic first crosses
// that threshold on leaking jobs, and the fleet judge's latency on the same
// jobs for the goal cells (10 replicas restarted every 6 h).
//
//   fleet_oracle_bound [--seeds 2-5] [--per-cell 5] [--every-minutes 10]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fleet_eval.h"
#include "fleet_scenarios.h"
#include "oracle_args.h"

namespace {

namespace oracleargs = ::leakwatch::oracleargs;
using leakwatch::judgetest::FleetScenario;
using leakwatch::judgetest::GenerateGridScenario;

constexpr double kWander = 0.02;  // shared and per instance, each

// The oracle's statistic at now = leak_deploy + i * every, i >= 0.
std::vector<double> Statistic(const FleetScenario& s, double every) {
  struct Term {
    double t, weighted, variance;
  };
  std::vector<Term> terms;
  for (size_t l = 0; l < s.history.lifetimes.size(); ++l) {
    const leakwatch::judge::Lifetime& life = s.history.lifetimes[l];
    if (life.process_start < s.leak_deploy) continue;
    for (size_t i = 0; i < life.t.size(); ++i) {
      const double age = (life.t[i] - life.process_start) / 3600;
      const double mu = s.healthy_mean[l][i];
      const double var = mu + 2 * kWander * kWander * mu * mu;
      terms.push_back({life.t[i], age * (life.value[i] - mu), age * age * std::max(var, 1e-9)});
    }
  }
  std::sort(terms.begin(), terms.end(), [](const Term& a, const Term& b) { return a.t < b.t; });
  std::vector<double> z;
  double acc = 0, var = 0;
  size_t next = 0;
  for (double now = s.leak_deploy; now < s.end; now += every) {
    while (next < terms.size() && terms[next].t <= now) {
      acc += terms[next].weighted;
      var += terms[next].variance;
      ++next;
    }
    z.push_back(var > 0 ? acc / std::sqrt(var) : 0);
  }
  return z;
}

}  // namespace

int main(int argc, char** argv) {
  int first_seed = 2, last_seed = 5, per_cell = 5, every_minutes = 10;
  if (!oracleargs::ParseArgs(
          argc, argv, "fleet_oracle_bound",
          "fleet_oracle_bound [--seeds A-B] [--per-cell N] [--every-minutes M]", first_seed,
          last_seed,
          {{"--per-cell", &per_cell, 1, 1 << 30, "a positive integer"},
           {"--every-minutes", &every_minutes, 1, 1 << 30, "a positive integer"}})) {
    return 2;
  }
  const double every = every_minutes * 60.0;
  constexpr int kDays = 4;
  std::printf(
      "fleet oracle: known healthy means, deploy time and leak shape; seeds %d-%d, %d "
      "jobs per cell and seed, every %d min\n\n",
      first_seed, last_seed, per_cell, every_minutes);
  std::printf(
      "| leak %%/h | replicas | restart every h | threshold sd | oracle found | oracle "
      "median h | oracle max h | judge median h | ratio |\n|---|---|---|---|---|---|---|"
      "---|---|\n");
  for (double rate : {0.02, 0.10}) {
    for (int n : {1, 3, 10, 30}) {
      for (double p : {0.0, 2.0, 6.0, 24.0}) {
        double threshold = 0;
        for (int seed = first_seed; seed <= last_seed; ++seed) {
          for (int i = 0; i < per_cell; ++i) {
            const FleetScenario h = GenerateGridScenario(n, p, 0, i, seed, kDays);
            for (double z : Statistic(h, every)) threshold = std::max(threshold, z);
          }
        }
        std::vector<double> latency, judge_latency;
        int found = 0, total = 0;
        const bool goal_cell = n == 10 && p == 6;
        for (int seed = first_seed; seed <= last_seed; ++seed) {
          for (int i = 0; i < per_cell; ++i) {
            const FleetScenario s = GenerateGridScenario(n, p, rate, i, seed, kDays);
            ++total;
            const std::vector<double> z = Statistic(s, every);
            for (size_t k = 0; k < z.size(); ++k) {
              if (z[k] > threshold) {
                latency.push_back(k * every / 3600);
                ++found;
                break;
              }
            }
            if (goal_cell) {
              const leakwatch::judgetest::ScenarioScore judged =
                  leakwatch::judgetest::ScoreScenario(s, leakwatch::judge::FleetParams{}, every);
              if (judged.detected) judge_latency.push_back(judged.latency_hours);
            }
          }
        }
        const double oracle = oracleargs::Median(latency);
        const double judge = oracleargs::Median(judge_latency);
        std::printf(
            "| %.0f | %d | %s | %.1f | %d/%d | %.2f | %.2f | %s | %s |\n", rate * 100, n,
            p > 0 ? std::to_string(static_cast<int>(p)).c_str() : "never", threshold, found, total,
            oracle,
            latency.empty() ? std::nan("") : *std::max_element(latency.begin(), latency.end()),
            goal_cell ? std::to_string(judge).substr(0, 4).c_str() : "",
            goal_cell && oracle > 0 ? std::to_string(judge / oracle).substr(0, 4).c_str() : "");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
