#include "core/histogram.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>

#include "core/fork_locks.h"

namespace leakwatch::core {
namespace {

HistogramLayout* MakeLayout(const std::vector<double>& bounds_seconds, uint32_t generation) {
  auto* layout = new HistogramLayout;
  layout->generation = generation;
  for (double b : bounds_seconds) {
    if (layout->num_bounds == kMaxBuckets) break;
    if (!(b > 0) || !std::isfinite(b)) continue;
    int64_t ns = static_cast<int64_t>(std::llround(b * 1e9));
    if (layout->num_bounds > 0 && ns <= layout->bounds_ns[layout->num_bounds - 1]) continue;
    layout->bounds_ns[layout->num_bounds++] = ns;
    layout->bounds_seconds.push_back(b);
  }
  for (int i = layout->num_bounds; i < 32; ++i) {
    layout->bounds_ns[i] = std::numeric_limits<int64_t>::max();
  }
  layout->two_per_octave = true;
  for (int k = 0; k < 64; ++k) {
    // Bounds are positive, so the octave of `ns` is [2^k, 2^(k+1)) for k in [0, 63).
    const uint64_t lo = uint64_t{1} << k;
    const uint64_t hi = k < 63 ? uint64_t{1} << (k + 1) : std::numeric_limits<uint64_t>::max();
    int below = 0, inside = 0;
    for (int i = 0; i < layout->num_bounds; ++i) {
      const auto b = static_cast<uint64_t>(layout->bounds_ns[i]);
      below += b < lo;
      inside += b >= lo && b < hi;
    }
    layout->below_octave[k] = static_cast<uint8_t>(below);
    if (inside > 2) layout->two_per_octave = false;
  }
  return layout;
}

const HistogramLayout* DefaultLayout() {
  static const HistogramLayout* layout =
      MakeLayout({0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600, 3600}, 1);
  return layout;
}

std::atomic<const HistogramLayout*>& LayoutSlot() {
  CurrentLayout();  // initialises the slot
  return internal::g_layout;
}

// Guards SetLayout; never destroyed: the fork handlers take it.
std::mutex& LayoutMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

}  // namespace

namespace internal {

// Constant-initialized, so the hot path's load needs no static-init guard.
std::atomic<const HistogramLayout*> g_layout{nullptr};

const HistogramLayout* InitLayout() noexcept {
  const HistogramLayout* expected = nullptr;
  const HistogramLayout* fresh = DefaultLayout();
  if (g_layout.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return fresh;
  return expected;  // another thread (or SetLayout) won
}

}  // namespace internal

void LockLayoutForFork() noexcept { LayoutMutex().lock(); }
void UnlockLayoutAfterFork() noexcept { LayoutMutex().unlock(); }

void SetLayout(const std::vector<double>& bounds_seconds) {
  std::lock_guard<std::mutex> lock(LayoutMutex());
  const HistogramLayout* current = CurrentLayout();
  if (current->bounds_seconds == bounds_seconds) return;
  // Readers may still hold the old layout: keep every layout alive (and
  // reachable, for leak checkers). A process sees a handful of Start()s.
  static auto* all_layouts = new std::vector<const HistogramLayout*>;
  all_layouts->push_back(current);
  LayoutSlot().store(MakeLayout(bounds_seconds, current->generation + 1),
                     std::memory_order_release);
}

void SiteHistogram::Reset(uint32_t new_generation) noexcept {
  for (auto& b : buckets) b.store(0, std::memory_order_relaxed);
  sum_ns.store(0, std::memory_order_relaxed);
  generation.store(new_generation, std::memory_order_release);
}

void HistogramTotals::Add(const SiteHistogram& h, int bucket_count) noexcept {
  for (int i = 0; i < bucket_count; ++i) buckets[i] += h.buckets[i].load(std::memory_order_relaxed);
  sum_ns += h.sum_ns.load(std::memory_order_relaxed);
}

void HistogramTotals::Add(const HistogramTotals& h) noexcept {
  for (int i = 0; i <= kMaxBuckets; ++i) buckets[i] += h.buckets[i];
  sum_ns += h.sum_ns;
}

}  // namespace leakwatch::core
