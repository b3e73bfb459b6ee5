// leakwatch/internal/sync_wait.h — helpers shared by the primitives of
// leakwatch/sync.h. Not for users.
//
// Thread-safety: a ScopedWait, like a BlockScope (leakwatch/task.h), writes only the calling
// thread's record and must end on the thread that began it; ClampTimeout is pure.

#ifndef LEAKWATCH_INTERNAL_SYNC_WAIT_H_
#define LEAKWATCH_INTERNAL_SYNC_WAIT_H_

#include <chrono>
#include <cstdint>
#include <source_location>

#include "leakwatch/internal/core.h"
#include "leakwatch/task.h"

namespace leakwatch::internal {

// RAII: the calling thread is blocked with `op` at `where` (waiting on
// `resource`, may be null) until the scope ends. Like BlockScope, with a
// resource and without a second source_location hop.
class ScopedWait {
 public:
  ScopedWait(Op op, const std::source_location& where, const void* resource = nullptr) noexcept
      : site_(SiteOf(where, op)), start_ns_(BeginBlock(site_, resource)) {}
  ~ScopedWait() { EndBlock(site_, start_ns_); }

  ScopedWait(const ScopedWait&) = delete;
  ScopedWait& operator=(const ScopedWait&) = delete;

 private:
  const uint32_t site_;
  const int64_t start_ns_;
};

// Converts a user timeout to steady_clock's duration without overflow: zero or
// negative (or NaN) becomes zero, more than 100 years becomes 100 years, and a
// fraction of a tick rounds up.
template <class Rep, class Period>
std::chrono::steady_clock::duration ClampTimeout(std::chrono::duration<Rep, Period> timeout) {
  using Target = std::chrono::steady_clock::duration;
  constexpr std::chrono::duration<double> kMax = std::chrono::hours(24 * 365 * 100);
  const std::chrono::duration<double> seconds = timeout;
  if (!(seconds > std::chrono::duration<double>::zero())) return Target::zero();
  if (seconds >= kMax) return std::chrono::duration_cast<Target>(kMax);
  return std::chrono::ceil<Target>(timeout);
}

}  // namespace leakwatch::internal

#endif  // LEAKWATCH_INTERNAL_SYNC_WAIT_H_
