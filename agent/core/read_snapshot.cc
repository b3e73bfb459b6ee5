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
  int64_t idle = 0;
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

// One reading of every task into a Snapshot. The Read* steps accumulate per
// site, per kind and (with include_tasks) per task; the Emit* steps turn the
// accumulators into the snapshot's sorted lists. Single use, one thread.
class SnapshotReader {
 public:
  explicit SnapshotReader(const ReadOptions& options)
      : options_(options),
        now_(MonotonicNanos()),
        site_limit_(SiteIdLimit()),
        layout_(CurrentLayout()),
        sites_(site_limit_) {}

  // The thread records, the adopted threads and their deadlocks, all under the
  // registry lock (the records stay alive for the deadlock re-check).
  void ReadThreads();
  // Coroutine tasks (leakwatch/coro.h): counted like TaskScope tasks, blocked
  // at their co_await's site while suspended there.
  void ReadCoroutines();
  // Counts the waits ReadThreads found deadlocked at their sites and tasks.
  void MarkDeadlocks();

  void EmitSites(Snapshot* snap) const;
  void EmitKinds(Snapshot* snap) const;
  // Oldest first, with thread names and symbolized stacks as asked.
  void EmitTasks(Snapshot* snap);

 private:
  struct PendingTask {
    Snapshot::Task task;
    int64_t start_ns;
    std::vector<uintptr_t> stack;  // raw return addresses of the current wait
  };

  // One live task of `kind`, started at start_ns.
  void AccountTask(uint16_t kind, int64_t start_ns) {
    KindAccumulator& k = kinds_[kind];
    ++k.live;
    const int64_t age = std::max<int64_t>(0, now_ - start_ns);  // starts use the coarse clock
    if (age > options_.long_lived_after_ns) ++k.long_lived;
    k.oldest_age_ns = std::max(k.oldest_age_ns, age);
  }

  // One task blocked at `site` for wait_ns; `idle` when the wait is an
  // expected idle one longer than stuck_after (IsIdleWait).
  void AccountWait(uint32_t site, int64_t wait_ns, bool idle) {
    SiteAccumulator& s = sites_[site];
    ++s.blocked;
    if (idle) {
      ++s.idle;
    } else if (wait_ns > options_.stuck_after_ns) {
      ++s.stuck;
    }
    s.oldest_wait_ns = std::max(s.oldest_wait_ns, wait_ns);
  }

  // True if a wait of wait_ns at `site` is longer than stuck_after and an
  // expected idle wait, by its site or by the name of the thread of `rec`
  // (null for a coroutine). Shorter waits are never asked about, so thread
  // names are only read for the few long ones.
  bool IsIdleWait(uint32_t site, int64_t wait_ns, const ThreadRecord* rec) const {
    const IdleWaitRules* rules = options_.idle_rules.get();
    if (rules == nullptr || wait_ns <= options_.stuck_after_ns) return false;
    if (rules->SiteIsIdle(site)) return true;
    if (rec == nullptr || !rules->HasThreadPatterns()) return false;
    char name[kThreadNameBytes];
    if (LoadThreadName(*rec, name)) return rules->ThreadIsIdle(name);
    // Named before the hooks loaded, or never named: read /proc once and keep
    // the name in the record (the registry lock is held, as for
    // StoreThreadNameOfTid), so the next snapshots find it there. A rename
    // racing with this copy could be overwritten by the older name; the check
    // of the counter makes that window a few instructions wide.
    const std::string proc_name = ThreadName(rec->tid);
    auto& record = const_cast<ThreadRecord&>(*rec);
    if (!proc_name.empty() && record.name_seq.load(std::memory_order_acquire) == 0) {
      StoreThreadName(record, proc_name.c_str());
    }
    return rules->ThreadIsIdle(proc_name);
  }

