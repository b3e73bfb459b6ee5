#include "core/read_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/adopted_threads.h"
#include "core/clock.h"
#include "core/coro_registry.h"
#include "core/deadlock.h"
#include "core/histogram.h"
#include "core/kinds.h"
#include "core/sites.h"
#include "core/symbolize.h"
#include "core/thread_limit.h"
#include "core/thread_name.h"
#include "core/thread_record.h"

namespace leakwatch::core {
namespace {

struct SiteAccumulator {
  int64_t blocked = 0;
  int64_t deadlocked = 0;
  int64_t stuck = 0;
  int64_t oldest_wait_ns = 0;
  HistogramTotals durations;
  bool has_durations = false;
};

struct KindAccumulator {
  int64_t live = 0;
  int64_t long_lived = 0;
  int64_t oldest_age_ns = 0;
  uint64_t started = 0;
  uint64_t finished = 0;
};

struct BlockState {
  bool blocked = false;
  uint32_t site = 0;
  int64_t start_ns = 0;
  const int32_t* owner_word = nullptr;
};

// Reads the record's block state consistently (see thread_record.h).
BlockState ReadBlockState(const ThreadRecord& rec) {
  BlockState s;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int64_t start = rec.block_start_ns.load(std::memory_order_acquire);
    if (start == 0) return s;
    // Acquire loads keep the re-read of the start time below after them
    // (a fence would do too, but TSan does not model fences).
    const uint32_t site = rec.block_site.load(std::memory_order_acquire);
    const int32_t* owner_word = rec.block_owner_word.load(std::memory_order_acquire);
    if (rec.block_start_ns.load(std::memory_order_relaxed) == start) {
      s.blocked = true;
      s.site = site;
      s.start_ns = start;
      s.owner_word = owner_word;
      return s;
    }
  }
  return s;  // the thread is blocking and unblocking fast: not stuck anywhere
}

// Requests the lines of `rec` the walk reads: the first (see ThreadRecord), the
// innermost task frame, the lifecycle counters of the lowest kinds and the first site
// histogram's header and buckets.
void PrefetchRecord(const ThreadRecord& rec) {
  __builtin_prefetch(&rec);
  __builtin_prefetch(&rec.frames[0]);
  __builtin_prefetch(&rec.counts[0]);
  if (const SiteHistogram* h = rec.histograms.load(std::memory_order_relaxed)) {
    __builtin_prefetch(h);
    __builtin_prefetch(reinterpret_cast<const char*>(h) + 64);
    __builtin_prefetch(reinterpret_cast<const char*>(h) + 128);
  }
}

std::string ThreadName(int32_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0')) --n;
  return std::string(buf, n);
}

}  // namespace

