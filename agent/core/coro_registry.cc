#include "core/coro_registry.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "core/clock.h"
#include "core/histogram.h"
#include "core/sites.h"
#include "core/thread_record.h"
#include "leakwatch/coro.h"

namespace leakwatch::core {
namespace {

// Constant-initialized (no static-init guard on the hot path) and never
// destroyed in practice: std::mutex is trivially destructible here, so
// coroutines destroyed during static destruction still unregister.
constinit CoroutineShard g_shards[kCoroutineShards];
std::atomic<uint32_t> g_next_shard{0};

// What a thread needs to create coroutine tasks without shared state.
struct ThreadCoroutineState {
  bool initialized = false;
  uint8_t shard = 0;
  int32_t tid = 0;
  uint64_t next_id = 0;  // ids [next_id, id_limit) are reserved for this thread
  uint64_t id_limit = 0;
};

__attribute__((tls_model("initial-exec"))) thread_local ThreadCoroutineState tls_state;

ThreadCoroutineState& ThisThread() noexcept {
  ThreadCoroutineState& s = tls_state;
  if (__builtin_expect(!s.initialized, 0)) {
    s.shard = static_cast<uint8_t>(g_next_shard.fetch_add(1, std::memory_order_relaxed) %
                                   kCoroutineShards);
    s.tid = static_cast<int32_t>(syscall(SYS_gettid));
    s.initialized = true;
  }
  return s;
}

uint16_t DefaultKind() noexcept {
  static const uint16_t kind = InternKind("coroutine");
  return kind;
}

}  // namespace

CoroutineShard* CoroutineShards() noexcept { return g_shards; }

void LockCoroutinesForFork() noexcept {
  for (CoroutineShard& shard : g_shards) shard.mu.lock();
}

void UnlockCoroutinesAfterFork() noexcept {
  for (int i = kCoroutineShards - 1; i >= 0; --i) g_shards[i].mu.unlock();
}

void ReadCoroutineBlockState(const ::leakwatch::internal::CoroutineRecord& r,
                             CoroutineTaskView* view) noexcept {
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int64_t start = r.block_start_ns.load(std::memory_order_acquire);
    if (start <= 0) return;
    // The writer stores the site with release after clearing the previous wait,
    // so a site of a later wait read here makes the re-read below differ.
    const uint32_t site = r.block_site.load(std::memory_order_acquire);
    if (r.block_start_ns.load(std::memory_order_relaxed) == start) {
      view->block_start_ns = start;
      view->site = site;
      return;
    }
  }
  // Suspending and resuming very fast: not stuck anywhere.
}

Snapshot::Task CoroutineTask(const CoroutineTaskView& view, int64_t now_ns) {
  Snapshot::Task t;
  t.id = view.id;
  t.tid = view.tid;
  t.kind = KindName(view.kind);
  t.age_seconds = static_cast<double>(now_ns - view.start_ns) / 1e9;
  if (view.block_start_ns != 0) {
    t.blocked = true;
    t.op = Op::kAwait;
    if (const SiteInfo* info = GetSite(view.site)) {
      t.site = info->label;
      t.op = info->op;
    }
    t.wait_seconds = static_cast<double>(std::max<int64_t>(0, now_ns - view.block_start_ns)) / 1e9;
  }
  return t;
}

}  // namespace leakwatch::core

namespace leakwatch::internal {

void RegisterCoroutine(CoroutineRecord* record, const TaskKind* kind) noexcept {
  core::ThreadCoroutineState& t = core::ThisThread();
  if (t.next_id == t.id_limit) {
    constexpr uint64_t kBlock = 1024;
    t.next_id = core::ReserveTaskIds(kBlock);
    t.id_limit = t.next_id + kBlock;
  }
  record->id = t.next_id++;
  record->kind = kind != nullptr ? kind->id() : core::DefaultKind();
  record->start_ns = core::CoarseMonotonicNanos();
  record->tid.store(t.tid, std::memory_order_relaxed);
  record->shard = t.shard;
  core::CoroutineShard& shard = core::g_shards[t.shard];
  std::lock_guard<std::mutex> lock(shard.mu);
  record->next = shard.head;
  if (shard.head != nullptr) shard.head->prev = record;
  shard.head = record;
  ++shard.started[record->kind];
}

void UnregisterCoroutine(CoroutineRecord* record) noexcept {
  core::CoroutineShard& shard = core::g_shards[record->shard];
  std::lock_guard<std::mutex> lock(shard.mu);
  if (record->prev != nullptr) {
    record->prev->next = record->next;
  } else {
    shard.head = record->next;
  }
  if (record->next != nullptr) record->next->prev = record->prev;
  ++shard.finished[record->kind];
}

namespace {

void BeginWait(CoroutineRecord* record, uint32_t site) noexcept {
  int64_t now = core::MonotonicNanos();
  // A non-positive state holds the negated start of the previous wait.
  const int64_t previous = -record->block_start_ns.load(std::memory_order_relaxed);
  if (now <= previous) now = previous + 1;
  record->block_site.store(site, std::memory_order_release);
  record->tid.store(core::ThisThread().tid, std::memory_order_relaxed);
  record->block_start_ns.store(now, std::memory_order_release);
}

}  // namespace

void BeginAwait(CoroutineRecord* record, const std::source_location& where) noexcept {
  BeginWait(record, core::SiteOfLocation(where.file_name(), where.line(), Op::kAwait));
}

void BeginWaitAt(CoroutineRecord* record, std::string_view label, Op op) noexcept {
  BeginWait(record, core::SiteOfLabel(label, op));
}

void CancelAwait(CoroutineRecord* record) noexcept {
  const int64_t start = record->block_start_ns.load(std::memory_order_relaxed);
  if (start > 0) record->block_start_ns.store(-start, std::memory_order_release);
}

void EndAwait(CoroutineRecord* record) noexcept {
  const int64_t start = record->block_start_ns.load(std::memory_order_relaxed);
  if (start <= 0) return;
  const int64_t elapsed = core::MonotonicNanos() - start;
  record->block_start_ns.store(-start, std::memory_order_release);
  record->tid.store(core::ThisThread().tid, std::memory_order_relaxed);
  // The resuming thread's histogram of the site, like any finished wait.
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr) return;  // thread exiting
  if (core::SiteHistogram* h =
          rec->HistogramFor(record->block_site.load(std::memory_order_relaxed))) {
    h->Record(*core::CurrentLayout(), elapsed > 0 ? elapsed : 0);
  }
}

}  // namespace leakwatch::internal
