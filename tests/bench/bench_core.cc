// Benchmarks of the core recording path (issue 6):
//   BM_RecordWait               one finished wait into its per-site histogram
//                               (ThreadRecord::HistogramFor + SiteHistogram::Record,
//                               the tail of internal::EndBlock without its clock read)
//   BM_PromCppHistogramObserve  the same durations into a prometheus-cpp Histogram
//                               whose handle is resolved once
//   BM_EndBlock                 internal::EndBlock in full (clock read, block state
//                               cleared, histogram recorded)
//   BM_TaskScope                entering and leaving a TaskScope
//   BM_BlockScope/...           a BlockScope with no real wait (records a ~0 ns
//                               wait), nested in another one (records nothing), and
//                               around a real wait (a condition-variable round trip
//                               with a partner thread) against the same round trip
//                               without the scope.
// Budgets: BM_RecordWait <= 0.3x BM_PromCppHistogramObserve at 1 thread and <= 0.1x
// at 2 threads; BM_TaskScope <= 25 ns.

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <source_location>
#include <thread>

#include "benchmark/benchmark.h"
#include "core/histogram.h"
#include "core/thread_record.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/task.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace {

using leakwatch::BlockScope;
using leakwatch::Op;
using leakwatch::TaskKind;
using leakwatch::TaskScope;

// Wait durations, log-uniform between 10 µs and 100 s, cycled so that the bucket
// search does not always take the same path.
constexpr int kNumDurations = 64;  // a power of two
struct Durations {
  int64_t ns[kNumDurations];
  double seconds[kNumDurations];
};

const Durations& WaitDurations() {
  static const Durations durations = [] {
    Durations d{};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < kNumDurations; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const double exponent = -5.0 + 7.0 * static_cast<double>(x >> 11) * 0x1.0p-53;
      d.seconds[i] = std::pow(10.0, exponent);
      d.ns[i] = std::llround(d.seconds[i] * 1e9);
    }
    return d;
  }();
  return durations;
}

uint32_t BenchSite() {
  static const uint32_t site =
      leakwatch::internal::SiteOf(std::source_location::current(), Op::kOther);
  return site;
}

void BM_RecordWait(benchmark::State& state) {
  const uint32_t site = BenchSite();
  const Durations& d = WaitDurations();
  int i = 0;
  for (auto _ : state) {
    leakwatch::core::ThreadRecord* rec = leakwatch::core::CurrentRecord();
    if (leakwatch::core::SiteHistogram* h = rec->HistogramFor(site)) {
      h->Record(*leakwatch::core::CurrentLayout(), d.ns[i]);
    }
    i = (i + 1) & (kNumDurations - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordWait)->Threads(1)->Threads(2)->UseRealTime();

// One histogram shared by all benchmark threads, with leakwatch's default bucket
// bounds: what an application would do with prometheus-cpp directly.
prometheus::Histogram& SharedPromHistogram() {
  static prometheus::Registry* registry = new prometheus::Registry;
  static prometheus::Histogram* histogram =
      &prometheus::BuildHistogram()
           .Name("leakwatch_bench_wait_seconds")
           .Help("Benchmark: wait durations.")
           .Register(*registry)
           .Add({}, prometheus::Histogram::BucketBoundaries(
                        leakwatch::core::CurrentLayout()->bounds_seconds));
  return *histogram;
}

void BM_PromCppHistogramObserve(benchmark::State& state) {
  prometheus::Histogram& histogram = SharedPromHistogram();
  const Durations& d = WaitDurations();
  int i = 0;
  for (auto _ : state) {
    histogram.Observe(d.seconds[i]);
    i = (i + 1) & (kNumDurations - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PromCppHistogramObserve)->Threads(1)->Threads(2)->UseRealTime();

void BM_EndBlock(benchmark::State& state) {
  const uint32_t site = BenchSite();
  const int64_t start_ns = leakwatch::internal::MonotonicNanos();
  for (auto _ : state) leakwatch::internal::EndBlock(site, start_ns);
}
BENCHMARK(BM_EndBlock)->Threads(1)->Threads(2)->UseRealTime();

void BM_TaskScope(benchmark::State& state) {
  static const TaskKind kKind("bench_task");
  for (auto _ : state) {
    TaskScope task(kKind);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_TaskScope)->Threads(1)->Threads(2)->UseRealTime();

enum class BlockCase { kNotBlocked, kNested, kBlocked, kBlockedUninstrumented };

// A partner thread that answers each request: the caller sets turn_ to 1 and
// waits (really blocks) until the partner has set it back to 0.
class RoundTripPartner {
 public:
  RoundTripPartner()
      : thread_([this] {
          std::unique_lock<std::mutex> lock(mu_);
          while (true) {
            cv_.wait(lock, [this] { return turn_ == 1 || stop_; });
            if (stop_) return;
            turn_ = 0;
            cv_.notify_all();
          }
        }) {}
  ~RoundTripPartner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  template <bool kRecorded>
  void RoundTrip() {
    std::unique_lock<std::mutex> lock(mu_);
    turn_ = 1;
    cv_.notify_all();
    if constexpr (kRecorded) {
      BlockScope blocked(Op::kCondvar);
      cv_.wait(lock, [this] { return turn_ == 0; });
    } else {
      cv_.wait(lock, [this] { return turn_ == 0; });
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int turn_ = 0;  // guarded by mu_
  bool stop_ = false;
  std::thread thread_;
};

void BM_BlockScope(benchmark::State& state, BlockCase which) {
  switch (which) {
    case BlockCase::kNotBlocked:
      for (auto _ : state) {
        BlockScope blocked(Op::kOther);
        benchmark::ClobberMemory();
      }
      break;
    case BlockCase::kNested: {
      BlockScope outer(Op::kOther);
      for (auto _ : state) {
        BlockScope inner(Op::kOther);
        benchmark::ClobberMemory();
      }
      break;
    }
    case BlockCase::kBlocked: {
      RoundTripPartner partner;
      for (auto _ : state) partner.RoundTrip<true>();
      break;
    }
    case BlockCase::kBlockedUninstrumented: {
      RoundTripPartner partner;
      for (auto _ : state) partner.RoundTrip<false>();
      break;
    }
  }
}
BENCHMARK_CAPTURE(BM_BlockScope, not_blocked, BlockCase::kNotBlocked);
BENCHMARK_CAPTURE(BM_BlockScope, nested, BlockCase::kNested);
BENCHMARK_CAPTURE(BM_BlockScope, blocked, BlockCase::kBlocked)->UseRealTime();
BENCHMARK_CAPTURE(BM_BlockScope, blocked_uninstrumented, BlockCase::kBlockedUninstrumented)
    ->UseRealTime();

}  // namespace
