// BM_DetectorTick: one sampler tick over many series, each detector holding a
// full trend window. The worst tick is the one where every series closes a floor
// and is judged (buckets are aligned, so this happens once per floor_window);
// the other ticks only fold a sample into the open floor.

#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "trend/detector.h"

namespace {

constexpr double kT0 = 1700000000;
constexpr double kInterval = 5;  // the sampler's default interval

double Value(int series, long tick, bool leaking) {
  const double noise = static_cast<double>((tick * 7919 + series * 104729) % 17) - 8;
  const double base = 100 + series % 400;
  return base + noise + (leaking ? tick * kInterval / 3600.0 * 0.1 * base : 0);
}

// Warms `count` detectors with 30 h of samples (a full trend window and guard
// history), then measures the tick that closes a floor on all of them.
void RunTick(benchmark::State& state, bool leaking, bool judge) {
  const int count = static_cast<int>(state.range(0));
  const leakwatch::trend::Params params = leakwatch::trend::ProductionPreset();
  std::vector<leakwatch::trend::SeriesDetector> detectors(count,
                                                          leakwatch::trend::SeriesDetector(params));
  const double floor_seconds = absl::ToDoubleSeconds(params.floor_window);
  long tick = 0;
  const long warm_ticks = static_cast<long>(30 * 3600 / kInterval);
  for (; tick < warm_ticks; ++tick) {
    for (int s = 0; s < count; ++s) {
      detectors[s].Add(kT0 + tick * kInterval, Value(s, tick, leaking), kT0 - 60);
    }
  }
  for (auto _ : state) {
    // Advance to the tick just before (judge) or just after (fold) a floor boundary.
    state.PauseTiming();
    for (;; ++tick) {
      const double t = kT0 + (tick + 1) * kInterval;
      const bool boundary = std::fmod(t, floor_seconds) < kInterval;
      if (boundary == judge) break;
      for (int s = 0; s < count; ++s)
        detectors[s].Add(kT0 + tick * kInterval, Value(s, tick, leaking), kT0 - 60);
    }
    ++tick;
    state.ResumeTiming();
    for (int s = 0; s < count; ++s) {
      benchmark::DoNotOptimize(
          detectors[s].Add(kT0 + tick * kInterval, Value(s, tick, leaking), kT0 - 60));
    }
  }
  state.SetItemsProcessed(state.iterations() * count);
}

void BM_DetectorTick(benchmark::State& state) { RunTick(state, /*leaking=*/false, /*judge=*/true); }
void BM_DetectorTickAllLeaking(benchmark::State& state) {
  RunTick(state, /*leaking=*/true, /*judge=*/true);
}
void BM_DetectorTickBetweenFloors(benchmark::State& state) {
  RunTick(state, /*leaking=*/false, /*judge=*/false);
}

BENCHMARK(BM_DetectorTick)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_DetectorTickAllLeaking)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_DetectorTickBetweenFloors)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
