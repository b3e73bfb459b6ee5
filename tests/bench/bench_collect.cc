// Benchmarks of the collector (issue 6): what the sampler does each tick.
//   BM_Collect/S/T             core::ReadSnapshot over T real threads, each running
//                              one TaskScope task that is blocked at one of S sites
//                              (thread i at site i % S) and has finished one earlier
//                              wait there (so it owns one site histogram). Budget:
//                              <= 5 ms for 1,000 sites x 10,000 tasks.
//   BM_CollectWithTasks/S/T    the same, also listing every task (the /debug/tasks
//                              and gRPC path).
//   BM_SnapshotToFamilies/S/T  the 1,000 x 10,000 snapshot turned into Prometheus
//                              metric families.
//   BM_SerializeText/S/T       those families serialized to the text format (what
//                              a scrape returns); counter `bytes` is the body size.
//
// The tasks are real: every one is a thread parked in a blocked state through
// the same internal::BeginBlock a leakwatch primitive uses, on a 64 KiB stack
// so that 10,000 of them fit comfortably. Sites are interned by label
// ("bench_collect/site_N") like interposed sites are. Each thread counts twice
// in the snapshot: as a "thread" task and as its "bench_request" task, so T
// blocked tasks mean 2T live tasks. The thread pool is built before a
// benchmark's timed loop and reused by the following benchmarks with the same
// arguments.

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/read_snapshot.h"
#include "export/metrics.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/task.h"
#include "prometheus/text_serializer.h"

namespace {

// `threads` threads, each blocked at one of `sites` sites until destruction.
class ParkedTasks {
 public:
  ParkedTasks(int sites, int threads) : sites_(sites), threads_(threads) {
    site_ids_.reserve(sites);
    for (int i = 0; i < sites; ++i) {
      site_ids_.push_back(leakwatch::internal::SiteOfLabel(absl::StrCat("bench_collect/site_", i),
                                                           leakwatch::Op::kChanRecv));
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    args_.reserve(threads);
    for (int i = 0; i < threads; ++i) {
      args_.push_back({this, site_ids_[i % sites]});
      pthread_t id;
      if (const int err = pthread_create(&id, &attr, &ParkedTasks::Run, &args_.back()); err != 0) {
        error_ = absl::StrCat("pthread_create failed after ", i, " threads: error ", err);
        break;
      }
      ids_.push_back(id);
    }
    pthread_attr_destroy(&attr);
    const int started = static_cast<int>(ids_.size());
    for (int n = parked_.load(); n < started; n = parked_.load()) parked_.wait(n);
  }

  ~ParkedTasks() {
    release_.store(1);
    release_.notify_all();
    for (pthread_t id : ids_) pthread_join(id, nullptr);
  }

  ParkedTasks(const ParkedTasks&) = delete;
  ParkedTasks& operator=(const ParkedTasks&) = delete;

  bool Matches(int sites, int threads) const { return sites == sites_ && threads == threads_; }
  // Non-empty when not every thread could be started.
  const std::string& error() const { return error_; }

 private:
  struct Arg {
    ParkedTasks* pool;
    uint32_t site;
  };

  static void* Run(void* p) {
    static const leakwatch::TaskKind kRequest("bench_request");
    const Arg& arg = *static_cast<Arg*>(p);
    leakwatch::TaskScope task(kRequest);
    // One finished wait at the site, then blocked there until released.
    leakwatch::internal::EndBlock(arg.site, leakwatch::internal::BeginBlock(arg.site));
    const int64_t start_ns = leakwatch::internal::BeginBlock(arg.site);
    arg.pool->parked_.fetch_add(1);
    arg.pool->parked_.notify_all();
    while (arg.pool->release_.load() == 0) arg.pool->release_.wait(0);
    leakwatch::internal::EndBlock(arg.site, start_ns);
    return nullptr;
  }

  const int sites_;
  const int threads_;
  std::vector<uint32_t> site_ids_;
  std::vector<Arg> args_;  // reserved up front: elements never move
  std::vector<pthread_t> ids_;
  std::string error_;
  std::atomic<int> parked_{0};
  std::atomic<int> release_{0};
};

std::unique_ptr<ParkedTasks>& Pool() {
  static auto* pool = new std::unique_ptr<ParkedTasks>;
  return *pool;
}

// Setup: the pool for (range(0) sites, range(1) tasks).
void EnsurePool(const benchmark::State& state) {
  const int sites = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  if (Pool() != nullptr && Pool()->Matches(sites, threads)) return;
  Pool().reset();
  Pool() = std::make_unique<ParkedTasks>(sites, threads);
}

// Teardown of every benchmark here: no parked threads outlive the benchmark
// that parked them, whichever benchmarks a --benchmark_filter selects (a pool
// left behind made later snapshot benchmarks list and name 10,000 threads).
void ReleasePool(const benchmark::State&) { Pool().reset(); }

bool PoolReady(benchmark::State& state) {
  if (Pool() == nullptr || !Pool()->error().empty()) {
    state.SkipWithError(Pool() == nullptr ? "no parked tasks" : Pool()->error().c_str());
    return false;
  }
  return true;
}

void CollectWith(benchmark::State& state, bool include_tasks) {
  if (!PoolReady(state)) return;
  leakwatch::core::ReadOptions options;
  options.include_tasks = include_tasks;
  size_t sites = 0;
  for (auto _ : state) {
    leakwatch::Snapshot snap = leakwatch::core::ReadSnapshot(options);
    sites = snap.sites.size();
    benchmark::DoNotOptimize(snap);
  }
  state.counters["sites_in_snapshot"] = static_cast<double>(sites);
}

void BM_Collect(benchmark::State& state) { CollectWith(state, /*include_tasks=*/false); }
void BM_CollectWithTasks(benchmark::State& state) { CollectWith(state, /*include_tasks=*/true); }

void BM_SnapshotToFamilies(benchmark::State& state) {
  if (!PoolReady(state)) return;
  const leakwatch::Snapshot snap = leakwatch::core::ReadSnapshot({});
  size_t series = 0;
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families = leakwatch::exporter::SnapshotToFamilies(snap);
    series = 0;
    for (const auto& f : families) series += f.metric.size();
    benchmark::DoNotOptimize(families);
  }
  state.counters["metrics"] = static_cast<double>(series);
}

void BM_SerializeText(benchmark::State& state) {
  if (!PoolReady(state)) return;
  const std::vector<prometheus::MetricFamily> families =
      leakwatch::exporter::SnapshotToFamilies(leakwatch::core::ReadSnapshot({}));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = prometheus::TextSerializer().Serialize(families);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

// Fixed iteration counts: each registration is one run, so its pool is built once
// (and released after it).
BENCHMARK(BM_Collect)
    ->Args({10, 100})
    ->Iterations(2000)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Collect)
    ->Args({100, 1000})
    ->Iterations(500)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Collect)
    ->Args({1000, 1000})
    ->Iterations(500)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Collect)
    ->Args({1000, 10000})
    ->Iterations(100)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CollectWithTasks)
    ->Args({1000, 10000})
    ->Iterations(20)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnapshotToFamilies)
    ->Args({1000, 10000})
    ->Iterations(50)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SerializeText)
    ->Args({1000, 10000})
    ->Iterations(50)
    ->Setup(EnsurePool)
    ->Teardown(ReleasePool)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
