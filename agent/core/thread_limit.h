// core/thread_limit.h — how many threads this process can have before
// pthread_create fails with EAGAIN.
//
// Three limits apply, and the smallest wins:
//  * RLIMIT_NPROC: processes and threads of the process's real user, counted
//    across the machine (unlimited for root in most containers);
//  * /proc/sys/kernel/threads-max: threads on the machine;
//  * /proc/sys/kernel/pid_max: thread ids come from the process id space;
//  * the cgroup's pids.max (cgroup v2: the `0::` line of /proc/self/cgroup;
//    v1: the `pids` controller's line), at the process's cgroup and each of
//    its ancestors up to the hierarchy's root ("max" means none): what a
//    container's PID limit or systemd's TasksMax sets.
// A source that is missing, unreadable or malformed is skipped; -1 when none
// gives a limit. The files are read on every call (a few small reads); call
// it from the sampler, never from an application thread's hot path.
// Thread-safe: no state.

#ifndef LEAKWATCH_CORE_THREAD_LIMIT_H_
#define LEAKWATCH_CORE_THREAD_LIMIT_H_

#include <cstdint>
#include <string>

namespace leakwatch::core {

// Where the limits are read from; the defaults are the real ones. Tests point
// them at files of their own.
struct ThreadLimitSources {
  std::string proc_root = "/proc";  // <proc_root>/self/cgroup, sys/kernel/{threads-max,pid_max}
  std::string cgroup_root = "/sys/fs/cgroup";  // v2 mount; v1 controllers below it
  // RLIMIT_NPROC's soft limit; -1 = ask getrlimit(); -2 = unlimited (for tests).
  int64_t nproc_rlimit = -1;
};

// The smallest of the limits above, or -1 if none is known.
int64_t OsThreadsLimit(const ThreadLimitSources& sources = {}) noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_THREAD_LIMIT_H_