Snapshot ReadSnapshot(const ReadOptions& options) {
  Snapshot snap;
  const int64_t now = MonotonicNanos();
  snap.taken_at_unix_nanos = RealtimeNanos();
  snap.process_start_time_seconds = ProcessStartTimeSeconds();

  const uint32_t site_limit = SiteIdLimit();
  std::vector<SiteAccumulator> sites(site_limit);
  KindAccumulator kinds[kMaxKinds];
  const HistogramLayout* layout = CurrentLayout();
  const uint32_t generation = layout->generation;
  const int bucket_count = layout->num_bounds + 1;

  auto account_task = [&](uint16_t kind, int64_t start_ns) {
    KindAccumulator& k = kinds[kind];
    ++k.live;
    const int64_t age = std::max<int64_t>(0, now - start_ns);  // starts use the coarse clock
    if (age > options.long_lived_after_ns) ++k.long_lived;
    k.oldest_age_ns = std::max(k.oldest_age_ns, age);
  };

  struct PendingTask {
    Snapshot::Task task;
    int64_t start_ns;
    std::vector<uintptr_t> stack;  // raw return addresses of the current wait
  };
  std::vector<PendingTask> tasks;
  // Thread names by tid: the names recorded by the hooks (thread_name.h), then
  // /proc for the other threads, read once each.
  absl::flat_hash_map<int32_t, std::string> thread_names;
  std::vector<LockWaiter> lock_waiters;
  std::vector<const ThreadRecord*> lock_waiter_records;
  std::vector<int64_t> lock_waiter_task;  // index into `tasks` of the blocked task, or -1

  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (int k = 0; k < kMaxKinds; ++k) {
      kinds[k].started = r.retired.started[k];
      kinds[k].finished = r.retired.finished[k];
    }
    if (r.retired.generation == generation) {
      for (const auto& [site, totals] : r.retired.histograms) {
        if (site >= site_limit) continue;
        sites[site].durations.Add(totals);
        sites[site].has_durations = true;
      }
    }
    // The walk is bound by cache misses: visit the records with the lines of
    // one a few places ahead already requested.
    const std::vector<ThreadRecord*>& records = r.records;
    constexpr size_t kPrefetchAhead = 8;
    for (size_t index = 0; index < records.size(); ++index) {
      if (index + kPrefetchAhead < records.size()) PrefetchRecord(*records[index + kPrefetchAhead]);
      const ThreadRecord* rec = records[index];
      for (uint64_t used = rec->kinds_used.load(std::memory_order_acquire); used != 0;
           used &= used - 1) {
        const int k = __builtin_ctzll(used);
        kinds[k].started += rec->counts[k].started.load(std::memory_order_relaxed);
        kinds[k].finished += rec->counts[k].finished.load(std::memory_order_relaxed);
      }
      account_task(kThreadKind, rec->start_ns);
      const int32_t depth =
          std::min(rec->depth.load(std::memory_order_acquire), static_cast<int32_t>(kMaxTaskDepth));
      uint64_t innermost_id = rec->task_id;
      for (int i = 0; i < depth; ++i) {
        const uint16_t kind = rec->frames[i].kind.load(std::memory_order_relaxed);
        const int64_t start = rec->frames[i].start_ns.load(std::memory_order_relaxed);
        account_task(kind, start);
        if (options.include_tasks) {
          PendingTask t;
          t.task.id = rec->frames[i].task_id.load(std::memory_order_relaxed);
          t.task.tid = rec->tid;
          t.task.kind = KindName(kind);
          t.task.age_seconds = (now - start) / 1e9;
          t.start_ns = start;
          tasks.push_back(std::move(t));
        }
        innermost_id = rec->frames[i].task_id.load(std::memory_order_relaxed);
      }

      const BlockState block = ReadBlockState(*rec);
      // A site interned after site_limit was read is counted next time.
      bool lock_waiter = false;
      if (block.blocked && block.site < site_limit) {
        SiteAccumulator& s = sites[block.site];
        const int64_t wait = now - block.start_ns;
        ++s.blocked;
        if (wait > options.stuck_after_ns) ++s.stuck;
        s.oldest_wait_ns = std::max(s.oldest_wait_ns, wait);
        if (block.owner_word != nullptr) {
          lock_waiters.push_back({rec->tid, block.start_ns, block.owner_word, block.site, false});
          lock_waiter_records.push_back(rec);
          lock_waiter_task.push_back(-1);
          lock_waiter = true;
        }
      }
      if (options.include_tasks) {
        PendingTask t;
        t.task.id = rec->task_id;
        t.task.tid = rec->tid;
        t.task.kind = KindName(kThreadKind);
        t.task.age_seconds = (now - rec->start_ns) / 1e9;
        t.start_ns = rec->start_ns;
        tasks.push_back(std::move(t));
        if (char name[kThreadNameBytes];
            options.include_thread_names && LoadThreadName(*rec, name)) {
          thread_names.emplace(rec->tid, name);
        }
        if (block.blocked) {
          // The innermost task is the one blocked.
          for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
            if (it->task.id != innermost_id) continue;
            Snapshot::Task& bt = it->task;
            bt.blocked = true;
            if (const SiteInfo* info = GetSite(block.site)) {
              bt.site = info->label;
              bt.op = info->op;
            }
            bt.wait_seconds = (now - block.start_ns) / 1e9;
            const int depth = std::min(rec->stack_depth.load(std::memory_order_acquire),
                                       static_cast<int32_t>(kMaxStackFrames));
            for (int f = 0; f < depth; ++f) {
              it->stack.push_back(rec->stack[f].load(std::memory_order_relaxed));
            }
            if (lock_waiter) {
              lock_waiter_task.back() = static_cast<int64_t>(&*it - &tasks[0]);
            }
            break;
          }
        }
      }
      for (const SiteHistogram* h = rec->histograms.load(std::memory_order_acquire); h != nullptr;
           h = h->next) {
        if (h->site >= site_limit) continue;
        if (h->generation.load(std::memory_order_acquire) != generation) continue;
        sites[h->site].durations.Add(*h, bucket_count);
        sites[h->site].has_durations = true;
      }
    }
    // Still under the registry lock: the records stay alive for the re-check.
    // Threads that ran before the hooks were loaded and have no record yet.
    ForEachAdoptedThreadLocked(
        [&](const AdoptedThread& a) {
          account_task(kThreadKind, a.start_ns);
          if (!options.include_tasks) return;
          PendingTask& t = tasks.emplace_back();
          t.task.id = a.task_id;
          t.task.tid = a.tid;
          t.task.kind = KindName(kThreadKind);
          t.task.age_seconds = (now - a.start_ns) / 1e9;
          t.start_ns = a.start_ns;
        },
        &kinds[kThreadKind].started, &kinds[kThreadKind].finished);
    FindDeadlocks(
        lock_waiters,
        [&](size_t i) {
          return lock_waiter_records[i]->block_start_ns.load(std::memory_order_acquire);
        },
        &ThreadAlive);
  }
  // Coroutine tasks (leakwatch/coro.h): counted like TaskScope tasks, blocked
  // at their co_await's site while suspended there.
  ForEachCoroutineTask(
      [&](uint16_t kind, uint64_t started, uint64_t finished) {
        kinds[kind].started += started;
        kinds[kind].finished += finished;
      },
      [&](const CoroutineTaskView& c) {
        account_task(c.kind, c.start_ns);
        const int64_t wait = std::max<int64_t>(0, now - c.block_start_ns);
        if (c.block_start_ns != 0 && c.site < site_limit) {
          SiteAccumulator& s = sites[c.site];
          ++s.blocked;
          if (wait > options.stuck_after_ns) ++s.stuck;
          s.oldest_wait_ns = std::max(s.oldest_wait_ns, wait);
        }
        if (!options.include_tasks) return;
        PendingTask& t = tasks.emplace_back();
        t.task = CoroutineTask(c, now);
        t.start_ns = c.start_ns;
      });
  for (size_t i = 0; i < lock_waiters.size(); ++i) {
    if (!lock_waiters[i].deadlocked) continue;
    if (lock_waiters[i].site < site_limit) ++sites[lock_waiters[i].site].deadlocked;
    if (lock_waiter_task[i] >= 0) tasks[lock_waiter_task[i]].task.deadlocked = true;
  }

  const std::vector<double>& bounds = layout->bounds_seconds;
  for (uint32_t id = 0; id < site_limit; ++id) {
    const SiteAccumulator& s = sites[id];
    const SiteInfo* info = GetSite(id);
    if (info == nullptr) continue;
    // "other" sites appear only once something was counted there.
    if (id < kFirstRealSite && s.blocked == 0 && !s.has_durations) continue;
    Snapshot::Site out;
    out.site = info->label;
    out.op = info->op;
    out.blocked = s.blocked;
    out.stuck = s.stuck;
    out.deadlocked = s.deadlocked;
    out.oldest_wait_seconds = s.oldest_wait_ns / 1e9;
    out.durations.upper_bounds = bounds;
    out.durations.bucket_counts.assign(s.durations.buckets,
                                       s.durations.buckets + bounds.size() + 1);
    for (uint64_t c : out.durations.bucket_counts) out.durations.count += c;
    out.durations.sum_seconds = s.durations.sum_ns / 1e9;
    snap.sites.push_back(std::move(out));
  }
  std::sort(snap.sites.begin(), snap.sites.end(), [](const auto& a, const auto& b) {
    return a.site != b.site ? a.site < b.site : a.op < b.op;
  });

  const int kind_count = KindCount();
  for (int k = 0; k < kind_count; ++k) {
    const KindAccumulator& a = kinds[k];
    if (a.live == 0 && a.started == 0 && k != kThreadKind) continue;
    Snapshot::Kind out;
    out.kind = KindName(static_cast<uint16_t>(k));
    out.live = a.live;
    out.long_lived = a.long_lived;
    out.oldest_age_seconds = a.oldest_age_ns / 1e9;
    out.started_total = a.started;
    out.finished_total = a.finished;
    snap.kinds.push_back(std::move(out));
  }
  std::sort(snap.kinds.begin(), snap.kinds.end(),
            [](const auto& a, const auto& b) { return a.kind < b.kind; });

  if (options.include_tasks) {
    // Oldest first. Sorting indices, not the (large) pending tasks themselves.
    std::vector<uint32_t> order(tasks.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return tasks[a].start_ns < tasks[b].start_ns; });
    snap.tasks.reserve(tasks.size());
    absl::flat_hash_map<uintptr_t, std::string> labels;  // symbolize each address once
    for (uint32_t i : order) {
      PendingTask& t = tasks[i];
      if (options.include_thread_names) {
        auto [name, inserted] = thread_names.try_emplace(t.task.tid);
        if (inserted) name->second = ThreadName(t.task.tid);
        t.task.thread_name = name->second;
      }
      for (uintptr_t ra : t.stack) {
        auto [label, inserted] = labels.try_emplace(ra);
        if (inserted) label->second = FrameLabel(ra);
        t.task.stack.push_back(label->second);
      }
      snap.tasks.push_back(std::move(t.task));
    }
  }

  snap.os_threads = OsThreadCount();
  snap.os_threads_limit = OsThreadsLimit();
  snap.sites_in_use = SitesInUse();
  snap.sites_dropped_total = SitesDropped();
  return snap;
}

}  // namespace leakwatch::core