  PendingTask& AddTask(uint64_t id, int32_t tid, uint16_t kind, int64_t start_ns) {
    PendingTask& t = tasks_.emplace_back();
    t.task.id = id;
    t.task.tid = tid;
    t.task.kind = KindName(kind);
    t.task.age_seconds = (now_ - start_ns) / 1e9;
    t.start_ns = start_ns;
    return t;
  }

  void ReadRecord(const ThreadRecord& rec);
  // Marks the record's innermost task (id innermost_id) blocked at the
  // record's wait, with the wait's stack.
  void MarkBlockedTask(const ThreadRecord& rec, const BlockState& block, uint64_t innermost_id,
                       bool lock_waiter, bool idle);

  const ReadOptions& options_;
  const int64_t now_;
  const uint32_t site_limit_;
  const HistogramLayout* const layout_;
  std::vector<SiteAccumulator> sites_;
  KindAccumulator kinds_[kMaxKinds];
  std::vector<PendingTask> tasks_;
  // Thread names by tid: the names recorded by the hooks (thread_name.h), then
  // /proc for the other threads, read once each.
  absl::flat_hash_map<int32_t, std::string> thread_names_;
  std::vector<LockWaiter> lock_waiters_;
  std::vector<const ThreadRecord*> lock_waiter_records_;
  std::vector<int64_t> lock_waiter_task_;  // index into tasks_ of the blocked task, or -1
};

void SnapshotReader::ReadThreads() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (int k = 0; k < kMaxKinds; ++k) {
    kinds_[k].started = r.retired.started[k];
    kinds_[k].finished = r.retired.finished[k];
  }
  if (r.retired.generation == layout_->generation) {
    for (const auto& [site, totals] : r.retired.histograms) {
      if (site >= site_limit_) continue;
      sites_[site].durations.Add(totals);
      sites_[site].has_durations = true;
    }
  }
  // The walk is bound by cache misses: visit the records with the lines of
  // one a few places ahead already requested.
  const std::vector<ThreadRecord*>& records = r.records;
  constexpr size_t kPrefetchAhead = 8;
  for (size_t index = 0; index < records.size(); ++index) {
    if (index + kPrefetchAhead < records.size()) PrefetchRecord(*records[index + kPrefetchAhead]);
    ReadRecord(*records[index]);
  }
  // Threads that ran before the hooks were loaded and have no record yet.
  ForEachAdoptedThreadLocked(
      [&](const AdoptedThread& a) {
        AccountTask(kThreadKind, a.start_ns);
        if (options_.include_tasks) AddTask(a.task_id, a.tid, kThreadKind, a.start_ns);
      },
      &kinds_[kThreadKind].started, &kinds_[kThreadKind].finished);
  FindDeadlocks(
      lock_waiters_,
      [&](size_t i) {
        return lock_waiter_records_[i]->block_start_ns.load(std::memory_order_acquire);
      },
      &ThreadAlive);
}

