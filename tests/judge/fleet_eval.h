// tests/judge/fleet_eval.h — scores JudgeGroup on fleet scenarios (the library
// behind `leakwatch-fleet-eval` and the detection-goal test).
//
// Each scenario is judged as the running judge would judge it: JudgeGroup over
// the whole history as of `now`, for `now` every `every_seconds` from a day
// after the first sample to the end (the judge needs a day of history). Per
// family:
//   FA episodes   maximal runs of suspected verdicts that start before the
//                 leak deploy (anywhere in a healthy job), per job-day of that
//                 exposure (counted from a day after the first sample)
//   latency       hours from the leak deploy to the first suspected verdict
//                 at or after it; found/total counts the leaking jobs found
//
//   std::vector<FamilyScore> table = EvaluateFamilies(FleetFamilies(), {1}, 20, 5,
//                                                     judge::FleetParams{}, 600, 2);

#ifndef LEAKWATCH_TESTS_JUDGE_FLEET_EVAL_H_
#define LEAKWATCH_TESTS_JUDGE_FLEET_EVAL_H_

#include <string>
#include <vector>

#include "fleet_scenarios.h"
#include "judge/fleet.h"

namespace leakwatch::judgetest {

struct ScenarioScore {
  int fa_episodes = 0;
  double exposure_days = 0;
  bool leaking = false;
  bool detected = false;
  double latency_hours = 0;  // when detected
};

ScenarioScore ScoreScenario(const FleetScenario& s, const judge::FleetParams& params,
                            double every_seconds);

struct FamilyScore {
  std::string family;
  int jobs = 0;
  int fa_episodes = 0;
  double exposure_days = 0;
  int leaking = 0;
  int detected = 0;
  std::vector<double> latencies;  // hours, sorted

  double FaPerJobDay() const;
  double MedianLatency() const;  // NaN when none
  double MaxLatency() const;     // NaN when none
};

// Scores `per_family` scenarios of each family for each seed, `threads` at a
// time.
std::vector<FamilyScore> EvaluateFamilies(const std::vector<std::string>& families,
                                          const std::vector<uint64_t>& seeds, int per_family,
                                          int days, const judge::FleetParams& params,
                                          double every_seconds, int threads);

// One cell of the latency grid: a leak of `rate` on `replicas` instances
// restarted every `restart_hours` (0 = never).
struct GridCell {
  int replicas = 0;
  double restart_hours = 0;
  double rate = 0;
  FamilyScore score;
};

std::vector<GridCell> EvaluateGrid(const std::vector<int>& replicas,
                                   const std::vector<double>& restart_hours,
                                   const std::vector<double>& rates,
                                   const std::vector<uint64_t>& seeds, int per_cell, int days,
                                   const judge::FleetParams& params, double every_seconds,
                                   int threads);

// Markdown tables.
std::string FormatFamilies(const std::vector<FamilyScore>& table);
std::string FormatGrid(const std::vector<GridCell>& grid);

}  // namespace leakwatch::judgetest

#endif  // LEAKWATCH_TESTS_JUDGE_FLEET_EVAL_H_
