// Clocks used by the core. Monotonic time orders and measures waits; wall time
// only stamps snapshots.
//
// Thread-safety: safe from any thread, the hooks' hot path included: each call is one
// clock_gettime (normally answered by the vDSO), with no lock and no allocation.

#ifndef LEAKWATCH_CORE_CLOCK_H_
#define LEAKWATCH_CORE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace leakwatch::core {

inline int64_t MonotonicNanos() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The same clock at tick resolution (a few ms) for a quarter of the cost: good
// enough for task ages, which are judged in minutes.
inline int64_t CoarseMonotonicNanos() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t RealtimeNanos() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_CLOCK_H_
