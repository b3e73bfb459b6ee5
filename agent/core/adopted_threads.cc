#include "core/adopted_threads.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/clock.h"

namespace leakwatch::core {
namespace {

// One of leakwatch's own threads (MarkAgentThread).
struct AgentThread {
  int32_t tid = 0;
  uint64_t start_ticks = 0;  // 0: unknown (its stat was unreadable), the tid alone decides
};

// Guarded by the registry lock. Never destroyed: threads register after main.
struct Adopted {
  std::vector<AdoptedThread> threads;
  std::vector<AgentThread> agent_threads;
  uint64_t started = 0;       // adopted and not claimed
  uint64_t finished = 0;      // exits seen, and reported entries dropped
  bool hooks_loaded = false;  // AdoptRunningThreads() has run
};
Adopted* g_adopted = nullptr;

// Config's thread tracking. Written under the registry lock; read without it by
// the hooks' loader (lifecycle.cc) to decide on the loading thread.
std::atomic<bool> g_adoption_on{true};

Adopted& AdoptedLocked() {
  if (g_adopted == nullptr) g_adopted = new Adopted;  // may throw: callers catch
  return *g_adopted;
}

struct TaskStat {
  bool ok = false;
  char state = '?';
  uint64_t start_ticks = 0;
};

// Fields 3 (state) and 22 (start time in clock ticks after boot) of a task's
// stat file. The name (field 2) may hold spaces and ')': count from the last ')'.
TaskStat ReadTaskStat(const char* path) noexcept {
  TaskStat s;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  char buf[1024];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return s;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ') return s;
  s.state = p[2];
  int field = 2;
  while (*p != '\0' && field < 22) {
    if (*p++ == ' ') ++field;
  }
  if (field != 22) return s;
  s.start_ticks = std::strtoull(p, nullptr, 10);
  s.ok = true;
  return s;
}

TaskStat ReadTaskStat(int32_t tid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  return ReadTaskStat(path);
}

// Converts a start time in ticks after boot to the CoarseMonotonicNanos clock
// (boot time counts suspended time, the monotonic clock does not).
int64_t TicksToMonotonicNanos(uint64_t ticks) noexcept {
  const long hz = sysconf(_SC_CLK_TCK);
  timespec boot;
  clock_gettime(CLOCK_BOOTTIME, &boot);
  const int64_t boot_ns = int64_t{boot.tv_sec} * 1'000'000'000 + boot.tv_nsec;
  const int64_t now = CoarseMonotonicNanos();
  if (hz <= 0) return now;
  const int64_t since_start =
      boot_ns - static_cast<int64_t>(ticks) * (1'000'000'000 / static_cast<int64_t>(hz));
  return since_start > 0 ? now - since_start : now;
}

bool ThreadExited(int32_t tid) noexcept { return tgkill(getpid(), tid, 0) != 0 && errno == ESRCH; }

// Removes adopted entry `i` without an exit: a start no snapshot has reported
// is taken back, a reported one counts as finished (counters never go back).
void DropAdoptedLocked(Adopted& a, size_t i) noexcept {
  if (a.threads[i].reported) {
    ++a.finished;
  } else {
    --a.started;
  }
  a.threads[i] = a.threads.back();
  a.threads.pop_back();
}

bool IsAgentThreadLocked(const Adopted& a, int32_t tid, uint64_t start_ticks) noexcept {
  for (const AgentThread& t : a.agent_threads) {
    if (t.tid == tid && (t.start_ticks == 0 || t.start_ticks == start_ticks)) return true;
  }
  return false;
}

}  // namespace

int AdoptRunningThreads() noexcept {
  struct Found {
    int32_t tid;
    uint64_t start_ticks;
  };
  std::vector<Found> found;
  try {
    Registry& r = GetRegistry();
    {
      std::lock_guard<std::mutex> lock(r.mu);
      AdoptedLocked().hooks_loaded = true;
      if (!g_adoption_on.load(std::memory_order_relaxed)) return 0;
    }
    DIR* dir = opendir("/proc/self/task");
    if (dir == nullptr) return -1;
    while (const dirent* e = readdir(dir)) {
      const int32_t tid = static_cast<int32_t>(std::strtol(e->d_name, nullptr, 10));
      if (tid <= 0) continue;
      const TaskStat s = ReadTaskStat(tid);
      if (!s.ok || s.state == 'Z' || s.state == 'X') continue;  // gone, or an exited leader
      found.push_back({tid, s.start_ticks});
    }
    closedir(dir);

    std::lock_guard<std::mutex> lock(r.mu);
    // Turned off while /proc was read: the off wins.
    if (!g_adoption_on.load(std::memory_order_relaxed)) return 0;
    Adopted& adopted_threads = AdoptedLocked();
    absl::flat_hash_set<int32_t> known;
    for (const ThreadRecord* rec : r.records) known.insert(rec->tid);
    for (const AdoptedThread& a : adopted_threads.threads) known.insert(a.tid);
    int adopted = 0;
    for (const Found& f : found) {
      if (known.contains(f.tid) || IsAgentThreadLocked(adopted_threads, f.tid, f.start_ticks) ||
          ThreadExited(f.tid)) {
        continue;
      }
      AdoptedThread a;
      a.tid = f.tid;
      a.task_id = ReserveTaskIds(1);
      a.start_ns = TicksToMonotonicNanos(f.start_ticks);
      a.start_ticks = f.start_ticks;
      adopted_threads.threads.push_back(a);
      ++adopted_threads.started;
      ++adopted;
    }
    return adopted;
  } catch (...) {  // out of memory: adopt nothing, never throw into the host
    return -1;
  }
}

void SetThreadAdoption(bool on) noexcept {
  bool adopt = false;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    const bool was = g_adoption_on.exchange(on, std::memory_order_relaxed);
    if (g_adopted == nullptr) return;  // the hooks are not loaded: nothing adopted
    if (!on) {
      while (!g_adopted->threads.empty()) DropAdoptedLocked(*g_adopted, 0);
    }
    adopt = on && !was && g_adopted->hooks_loaded;
  }
  if (adopt) AdoptRunningThreads();
}

bool ThreadAdoptionOn() noexcept { return g_adoption_on.load(std::memory_order_relaxed); }

void MarkAgentThread() noexcept {
  const int32_t tid = static_cast<int32_t>(syscall(SYS_gettid));
  const TaskStat self = ReadTaskStat("/proc/thread-self/stat");
  const uint64_t start_ticks = self.ok ? self.start_ticks : 0;
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  try {
    Adopted& a = AdoptedLocked();
    // Marks of threads that have exited (this tid's among them: it was reused).
    std::vector<AgentThread>& agents = a.agent_threads;
    for (size_t i = 0; i < agents.size();) {
      if (agents[i].tid == tid || ThreadExited(agents[i].tid)) {
        agents[i] = agents.back();
        agents.pop_back();
      } else {
        ++i;
      }
    }
    agents.push_back({tid, start_ticks});
  } catch (...) {  // out of memory: unmarked, so a later scan may adopt it
    return;
  }
  // A scan that listed this thread before its mark adopted it.
  std::vector<AdoptedThread>& threads = g_adopted->threads;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (threads[i].tid != tid) continue;
    if (start_ticks == 0 || threads[i].start_ticks == start_ticks) {
      DropAdoptedLocked(*g_adopted, i);
    } else {  // the adopted thread exited and this one reuses its tid
      ++g_adopted->finished;
      threads[i] = threads.back();
      threads.pop_back();
    }
    return;
  }
}

