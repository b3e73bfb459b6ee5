#include "trend/floors.h"

#include <gtest/gtest.h>

#include <optional>

namespace leakwatch::trend {
namespace {

TEST(FloorTrackerTest, EmitsTheMinimumOfABucketWhenTheNextBucketStarts) {
  FloorTracker floors(60);
  EXPECT_FALSE(floors.Add(120, 9).has_value());
  EXPECT_FALSE(floors.Add(130, 4).has_value());
  EXPECT_FALSE(floors.Add(179, 7).has_value());
  std::optional<Floor> f = floors.Add(180, 50);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->start, 120);
  EXPECT_EQ(f->value, 4);
}

TEST(FloorTrackerTest, BurstShorterThanABucketLeavesNoTrace) {
  FloorTracker floors(900);
  std::optional<Floor> last;
  for (int t = 0; t < 2 * 900; t += 60) {
    const double value = (t >= 300 && t < 600) ? 500 : 10;  // a 5-minute burst
    if (std::optional<Floor> f = floors.Add(t, value)) last = f;
  }
  if (std::optional<Floor> f = floors.Add(1800, 10)) last = f;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->value, 10);
}

TEST(FloorTrackerTest, EmptyBucketsYieldNoFloor) {
  FloorTracker floors(60);
  floors.Add(0, 3);
  std::optional<Floor> f = floors.Add(600, 8);  // nine empty buckets skipped
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->start, 0);
  EXPECT_FALSE(floors.Add(610, 1).has_value());
  f = floors.Add(660, 2);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->start, 600);
  EXPECT_EQ(f->value, 1);
}

TEST(FloorTrackerTest, ResetDropsTheOpenBucket) {
  FloorTracker floors(60);
  floors.Add(0, 1);
  floors.Reset();
  EXPECT_FALSE(floors.Add(60, 5).has_value());  // opens a new bucket, emits nothing
  std::optional<Floor> f = floors.Add(120, 6);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->value, 5);
}

}  // namespace
}  // namespace leakwatch::trend
