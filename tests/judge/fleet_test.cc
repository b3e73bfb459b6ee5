// JudgeGroup's edge cases and its basic verdicts on small hand-built fleets.

#include "judge/fleet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace leakwatch::judge {
namespace {

constexpr double kT0 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr double kHour = 3600;
constexpr double kDay = 86400;

// The mean of a sample at process age `age` and time `t`.
using MeanFn = std::function<double(double age, double t)>;

// `instances` replicas sampled every minute from kT0 for `days`, each restarted
// in place every `restart_hours` (staggered evenly; 0 = never), with Poisson
// counts around `mean`.
GroupHistory Fleet(int instances, double restart_hours, double days, const MeanFn& mean,
                   uint32_t seed = 1) {
  std::mt19937_64 rng(seed);
  GroupHistory h;
  const double end = kT0 + days * kDay;
  for (int i = 0; i < instances; ++i) {
    const double period = restart_hours > 0 ? restart_hours * kHour : 1e18;
    // Staggered restarts; the first process started before the history.
    double start = kT0 - (i + 1.0) / instances * std::min(period, 2 * kDay);
    while (start < end) {
      Lifetime life;
      life.instance = absl::StrCat("pod-", i, ":9464");
      life.process_start = start;
      const double stop = std::min(end, start + period);
      for (double t = std::max(kT0, std::ceil((start + 1) / 60) * 60); t < stop; t += 60) {
        std::poisson_distribution<int> draw(std::max(1e-9, mean(t - start, t)));
        life.t.push_back(t);
        life.value.push_back(draw(rng));
      }
      if (!life.t.empty()) h.lifetimes.push_back(std::move(life));
      start = stop;
    }
  }
  return h;
}

double End(double days) { return kT0 + days * kDay - 60; }

TEST(JudgeGroupTest, EmptyHistoryIsNotSuspected) {
  const FleetVerdict v = JudgeGroup(GroupHistory{}, kT0, FleetParams{});
  EXPECT_FALSE(v.suspected);
  EXPECT_EQ(v.instances, 0);
  EXPECT_EQ(v.lifetimes, 0);
  EXPECT_EQ(v.growth_per_hour, 0);
}

TEST(JudgeGroupTest, OneSampleIsCountedButNotSuspected) {
  GroupHistory h;
  h.lifetimes.push_back({"a:1", kT0 - 10, {kT0}, {5}});
  const FleetVerdict v = JudgeGroup(h, kT0 + 60, FleetParams{});
  EXPECT_FALSE(v.suspected);
  EXPECT_EQ(v.instances, 1);
  EXPECT_EQ(v.lifetimes, 1);
}

TEST(JudgeGroupTest, LifetimesWithoutSamplesInRangeAreNotCounted) {
  GroupHistory h;
  h.lifetimes.push_back({"a:1", kT0, {kT0 + 60, kT0 + 120}, {1, 2}});
  h.lifetimes.push_back({"b:1", kT0, {}, {}});                            // empty
  h.lifetimes.push_back({"c:1", kT0, {kT0 + 9 * kDay}, {3}});             // after now
  h.lifetimes.push_back({"d:1", kT0 - 9 * kDay, {kT0 - 8 * kDay}, {3}});  // before lookback
  const FleetVerdict v = JudgeGroup(h, kT0 + kHour, FleetParams{});
  EXPECT_EQ(v.instances, 1);
  EXPECT_EQ(v.lifetimes, 1);
}

TEST(JudgeGroupTest, MismatchedSizesAreJudgedOnTheCommonPrefix) {
  GroupHistory h;
  h.lifetimes.push_back({"a:1", kT0, {kT0 + 60, kT0 + 120, kT0 + 180}, {1}});
  h.lifetimes.push_back({"a:1", kT0, {}, {1, 2, 3}});
  const FleetVerdict v = JudgeGroup(h, kT0 + kHour, FleetParams{});
  EXPECT_EQ(v.lifetimes, 1);
  EXPECT_FALSE(v.suspected);
}

TEST(JudgeGroupTest, InvalidParamsOrNowYieldCountsOnly) {
  const GroupHistory h = Fleet(3, 6, 3, [](double age, double) { return 100 + 20 * age / kHour; });
  FleetParams bad;
  bad.step_seconds = 0;
  const FleetVerdict v = JudgeGroup(h, End(3), bad);
  EXPECT_FALSE(v.suspected);
  EXPECT_EQ(v.instances, 3);
  EXPECT_GT(v.lifetimes, 3);
  EXPECT_FALSE(JudgeGroup(h, std::nan(""), FleetParams{}).suspected);
  EXPECT_FALSE(ValidateFleetParams(bad).ok());
  EXPECT_TRUE(ValidateFleetParams(FleetParams{}).ok());
}

TEST(JudgeGroupTest, ValidateNamesTheBadField) {
  FleetParams p;
  p.max_warmup_seconds = 10;
  const absl::Status s = ValidateFleetParams(p);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("max_warmup_seconds"), std::string::npos) << s;
  p = FleetParams{};
  p.lookback_seconds = std::nan("");
  EXPECT_NE(ValidateFleetParams(p).message().find("lookback_seconds"), std::string::npos);
}

