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

TEST(FloorTrackerTest, WithPartsTheFloorIsTheLowestSliceMean) {
  FloorTracker floors(900, /*parts=*/3);                       // slices of 300 s
  const double values[] = {10, 20, 30, 4, 8, 12, 40, 50, 60};  // means 20, 8, 50
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(floors.Add(i * 100, values[i]).has_value());
  std::optional<Floor> f = floors.Add(900, 1);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->start, 0);
  EXPECT_EQ(f->value, 8);
}

TEST(FloorTrackerTest, SlicesAverageOutPerSampleNoiseTheLowestSampleKeeps) {
  // Counts alternating 90 and 110 around 100: the lowest sample reads 90, the
  // lowest slice mean 100.
  FloorTracker lowest(900), sliced(900, 3);
  std::optional<Floor> a, b;
  for (int t = 0; t <= 900; t += 60) {
    const double value = (t / 60) % 2 ? 110 : 90;
    if (std::optional<Floor> f = lowest.Add(t, value)) a = f;
    if (std::optional<Floor> f = sliced.Add(t, value)) b = f;
  }
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->value, 90);
  EXPECT_NEAR(b->value, 100, 4);
}

TEST(FloorTrackerTest, WithPartsABurstInsideOneSliceLeavesNoTrace) {
  FloorTracker floors(900, 3);
  std::optional<Floor> last;
  for (int t = 0; t < 2 * 900; t += 60) {
    const double value = (t >= 960 && t < 1200) ? 500 : 10;  // 4 minutes in the second bucket
    if (std::optional<Floor> f = floors.Add(t, value)) last = f;
  }
  if (std::optional<Floor> f = floors.Add(1800, 10)) last = f;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->start, 900);
  EXPECT_EQ(last->value, 10);
}

TEST(FloorTrackerTest, WithPartsEmptySlicesAreSkipped) {
  FloorTracker floors(900, 3);
  floors.Add(0, 7);    // first slice only
  floors.Add(50, 9);   // mean 8
  floors.Add(700, 5);  // third slice; the second has no sample
  std::optional<Floor> f = floors.Add(900, 100);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->value, 5);
}

}  // namespace
}  // namespace leakwatch::trend
