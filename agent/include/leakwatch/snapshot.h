// leakwatch/snapshot.h — a consistent picture of the process's tasks.
//
// A `Snapshot` is what the agent's sampler reads from all task records at one
// instant: live tasks per kind, and per site the tasks blocked there now, those
// stuck (blocked longer than `tasks.stuck_after`), the oldest current wait, the
// histogram of finished waits, and the detector's verdicts. The Prometheus
// exporter, the debug dump, the gRPC service and the test helpers all read
// Snapshots; none of them touches the live records.
//
// Thread-safety: a Snapshot is a plain value. TakeSnapshot() and DumpTasks() are
// safe to call from any thread, with or without a running agent, and never block
// application threads (they read the records with atomic loads).

#ifndef LEAKWATCH_SNAPSHOT_H_
#define LEAKWATCH_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "leakwatch/task.h"

namespace leakwatch {

struct Snapshot {
  struct Kind {
    std::string kind;
    int64_t live = 0;
    int64_t long_lived = 0;         // live and older than tasks.long_lived_after
    double oldest_age_seconds = 0;  // 0 when none is live
    uint64_t started_total = 0;
    uint64_t finished_total = 0;
    bool leak_suspected = false;      // detector verdict on long_lived
    double leak_growth_per_hour = 0;  // detector's robust growth estimate
  };
  struct Histogram {
    std::vector<double> upper_bounds;     // seconds, increasing; +Inf implicit
    std::vector<uint64_t> bucket_counts;  // per bucket (not cumulative), size+1
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  struct Site {
    std::string site;  // "path:line" or "function+0xOFFSET" or "other"
    Op op = Op::kOther;
    int64_t blocked = 0;  // tasks blocked here now
    int64_t stuck = 0;    // of those, blocked longer than tasks.stuck_after
    int64_t idle = 0;     // blocked longer than tasks.stuck_after, at an expected idle wait
    double oldest_wait_seconds = 0;   // longest current wait here; 0 when none
    int64_t deadlocked = 0;           // tasks here in a proven deadlock
    bool leak_suspected = false;      // detector verdict on `stuck`
    double leak_growth_per_hour = 0;  // detector's robust growth estimate
    Histogram durations;              // finished waits that really blocked
    // An expected idle wait: the site matches sites.idle_sites, or a task
    // blocked there longer than tasks.stuck_after runs on a thread named in
    // sites.idle_threads (so `idle` > 0).
    bool idle_site = false;
    // Whether /metrics shows `durations` (leakwatch_block_duration_seconds).
    // The exporter sets it: only from the site's 10th finished wait or its
    // first wait longer than 1 s, never at an expected idle wait (sites.*).
    bool export_durations = true;
  };
  struct Task {
    uint64_t id = 0;
    int32_t tid = 0;  // kernel thread id of the thread running it
    std::string thread_name;
    std::string kind;
    double age_seconds = 0;
    bool blocked = false;
    std::string site;  // when blocked
    Op op = Op::kOther;
    double wait_seconds = 0;
    bool deadlocked = false;
    bool idle = false;  // blocked longer than tasks.stuck_after at an expected idle wait
    std::vector<std::string> stack;  // symbolized frames, innermost first, if captured
  };

  int64_t taken_at_unix_nanos = 0;
  double process_start_time_seconds = 0;
  int64_t os_threads = 0;  // the kernel's count (/proc/self/status), -1 if unknown
  // The smallest of RLIMIT_NPROC, kernel.threads-max, kernel.pid_max and the
  // cgroup's pids.max: where pthread_create starts failing. -1 if none sets one.
  int64_t os_threads_limit = -1;
  int64_t sites_in_use = 0;
  uint64_t sites_dropped_total = 0;
  std::vector<Kind> kinds;  // sorted by kind
  std::vector<Site> sites;  // sorted by (site, op); includes sites with nothing blocked
  std::vector<Task> tasks;  // every live task, oldest first
};

// Reads all task records now. Uses the running agent's config (or the defaults)
// for stuck/long-lived thresholds and attaches the agent's latest verdicts.
// Task::thread_name is the name the thread last gave itself (recorded by the
// interposed pthread_setname_np/prctl), else the kernel's (/proc, read once per
// thread: about 5 us each, so 50 ms for 10,000 threads that named no one).
Snapshot TakeSnapshot();

// A pprof-like text dump of TakeSnapshot():
//   debug=1: one paragraph per site with the count of blocked tasks, stuck tasks
//            and the oldest wait, then the live tasks per kind;
//   debug=2: every task with its thread, kind, state, wait op, site, wait age and
//            stack, Go-style ("task 17 [chan_send, 5 minutes]:").
// Any other value is treated as 1.
std::string DumpTasks(int debug);

}  // namespace leakwatch

#endif  // LEAKWATCH_SNAPSHOT_H_
