// Cost of the interposed pthread_mutex_lock. leakwatch_bench does not load the
// hooks, so these numbers are the baseline; the same benchmarks run with the
// hooks in tests/intercept/CMakeLists.txt's intercept_bench (the same source linked
// with leakwatch::intercept).
// Compare BM_UncontendedMutex and BM_ContendedMutexHandoff between the two.
#include <benchmark/benchmark.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace {

void BM_UncontendedMutex(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
}
BENCHMARK(BM_UncontendedMutex);

// Two threads hand a mutex back and forth; most locks wait.
void BM_ContendedMutexHandoff(benchmark::State& state) {
  static std::mutex m;
  for (auto _ : state) {
    std::lock_guard<std::mutex> lock(m);
    benchmark::DoNotOptimize(&m);
  }
}
BENCHMARK(BM_ContendedMutexHandoff)->Threads(2)->UseRealTime();

}  // namespace