TEST(JudgeGroupTest, ValidateChecksTheDetectorsParamsToo) {
  FleetParams p;
  p.detector.min_floors = 1;
  const absl::Status s = ValidateFleetParams(p);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("FleetParams.detector.min_floors"), std::string::npos) << s;
}

TEST(SetFleetParamTest, SetsFleetFieldsAndDetectorParams) {
  FleetParams p;
  ASSERT_TRUE(SetFleetParam(p, "min_warmup_seconds=900").ok());
  EXPECT_EQ(p.min_warmup_seconds, 900);
  ASSERT_TRUE(SetFleetParam(p, "warmup_min_bins=6").ok());
  EXPECT_EQ(p.warmup_min_bins, 6);
  ASSERT_TRUE(SetFleetParam(p, "detector.confirm_time=15m").ok());
  EXPECT_EQ(p.detector.confirm_time, absl::Minutes(15));
  EXPECT_TRUE(ValidateFleetParams(p).ok());
}

TEST(FleetParamFieldsTest, EachFieldIsSetFormattedAndRangeChecked) {
  for (const FleetParamField& field : FleetParamFields()) {
    SCOPED_TRACE(field.name);
    // Set through its name, seen in the format, refused below its range.
    FleetParams p;
    const double value = field.min + (field.integer != nullptr ? 7 : 1234.5);
    ASSERT_TRUE(SetFleetParam(p, absl::StrCat(field.name, "=", value)).ok());
    EXPECT_NE(FormatFleetParams(p).find(absl::StrCat(field.name, "=", value, "\n")),
              std::string::npos)
        << FormatFleetParams(p);
    EXPECT_NE(FormatFleetParams(p), FormatFleetParams(FleetParams{}));
    p = FleetParams{};
    ASSERT_TRUE(SetFleetParam(p, absl::StrCat(field.name, "=", field.min - 1)).ok());
    const absl::Status s = ValidateFleetParams(p);
    EXPECT_NE(s.message().find(absl::StrCat("FleetParams.", field.name)), std::string::npos) << s;
    if (field.real != nullptr) {
      p = FleetParams{};
      ASSERT_TRUE(SetFleetParam(p, absl::StrCat(field.name, "=inf")).ok());
      EXPECT_FALSE(ValidateFleetParams(p).ok());
    }
  }
  // The detector's parameters follow, prefixed.
  EXPECT_NE(FormatFleetParams(FleetParams{}).find("\ndetector.trend_window=6h\n"),
            std::string::npos)
      << FormatFleetParams(FleetParams{});
}

