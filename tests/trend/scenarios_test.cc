#include "scenarios.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace leakwatch::trendtest {
namespace {

TEST(ScenariosTest, SameSeedGivesTheSameSeries) {
  absl::StatusOr<Scenario> a = GenerateScenario("sawtooth", 3, 1, 2);
  absl::StatusOr<Scenario> b = GenerateScenario("sawtooth", 3, 1, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->samples.size(), b->samples.size());
  for (size_t i = 0; i < a->samples.size(); ++i) {
    ASSERT_EQ(a->samples[i].value, b->samples[i].value) << i;
  }
}

TEST(ScenariosTest, DifferentSeedsGiveDifferentSeries) {
  absl::StatusOr<Scenario> a = GenerateScenario("flat", 0, 1, 1);
  absl::StatusOr<Scenario> b = GenerateScenario("flat", 0, 2, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  int differing = 0;
  for (size_t i = 0; i < a->samples.size(); ++i) {
    differing += a->samples[i].value != b->samples[i].value;
  }
  EXPECT_GT(differing, 100);
}

TEST(ScenariosTest, NoSeriesRepeatsAcrossSeedsAndIndices) {
  // Every (seed, index) pair of seeds 1-9 and indices 0-99 gives its own series:
  // a held-out seed shares nothing with the seeds a detector was tuned on.
  std::set<std::vector<int64_t>> seen;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    for (int index = 0; index < 100; ++index) {
      absl::StatusOr<Scenario> s = GenerateScenario("flat", index, seed, 1);
      ASSERT_TRUE(s.ok());
      std::vector<int64_t> head;
      for (size_t i = 0; i < 60; ++i) head.push_back(s->samples[i].value);
      head.push_back(s->samples[0].t);
      EXPECT_TRUE(seen.insert(std::move(head)).second) << "seed " << seed << " index " << index;
    }
  }
}

TEST(ScenariosTest, FiveDaysAtOneSampleAMinute) {
  absl::StatusOr<Scenario> s = GenerateScenario("daily", 0, 1, 5);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->samples.size(), 5u * 24 * 60);
  EXPECT_EQ(s->samples[1].t - s->samples[0].t, 60);
}

TEST(ScenariosTest, LeakFamiliesAreLabelledAndHealthyOnesAreNot) {
  for (const std::string& family : Families()) {
    absl::StatusOr<Scenario> s = GenerateScenario(family, 0, 1, 5);
    ASSERT_TRUE(s.ok()) << family;
    EXPECT_EQ(s->leak_start.has_value(), IsLeakFamily(family)) << family;
    if (s->leak_start) {
      EXPECT_GT(*s->leak_start, s->samples.front().t) << family;
      EXPECT_LT(*s->leak_start, s->samples.back().t) << family;
    }
  }
}

TEST(ScenariosTest, RestartFamilyChangesProcessStartAndDropsTheCount) {
  absl::StatusOr<Scenario> s = GenerateScenario("restarts", 1, 1, 5);
  ASSERT_TRUE(s.ok());
  std::set<int64_t> starts;
  for (const Sample& x : s->samples) starts.insert(x.process_start);
  EXPECT_GE(starts.size(), 2u);
}

TEST(ScenariosTest, LinearLeakGrowsAtItsRate) {
  absl::StatusOr<Scenario> s = GenerateScenario("leak_10pct", 4, 1, 5);
  ASSERT_TRUE(s.ok() && s->leak_start);
  // Over 20 h after the start a 10 %/h leak adds about twice the base level.
  double before = 0, after = 0;
  int nb = 0, na = 0;
  for (const Sample& x : s->samples) {
    if (x.t < *s->leak_start && x.t >= *s->leak_start - 3600) before += x.value, ++nb;
    if (x.t >= *s->leak_start + 20 * 3600 && x.t < *s->leak_start + 21 * 3600) {
      after += x.value, ++na;
    }
  }
  ASSERT_GT(nb, 0);
  ASSERT_GT(na, 0);
  const double base = before / nb;
  EXPECT_NEAR(after / na / base, 1 + 0.1 * 20.5, 0.35);
}

TEST(ScenariosTest, UnknownFamilyIsAnError) {
  EXPECT_EQ(GenerateScenario("nope", 0, 1, 5).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace leakwatch::trendtest