void ClaimAdoptedThreadLocked(ThreadRecord& rec) noexcept {
  if (g_adopted == nullptr || g_adopted->threads.empty()) return;
  std::vector<AdoptedThread>& threads = g_adopted->threads;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (threads[i].tid != rec.tid) continue;
    const TaskStat self = ReadTaskStat("/proc/thread-self/stat");
    if (self.ok && self.start_ticks == threads[i].start_ticks) {
      rec.task_id = threads[i].task_id;
      rec.start_ns = threads[i].start_ns;
      --g_adopted->started;  // the record counts this start now
    } else {
      ++g_adopted->finished;  // the adopted thread exited and its tid was reused
    }
    threads[i] = threads.back();
    threads.pop_back();
    return;
  }
}

void ForEachAdoptedThreadLocked(absl::FunctionRef<void(const AdoptedThread&)> fn, uint64_t* started,
                                uint64_t* finished) noexcept {
  if (g_adopted == nullptr) return;
  std::vector<AdoptedThread>& threads = g_adopted->threads;
  for (size_t i = 0; i < threads.size();) {
    if (ThreadExited(threads[i].tid)) {
      ++g_adopted->finished;
      threads[i] = threads.back();
      threads.pop_back();
      continue;
    }
    threads[i].reported = true;
    fn(threads[i]);
    ++i;
  }
  *started += g_adopted->started;
  *finished += g_adopted->finished;
}

void ForgetAdoptedThreadsInForkChildLocked() noexcept {
  if (g_adopted == nullptr) return;
  g_adopted->started -= g_adopted->threads.size();
  g_adopted->threads.clear();
  g_adopted->agent_threads.clear();
}

}  // namespace leakwatch::core
