// FleetParamsForDetector: the fleet judgment's durations derived from the
// detector's windows. The production windows give FleetParams' defaults; the
// fast windows of config/demo.yaml give a judge that finds a restarting leak
// within minutes and stays quiet on a restarting healthy service.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "judge/fleet.h"
#include "trend/params.h"

namespace leakwatch::judge {
namespace {

void ExpectSameFleetParams(const FleetParams& got, const FleetParams& want) {
  EXPECT_EQ(FormatFleetParams(got), FormatFleetParams(want));
}

TEST(FleetParamsForDetectorTest, ProductionWindowsGiveTheDefaults) {
  // Any scrape interval up to the production grid step of a minute.
  for (double scrape : {0.0, 1.0, 15.0, 30.0, 60.0}) {
    SCOPED_TRACE(absl::StrCat("scrape every ", scrape, "s"));
    ExpectSameFleetParams(FleetParamsForDetector(trend::ProductionPreset(), scrape), FleetParams{});
  }
  // The defaults spelled out, as the README and --help state them.
  const FleetParams p = FleetParamsForDetector(trend::ProductionPreset(), 15);
  EXPECT_EQ(p.step_seconds, 60);
  EXPECT_EQ(p.smooth_seconds, 900);
  EXPECT_EQ(p.min_warmup_seconds, 1800);
  EXPECT_EQ(p.warmup_bin_seconds, 900);
  EXPECT_EQ(p.max_warmup_seconds, 12 * 3600);
  EXPECT_EQ(p.reference_seconds, 86400);
  EXPECT_EQ(p.lookback_seconds, 2 * 86400);
  EXPECT_TRUE(ValidateGridStep(p).ok());
}

TEST(FleetParamsForDetectorTest, FastWindowsGiveMinutes) {
  const FleetParams p = FleetParamsForDetector(trend::FastPreset(), 5);
  EXPECT_TRUE(ValidateFleetParams(p).ok()) << ValidateFleetParams(p);
  EXPECT_TRUE(ValidateGridStep(p).ok()) << ValidateGridStep(p);
  EXPECT_EQ(p.step_seconds, 5);  // the scrape interval, above 10 s / 15
  EXPECT_EQ(p.max_gap_seconds, 50);
  EXPECT_EQ(p.smooth_seconds, 10);
  EXPECT_EQ(p.warmup_bin_seconds, 10);
  EXPECT_EQ(p.min_warmup_seconds, 20);
  EXPECT_EQ(p.max_warmup_seconds, 6 * 60);
  EXPECT_EQ(p.reference_seconds, 12 * 60);  // four trend windows: no min_history
  EXPECT_EQ(p.lookback_seconds, 24 * 60);
  EXPECT_EQ(trend::FormatParams(p.detector), trend::FormatParams(trend::FastPreset()));
}

TEST(FleetParamsForDetectorTest, ScrapesSlowerThanTheFloorWindowAreRefused) {
  const FleetParams p = FleetParamsForDetector(trend::FastPreset(), 15);
  EXPECT_EQ(p.step_seconds, 15);
  EXPECT_EQ(ValidateGridStep(p).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateGridStep(p).message().find("floor_window (10s)"), std::string::npos)
      << ValidateGridStep(p);
  // The production windows take scrapes of up to 15 minutes.
  EXPECT_TRUE(ValidateGridStep(FleetParamsForDetector(trend::ProductionPreset(), 900)).ok());
  EXPECT_FALSE(ValidateGridStep(FleetParamsForDetector(trend::ProductionPreset(), 901)).ok());
}

constexpr double kT0 = 1704067200;  // 2024-01-01T00:00:00Z

// A service's stuck tasks at one site: Poisson counts around level(age) (waits
// that end), plus the tasks a leak of `leak_per_second` left stuck for good
// (arrivals of a Poisson process, stuck 5 s after they arrive).
struct Service {
  std::function<double(double)> level;
  double leak_per_second = 0;
};

// `instances` processes scraped every `scrape` seconds from kT0 for `minutes`,
// each restarted in place every `restart_seconds` (staggered).
GroupHistory MinuteFleet(int instances, double restart_seconds, double minutes, double scrape,
                         const Service& service, uint32_t seed) {
  std::mt19937_64 rng(seed);
  GroupHistory h;
  const double end = kT0 + minutes * 60;
  for (int i = 0; i < instances; ++i) {
    double start = kT0 + i * restart_seconds / (instances + 1);
    while (start < end) {
      Lifetime life;
      life.instance = absl::StrCat("demo-", i, ":9464");
      life.process_start = start;
      const double stop = std::min(end, start + restart_seconds);
      int leaked = 0;
      double leaked_until = start + 5;
      // Up and scraped a second after its start.
      for (double t = std::ceil((start + 1) / scrape) * scrape; t < stop; t += scrape) {
        if (t > leaked_until) {
          std::poisson_distribution<int> arrivals(service.leak_per_second * (t - leaked_until));
          leaked += arrivals(rng);
          leaked_until = t;
        }
        std::poisson_distribution<int> waiting(std::max(1e-9, service.level(t - start)));
        life.t.push_back(t);
        life.value.push_back(waiting(rng) + leaked);
      }
      if (!life.t.empty()) h.lifetimes.push_back(std::move(life));
      // Two seconds down between lifetimes.
      start = stop + 2;
    }
  }
  return h;
}

// The first judging time (every 10 s from kT0) at which `h` is suspected, in
// minutes from kT0, or -1.
double FirstSuspected(const GroupHistory& h, double minutes, const FleetParams& p) {
  for (double now = kT0 + 10; now <= kT0 + minutes * 60; now += 10) {
    if (JudgeGroup(h, now, p).suspected) return (now - kT0) / 60;
  }
  return -1;
}

TEST(FleetParamsForDetectorTest, FastWindowsFindALeakThatRestartsEveryFewMinutes) {
  const FleetParams p = FleetParamsForDetector(trend::FastPreset(), 5);
  // One task a second stuck for good in every lifetime (the demo's timeout
  // leak at a few requests a second), after 5 s of stuck_after.
  const Service leak = {[](double) { return 2.0; }, 1.0};
  for (double restart_seconds : {45.0, 60.0, 180.0}) {
    for (int instances : {1, 3}) {
      for (uint32_t seed : {1u, 2u, 3u}) {
        SCOPED_TRACE(absl::StrCat(instances, " instances restarted every ", restart_seconds,
                                  "s, seed ", seed));
        const GroupHistory h = MinuteFleet(instances, restart_seconds, 15, 5, leak, seed);
        const double found = FirstSuspected(h, 15, p);
        EXPECT_GE(found, 0);
        // The age profile needs 3 lifetimes per age bin (fleet.h, step 3): one
        // instance restarted every 3 minutes has them after 6-7 minutes.
        EXPECT_LE(found, 8);
        // Kept through the restarts that follow.
        const FleetVerdict last = JudgeGroup(h, kT0 + 15 * 60, p);
        EXPECT_TRUE(last.suspected);
        EXPECT_GE(last.lifetimes, 4 * instances);
        EXPECT_NEAR(last.growth_per_hour, 3600, 1800);
      }
    }
  }
}

TEST(FleetParamsForDetectorTest, FastWindowsStayQuietOnAHealthyServiceThatRestarts) {
  const FleetParams p = FleetParamsForDetector(trend::FastPreset(), 5);
  // A pool that fills within half a minute of each start, then holds steady;
  // and a flat level.
  const Service warming = {[](double age) { return 5 + 25 * (1 - std::exp(-age / 10)); }};
  const Service flat = {[](double) { return 20.0; }};
  for (int instances : {1, 3}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(absl::StrCat(instances, " instances, seed ", seed));
      EXPECT_EQ(FirstSuspected(MinuteFleet(instances, 180, 30, 5, warming, seed), 30, p), -1);
      EXPECT_EQ(FirstSuspected(MinuteFleet(instances, 180, 30, 5, flat, seed), 30, p), -1);
    }
  }
}

}  // namespace
}  // namespace leakwatch::judge
