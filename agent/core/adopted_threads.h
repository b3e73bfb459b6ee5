// Threads that were already running when leakwatch's hooks were loaded.
//
// A thread is a task of kind "thread" from the moment it has a ThreadRecord: at
// its start when the hooks saw its pthread_create, or at its first use of
// leakwatch. Threads started before the hooks were loaded (the library was
// dlopen()ed late, another library's constructor started them) would stay
// invisible until then. AdoptRunningThreads() lists /proc/self/task once and
// counts each thread that has no record as a thread task, from its real start
// time (/proc/self/task/TID/stat), until it exits or registers a record itself.
//
// Every adopted entry is guarded by the registry lock (thread_record.h), the
// lock under which threads register and the sampler reads records, so a thread
// is never counted twice: registering claims the thread's entry (the record
// takes over its task id, start time and start count), and the sampler drops
// entries of threads that have exited (tgkill(tid, 0) says ESRCH) and counts
// them finished. Nothing here runs on an application's hot path: the scan runs
// once, a claim costs a lookup when a thread registers (plus one /proc read if
// it was adopted), and the exit checks run on the sampler.

#ifndef LEAKWATCH_CORE_ADOPTED_THREADS_H_
#define LEAKWATCH_CORE_ADOPTED_THREADS_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "core/thread_record.h"

namespace leakwatch::core {

struct AdoptedThread {
  int32_t tid = 0;
  uint64_t task_id = 0;
  int64_t start_ns = 0;      // on the CoarseMonotonicNanos() clock
  uint64_t start_ticks = 0;  // field 22 of the thread's /proc stat: tells a reused tid apart
};

// Adopts every thread of the process that has no record and is not adopted
// yet. Returns how many it adopted, or -1 if /proc/self/task cannot be read.
// Call before leakwatch starts threads of its own: they would be adopted too.
int AdoptRunningThreads() noexcept;

// Registration of `rec` (its tid and start time set): if its thread was
// adopted, the record takes over the entry's task id and start time and the
// entry goes. Requires the registry lock.
void ClaimAdoptedThreadLocked(ThreadRecord& rec) noexcept;

// Drops the entries of threads that have exited (adding them to `finished`),
// then calls `fn` for each live one. `started` gets the threads adopted and not
// claimed since. Requires the registry lock.
void ForEachAdoptedThreadLocked(absl::FunctionRef<void(const AdoptedThread&)> fn, uint64_t* started,
                                uint64_t* finished) noexcept;

// In a fork child only the forking thread exists: forgets every entry (and its
// start, as the child forgets the other threads' records). Requires the
// registry lock.
void ForgetAdoptedThreadsInForkChildLocked() noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_ADOPTED_THREADS_H_
