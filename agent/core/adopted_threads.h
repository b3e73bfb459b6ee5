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
// Adoption follows the config's thread tracking (`intercept.enabled` and
// `intercept.threads`), which leakwatch::Start applies with
// SetThreadAdoption(). The hooks adopt at load, before any config is read, so
// a config that turns tracking off drops every adopted entry; while it is off
// nothing is adopted. A later Start that turns it back on adopts again (if the
// hooks are loaded): threads started while it was off were never registered,
// and tracking on means every running thread is a task, as at load.
//
// Counters stay monotonic (started_total and finished_total never go back, and
// live = started - finished per kind): a dropped entry counts as finished, unless
// no snapshot has reported it yet (tracking turned off by the config read right
// after the hooks loaded), in which case its start is taken back as if it had
// never been adopted. Ids of dropped entries are not reused.
//
// leakwatch's own threads (the sampler, the HTTP server's) are never adopted:
// each calls MarkAgentThread() first thing, and the scan skips marked threads.
// Listing /proc races with thread start: a scan may list an agent thread that
// has not marked itself yet. Its mark then drops the entry (by the rule above:
// taken back unless a snapshot reported it in between), so an agent thread is
// counted at most for that instant and never for longer.
//
// Every adopted entry is guarded by the registry lock (thread_record.h), the
// lock under which threads register and the sampler reads records, so a thread
// is never counted twice: registering claims the thread's entry (the record
// takes over its task id, start time and start count), and the sampler drops
// entries of threads that have exited (tgkill(tid, 0) says ESRCH) and counts
// them finished. Nothing here runs on an application's hot path: a scan runs at
// load and when a Start turns tracking on, a claim costs a lookup when a thread
// registers (plus one /proc read if it was adopted), and the exit checks run on
// the sampler.

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
  bool reported = false;     // counted by a snapshot (ForEachAdoptedThreadLocked)
};

// Called by the hooks when they are loaded, and again by SetThreadAdoption().
// Adopts every thread of the process that has no record, is not adopted yet and
// is not an agent thread, unless adoption is off (it then only notes that the
// hooks are loaded, so that turning it on adopts). Returns how many it adopted,
// or -1 if /proc/self/task cannot be read.
int AdoptRunningThreads() noexcept;

// Applies the config's thread tracking (intercept.enabled && intercept.threads).
// Off: drops every adopted entry (see the counters above) and adopts nothing
// until it is on again. On after off: adopts the running threads, if the hooks
// were loaded. Initially on. Safe from any thread; takes the registry lock.
void SetThreadAdoption(bool on) noexcept;
bool ThreadAdoptionOn() noexcept;

// Marks the calling thread as one of leakwatch's own for as long as it runs:
// it is never adopted, and an entry a racing scan made for it goes. A thread
// that later reuses its tid is told apart by its start time. Takes the
// registry lock.
void MarkAgentThread() noexcept;

// Registration of `rec` (its tid and start time set): if its thread was
// adopted, the record takes over the entry's task id and start time and the
// entry goes. Requires the registry lock.
void ClaimAdoptedThreadLocked(ThreadRecord& rec) noexcept;

// Drops the entries of threads that have exited (adding them to `finished`),
// then calls `fn` for each live one (which counts as reported from then on).
// `started` gets the threads adopted and not claimed since. Requires the
// registry lock.
void ForEachAdoptedThreadLocked(absl::FunctionRef<void(const AdoptedThread&)> fn, uint64_t* started,
                                uint64_t* finished) noexcept;

// In a fork child only the forking thread exists: forgets every entry (and its
// start, as the child forgets the other threads' records) and every agent
// thread. Requires the registry lock.
void ForgetAdoptedThreadsInForkChildLocked() noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_ADOPTED_THREADS_H_
