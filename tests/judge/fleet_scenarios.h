// tests/judge/fleet_scenarios.h — the seeded fleet scenario suite for the
// fleet judge (judge/fleet.h).
//
// A scenario is one judged group of one job: every lifetime of every instance,
// sampled once a minute (each instance at its own second within the minute),
// with the time of the deploy that ships a leak, or none. The noise models are
// those of tests/trend/scenarios.cc (splitmix64, Poisson counts, mean-reverting
// wander with a one-hour correlation, 2 % shared by the job's replicas and 2 %
// per instance, a daily cosine cycle); on top come the fleet's own events:
//
//   replicas      1-30 (log-uniform), or fixed for the grid
//   in-place      each instance restarts every 0.5-1.5 x `restart_hours`
//   restarts      (keeps its name, new process_start, leaked tasks die)
//   rolling       every 12-48 h all instances are replaced one by one, 1-3 min
//   deploys       apart, by instances with new names; a deploy may step the
//                 level (deploy_steps) or ship a leak (leak families)
//   autoscaling   (daily, half of the jobs) the replica count follows the daily
//                 load; new instances get new names, scale-down removes the
//                 newest; per-instance load is the job's load over the replicas
//   crash loops   1-3 episodes of 1-6 h in which one instance (or all) restarts
//                 every 1-10 minutes
//   warm-ups      each lifetime rises as 1 - exp(-age / tau): tau of 2-10 min,
//                 or 0.5-3 h in the warm-up families (pools filling for hours)
//   bursts        every 2-6 h, 5-60 min of slow downstream calls pile up
//                 0.3-2 x the level in every replica
//   outages       scrape gaps of 5-60 min (Prometheus down: no samples of any
//                 instance) and downstream outages (no traffic: the level falls
//                 to a tenth for 10-60 min)
//
// Families (healthy first):
//   healthy: rolling, daily, deploy_steps, warmup, crashloop, bursts_outages
//   leaking: leak_1pct, leak_2pct, leak_10pct, leak_50pct (per process per
//            hour, on the rolling background), daily_leak (2-10 %/h),
//            step_leak (a deploy that steps the level and ships 2-10 %/h),
//            warmup_leak (2-10 %/h on hour-long warm-ups)
// and the grid (GenerateGridScenario) of fixed replica count, restart period
// and rate on the rolling background, for latency against fleet shape.
//
//   absl::StatusOr<leakwatch::judgetest::FleetScenario> s =
//       leakwatch::judgetest::GenerateFleetScenario("leak_2pct", 3, /*seed=*/1, /*days=*/5);

#ifndef LEAKWATCH_TESTS_JUDGE_FLEET_SCENARIOS_H_
#define LEAKWATCH_TESTS_JUDGE_FLEET_SCENARIOS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "judge/history.h"

namespace leakwatch::judgetest {

struct FleetScenario {
  std::string family;
  int index = 0;
  double start = 0;  // first sample time
  double end = 0;    // after the last sample
  judge::GroupHistory history;
  // For every lifetime and sample: the mean a healthy job would have had (no
  // leak, no noise; the wander excluded), for the oracle bound.
  std::vector<std::vector<double>> healthy_mean;
  // The rolling deploy that ships the leak (leak families), or that ships
  // nothing at the same point of the scenario (healthy families).
  double leak_deploy = 0;
  std::optional<double> leak_start;  // == leak_deploy for leak families
  double leak_rate = 0;              // per process per hour, relative to the level
  double level = 0;                  // the job's level per process
  int replicas = 0;                  // nominal
  double restart_hours = 0;          // nominal in-place restart period; 0 = never
};

// Every family, healthy first.
const std::vector<std::string>& FleetFamilies();
bool IsFleetLeakFamily(const std::string& family);

// One scenario; an unknown family or days < 2 is an InvalidArgumentError.
absl::StatusOr<FleetScenario> GenerateFleetScenario(const std::string& family, int index,
                                                    uint64_t seed, int days);

// A leak of `rate` per process per hour (0: healthy) on `replicas` instances
// restarted in place every `restart_hours` (0: never), on the rolling
// background (no daily cycle).
FleetScenario GenerateGridScenario(int replicas, double restart_hours, double rate, int index,
                                   uint64_t seed, int days);

}  // namespace leakwatch::judgetest

#endif  // LEAKWATCH_TESTS_JUDGE_FLEET_SCENARIOS_H_
