// Block-duration histograms: exact bucket bounds and layout changes.

#include "core/histogram.h"

#include "gtest/gtest.h"

namespace leakwatch::core {
namespace {

TEST(Histogram, BucketOfUsesInclusiveUpperBounds) {
  SetLayout({0.001, 0.01, 1});
  const HistogramLayout& l = *CurrentLayout();
  ASSERT_EQ(l.num_bounds, 3);
  EXPECT_EQ(l.BucketOf(0), 0);
  EXPECT_EQ(l.BucketOf(1'000'000), 0);  // le="0.001" includes 1 ms
  EXPECT_EQ(l.BucketOf(1'000'001), 1);
  EXPECT_EQ(l.BucketOf(10'000'000), 1);
  EXPECT_EQ(l.BucketOf(999'999'999), 2);
  EXPECT_EQ(l.BucketOf(1'000'000'000), 2);
  EXPECT_EQ(l.BucketOf(1'000'000'001), 3);  // +Inf
  EXPECT_EQ(l.BucketOf(INT64_MAX), 3);
}

TEST(Histogram, ThirtyOneBoundsUseEveryBucket) {
  std::vector<double> bounds;
  for (int i = 1; i <= kMaxBuckets; ++i) bounds.push_back(i);
  SetLayout(bounds);
  const HistogramLayout& l = *CurrentLayout();
  for (int i = 1; i <= kMaxBuckets; ++i) EXPECT_EQ(l.BucketOf(int64_t{i} * 1'000'000'000), i - 1);
  EXPECT_EQ(l.BucketOf(int64_t{kMaxBuckets} * 1'000'000'000 + 1), kMaxBuckets);
}

TEST(Histogram, NewLayoutResetsOldCounts) {
  SetLayout({1});
  SiteHistogram h;
  h.generation.store(CurrentLayout()->generation);
  h.Record(*CurrentLayout(), 5);
  EXPECT_EQ(h.buckets[0].load(), 1u);
  SetLayout({1, 2});
  h.Record(*CurrentLayout(), 1'500'000'000);
  EXPECT_EQ(h.buckets[0].load(), 0u);
  EXPECT_EQ(h.buckets[1].load(), 1u);
  EXPECT_EQ(h.sum_ns.load(), 1'500'000'000u);
}

}  // namespace
}  // namespace leakwatch::core
