#include "core/thread_record.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>

#include "core/adopted_threads.h"
#include "core/clock.h"

namespace leakwatch::core {

namespace internal {
constinit thread_local ThreadRecord* tls_record __attribute__((tls_model("initial-exec"))) =
    nullptr;
}  // namespace internal

namespace {

using internal::tls_record;
__attribute__((tls_model("initial-exec"))) thread_local bool tls_retired = false;

std::atomic<uint64_t> g_next_task_id{1};

void RetireRecord(void* arg);

pthread_key_t& ExitKey() {
  static pthread_key_t key = [] {
    pthread_key_t k;
    pthread_key_create(&k, &RetireRecord);
    return k;
  }();
  return key;
}

void RetireRecord(void* arg) {
  auto* rec = static_cast<ThreadRecord*>(arg);
  Registry& r = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    RetiredTotals& t = r.retired;
    // A thread that exits inside TaskScopes (pthread_exit) finishes them too.
    const int depth = std::min(rec->depth.load(std::memory_order_relaxed), kMaxTaskDepth);
    for (int i = 0; i < depth; ++i) {
      t.finished[rec->frames[i].kind.load(std::memory_order_relaxed)] += 1;
    }
    t.finished[kThreadKind] += 1;
    for (uint64_t used = rec->kinds_used.load(std::memory_order_relaxed); used != 0;
         used &= used - 1) {
      const int k = __builtin_ctzll(used);
      t.started[k] += rec->counts[k].started.load(std::memory_order_relaxed);
      t.finished[k] += rec->counts[k].finished.load(std::memory_order_relaxed);
    }
    const uint32_t generation = CurrentLayout()->generation;
    if (t.generation != generation) {
      t.histograms.clear();
      t.generation = generation;
    }
    for (SiteHistogram* h = rec->histograms.load(std::memory_order_relaxed); h != nullptr;
         h = h->next) {
      if (h->generation.load(std::memory_order_relaxed) == generation)
        t.histograms[h->site].Add(*h);
    }
    ThreadRecord* last = r.records.back();
    r.records[rec->registry_index] = last;
    last->registry_index = rec->registry_index;
    r.records.pop_back();
    --r.live;
  }
  for (SiteHistogram* h = rec->histograms.load(std::memory_order_relaxed); h != nullptr;) {
    SiteHistogram* next = h->next;
    delete h;
    h = next;
  }
  delete rec;
  tls_record = nullptr;
  tls_retired = true;
}

ThreadRecord* RegisterCurrentThread() noexcept {
  if (tls_retired) return nullptr;
  auto* rec = new (std::nothrow) ThreadRecord;
  if (rec == nullptr) return nullptr;
  rec->tid = static_cast<int32_t>(syscall(SYS_gettid));
  rec->task_id = rec->NewTaskId();
  rec->start_ns = CoarseMonotonicNanos();
  rec->UseKind(kThreadKind);
  rec->counts[kThreadKind].started.store(1, std::memory_order_relaxed);
  Registry& r = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    try {
      r.records.push_back(rec);
    } catch (...) {  // out of memory: the thread stays unrecorded
      delete rec;
      return nullptr;
    }
    rec->registry_index = r.records.size() - 1;
    ClaimAdoptedThreadLocked(*rec);  // it may have run before the hooks were loaded
    ++r.live;
  }
  tls_record = rec;
  pthread_setspecific(ExitKey(), rec);
  return rec;
}

}  // namespace

Registry& GetRegistry() noexcept {
  static Registry* registry = new Registry;  // never destroyed: threads exit after main
  return *registry;
}

void ForgetOtherThreadsAfterFork(ThreadRecord* self) noexcept {
  Registry& r = GetRegistry();
  r.records.clear();  // keeps the capacity: cannot fail
  if (self != nullptr) {
    self->registry_index = 0;
    r.records.push_back(self);
  }
  r.live = static_cast<int64_t>(r.records.size());
}

uint64_t ReserveTaskIds(uint64_t count) noexcept {
  return g_next_task_id.fetch_add(count, std::memory_order_relaxed);
}

uint64_t ThreadRecord::NewTaskId() noexcept {
  constexpr uint64_t kBlock = 1024;
  if (next_task_id == task_id_limit) {
    next_task_id = ReserveTaskIds(kBlock);
    task_id_limit = next_task_id + kBlock;
  }
  return next_task_id++;
}

ThreadRecord* CurrentRecordSlow() noexcept {
  ThreadRecord* rec = tls_record;
  return rec != nullptr ? rec : RegisterCurrentThread();
}

SiteHistogram* ThreadRecord::HistogramForSlow(uint32_t site) noexcept {
  SiteHistogram*& cached = recent[site & 7];
  SiteHistogram* h = nullptr;
  try {
    auto [it, inserted] = by_site.try_emplace(site, nullptr);
    if (inserted) {
      it->second = new SiteHistogram;
      it->second->site = site;
      it->second->generation.store(CurrentLayout()->generation, std::memory_order_relaxed);
      it->second->next = histograms.load(std::memory_order_relaxed);
      histograms.store(it->second, std::memory_order_release);
    }
    h = it->second;
  } catch (...) {
    return nullptr;  // out of memory: drop this wait's duration
  }
  cached = h;
  return h;
}

}  // namespace leakwatch::core