TEST(SetFleetParamTest, BadAssignmentsNameWhatIsWrong) {
  FleetParams p;
  absl::Status s = SetFleetParam(p, "walk_z");
  EXPECT_NE(s.message().find("NAME=VALUE"), std::string::npos) << s;
  s = SetFleetParam(p, "no_such=1");
  EXPECT_NE(s.message().find("no_such"), std::string::npos) << s;
  s = SetFleetParam(p, "walk_z=high");
  EXPECT_NE(s.message().find("walk_z"), std::string::npos) << s;
  s = SetFleetParam(p, "warmup_min_bins=2.5");
  EXPECT_NE(s.message().find("warmup_min_bins"), std::string::npos) << s;
  EXPECT_FALSE(SetFleetParam(p, "detector.no_such=1").ok());
  EXPECT_EQ(p.walk_z, FleetParams{}.walk_z);  // a failed set changes nothing
}

TEST(JudgeGroupTest, TinyLifetimesOfOneOrTwoSamplesAreNotSuspected) {
  GroupHistory h;
  for (int i = 0; i < 3 * 24 * 30; ++i) {  // a crash loop: a new process every 2 min
    const double start = kT0 + i * 120.0;
    h.lifetimes.push_back({"a:1", start, {start + 30, start + 90}, {0, 1.0 + i % 3}});
  }
  const FleetVerdict v = JudgeGroup(h, kT0 + 3 * kDay, FleetParams{});
  EXPECT_FALSE(v.suspected);
  EXPECT_EQ(v.instances, 1);
  EXPECT_EQ(v.lifetimes, 2 * 24 * 30);  // two days of lookback
}

TEST(JudgeGroupTest, SingleInstanceThatNeverRestartsIsJudgedLikeOneProcess) {
  auto leak = [](double, double t) {
    return 500 + (t > kT0 + 2 * kDay ? 50 * (t - kT0 - 2 * kDay) / kHour : 0);
  };
  const GroupHistory h = Fleet(1, 0, 3, leak);
  // Before the leak: flat, not suspected.
  const FleetVerdict before = JudgeGroup(h, kT0 + 2 * kDay, FleetParams{});
  EXPECT_FALSE(before.suspected);
  EXPECT_EQ(before.lifetimes, 1);
  // A day into a 10 %/h leak: suspected, growth per hour about 50.
  const FleetVerdict v = JudgeGroup(h, End(3), FleetParams{});
  EXPECT_TRUE(v.suspected);
  EXPECT_NEAR(v.growth_per_hour, 50, 15);
  EXPECT_EQ(v.instances, 1);
}

TEST(JudgeGroupTest, SamplesAfterNowAreIgnored) {
  // Flat until day 2.5, then a steep leak that only samples after `now` show.
  auto late_leak = [](double age, double t) {
    return 300 + (t > kT0 + 2.5 * kDay ? 100 * age / kHour : 0);
  };
  const GroupHistory h = Fleet(5, 6, 3, late_leak);
  const FleetVerdict at = JudgeGroup(h, kT0 + 2.5 * kDay, FleetParams{});
  EXPECT_FALSE(at.suspected);
  // The same history cut at `now` gives the same verdict.
  GroupHistory cut = h;
  for (Lifetime& life : cut.lifetimes) {
    while (!life.t.empty() && life.t.back() > kT0 + 2.5 * kDay) {
      life.t.pop_back();
      life.value.pop_back();
    }
  }
  const FleetVerdict cut_verdict = JudgeGroup(cut, kT0 + 2.5 * kDay, FleetParams{});
  EXPECT_EQ(cut_verdict.suspected, at.suspected);
  EXPECT_DOUBLE_EQ(cut_verdict.growth_per_hour, at.growth_per_hour);
  EXPECT_EQ(cut_verdict.lifetimes, at.lifetimes);
  // Later, the leak is seen.
  EXPECT_TRUE(JudgeGroup(h, End(3), FleetParams{}).suspected);
}

TEST(JudgeGroupTest, ThirtyInstancesWithMinuteLongLifetimesAreNotSuspected) {
  // Every lifetime warms up within its few minutes: a crash loop, not a leak.
  auto warming = [](double age, double) { return 40 * (1 - std::exp(-age / 120)); };
  const GroupHistory h = Fleet(30, 5.0 / 60, 2.5, warming);
  const FleetVerdict v = JudgeGroup(h, End(2.5), FleetParams{});
  EXPECT_FALSE(v.suspected);
  EXPECT_EQ(v.instances, 30);
  EXPECT_GT(v.lifetimes, 30 * 12 * 47);
}

