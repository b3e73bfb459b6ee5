// The registry of coroutine tasks (leakwatch/coro.h).
//
// Coroutine tasks are not bound to a thread: a coroutine is created on one
// thread, suspended, resumed on others and destroyed anywhere, so its record
// cannot live in a ThreadRecord. It lives in the coroutine's promise instead
// (internal::CoroutineRecord: no allocation of its own), linked into one of
// kCoroutineShards intrusive lists. The creating thread picks the shard (each
// thread is given one, round-robin, on first use) and the record remembers it,
// so registration and unregistration take one per-shard lock that is
// uncontended unless the sampler is reading that shard or another thread
// destroys a coroutine of the same shard at the same moment. Lifecycle counters
// per kind live in the shard, under the same lock.
//
// The sampler visits one shard at a time under its lock, which keeps the
// records it reads alive (a record is unlinked under the lock before its frame
// is freed). Identity fields are immutable once linked; the block state is read
// with the seqlock protocol described in leakwatch/coro.h.

#ifndef LEAKWATCH_CORE_CORO_REGISTRY_H_
#define LEAKWATCH_CORE_CORO_REGISTRY_H_

#include <cstdint>
#include <mutex>

#include "core/kinds.h"
#include "leakwatch/coro.h"
#include "leakwatch/snapshot.h"

namespace leakwatch::core {

inline constexpr int kCoroutineShards = 32;

struct alignas(64) CoroutineShard {
  std::mutex mu;
  ::leakwatch::internal::CoroutineRecord* head = nullptr;  // guarded by mu
  uint64_t started[kMaxKinds] = {};                        // guarded by mu
  uint64_t finished[kMaxKinds] = {};                       // guarded by mu
};

CoroutineShard* CoroutineShards() noexcept;  // kCoroutineShards of them

// fork(): LockCoroutinesForFork() takes every shard lock (in shard order) and
// UnlockCoroutinesAfterFork() releases them, in the parent and in the child (see
// core/fork_locks.h). No shard lock is held together with another core lock.
// The child keeps the parent's coroutine records: their frames were copied too.
void LockCoroutinesForFork() noexcept;
void UnlockCoroutinesAfterFork() noexcept;

// One live coroutine task as the sampler sees it.
struct CoroutineTaskView {
  uint64_t id = 0;
  int32_t tid = 0;  // the thread that last ran it (0 if unknown)
  uint16_t kind = 0;
  int64_t start_ns = 0;        // coarse monotonic clock
  int64_t block_start_ns = 0;  // 0: not suspended at a tracked co_await
  uint32_t site = 0;           // when block_start_ns != 0
};

// Reads a record's block state consistently into `view` (site, block_start_ns).
// Requires the record's shard lock.
void ReadCoroutineBlockState(const ::leakwatch::internal::CoroutineRecord& record,
                             CoroutineTaskView* view) noexcept;

// The dump entry of a coroutine task (kind, age and wait relative to `now_ns`).
Snapshot::Task CoroutineTask(const CoroutineTaskView& view, int64_t now_ns);

// Calls on_kind(kind, started, finished) for each kind with coroutine
// lifecycle counts, then on_task(const CoroutineTaskView&) for every live
// coroutine task. Takes one shard lock at a time; the callbacks must not call
// into leakwatch's recording API.
template <class KindFn, class TaskFn>
void ForEachCoroutineTask(KindFn&& on_kind, TaskFn&& on_task) {
  uint64_t started[kMaxKinds] = {};
  uint64_t finished[kMaxKinds] = {};
  CoroutineShard* shards = CoroutineShards();
  for (int i = 0; i < kCoroutineShards; ++i) {
    CoroutineShard& shard = shards[i];
    std::lock_guard<std::mutex> lock(shard.mu);
    for (int k = 0; k < kMaxKinds; ++k) {
      started[k] += shard.started[k];
      finished[k] += shard.finished[k];
    }
    for (const ::leakwatch::internal::CoroutineRecord* r = shard.head; r != nullptr; r = r->next) {
      // Frames are scattered over the heap: request the record after next now.
      if (r->next != nullptr) __builtin_prefetch(r->next->next);
      CoroutineTaskView view;
      view.id = r->id;
      view.tid = r->tid.load(std::memory_order_relaxed);
      view.kind = r->kind;
      view.start_ns = r->start_ns;
      ReadCoroutineBlockState(*r, &view);
      on_task(static_cast<const CoroutineTaskView&>(view));
    }
  }
  for (int k = 0; k < kMaxKinds; ++k) {
    if (started[k] != 0 || finished[k] != 0)
      on_kind(static_cast<uint16_t>(k), started[k], finished[k]);
  }
}

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_CORO_REGISTRY_H_