void SnapshotReader::ReadRecord(const ThreadRecord& rec) {
  for (uint64_t used = rec.kinds_used.load(std::memory_order_acquire); used != 0;
       used &= used - 1) {
    const int k = __builtin_ctzll(used);
    kinds_[k].started += rec.counts[k].started.load(std::memory_order_relaxed);
    kinds_[k].finished += rec.counts[k].finished.load(std::memory_order_relaxed);
  }
  AccountTask(kThreadKind, rec.start_ns);
  const int32_t depth =
      std::min(rec.depth.load(std::memory_order_acquire), static_cast<int32_t>(kMaxTaskDepth));
  uint64_t innermost_id = rec.task_id;
  for (int i = 0; i < depth; ++i) {
    const uint16_t kind = rec.frames[i].kind.load(std::memory_order_relaxed);
    const int64_t start = rec.frames[i].start_ns.load(std::memory_order_relaxed);
    innermost_id = rec.frames[i].task_id.load(std::memory_order_relaxed);
    AccountTask(kind, start);
    if (options_.include_tasks) AddTask(innermost_id, rec.tid, kind, start);
  }

  const BlockState block = ReadBlockState(rec);
  // A site interned after site_limit_ was read is counted next time.
  bool lock_waiter = false;
  bool idle = false;
  if (block.blocked && block.site < site_limit_) {
    const int64_t wait_ns = now_ - block.start_ns;
    idle = IsIdleWait(block.site, wait_ns, &rec);
    AccountWait(block.site, wait_ns, idle);
    if (block.owner_word != nullptr) {
      lock_waiters_.push_back({rec.tid, block.start_ns, block.owner_word, block.site, false});
      lock_waiter_records_.push_back(&rec);
      lock_waiter_task_.push_back(-1);
      lock_waiter = true;
    }
  }
  if (options_.include_tasks) {
    AddTask(rec.task_id, rec.tid, kThreadKind, rec.start_ns);
    if (char name[kThreadNameBytes]; options_.include_thread_names && LoadThreadName(rec, name)) {
      thread_names_.emplace(rec.tid, name);
    }
    if (block.blocked) MarkBlockedTask(rec, block, innermost_id, lock_waiter, idle);
  }
  const uint32_t generation = layout_->generation;
  const int bucket_count = layout_->num_bounds + 1;
  for (const SiteHistogram* h = rec.histograms.load(std::memory_order_acquire); h != nullptr;
       h = h->next) {
    if (h->site >= site_limit_) continue;
    if (h->generation.load(std::memory_order_acquire) != generation) continue;
    sites_[h->site].durations.Add(*h, bucket_count);
    sites_[h->site].has_durations = true;
  }
}

void SnapshotReader::MarkBlockedTask(const ThreadRecord& rec, const BlockState& block,
                                     uint64_t innermost_id, bool lock_waiter, bool idle) {
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if (it->task.id != innermost_id) continue;
    Snapshot::Task& bt = it->task;
    bt.blocked = true;
    bt.idle = idle;
    if (const SiteInfo* info = GetSite(block.site)) {
      bt.site = info->label;
      bt.op = info->op;
    }
    bt.wait_seconds = (now_ - block.start_ns) / 1e9;
    const int depth = std::min(rec.stack_depth.load(std::memory_order_acquire),
                               static_cast<int32_t>(kMaxStackFrames));
    for (int f = 0; f < depth; ++f) {
      it->stack.push_back(rec.stack[f].load(std::memory_order_relaxed));
    }
    if (lock_waiter) lock_waiter_task_.back() = static_cast<int64_t>(&*it - &tasks_[0]);
    return;
  }
}

void SnapshotReader::ReadCoroutines() {
  ForEachCoroutineTask(
      [&](uint16_t kind, uint64_t started, uint64_t finished) {
        kinds_[kind].started += started;
        kinds_[kind].finished += finished;
      },
      [&](const CoroutineTaskView& c) {
        AccountTask(c.kind, c.start_ns);
        bool idle = false;
        if (c.block_start_ns != 0 && c.site < site_limit_) {
          const int64_t wait_ns = std::max<int64_t>(0, now_ - c.block_start_ns);
          idle = IsIdleWait(c.site, wait_ns, nullptr);
          AccountWait(c.site, wait_ns, idle);
        }
        if (!options_.include_tasks) return;
        PendingTask& t = tasks_.emplace_back();
        t.task = CoroutineTask(c, now_);
        t.task.idle = idle;
        t.start_ns = c.start_ns;
      });
}

void SnapshotReader::MarkDeadlocks() {
  for (size_t i = 0; i < lock_waiters_.size(); ++i) {
    if (!lock_waiters_[i].deadlocked) continue;
    if (lock_waiters_[i].site < site_limit_) ++sites_[lock_waiters_[i].site].deadlocked;
    if (lock_waiter_task_[i] >= 0) tasks_[lock_waiter_task_[i]].task.deadlocked = true;
  }
}

