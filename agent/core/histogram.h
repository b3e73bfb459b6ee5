// Block-duration histograms.
//
// Each thread keeps, for every site it has waited at, a `SiteHistogram` of the
// waits it finished there. Buckets are the configured `sites.histogram_buckets`
// (a `HistogramLayout`), so exported `le` bounds are exact. Only the owning
// thread writes a SiteHistogram (relaxed load + store, no read-modify-write);
// the sampler reads it with relaxed loads and merges all threads at scrape time.
// Record and Reset run on the owning thread only (as each recorded wait ends: hot path, lock-free);
// any thread may Add it meanwhile; SetLayout takes a mutex; HistogramTotals is a plain value.

#ifndef LEAKWATCH_CORE_HISTOGRAM_H_
#define LEAKWATCH_CORE_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <vector>

namespace leakwatch::core {

inline constexpr int kMaxBuckets = 31;  // finite bounds; one more for +Inf

// Bucket bounds in nanoseconds, padded for a branch-free search. Immutable once
// published; a new layout (Start with other buckets) gets a new generation and
// histograms of older generations are reset by their owners.
struct HistogramLayout {
  uint32_t generation = 0;
  int num_bounds = 0;     // finite bounds
  int64_t bounds_ns[32];  // [num_bounds, 32) padded with INT64_MAX
  std::vector<double> bounds_seconds;

  // below_octave[k]: how many bounds are < 2^k. When no power-of-two octave
  // [2^k, 2^(k+1)) holds more than two bounds (true of any layout whose bounds
  // grow by 2x or more per step, such as the default), two compares after one
  // table load find the bucket; otherwise a branch-free binary search does.
  uint8_t below_octave[64];
  bool two_per_octave = false;

  // Index of the bucket holding `ns` (the first bound >= ns), in [0, num_bounds].
  int BucketOf(int64_t ns) const noexcept {
    if (__builtin_expect(two_per_octave, 1)) {
      int i = below_octave[63 - __builtin_clzll(static_cast<uint64_t>(ns) | 1)];
      i += bounds_ns[i] < ns;  // i <= num_bounds <= 31: bounds_ns[i] is padding at worst
      i += bounds_ns[i] < ns;
      return i;
    }
    int i = 0;
    for (int step = 16; step > 0; step >>= 1) i += (bounds_ns[i + step - 1] < ns) ? step : 0;
    return i;
  }
};

namespace internal {
extern std::atomic<const HistogramLayout*> g_layout;  // null until first use
const HistogramLayout* InitLayout() noexcept;
}  // namespace internal

// The current layout; never null. Inline: one acquire load on the hot path.
inline const HistogramLayout* CurrentLayout() noexcept {
  const HistogramLayout* layout = internal::g_layout.load(std::memory_order_acquire);
  return __builtin_expect(layout != nullptr, 1) ? layout : internal::InitLayout();
}

// Publishes a layout built from `bounds_seconds` (at most kMaxBuckets, increasing).
// Layouts are kept forever (a handful per process).
void SetLayout(const std::vector<double>& bounds_seconds);

struct SiteHistogram {
  uint32_t site = 0;
  std::atomic<uint32_t> generation{0};
  std::atomic<uint64_t> sum_ns{0};
  std::atomic<uint64_t> buckets[kMaxBuckets + 1] = {};
  SiteHistogram* next = nullptr;  // the owning thread's list; immutable once linked

  void Record(const HistogramLayout& layout, int64_t ns) noexcept {
    if (generation.load(std::memory_order_relaxed) != layout.generation) Reset(layout.generation);
    auto bump = [](std::atomic<uint64_t>& c, uint64_t by) {
      c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    };
    bump(buckets[layout.BucketOf(ns)], 1);
    bump(sum_ns, static_cast<uint64_t>(ns));
  }
  void Reset(uint32_t new_generation) noexcept;
};

// A merged histogram (sampler side).
struct HistogramTotals {
  uint64_t buckets[kMaxBuckets + 1] = {};
  uint64_t sum_ns = 0;
  // Adds the first `buckets` buckets (the layout's bounds + 1) and the sum.
  void Add(const SiteHistogram& h, int buckets = kMaxBuckets + 1) noexcept;
  void Add(const HistogramTotals& h) noexcept;
};

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_HISTOGRAM_H_
