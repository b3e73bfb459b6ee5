// Reading all task records into a Snapshot. This is the sampler's side of the
// core: it takes the registry lock (application threads only take it when they
// start or exit) and reads each record with atomic loads.
// ReadSnapshot may run on several threads at once (sampler, scrapes, dumps, TakeSnapshot); it
// allocates, and symbolizes with include_tasks: never call it from a hook.

#ifndef LEAKWATCH_CORE_READ_SNAPSHOT_H_
#define LEAKWATCH_CORE_READ_SNAPSHOT_H_

#include <cstdint>
#include <memory>

#include "core/idle_waits.h"
#include "leakwatch/snapshot.h"

namespace leakwatch::core {

struct ReadOptions {
  int64_t stuck_after_ns = 60'000'000'000;
  int64_t long_lived_after_ns = 600'000'000'000;
  bool include_tasks = false;         // fill Snapshot::tasks
  bool include_thread_names = false;  // read /proc for each task's thread name
  // Waits longer than stuck_after that these rules call expected idle count
  // as idle, not stuck (null: none is idle).
  std::shared_ptr<const IdleWaitRules> idle_rules;
};

// Reads every record now, deadlocks included. The verdict fields (leak_suspected,
// leak_growth_per_hour) are left at their defaults: the trend detector fills them.
Snapshot ReadSnapshot(const ReadOptions& options);

// The kernel's count of this process's threads, or -1.
int64_t OsThreadCount() noexcept;

// The process's start time in seconds since the epoch (from /proc), or 0;
// read once per process (again in a fork child).
double ProcessStartTimeSeconds() noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_READ_SNAPSHOT_H_
