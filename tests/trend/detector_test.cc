#include "trend/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scenarios.h"

namespace leakwatch::trend {
namespace {

constexpr double kT0 = 1700000000;  // seconds since the epoch
constexpr double kHour = 3600;

// Small deterministic noise in [-4, 4], so trends are judged on realistic,
// tie-free floors.
double Noise(long i) { return static_cast<double>((i * 7919 + 13) % 9) - 4; }

struct FedSeries {
  std::optional<double> first_suspected;  // seconds after kT0
  std::optional<double> last_suspected;
  Verdict last;
};

// Feeds value(t) (t in seconds after kT0) every `step` seconds for `seconds`.
FedSeries Feed(
    SeriesDetector& d, double seconds, double step, const std::function<double(double)>& value,
    const std::function<double(double)>& process_start = [](double) { return kT0 - 60; },
    double from = 0) {
  FedSeries run;
  for (double t = from; t < from + seconds; t += step) {
    run.last = d.Add(kT0 + t, value(t), process_start(t));
    if (run.last.suspected) {
      if (!run.first_suspected) run.first_suspected = t;
      run.last_suspected = t;
    }
  }
  return run;
}

double Flat(double level, double t) { return level + Noise(static_cast<long>(t / 60)); }

// True when the detector with `p` ever suspects the suite's series.
bool AlarmsOn(const Params& p, const std::string& family, int index, uint64_t seed) {
  absl::StatusOr<trendtest::Scenario> s = trendtest::GenerateScenario(family, index, seed, 5);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return false;
  SeriesDetector d(p);
  bool alarmed = false;
  for (const trendtest::Sample& row : s->samples) {
    alarmed = d.Add(static_cast<double>(row.t), static_cast<double>(row.value),
                    static_cast<double>(row.process_start))
                  .suspected ||
              alarmed;
  }
  return alarmed;
}

// One series of the suite's family: its index and seed.
struct SuiteSeries {
  int index;
  uint64_t seed;
};

// How many of `series` of `family` the detector with `p` ever suspects.
int AlarmedCount(const Params& p, const std::string& family,
                 std::initializer_list<SuiteSeries> series) {
  int alarmed = 0;
  for (const SuiteSeries& s : series) alarmed += AlarmsOn(p, family, s.index, s.seed);
  return alarmed;
}

TEST(SeriesDetectorTest, ConstantIdlePoolIsNeverSuspectedAndHasZeroZ) {
  SeriesDetector d(ProductionPreset());
  FedSeries run = Feed(d, 3 * 24 * kHour, 60, [](double) { return 16; });
  EXPECT_FALSE(run.first_suspected.has_value());
  EXPECT_EQ(run.last.z, 0);
  EXPECT_EQ(run.last.growth_per_hour, 0);
}

TEST(SeriesDetectorTest, FlatNoisySeriesIsNeverSuspected) {
  SeriesDetector d(ProductionPreset());
  FedSeries run = Feed(d, 4 * 24 * kHour, 60, [](double t) { return Flat(300, t); });
  EXPECT_FALSE(run.first_suspected.has_value());
}

TEST(SeriesDetectorTest, LinearLeakAfterADayOfHistoryIsSuspectedWithItsGrowth) {
  SeriesDetector d(ProductionPreset());
  const double start = 30 * kHour;
  FedSeries run = Feed(d, 48 * kHour, 60, [&](double t) {
    return Flat(300, t) + (t > start ? 30 * (t - start) / kHour : 0);  // +10%/h
  });
  ASSERT_TRUE(run.first_suspected.has_value());
  EXPECT_GE(*run.first_suspected, start);
  EXPECT_LE(*run.first_suspected - start, 4 * kHour);
  EXPECT_TRUE(run.last.suspected);
  EXPECT_NEAR(run.last.growth_per_hour, 30, 6);
  EXPECT_GT(run.last.z, 3.09);
}

TEST(SeriesDetectorTest, NothingIsSuspectedBeforeADayOfHistory) {
  SeriesDetector d(ProductionPreset());
  // A leak from the first sample: a span is judged only once 24 h of floors
  // precede it, so the half-window span (3 h) is first judged at 27 h and its
  // growth after the largest shift must have lasted long enough (post_growth_share).
  FedSeries run = Feed(d, 40 * kHour, 60, [](double t) { return Flat(300, t) + 20 * t / kHour; });
  ASSERT_TRUE(run.first_suspected.has_value());
  EXPECT_GE(*run.first_suspected, 24 * kHour);
  EXPECT_LE(*run.first_suspected, 29 * kHour);
}

TEST(SeriesDetectorTest, ProcessRestartClearsTheVerdictAndJudgesTheNewProcessOnItsOwn) {
  auto leak = [](double t) { return Flat(300, t) + 20 * t / kHour; };
  const double restart = 36 * kHour;
  auto new_process = [&](double) { return kT0 + restart; };
  auto after_restart = [&](const Params& p) {
    SeriesDetector d(p);
    FedSeries before = Feed(d, restart, 60, leak);
    EXPECT_TRUE(before.last.suspected);
    // The same leak in a new process: the verdict clears at once.
    EXPECT_FALSE(d.Add(kT0 + restart, 300, kT0 + restart).suspected);
    return Feed(
        d, 20 * kHour, 60, [&](double t) { return Flat(300, t) + 20 * (t - restart) / kHour; },
        new_process, restart + 60);
  };
  // The old floors no longer count, but the old process showed how much the
  // series wanders: the new one is judged on its own floors once
  // regime_min_history of them precede a span, not after another day.
  FedSeries early = after_restart(ProductionPreset());
  ASSERT_TRUE(early.first_suspected.has_value());
  EXPECT_GE(*early.first_suspected - restart, absl::ToDoubleSeconds(absl::Hours(2)));
  EXPECT_LE(*early.first_suspected - restart, 8 * kHour);
  Params wait_a_day = ProductionPreset();
  wait_a_day.regime.guard_k = 0;
  EXPECT_FALSE(after_restart(wait_a_day).first_suspected.has_value());
}

TEST(SeriesDetectorTest, ServiceRestartedTwiceADayIsStillJudged) {
  // A day and a half of one healthy process, then a new process every 12 h,
  // each leaking 10 %/h until it is replaced. No process after the first lives
  // the day min_history asks for; each passes on the deviation the first one
  // showed, and each leak is found on the process's own floors.
  const double first = 36 * kHour, life = 12 * kHour;
  auto start_of = [&](double t) {
    return t < first ? kT0 - 60 : kT0 + first + std::floor((t - first) / life) * life;
  };
  auto value = [&](double t) {
    return t < first ? Flat(300, t) : Flat(300, t) + 30 * (t - (start_of(t) - kT0)) / kHour;
  };
  auto lives_found = [&](const Params& p) {
    SeriesDetector d(p);
    int found = 0;
    double found_in = -1;
    for (double t = 0; t < first + 4 * life; t += 60) {
      const double process = start_of(t);
      if (d.Add(kT0 + t, value(t), process).suspected && process != found_in) {
        ++found;
        found_in = process;
      }
    }
    return found;
  };
  EXPECT_EQ(lives_found(ProductionPreset()), 4);
  Params wait_a_day = ProductionPreset();
  wait_a_day.regime.guard_k = 0;
  EXPECT_EQ(lives_found(wait_a_day), 0);
}

TEST(SeriesDetectorTest, RestartedWanderingSeriesIsNotALeak) {
  // A healthy series of about 1,700 tasks wandering by 2 % (scenario suite,
  // "restarts" family): a few hours after a restart its level tops everything
  // the new process has seen. The margin for the wander the old process showed
  // keeps it silent; a quarter of it does not (half of it did, before floors
  // were window means).
  EXPECT_FALSE(AlarmsOn(ProductionPreset(), "restarts", 50, 1));
  Params quarter = ProductionPreset();
  quarter.regime.guard_k /= 4;
  EXPECT_TRUE(AlarmsOn(quarter, "restarts", 50, 1)) << "this series should need the wander margin";
}

TEST(SeriesDetectorTest, DailyRiseIsNotJudgedEarlyAsANewRegime) {
  // A daily cycle (scenario suite, "daily" family) whose morning rise is steep
  // enough to read as a step: a series that swung by a step's size before gets
  // no early judgment, or the rest of the rise would read as a leak.
  EXPECT_FALSE(AlarmsOn(ProductionPreset(), "daily", 47, 2));
}

TEST(SeriesDetectorTest, VerdictClearsOnlyAfterAFullWindowWithoutGrowth) {
  SeriesDetector d(ProductionPreset());
  const double start = 30 * kHour, stop = 40 * kHour;
  FedSeries run = Feed(d, 60 * kHour, 60, [&](double t) {
    const double leaked = 30 * (std::min(t, stop) - start) / kHour;
    return Flat(300, t) + (t > start ? leaked : 0);
  });
  ASSERT_TRUE(run.first_suspected.has_value());
  ASSERT_TRUE(run.last_suspected.has_value());
  EXPECT_GE(*run.last_suspected, stop + 6 * kHour);   // held a full trend window
  EXPECT_LE(*run.last_suspected, stop + 14 * kHour);  // and then cleared
  EXPECT_FALSE(run.last.suspected);
}

TEST(SeriesDetectorTest, ShortScalesFlagAFastLeakSoonerThanTheTrendWindowAlone) {
  const double start = 30 * kHour;
  auto leak = [&](double t) {
    return Flat(300, t) + (t > start ? 30 * (t - start) / kHour : 0);  // +10%/h
  };
  SeriesDetector multi(ProductionPreset());
  Params window_only = ProductionPreset();
  window_only.fast.span = absl::ZeroDuration();
  window_only.mid.span = absl::ZeroDuration();
  SeriesDetector single(window_only);
  FedSeries fast = Feed(multi, 40 * kHour, 60, leak);
  FedSeries slow = Feed(single, 40 * kHour, 60, leak);
  ASSERT_TRUE(fast.first_suspected.has_value());
  ASSERT_TRUE(slow.first_suspected.has_value());
  EXPECT_GE(*fast.first_suspected, start);
  EXPECT_LE(*fast.first_suspected - start, 1.5 * kHour);
  EXPECT_LT(*fast.first_suspected, *slow.first_suspected);
}

TEST(SeriesDetectorTest, StepFollowedByHoursOfDriftStartsANewRegimeNotALeak) {
  // A deploy raises the level by half, which then drifts up by 3 %/h for 5 h
  // and settles: the drift alone would look like a slow leak.
  auto series = [](double t) {
    const double step = 30 * kHour, drift_end = step + 5 * kHour;
    if (t <= step) return Flat(300, t);
    return Flat(300, t) + 150 + 13.5 * (std::min(t, drift_end) - step) / kHour;
  };
  SeriesDetector d(ProductionPreset());
  EXPECT_FALSE(Feed(d, 72 * kHour, 60, series).first_suspected.has_value());
  Params no_regime = ProductionPreset();
  no_regime.regime.step.shift = 0;
  SeriesDetector without(no_regime);
  EXPECT_TRUE(Feed(without, 72 * kHour, 60, series).first_suspected.has_value())
      << "the drift should read as growth without the regime rule";
}

TEST(SeriesDetectorTest, StepOfASmallCountStartsANewRegimeToo) {
  // Pools of 20-60 tasks that grow by up to their own size after a deploy
  // (scenario suite, "step" family). A rise that small is below min_growth, but
  // far above the floors' jitter: a step, not the start of a leak.
  auto alarms = [](const Params& p) {
    return AlarmedCount(p, "step", {{41, 12}, {3, 13}, {72, 13}});
  };
  EXPECT_EQ(alarms(ProductionPreset()), 0);
  // The rule this replaced: a step had to rise by min_growth within 30 minutes.
  Params old_rule = ProductionPreset();
  old_rule.regime.step.noise_k = 0;
  old_rule.regime.min_rise = old_rule.min_growth;
  old_rule.regime.step.floors = 2;
  old_rule.regime.step.shift = 0.15;
  old_rule.regime.abrupt.shift = 0;  // added after it
  EXPECT_GT(alarms(old_rule), 0) << "these steps should have fooled the old rule";
}

TEST(SeriesDetectorTest, StepStillUnderWayIsLeftToTheRegimeRule) {
  // A pool of about 480 tasks grows by a quarter after a deploy (scenario
  // suite, "step" family). The fast scale's fine floors show the rise a few
  // minutes before the coarser floors reach the regime rule's 20 % within an
  // hour; the fast scale applies that rule to its own floors and waits.
  EXPECT_FALSE(AlarmsOn(ProductionPreset(), "step", 15, 33));
}

TEST(SeriesDetectorTest, AbruptStepBelowTheHourlyShiftStartsANewRegime) {
  // Deploys that raised a flat series by 15-18 % within half an hour
  // (scenario suite, "step" family): the wander kept the rise under
  // regime_shift's 20 % an hour, and the trend window then read the step as
  // growth. A rise of 12 % within half an hour is a step as well.
  auto alarms = [](const Params& p) {
    return AlarmedCount(p, "step", {{2, 2}, {80, 11}, {21, 14}});
  };
  EXPECT_EQ(alarms(ProductionPreset()), 0);
  Params no_abrupt_rule = ProductionPreset();
  no_abrupt_rule.regime.abrupt.shift = 0;
  EXPECT_EQ(alarms(no_abrupt_rule), 3) << "each should alarm without the abrupt-step rule";
}

TEST(SeriesDetectorTest, HoursOfUpwardWanderOnAFlatSeriesIsNotALeak) {
  // Flat series wandering by 2 % with a one-hour correlation (scenario suite,
  // "flat" family) that drift up to a new high for hours. With floors that were
  // the lowest of three slice means, the mid scale alarmed on them unless it
  // wanted three consecutive floors of evidence; with means, its growth bar
  // of 6 % of the level keeps it silent on them (4 % did not: 31 of seed 33).
  auto alarms = [](const Params& p) {
    return AlarmedCount(p, "flat", {{91, 29}, {31, 33}, {94, 34}});
  };
  EXPECT_EQ(alarms(ProductionPreset()), 0);
  Params minima = ProductionPreset();
  minima.floor_parts = 3;
  minima.mid.growth_ratio = 0.04;
  minima.mid.confirm = 2;
  EXPECT_EQ(alarms(minima), 3);
  Params low_bar = ProductionPreset();
  low_bar.mid.growth_ratio = 0.04;
  EXPECT_GE(alarms(low_bar), 1);
}

// Hours from the leak's start to the first suspicion (-1 when never).
double LatencyOn(const Params& p, const std::string& family, int index, uint64_t seed) {
  absl::StatusOr<trendtest::Scenario> s = trendtest::GenerateScenario(family, index, seed, 5);
  EXPECT_TRUE(s.ok() && s->leak_start.has_value());
  if (!s.ok() || !s->leak_start) return -1;
  SeriesDetector d(p);
  for (const trendtest::Sample& row : s->samples) {
    if (d.Add(static_cast<double>(row.t), static_cast<double>(row.value),
              static_cast<double>(row.process_start))
            .suspected &&
        row.t >= *s->leak_start) {
      return static_cast<double>(row.t - *s->leak_start) / kHour;
    }
  }
  return -1;
}

TEST(SeriesDetectorTest, FineMeansFindAFastLeakOnAFewHundredTasksSooner) {
  // The 20 series of the suite's 10 %/h family (seeds 2 and 3) that start
  // below 260 tasks, where Poisson noise is largest: the fast scale judges the
  // means of its fine windows; the minima of three slices of them, as the
  // coarse floors use, lagged and jittered enough to cost about 0.25 h here.
  const std::initializer_list<SuiteSeries> series = {
      {10, 2}, {28, 2}, {36, 2}, {37, 2}, {47, 2}, {56, 2}, {78, 2}, {81, 2}, {83, 2}, {8, 3},
      {17, 3}, {20, 3}, {30, 3}, {48, 3}, {59, 3}, {63, 3}, {69, 3}, {70, 3}, {71, 3}, {73, 3}};
  auto median_latency = [&](const Params& p) {
    std::vector<double> hours;
    for (const SuiteSeries& s : series) {
      const double h = LatencyOn(p, "leak_10pct", s.index, s.seed);
      EXPECT_GE(h, 0) << "seed " << s.seed << " series " << s.index << " not found";
      hours.push_back(h);
    }
    std::sort(hours.begin(), hours.end());
    return (hours[9] + hours[10]) / 2;
  };
  Params minima = ProductionPreset();
  minima.fast_floor_parts = 3;
  const double means = median_latency(ProductionPreset()), mins = median_latency(minima);
  EXPECT_LT(means, 2.2);
  EXPECT_LT(means + 0.2, mins) << "means " << means << " h, minima " << mins << " h";
}

TEST(SeriesDetectorTest, StepThenPlateauIsNotALeak) {
  SeriesDetector d(ProductionPreset());
  FedSeries run = Feed(d, 72 * kHour, 60, [](double t) {
    return Flat(300, t) + (t > 30 * kHour ? 150 : 0);  // pool grows by half
  });
  EXPECT_FALSE(run.first_suspected.has_value());
}

TEST(SeriesDetectorTest, DailyCycleIsNotALeak) {
  SeriesDetector d(ProductionPreset());
  FedSeries run = Feed(d, 5 * 24 * kHour, 60, [](double t) {
    return Flat(500, t) + 200 * std::sin(2 * M_PI * t / (24 * kHour));
  });
  EXPECT_FALSE(run.first_suspected.has_value());
}

TEST(SeriesDetectorTest, LeakOnTopOfADailyCycleIsSuspected) {
  SeriesDetector d(ProductionPreset());
  const double start = 50 * kHour;
  FedSeries run = Feed(d, 5 * 24 * kHour, 60, [&](double t) {
    return Flat(500, t) + 200 * std::sin(2 * M_PI * t / (24 * kHour)) +
           (t > start ? 10 * (t - start) / kHour : 0);
  });
  ASSERT_TRUE(run.first_suspected.has_value());
  EXPECT_GE(*run.first_suspected, start);
}

TEST(SeriesDetectorTest, PeriodicDrainSawtoothIsNotALeak) {
  SeriesDetector d(ProductionPreset());
  FedSeries run = Feed(d, 4 * 24 * kHour, 60, [](double t) {
    const double period = 150 * 60;  // tasks queue for 150 min, then drain
    return Flat(100, t) + 200 * std::fmod(t, period) / period;
  });
  EXPECT_FALSE(run.first_suspected.has_value());
}

TEST(SeriesDetectorTest, SamplesNotLaterThanThePreviousAreIgnored) {
  SeriesDetector d(ProductionPreset());
  d.Add(kT0 + 100, 5, kT0);
  const Verdict before = d.verdict();
  const Verdict v = d.Add(kT0 + 50, 1e9, kT0);
  EXPECT_EQ(v.suspected, before.suspected);
  EXPECT_EQ(v.z, before.z);
}

TEST(SeriesDetectorTest, FastPresetFlagsADemoLeakWithinTwoMinutes) {
  SeriesDetector d(FastPreset());
  // One sample a second; a stuck task leaks every two seconds from t = 120 s.
  FedSeries run = Feed(d, 600, 1, [](double t) {
    return 4 + Noise(static_cast<long>(t)) / 2 + (t >= 120 ? std::floor((t - 120) / 2) : 0);
  });
  ASSERT_TRUE(run.first_suspected.has_value());
  EXPECT_GE(*run.first_suspected, 120);
  EXPECT_LE(*run.first_suspected, 120 + 120);
}

TEST(SeriesDetectorTest, FastPresetIgnoresFlatAndSawtoothDemoSeries) {
  SeriesDetector flat(FastPreset()), saw(FastPreset());
  EXPECT_FALSE(Feed(flat, 900, 1, [](double t) {
                 return 5 + Noise(static_cast<long>(t)) / 2;
               }).first_suspected.has_value());
  EXPECT_FALSE(Feed(saw, 900, 1, [](double t) {
                 return 3 + std::fmod(t, 40) / 2;
               }).first_suspected.has_value());
}

}  // namespace
}  // namespace leakwatch::trend
