// Memory cost of leakwatch per thread (issue 6; budget <= 16 KiB per thread).
//
// BM_MemoryPerThread starts 10,000 threads twice, on 64 KiB stacks, and measures
// while all of them are alive:
//   1. baseline: the threads park without touching leakwatch;
//   2. leakwatch: each thread opens a TaskScope, finishes one wait at each of
//      four BlockScope sites, and parks inside a fifth BlockScope.
// Heap bytes in use come from the allocator (glibc mallinfo2().uordblks, all
// arenas); resident bytes from /proc/self/statm. The counters are
//   heap_per_thread_leakwatch   (heap(2) - heap(1)) / threads: leakwatch's own
//                               allocations per thread (its ThreadRecord, site
//                               histograms and their index)
//   heap_per_thread_baseline    heap(1) / threads: glibc's per-thread heap use
//   rss_per_thread_leakwatch    the same difference in resident memory (also
//                               counts stack pages leakwatch's calls touched)
// Per coroutine task (budget <= 128 B): BM_MemoryPerCoroutineTask in
// bench_coro.cc. A TaskScope allocates nothing (its frame lives in the thread's
// record, kMaxTaskDepth deep).
//
// The measurement runs once (one iteration); its time is meaningless.

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "benchmark/benchmark.h"
#include "leakwatch/task.h"

namespace {

constexpr int kThreads = 10000;

struct Usage {
  int64_t heap_bytes = 0;
  int64_t resident_bytes = 0;
};

Usage MeasureUsage() {
  Usage u;
  u.heap_bytes = static_cast<int64_t>(mallinfo2().uordblks);
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    long size = 0;
    long resident = 0;
    if (std::fscanf(f, "%ld %ld", &size, &resident) == 2) {
      u.resident_bytes = int64_t{resident} * sysconf(_SC_PAGESIZE);
    }
    std::fclose(f);
  }
  return u;
}

struct Gate {
  std::atomic<int> parked{0};
  std::atomic<int> release{0};

  void Park() {
    parked.fetch_add(1);
    parked.notify_all();
    while (release.load() == 0) release.wait(0);
  }
};

void* ParkUntouched(void* arg) {
  static_cast<Gate*>(arg)->Park();
  return nullptr;
}

void* ParkInstrumented(void* arg) {
  static const leakwatch::TaskKind kKind("bench_memory");
  leakwatch::TaskScope task(kKind);
  { leakwatch::BlockScope wait(leakwatch::Op::kIo); }
  { leakwatch::BlockScope wait(leakwatch::Op::kMutex); }
  { leakwatch::BlockScope wait(leakwatch::Op::kChanRecv); }
  { leakwatch::BlockScope wait(leakwatch::Op::kCondvar); }
  leakwatch::BlockScope parked(leakwatch::Op::kChanSend);
  static_cast<Gate*>(arg)->Park();
  return nullptr;
}

// Starts kThreads threads running `body`, measures once all are parked, then
// releases and joins them. Returns the usage increase, or false if not every
// thread could be started.
bool MeasureThreads(void* (*body)(void*), Usage* delta) {
  Gate gate;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  std::vector<pthread_t> ids;
  ids.reserve(kThreads);
  const Usage before = MeasureUsage();
  for (int i = 0; i < kThreads; ++i) {
    pthread_t id;
    if (pthread_create(&id, &attr, body, &gate) != 0) break;
    ids.push_back(id);
  }
  pthread_attr_destroy(&attr);
  const int started = static_cast<int>(ids.size());
  for (int n = gate.parked.load(); n < started; n = gate.parked.load()) gate.parked.wait(n);
  const Usage after = MeasureUsage();
  gate.release.store(1);
  gate.release.notify_all();
  for (pthread_t id : ids) pthread_join(id, nullptr);
  delta->heap_bytes = after.heap_bytes - before.heap_bytes;
  delta->resident_bytes = after.resident_bytes - before.resident_bytes;
  return started == kThreads;
}

void BM_MemoryPerThread(benchmark::State& state) {
  Usage baseline;
  Usage instrumented;
  for (auto _ : state) {
    if (!MeasureThreads(&ParkUntouched, &baseline) ||
        !MeasureThreads(&ParkInstrumented, &instrumented)) {
      state.SkipWithError("could not start 10,000 threads (ulimit -u, pids.max?)");
      return;
    }
  }
  state.counters["heap_per_thread_leakwatch"] =
      static_cast<double>(instrumented.heap_bytes - baseline.heap_bytes) / kThreads;
  state.counters["heap_per_thread_baseline"] = static_cast<double>(baseline.heap_bytes) / kThreads;
  state.counters["rss_per_thread_leakwatch"] =
      static_cast<double>(instrumented.resident_bytes - baseline.resident_bytes) / kThreads;
  state.counters["rss_per_thread_baseline"] =
      static_cast<double>(baseline.resident_bytes) / kThreads;
}
BENCHMARK(BM_MemoryPerThread)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
