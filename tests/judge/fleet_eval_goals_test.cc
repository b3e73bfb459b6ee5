// Detection goals of issue 16 (item 5) on a generated fleet set: the held-out
// seed 1 (parameters were chosen on seeds 2 and 3), two jobs per family and
// three per goal cell of the grid, judged every 15 minutes. Where a goal is
// not met the test says so and pins the current figure against regressions. The full table is
// `leakwatch-fleet-eval --seeds 1-1` (held out) and `--seeds 2-3` (training).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fleet_eval.h"
#include "fleet_scenarios.h"

namespace leakwatch::judgetest {
namespace {

constexpr uint64_t kHeldOutSeed = 1;
constexpr double kEvery = 15 * 60;

TEST(FleetEvalGoalsTest, NoFalseAlarmsAndLeaksFound) {
  const std::vector<FamilyScore> table = EvaluateFamilies(
      FleetFamilies(), {kHeldOutSeed}, /*per_family=*/2, /*days=*/4, judge::FleetParams{}, kEvery,
      /*threads=*/2);
  for (const FamilyScore& f : table) {
    // Issue goal: zero false-alarm episodes on every family (met on this set;
    // not on every training seed, see fleet.h).
    EXPECT_EQ(f.fa_episodes, 0) << "false alarms in family " << f.family << "\n"
                                << FormatFamilies(table);
    // Issue goal: every leak found. Not met for 1 %/h (0 of 2 here: the
    // random-walk bar and the age profile's bias hide it) nor for
    // warmup_leak (1 of 2 since the mature veto of fleet.h step 5; daily_leak
    // went from 1 to 2 of 2 with the same change); the other leak families
    // must stay fully found.
    if (IsFleetLeakFamily(f.family) && f.family != "leak_1pct" && f.family != "warmup_leak") {
      EXPECT_EQ(f.detected, f.leaking) << "leaks missed in family " << f.family << "\n"
                                       << FormatFamilies(table);
    }
  }
}

TEST(FleetEvalGoalsTest, TenReplicasRestartedEverySixHours) {
  // Issue goals: 2 %/h found within 6 h, 10 %/h within 1.5 h. NOT met: 9.5 h
  // median (16.3 h max; 12.2 h and 23.8 h before the restart-drop
  // corroboration of fleet.h step 6) and 3.4 h (4.0 h max; 5.0 h and 6.0 h
  // before the same-age corroboration) here. The bounds below pin the
  // current figures against regressions.
  const std::vector<GridCell> grid =
      EvaluateGrid({10}, {6}, {0.02, 0.10}, {kHeldOutSeed},
                   /*per_cell=*/3, /*days=*/4, judge::FleetParams{}, kEvery, /*threads=*/2);
  ASSERT_EQ(grid.size(), 2u);
  const FamilyScore& slow = grid[0].score;
  const FamilyScore& fast = grid[1].score;
  EXPECT_EQ(slow.detected, slow.leaking) << FormatGrid(grid);
  EXPECT_EQ(fast.detected, fast.leaking) << FormatGrid(grid);
  EXPECT_EQ(slow.fa_episodes + fast.fa_episodes, 0) << FormatGrid(grid);
  EXPECT_LE(slow.MaxLatency(), 18.0) << FormatGrid(grid);
  EXPECT_LE(fast.MaxLatency(), 4.0) << FormatGrid(grid);
}

TEST(FleetScenariosTest, ScenariosAreReproducibleAndLabelled) {
  const absl::StatusOr<FleetScenario> a = GenerateFleetScenario("leak_2pct", 3, 9, 3);
  const absl::StatusOr<FleetScenario> b = GenerateFleetScenario("leak_2pct", 3, 9, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->history.lifetimes.size(), b->history.lifetimes.size());
  for (size_t i = 0; i < a->history.lifetimes.size(); ++i) {
    EXPECT_EQ(a->history.lifetimes[i].instance, b->history.lifetimes[i].instance);
    EXPECT_EQ(a->history.lifetimes[i].value, b->history.lifetimes[i].value);
  }
  ASSERT_TRUE(a->leak_start.has_value());
  EXPECT_GT(*a->leak_start, a->start + 86400);
  EXPECT_LT(*a->leak_start, a->end - 86400 + 1);
  EXPECT_FALSE(GenerateFleetScenario("rolling", 0, 9, 3)->leak_start.has_value());
  EXPECT_FALSE(GenerateFleetScenario("no_such_family", 0, 9, 3).ok());
  EXPECT_FALSE(GenerateFleetScenario("rolling", 0, 9, 1).ok());
}

TEST(FleetScenariosTest, FleetEventsAppear) {
  // Rolling deploys rename instances; crash loops give lifetimes of minutes.
  const FleetScenario crash = *GenerateFleetScenario("crashloop", 1, 9, 4);
  int short_lived = 0;
  for (const judge::Lifetime& life : crash.history.lifetimes) {
    if (life.t.back() - life.t.front() < 15 * 60) ++short_lived;
  }
  EXPECT_GT(short_lived, 5);
  const FleetScenario grid = GenerateGridScenario(10, 6, 0, 0, 9, 4);
  std::vector<std::string> names;
  for (const judge::Lifetime& life : grid.history.lifetimes) names.push_back(life.instance);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  EXPECT_GT(names.size(), 10u);                            // deploys renamed instances
  EXPECT_GT(grid.history.lifetimes.size(), names.size());  // and restarts kept names
}

}  // namespace
}  // namespace leakwatch::judgetest
