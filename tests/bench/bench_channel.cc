// Benchmarks of leakwatch's primitives against their uninstrumented twins
// (issue 6):
//   BM_ChannelPingPong<...>   a value sent to an echo thread over one unbuffered
//                             channel and back over another: every operation is a
//                             rendezvous, so most of them really block and record
//                             a wait. leakwatch::Channel against the same
//                             algorithm built with NoInstrumentation.
//   BM_ChannelStream<...>     one thread sends through a buffered channel (64
//                             slots) that another drains: mostly non-blocking.
//   BM_MutexUncontended<...>  lock + unlock on one thread: std::mutex against
//                             leakwatch::Mutex (the interposed variant is in
//                             bench_intercept.cc).
//   BM_MutexContended<...>    two threads locking one mutex around a short
//                             critical section; leakwatch::Mutex both called
//                             directly (site = the line) and through
//                             std::lock_guard (site found by a stack walk).
// The counter `waits_per_op` is the number of waits leakwatch recorded at this
// file's sites per operation (per lock, per round trip or per value sent).

#include <cstdint>
#include <mutex>
#include <string_view>
#include <thread>

#include "benchmark/benchmark.h"
#include "core/read_snapshot.h"
#include "leakwatch/sync.h"
#include "macro/primitives.h"

namespace {

using leakwatch_bench::Instrumented;
using leakwatch_bench::Uninstrumented;

// Finished waits recorded so far at sites labelled with this file or, for
// waits sited by a stack walk, at "function+0x..." sites of this file's
// functions.
uint64_t RecordedWaitsHere() {
  const leakwatch::Snapshot snap = leakwatch::core::ReadSnapshot({});
  uint64_t total = 0;
  for (const leakwatch::Snapshot::Site& site : snap.sites) {
    const std::string_view label = site.site;
    if (label.find("bench_channel.cc") != std::string_view::npos ||
        label.find("BM_Mutex") != std::string_view::npos ||
        label.find("ViaLockGuard") != std::string_view::npos) {
      total += site.durations.count;
    }
  }
  return total;
}

void ReportWaitsPerOp(benchmark::State& state, uint64_t waits_before) {
  if (state.thread_index() != 0) return;
  const double ops = static_cast<double>(state.iterations()) * state.threads();
  state.counters["waits_per_op"] =
      ops > 0 ? static_cast<double>(RecordedWaitsHere() - waits_before) / ops : 0.0;
}

template <class Prims>
void BM_ChannelPingPong(benchmark::State& state) {
  using Channel = typename Prims::template Channel<int64_t>;
  Channel ping;
  Channel pong;
  std::thread echo([ping, pong]() mutable {
    while (std::optional<int64_t> v = ping.Recv()) pong.Send(*v + 1);
  });
  const uint64_t waits_before = RecordedWaitsHere();
  int64_t i = 0;
  for (auto _ : state) {
    ping.Send(i);
    std::optional<int64_t> reply = pong.Recv();
    benchmark::DoNotOptimize(reply);
    ++i;
  }
  ping.Close();
  echo.join();
  ReportWaitsPerOp(state, waits_before);
}
BENCHMARK_TEMPLATE(BM_ChannelPingPong, Uninstrumented)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ChannelPingPong, Instrumented)->UseRealTime();

template <class Prims>
void BM_ChannelStream(benchmark::State& state) {
  using Channel = typename Prims::template Channel<int64_t>;
  Channel values(64);
  std::thread drain([values]() mutable {
    int64_t sum = 0;
    while (std::optional<int64_t> v = values.Recv()) sum += *v;
    benchmark::DoNotOptimize(sum);
  });
  const uint64_t waits_before = RecordedWaitsHere();
  int64_t i = 0;
  for (auto _ : state) values.Send(i++);
  values.Close();
  drain.join();
  state.SetItemsProcessed(state.iterations());
  ReportWaitsPerOp(state, waits_before);
}
BENCHMARK_TEMPLATE(BM_ChannelStream, Uninstrumented)->UseRealTime();
BENCHMARK_TEMPLATE(BM_ChannelStream, Instrumented)->UseRealTime();

template <class Mutex>
void BM_MutexUncontended(benchmark::State& state) {
  Mutex mu;
  for (auto _ : state) {
    mu.lock();
    benchmark::ClobberMemory();
    mu.unlock();
  }
}
BENCHMARK_TEMPLATE(BM_MutexUncontended, std::mutex);
BENCHMARK_TEMPLATE(BM_MutexUncontended, leakwatch::Mutex);

// How a benchmark thread takes the lock.
struct DirectLock {
  template <class Mutex, class Fn>
  static void Run(Mutex& mu, Fn&& critical_section) {
    mu.lock();
    critical_section();
    mu.unlock();
  }
};
struct ViaLockGuard {
  template <class Mutex, class Fn>
  static void Run(Mutex& mu, Fn&& critical_section) {
    std::lock_guard<Mutex> lock(mu);
    critical_section();
  }
};

// Both threads lock one mutex; the critical section and the work between two
// locks are a few dozen nanoseconds each, so a good share of the lock calls
// find the mutex held.
template <class Mutex, class Locking>
void BM_MutexContended(benchmark::State& state) {
  static Mutex* mu = new Mutex;
  static uint64_t shared[8];  // guarded by *mu
  uint64_t waits_before = 0;
  if (state.thread_index() == 0) waits_before = RecordedWaitsHere();
  uint64_t local = state.thread_index() + 1;
  for (auto _ : state) {
    Locking::Run(*mu, [&] {
      for (uint64_t& s : shared) s += local;
    });
    for (int k = 0; k < 16; ++k) {
      local = local * 6364136223846793005ull + 1442695040888963407ull;
      benchmark::DoNotOptimize(local);
    }
  }
  ReportWaitsPerOp(state, waits_before);
}
BENCHMARK_TEMPLATE(BM_MutexContended, std::mutex, DirectLock)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(BM_MutexContended, leakwatch::Mutex, DirectLock)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(BM_MutexContended, leakwatch::Mutex, ViaLockGuard)->Threads(2)->UseRealTime();

}  // namespace
