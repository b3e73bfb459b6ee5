// fleet_bench — the cost of one judge cycle (issue 16, item 7): JudgeGroup over
// 1,000 groups of 10 instances with 3 days of 1-minute history (10,000 series,
// 43 million samples), on 2 threads as leakwatch-judge calls it, and the peak
// resident memory of the process holding that history.
//
//   fleet_bench [--fleet_groups=1000] [benchmark flags]
//
// Reported: seconds per cycle (real time), the single group's time, and
// peak_rss_MiB (VmHWM: the history itself, 16 bytes a sample, dominates). The
// baseline BM_ReadHistory touches every sample once, so the ratio of a cycle to
// it is the judge's work per byte of history.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fleet_scenarios.h"
#include "judge/fleet.h"

namespace {

using leakwatch::judge::FleetParams;
using leakwatch::judge::FleetVerdict;
using leakwatch::judge::GroupHistory;

int g_groups = 1000;
constexpr int kInstances = 10;
constexpr int kDays = 3;

struct Fleet {
  std::vector<GroupHistory> groups;
  double now = 0;
};

// 10 replicas restarted every ~6 h with rolling deploys; every 20th group
// leaks 2 %/h.
const Fleet& TheFleet() {
  static const Fleet* fleet = [] {
    auto* f = new Fleet;
    f->groups.reserve(g_groups);
    for (int i = 0; i < g_groups; ++i) {
      leakwatch::judgetest::FleetScenario s = leakwatch::judgetest::GenerateGridScenario(
          kInstances, 6, i % 20 == 0 ? 0.02 : 0, i, /*seed=*/7, kDays);
      f->now = std::max(f->now, s.end);
      for (leakwatch::judge::Lifetime& life : s.history.lifetimes) {
        life.t.shrink_to_fit();
        life.value.shrink_to_fit();
      }
      f->groups.push_back(std::move(s.history));
    }
    return f;
  }();
  return *fleet;
}

FleetParams BenchParams() {
  FleetParams p;
  p.lookback_seconds = kDays * 86400;  // judge all three days
  return p;
}

double PeakRssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  }
  return 0;
}

int64_t Samples(const Fleet& f) {
  int64_t n = 0;
  for (const GroupHistory& g : f.groups) {
    for (const auto& life : g.lifetimes) n += static_cast<int64_t>(life.t.size());
  }
  return n;
}

void BM_ReadHistory(benchmark::State& state) {
  const Fleet& f = TheFleet();
  for (auto _ : state) {
    double sum = 0;
    for (const GroupHistory& g : f.groups) {
      for (const auto& life : g.lifetimes) {
        for (double v : life.value) sum += v;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["samples"] = static_cast<double>(Samples(f));
}
BENCHMARK(BM_ReadHistory)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_JudgeOneGroup(benchmark::State& state) {
  const Fleet& f = TheFleet();
  const FleetParams p = BenchParams();
  size_t i = 0;
  for (auto _ : state) {
    FleetVerdict v = leakwatch::judge::JudgeGroup(f.groups[i++ % f.groups.size()], f.now, p);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_JudgeOneGroup)->Unit(benchmark::kMillisecond);

// One cycle: every group judged, `threads` at a time.
void BM_JudgeCycle(benchmark::State& state) {
  const Fleet& f = TheFleet();
  const FleetParams p = BenchParams();
  const int threads = static_cast<int>(state.range(0));
  int suspected = 0;
  for (auto _ : state) {
    std::atomic<size_t> next{0};
    std::atomic<int> found{0};
    auto work = [&] {
      for (size_t i = next++; i < f.groups.size(); i = next++) {
        if (leakwatch::judge::JudgeGroup(f.groups[i], f.now, p).suspected) ++found;
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    suspected = found;
  }
  state.counters["groups"] = static_cast<double>(f.groups.size());
  state.counters["suspected"] = suspected;
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_JudgeCycle)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // --fleet_groups=N (before the benchmark flags): a smaller fleet for smoke runs.
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--fleet_groups=", 15) == 0) {
      g_groups = std::atoi(argv[i] + 15);
      if (g_groups < 1) {
        std::fprintf(stderr, "fleet_bench: --fleet_groups wants a positive integer\n");
        return 2;
      }
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
