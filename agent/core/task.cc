// The recording hot path: TaskScope, BlockScope and the internal block API.

#include "leakwatch/task.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/kinds.h"
#include "core/sites.h"
#include "core/thread_record.h"
#include "leakwatch/internal/core.h"

namespace leakwatch {

const char* OpName(Op op) noexcept {
  static constexpr const char* kNames[kNumOps] = {
      "mutex",     "rwlock", "condvar",   "join",  "future", "semaphore", "futex", "chan_send",
      "chan_recv", "select", "waitgroup", "sleep", "io",     "rpc",       "await", "other"};
  const auto i = static_cast<unsigned>(op);
  return i < kNumOps ? kNames[i] : "other";
}

TaskKind::TaskKind(std::string_view name) noexcept : id_(core::InternKind(name)) {}

TaskScope::TaskScope(const TaskKind& kind) noexcept { Enter(kind.id()); }

TaskScope::TaskScope(std::string_view kind) noexcept { Enter(core::InternKind(kind)); }

void TaskScope::Enter(uint16_t kind) noexcept {
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr) return;
  const int32_t depth = rec->depth.load(std::memory_order_relaxed);
  if (depth < core::kMaxTaskDepth) {
    core::TaskFrame& f = rec->frames[depth];
    f.kind.store(kind, std::memory_order_relaxed);
    f.start_ns.store(core::CoarseMonotonicNanos(), std::memory_order_relaxed);
    f.task_id.store(rec->NewTaskId(), std::memory_order_relaxed);
  }
  rec->UseKind(kind);
  auto& started = rec->counts[kind].started;
  started.store(started.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  rec->depth.store(depth + 1, std::memory_order_release);
  kind_ = kind;
}

TaskScope::~TaskScope() {
  if (kind_ < 0) return;
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr) return;
  auto& finished = rec->counts[kind_].finished;
  finished.store(finished.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  rec->depth.store(rec->depth.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

BlockScope::BlockScope(Op op, std::source_location where) noexcept {
  site_ = core::SiteOfLocation(where.file_name(), where.line(), op);
  start_ns_ = internal::BeginBlock(site_);
}

BlockScope::~BlockScope() { internal::EndBlock(site_, start_ns_); }

namespace internal {

int32_t CurrentTid() noexcept {
  core::ThreadRecord* rec = core::CurrentRecord();
  return rec != nullptr ? rec->tid : static_cast<int32_t>(syscall(SYS_gettid));
}

int64_t MonotonicNanos() noexcept { return core::MonotonicNanos(); }

uint32_t SiteOf(const std::source_location& where, Op op) noexcept {
  return core::SiteOfLocation(where.file_name(), where.line(), op);
}

uint32_t SiteOfLabel(std::string_view label, Op op) noexcept {
  return core::SiteOfLabel(label, op);
}

int64_t BeginBlock(uint32_t site, const void* resource, const int32_t* owner_tid_word) noexcept {
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr || rec->block_start_ns.load(std::memory_order_relaxed) != 0) return 0;
  int64_t now = core::MonotonicNanos();
  if (now <= rec->last_block_start_ns) now = rec->last_block_start_ns + 1;
  rec->last_block_start_ns = now;
  rec->block_site.store(site, std::memory_order_relaxed);
  rec->block_resource.store(resource, std::memory_order_relaxed);
  rec->block_owner_word.store(owner_tid_word, std::memory_order_relaxed);
  rec->block_start_ns.store(now, std::memory_order_release);
  return now;
}

void EndBlock(uint32_t site, int64_t start_ns) noexcept {
  if (start_ns == 0) return;
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr) return;
  const int64_t elapsed = core::MonotonicNanos() - start_ns;
  rec->block_start_ns.store(0, std::memory_order_release);
  rec->stack_depth.store(0, std::memory_order_relaxed);
  if (core::SiteHistogram* h = rec->HistogramFor(site)) {
    h->Record(*core::CurrentLayout(), elapsed > 0 ? elapsed : 0);
  }
}

bool CurrentThreadBlocked() noexcept {
  core::ThreadRecord* rec = core::CurrentRecord();
  return rec != nullptr && rec->block_start_ns.load(std::memory_order_relaxed) != 0;
}

}  // namespace internal
}  // namespace leakwatch
