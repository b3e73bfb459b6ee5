#include "trend/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace leakwatch::trend {
namespace {

TEST(MannKendallTest, StrictlyIncreasingSeriesHasMaximalS) {
  // n = 5: S = 10, Var = 5*4*15/18 = 16.667, z = (10-1)/sqrt(16.667) = 2.2045.
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const MannKendall mk = MannKendallTest(x);
  EXPECT_EQ(mk.s, 10);
  EXPECT_NEAR(mk.variance, 16.6667, 1e-3);
  EXPECT_NEAR(mk.z, 2.2045, 1e-4);
}

TEST(MannKendallTest, TiesReduceTheVariance) {
  // x = 1,2,2,3: S = 5 (one tied pair counts 0); ties: one group of 2 removes
  // 2*1*9 = 18 from 4*3*13 = 156, so Var = 138/18 = 7.667; z = 4/sqrt(7.667).
  const std::vector<double> x = {1, 2, 2, 3};
  const MannKendall mk = MannKendallTest(x);
  EXPECT_EQ(mk.s, 5);
  EXPECT_NEAR(mk.variance, 138.0 / 18.0, 1e-9);
  EXPECT_NEAR(mk.z, 4 / std::sqrt(138.0 / 18.0), 1e-9);
}

TEST(MannKendallTest, DecreasingSeriesHasNegativeZ) {
  const std::vector<double> x = {9, 7, 8, 3, 1};
  const MannKendall mk = MannKendallTest(x);
  EXPECT_EQ(mk.s, -8);
  EXPECT_NEAR(mk.z, -7 / std::sqrt(50.0 / 3.0), 1e-9);
}

TEST(MannKendallTest, ConstantSeriesHasZeroZ) {
  const std::vector<double> x(20, 16.0);
  const MannKendall mk = MannKendallTest(x);
  EXPECT_EQ(mk.s, 0);
  EXPECT_EQ(mk.variance, 0);
  EXPECT_EQ(mk.z, 0);
}

TEST(MannKendallTest, FewerThanTwoPointsYieldZeros) {
  EXPECT_EQ(MannKendallTest({}).z, 0);
  const std::vector<double> one = {3};
  EXPECT_EQ(MannKendallTest(one).s, 0);
}

TEST(TheilSenSlopeTest, LineHasItsOwnSlope) {
  const std::vector<double> t = {0, 10, 20, 30};
  const std::vector<double> x = {5, 7, 9, 11};
  EXPECT_DOUBLE_EQ(TheilSenSlope(t, x), 0.2);
}

TEST(TheilSenSlopeTest, IgnoresAnOutlier) {
  // Pairwise slopes of (0,0),(1,1),(2,2),(3,30),(4,4): the median is 1.
  const std::vector<double> t = {0, 1, 2, 3, 4};
  const std::vector<double> x = {0, 1, 2, 30, 4};
  EXPECT_DOUBLE_EQ(TheilSenSlope(t, x), 1.0);
}

TEST(TheilSenSlopeTest, EvenNumberOfSlopesAveragesTheMiddleTwo) {
  // Slopes of (0,0),(1,1),(2,4): 1, 2, 3 -> median 2; with (3,3) added the
  // slopes are 1,2,3,1,0.5,-1 -> sorted -1,0.5,1,1,2,3 -> median 1.
  const std::vector<double> t = {0, 1, 2, 3};
  const std::vector<double> x = {0, 1, 4, 3};
  EXPECT_DOUBLE_EQ(TheilSenSlope(t, x), 1.0);
}

TEST(TheilSenSlopeTest, PairsWithEqualTimesAreSkipped) {
  const std::vector<double> t = {5, 5};
  const std::vector<double> x = {1, 9};
  EXPECT_EQ(TheilSenSlope(t, x), 0);
}

TEST(MedianTest, OddAndEvenSizes) {
  const std::vector<double> odd = {5, 1, 3};
  const std::vector<double> even = {4, 1, 3, 2};
  EXPECT_EQ(Median(odd), 3);
  EXPECT_EQ(Median(even), 2.5);
  EXPECT_EQ(Median({}), 0);
}

}  // namespace
}  // namespace leakwatch::trend
