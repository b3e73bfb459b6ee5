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

// The bucket of `ns` by definition: how many bounds are below it.
int CountBoundsBelow(const HistogramLayout& l, int64_t ns) {
  int n = 0;
  for (int i = 0; i < l.num_bounds; ++i) n += l.bounds_ns[i] < ns;
  return n;
}

// Every bound, its neighbours and each power of two, for the octave-table path
// (default-like layouts) and the binary-search path (dense layouts) alike.
void ExpectBucketOfMatchesDefinition(const std::vector<double>& bounds, bool two_per_octave) {
  SetLayout(bounds);
  const HistogramLayout& l = *CurrentLayout();
  ASSERT_EQ(l.two_per_octave, two_per_octave);
  std::vector<int64_t> probes = {0, 1, 2, 3, INT64_MAX - 1, INT64_MAX};
  for (int k = 0; k < 63; ++k) {
    const int64_t p = int64_t{1} << k;
    probes.insert(probes.end(), {p - 1, p, p + 1});
  }
  for (int i = 0; i < l.num_bounds; ++i) {
    const int64_t b = l.bounds_ns[i];
    probes.insert(probes.end(), {b - 1, b, b + 1, b + b / 3});
  }
  for (int64_t ns : probes) {
    if (ns < 0) continue;
    EXPECT_EQ(l.BucketOf(ns), CountBoundsBelow(l, ns)) << "ns=" << ns;
  }
}

TEST(Histogram, BucketOfMatchesDefinitionForDefaultLikeLayouts) {
  ExpectBucketOfMatchesDefinition(
      {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600},
      true);
  ExpectBucketOfMatchesDefinition({0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600, 3600}, true);
  ExpectBucketOfMatchesDefinition({1e-9, 2e-9, 4e-9, 0.001, 0.002, 0.003}, true);
}

TEST(Histogram, BucketOfMatchesDefinitionForDenseLayouts) {
  ExpectBucketOfMatchesDefinition({0.001, 0.0012, 0.0014, 0.0016, 0.0018, 1}, false);
  std::vector<double> thirty_one;
  for (int i = 1; i <= kMaxBuckets; ++i) thirty_one.push_back(i);
  ExpectBucketOfMatchesDefinition(thirty_one, false);
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
