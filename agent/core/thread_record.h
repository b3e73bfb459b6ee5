// Per-thread task records and the registry that lists them.
//
// agent/core, the bottom layer, owns the task model: the per-thread and
// per-coroutine records, the site table and caches, histograms, deadlock search,
// thread names and limits, the host's signals, and ReadSnapshot, which turns the
// records into a Snapshot. It may include the standard library, abseil, the
// public leakwatch/ headers and core/ alone; every other layer builds on it.
//
// Every thread that touches leakwatch owns one ThreadRecord, created on first
// use and retired when the thread exits (a pthread key destructor). The owning
// thread is the only writer of its record's fields; the sampler reads them with
// atomic loads while holding the registry lock, which keeps records alive.
//
// Block state is a tiny seqlock whose sequence is the wait's start time: the
// writer stores site and resource, then the start time (release); the reader
// loads the start time (acquire), the fields, and the start time again. Start
// times are strictly increasing per thread, so an unchanged non-zero start time
// means the fields belong to that wait.

#ifndef LEAKWATCH_CORE_THREAD_RECORD_H_
#define LEAKWATCH_CORE_THREAD_RECORD_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/histogram.h"
#include "core/kinds.h"

namespace leakwatch::core {

inline constexpr int kMaxTaskDepth = 8;  // nested TaskScopes recorded per thread
inline constexpr int kMaxStackFrames = 64;

struct TaskFrame {
  std::atomic<uint16_t> kind{0};
  std::atomic<int64_t> start_ns{0};
  std::atomic<uint64_t> task_id{0};
};

struct alignas(64) ThreadRecord {
  // The first cache line holds everything the sampler reads from every record
  // (the collector is bound by cache misses, one per line touched).
  int32_t tid = 0;  // identity; immutable after registration
  // Task scopes: frames[0, min(depth, kMaxTaskDepth)) are live.
  std::atomic<int32_t> depth{0};
  int64_t start_ns = 0;  // immutable after registration
  // Block state (see the file comment).
  std::atomic<int64_t> block_start_ns{0};                 // 0 = not blocked
  std::atomic<const int32_t*> block_owner_word{nullptr};  // see internal::BeginBlock
  std::atomic<uint32_t> block_site{0};
  // Bit k is set before counts[k] is first written (see below).
  std::atomic<uint64_t> kinds_used{0};
  // Histograms of finished waits, one per site this thread waited at.
  std::atomic<SiteHistogram*> histograms{nullptr};  // list head, owner pushes

  uint64_t task_id = 0;  // the thread's own task; immutable after registration
  std::atomic<const void*> block_resource{nullptr};
  int64_t last_block_start_ns = 0;  // owner only: keeps start times increasing
  TaskFrame frames[kMaxTaskDepth];

  // Lifecycle counters per kind (owner writes, sampler sums). Bit k of
  // kinds_used is set before counts[k] is first written, so the sampler sums
  // only the kinds this thread ever used.
  // Started and finished of a kind share a cache line.
  struct KindCounts {
    std::atomic<uint64_t> started{0};
    std::atomic<uint64_t> finished{0};
  };
  KindCounts counts[kMaxKinds];

  // Per-site histogram lookup (the list head is in the first line).
  SiteHistogram* recent[8] = {};                          // owner only: direct-mapped cache
  absl::flat_hash_map<uint32_t, SiteHistogram*> by_site;  // owner only

  // Task ids handed out by this thread: [next_task_id, task_id_limit).
  uint64_t next_task_id = 0;   // owner only
  uint64_t task_id_limit = 0;  // owner only

  size_t registry_index = 0;  // in Registry::records, guarded by Registry::mu

  // The name last given through pthread_setname_np or prctl(PR_SET_NAME), by
  // the thread or by another one: a seqlock (core/thread_name.h). All zero
  // until then; the dump reads /proc instead.
  std::atomic<uint32_t> name_seq{0};  // odd while a writer copies
  std::atomic<uint64_t> name_words[2] = {};

  // Optional stack of the current wait, captured by the interposition layer.
  // Last: the sampler reads it only for dumps.
  std::atomic<int32_t> stack_depth{0};
  std::atomic<uintptr_t> stack[kMaxStackFrames] = {};

  // The histogram of `site` for this thread, created on first use (nullptr if
  // memory ran out). Owner only. The common case, a recently used site, is
  // inline: one load and a compare.
  SiteHistogram* HistogramFor(uint32_t site) noexcept {
    SiteHistogram* cached = recent[site & 7];
    if (__builtin_expect(cached != nullptr && cached->site == site, 1)) return cached;
    return HistogramForSlow(site);
  }
  SiteHistogram* HistogramForSlow(uint32_t site) noexcept;
  // Marks `kind` used (owner only); cheap when already marked.
  void UseKind(uint16_t kind) noexcept {
    const uint64_t bit = uint64_t{1} << kind;
    const uint64_t used = kinds_used.load(std::memory_order_relaxed);
    if ((used & bit) == 0) kinds_used.store(used | bit, std::memory_order_release);
  }
  // A fresh task id, from a per-thread block (no shared counter per task).
  uint64_t NewTaskId() noexcept;
};

namespace internal {
// The calling thread's record once registered (thread_record.cc). Initial-exec
// and constant-initialized: reading it is one %fs-relative load, no call.
extern constinit thread_local ThreadRecord* tls_record __attribute__((tls_model("initial-exec")));
}  // namespace internal

// Registers the calling thread (see CurrentRecord).
ThreadRecord* CurrentRecordSlow() noexcept;

// The calling thread's record, created on first use; nullptr while the thread is
// exiting (after its record was retired) or if memory ran out. Inline: on the
// recording fast path this is one thread-local load.
inline ThreadRecord* CurrentRecord() noexcept {
  ThreadRecord* rec = internal::tls_record;
  if (__builtin_expect(rec != nullptr, 1)) return rec;
  return CurrentRecordSlow();
}

// Visits every live record and the retired totals under the registry lock. `fn`
// must not call into leakwatch's recording API.
struct RetiredTotals {
  uint64_t started[kMaxKinds] = {};
  uint64_t finished[kMaxKinds] = {};
  absl::flat_hash_map<uint32_t, HistogramTotals> histograms;
  uint32_t generation = 0;
};
template <class Fn>
void ForEachRecord(Fn&& fn);

// Registry internals (used by ForEachRecord).
static_assert(offsetof(ThreadRecord, histograms) + sizeof(void*) <= 64,
              "the sampler's per-record fields must share the first cache line");

// Live records are kept in an array, not a linked list: the sampler walks
// them with the next ones' lines prefetched instead of chasing pointers.
struct Registry {
  std::mutex mu;
  std::vector<ThreadRecord*> records;  // guarded by mu
  RetiredTotals retired;               // guarded by mu
  int64_t live = 0;                    // guarded by mu; records.size()
};
Registry& GetRegistry() noexcept;

template <class Fn>
void ForEachRecord(Fn&& fn) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (ThreadRecord* rec : r.records) fn(*rec);
}

// In a fork child, with the registry lock held: forgets every record but
// `self`'s (only the forking thread exists in the child). The forgotten
// records are not freed (their owners' destructors never run there); fork
// children usually exec soon.
void ForgetOtherThreadsAfterFork(ThreadRecord* self) noexcept;

// Task ids: unique, never 0. Reserves `count` consecutive ids; returns the first.
uint64_t ReserveTaskIds(uint64_t count) noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_THREAD_RECORD_H_