void SnapshotReader::EmitSites(Snapshot* snap) const {
  const std::vector<double>& bounds = layout_->bounds_seconds;
  for (uint32_t id = 0; id < site_limit_; ++id) {
    const SiteAccumulator& s = sites_[id];
    const SiteInfo* info = GetSite(id);
    if (info == nullptr) continue;
    // "other" sites appear only once something was counted there.
    if (id < kFirstRealSite && s.blocked == 0 && !s.has_durations) continue;
    Snapshot::Site out;
    out.site = info->label;
    out.op = info->op;
    out.blocked = s.blocked;
    out.stuck = s.stuck;
    out.idle = s.idle;
    const IdleWaitRules* rules = options_.idle_rules.get();
    out.idle_site = s.idle > 0 || (rules != nullptr && rules->SiteIsIdle(id));
    out.deadlocked = s.deadlocked;
    out.oldest_wait_seconds = s.oldest_wait_ns / 1e9;
    out.durations.upper_bounds = bounds;
    out.durations.bucket_counts.assign(s.durations.buckets,
                                       s.durations.buckets + bounds.size() + 1);
    for (uint64_t c : out.durations.bucket_counts) out.durations.count += c;
    out.durations.sum_seconds = s.durations.sum_ns / 1e9;
    snap->sites.push_back(std::move(out));
  }
  std::sort(snap->sites.begin(), snap->sites.end(), [](const auto& a, const auto& b) {
    return a.site != b.site ? a.site < b.site : a.op < b.op;
  });
}

void SnapshotReader::EmitKinds(Snapshot* snap) const {
  const int kind_count = KindCount();
  for (int k = 0; k < kind_count; ++k) {
    const KindAccumulator& a = kinds_[k];
    if (a.live == 0 && a.started == 0 && k != kThreadKind) continue;
    Snapshot::Kind out;
    out.kind = KindName(static_cast<uint16_t>(k));
    out.live = a.live;
    out.long_lived = a.long_lived;
    out.oldest_age_seconds = a.oldest_age_ns / 1e9;
    out.started_total = a.started;
    out.finished_total = a.finished;
    snap->kinds.push_back(std::move(out));
  }
  std::sort(snap->kinds.begin(), snap->kinds.end(),
            [](const auto& a, const auto& b) { return a.kind < b.kind; });
}

void SnapshotReader::EmitTasks(Snapshot* snap) {
  // Sorting indices, not the (large) pending tasks themselves.
  std::vector<uint32_t> order(tasks_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return tasks_[a].start_ns < tasks_[b].start_ns; });
  snap->tasks.reserve(tasks_.size());
  absl::flat_hash_map<uintptr_t, std::string> labels;  // symbolize each address once
  for (uint32_t i : order) {
    PendingTask& t = tasks_[i];
    if (options_.include_thread_names) {
      auto [name, inserted] = thread_names_.try_emplace(t.task.tid);
      if (inserted) name->second = ThreadName(t.task.tid);
      t.task.thread_name = name->second;
    }
    for (uintptr_t ra : t.stack) {
      auto [label, inserted] = labels.try_emplace(ra);
      if (inserted) label->second = FrameLabel(ra);
      t.task.stack.push_back(label->second);
    }
    snap->tasks.push_back(std::move(t.task));
  }
}

}  // namespace

Snapshot ReadSnapshot(const ReadOptions& options) {
  Snapshot snap;
  SnapshotReader reader(options);
  snap.taken_at_unix_nanos = RealtimeNanos();
  snap.process_start_time_seconds = ProcessStartTimeSeconds();
  reader.ReadThreads();
  reader.ReadCoroutines();
  reader.MarkDeadlocks();
  reader.EmitSites(&snap);
  reader.EmitKinds(&snap);
  if (options.include_tasks) reader.EmitTasks(&snap);
  snap.os_threads = OsThreadCount();
  snap.os_threads_limit = OsThreadsLimit();
  snap.sites_in_use = SitesInUse();
  snap.sites_dropped_total = SitesDropped();
  return snap;
}

}  // namespace leakwatch::core