TEST(JudgeGroupTest, TenReplicasRestartedEverySixHoursWithALeakAreSuspected) {
  // 2 %/h per process of 400 tasks, shipped at day 2 (every process started
  // after it leaks).
  auto leak = [](double age, double t) {
    const double since = t - age;  // process start
    return 400 + (since >= kT0 + 2 * kDay ? 8 * age / kHour : 0);
  };
  const GroupHistory h = Fleet(10, 6, 3.5, leak);
  EXPECT_FALSE(JudgeGroup(h, kT0 + 2 * kDay, FleetParams{}).suspected);
  // Found within 16 h and kept (issue 16's goal is 6 h: not reached, see
  // fleet.h), with the growth of one process.
  double found = -1;
  for (double now = kT0 + 2 * kDay; now < End(3.5); now += 15 * 60) {
    const FleetVerdict v = JudgeGroup(h, now, FleetParams{});
    if (found < 0 && v.suspected) {
      found = (now - kT0 - 2 * kDay) / kHour;
      EXPECT_NEAR(v.growth_per_hour, 8, 4);
      EXPECT_EQ(v.instances, 10);
    }
  }
  EXPECT_GE(found, 0);
  EXPECT_LE(found, 16);
  EXPECT_TRUE(JudgeGroup(h, End(3.5), FleetParams{}).suspected);
}

TEST(JudgeGroupTest, SaturatingWarmUpWithDailyRestartsIsNotSuspected) {
  auto warmup = [](double age, double) { return 600 * (1 - std::exp(-age / (2 * kHour))); };
  const GroupHistory h = Fleet(10, 24, 3, warmup);
  for (double now = kT0 + 1.5 * kDay; now < End(3); now += 2 * kHour) {
    const FleetVerdict v = JudgeGroup(h, now, FleetParams{});
    EXPECT_FALSE(v.suspected) << "at hour " << (now - kT0) / kHour;
    // Most of the warm-up is taken out: without the age profile the stitched
    // series would climb about 600 tasks with every restart of every replica.
    const StitchedSeries s = StitchGroup(h, now, FleetParams{});
    ASSERT_FALSE(s.x.empty());
    const auto [lo, hi] = std::minmax_element(s.x.begin(), s.x.end());
    EXPECT_LT(*hi - *lo, 0.5 * s.level) << "at hour " << (now - kT0) / kHour;
  }
}

TEST(JudgeGroupTest, DeployStepToANewLevelIsNotSuspected) {
  // Every process started after day 2 runs at twice the level.
  auto step = [](double age, double t) { return t - age >= kT0 + 2 * kDay ? 800 : 400; };
  const GroupHistory h = Fleet(10, 4, 3, step);
  for (double now = kT0 + 1.5 * kDay; now < End(3); now += kHour) {
    EXPECT_FALSE(JudgeGroup(h, now, FleetParams{}).suspected) << (now - kT0) / kHour;
  }
}

TEST(JudgeGroupTest, OrderOfLifetimesDoesNotMatterAndCallsArePure) {
  auto leak = [](double age, double) { return 200 + 20 * age / kHour; };
  GroupHistory h = Fleet(6, 8, 3, leak);
  const FleetVerdict a = JudgeGroup(h, End(3), FleetParams{});
  std::reverse(h.lifetimes.begin(), h.lifetimes.end());
  FleetVerdict b, c;
  std::thread t1([&] { b = JudgeGroup(h, End(3), FleetParams{}); });
  std::thread t2([&] { c = JudgeGroup(h, End(3), FleetParams{}); });
  t1.join();
  t2.join();
  EXPECT_EQ(a.suspected, b.suspected);
  EXPECT_DOUBLE_EQ(a.growth_per_hour, b.growth_per_hour);
  EXPECT_EQ(b.suspected, c.suspected);
  EXPECT_DOUBLE_EQ(b.growth_per_hour, c.growth_per_hour);
  EXPECT_EQ(a.lifetimes, b.lifetimes);
}

}  // namespace
}  // namespace leakwatch::judge
