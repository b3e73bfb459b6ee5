#include "baselines.h"

#include <gtest/gtest.h>

#include <optional>

namespace leakwatch::trendtool {
namespace {

constexpr double kHour = 3600;

TEST(ForClauseTest, FiresOnlyAfterTheConditionHeldForTheHoldTime) {
  ForClause hold(3600);
  EXPECT_FALSE(hold.Update(0, true));
  EXPECT_FALSE(hold.Update(3599, true));
  EXPECT_TRUE(hold.Update(3600, true));
  EXPECT_FALSE(hold.Update(3660, false));
  EXPECT_FALSE(hold.Update(3720, true));  // pending again from 3720
}

TEST(SlidingRegressionTest, SlopeOfALineOverTheWindow) {
  SlidingRegression r(kHour);
  for (int t = 0; t <= 7200; t += 60) r.Add(t, 5 + 0.01 * t);
  EXPECT_NEAR(r.Slope(), 0.01, 1e-12);
  EXPECT_EQ(r.size(), 60);  // (t - 1h, t]
}

TEST(SlidingMinTest, ForgetsValuesOlderThanTheWindow) {
  SlidingMin m(100);
  m.Add(0, 1);
  m.Add(50, 5);
  EXPECT_EQ(m.Min(), 1);
  m.Add(100, 7);  // 0 leaves (t - 100, t]
  EXPECT_EQ(m.Min(), 5);
}

TEST(OlsBaselineTest, FiresOnASteadyRampAfterItsHold) {
  OlsBaseline ols(6 * kHour, 20, 0.05);
  std::optional<double> fired;
  for (double t = 0; t < 4 * kHour; t += 60) {
    if (ols.Add(t, 100 + 10 * t / kHour, 1) && !fired) fired = t;  // 60 per 6 h > 20
  }
  ASSERT_TRUE(fired.has_value());
  EXPECT_NEAR(*fired, 1 * kHour + 60, 61);
}

TEST(PromqlFallbackBaselineTest, FiresOnARampOnceSixHoursOfOffsetDataAndTheHoldPass) {
  PromqlFallbackBaseline rule;
  std::optional<double> fired;
  for (double t = 0; t < 12 * kHour; t += 60) {
    if (rule.Add(t, 0.2 * t / 60, 1000) && !fired) fired = t;  // 0.2 per minute: 72 per 6 h
  }
  ASSERT_TRUE(fired.has_value());
  // The offset window (t-7h, t-6h] has data from t = 6h; then `for: 1h`.
  EXPECT_NEAR(*fired, 7 * kHour, 120);
}

TEST(PromqlFallbackBaselineTest, StaysSilentForSevenHoursAfterARestart) {
  PromqlFallbackBaseline rule;
  bool fired_after_restart_early = false;
  for (double t = 0; t < 20 * kHour; t += 60) {
    const double start = t < 10 * kHour ? 1000 : 2000;
    const bool firing = rule.Add(t, 0.2 * t / 60, start);
    if (t >= 10 * kHour && t < 17 * kHour && firing) fired_after_restart_early = true;
  }
  EXPECT_FALSE(fired_after_restart_early);
}

TEST(PromqlFallbackBaselineTest, FlatSeriesNeverFires) {
  PromqlFallbackBaseline rule;
  for (double t = 0; t < 24 * kHour; t += 60) ASSERT_FALSE(rule.Add(t, 40, 1000));
}

}  // namespace
}  // namespace leakwatch::trendtool
