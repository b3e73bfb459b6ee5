// leakwatch_macro_bench: the macro-benchmark of issue 6 (budget: <= 3 % wall-time
// overhead with leakwatch's primitives).
//
// Runs the pipeline of macro/pipeline.h built two ways, uninstrumented and with
// leakwatch's primitives, alternately in this one process (after one untimed
// warm-up run of each), and prints each run's wall time, the medians, and the
// overhead: median(leakwatch) / median(uninstrumented) - 1, with the median of
// the per-pair ratios next to it, and the same ratio for the process's CPU time
// (less sensitive to other load on the machine). Both builds must return the
// same checksum.
//
//   leakwatch_macro_bench [--items=N] [--pairs=N] [--work=N] [--variants=LIST]
//
//   --items     requests through the pipeline per run (default 200000)
//   --pairs     timed runs of each variant (default 15)
//   --work      mixing rounds per job in the worker pool (default 200)
//   --variants  comma-separated subset of "uninstrumented,leakwatch" (default
//               both); "uninstrumented" alone times the bare pipeline, e.g.
//               under LD_PRELOAD of the interposition library
//
// Exit status: 0 after a complete run; 1 for a bad flag or a checksum mismatch
// (no timing is ever a failure).

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/read_snapshot.h"
#include "leakwatch/snapshot.h"
#include "macro/pipeline.h"
#include "macro/primitives.h"

namespace {

using leakwatch_bench::Instrumented;
using leakwatch_bench::PipelineOptions;
using leakwatch_bench::RunPipeline;
using leakwatch_bench::Uninstrumented;

struct Flags {
  PipelineOptions pipeline;
  int pairs = 15;
  bool run_uninstrumented = true;
  bool run_leakwatch = true;
};

// Parses "--name=value" as an integer in [min, max]; prints an error naming the
// flag and returns false on anything else.
bool ParseInt(std::string_view arg, std::string_view name, int64_t min, int64_t max, int64_t* out) {
  const std::string value(arg.substr(name.size() + 1));
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    std::fprintf(stderr,
                 "leakwatch_macro_bench: %.*s must be an integer in [%lld, %lld], got \"%s\"\n",
                 static_cast<int>(name.size()), name.data(), static_cast<long long>(min),
                 static_cast<long long>(max), value.c_str());
    return false;
  }
  *out = v;
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    int64_t v = 0;
    auto is = [&](std::string_view name) {
      return arg.substr(0, name.size()) == name && arg.size() > name.size() &&
             arg[name.size()] == '=';
    };
    if (is("--items")) {
      if (!ParseInt(arg, "--items", 1, int64_t{1} << 40, &v)) return false;
      flags->pipeline.items = v;
    } else if (is("--pairs")) {
      if (!ParseInt(arg, "--pairs", 1, 1000, &v)) return false;
      flags->pairs = static_cast<int>(v);
    } else if (is("--work")) {
      if (!ParseInt(arg, "--work", 0, 1000000, &v)) return false;
      flags->pipeline.work_rounds = static_cast<int>(v);
    } else if (is("--variants")) {
      flags->run_uninstrumented = flags->run_leakwatch = false;
      std::string_view list = arg.substr(sizeof("--variants"));
      while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        if (name == Uninstrumented::kName) {
          flags->run_uninstrumented = true;
        } else if (name == Instrumented::kName) {
          flags->run_leakwatch = true;
        } else {
          std::fprintf(stderr,
                       "leakwatch_macro_bench: unknown variant \"%.*s\" in --variants "
                       "(expected uninstrumented, leakwatch)\n",
                       static_cast<int>(name.size()), name.data());
          return false;
        }
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
      if (!flags->run_uninstrumented && !flags->run_leakwatch) {
        std::fprintf(stderr, "leakwatch_macro_bench: --variants names no variant\n");
        return false;
      }
    } else {
      std::fprintf(stderr,
                   "leakwatch_macro_bench: unknown argument \"%s\" (flags: --items=N, "
                   "--pairs=N, --work=N, --variants=uninstrumented,leakwatch)\n",
                   argv[i]);
      return false;
    }
  }
  return true;
}

struct Timed {
  double seconds;      // wall time
  double cpu_seconds;  // CPU time of the whole process (all threads)
  uint64_t checksum;
};

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class Prims>
Timed TimeOnce(const PipelineOptions& options) {
  const double cpu_start = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const uint64_t checksum = RunPipeline<Prims>(options);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return {elapsed.count(), ProcessCpuSeconds() - cpu_start, checksum};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Finished waits leakwatch recorded at this benchmark's own sites (labels from
// tests/bench/macro/, or function+offset labels of the pipeline's code).
uint64_t RecordedWaits() {
  uint64_t total = 0;
  for (const leakwatch::Snapshot::Site& site : leakwatch::core::ReadSnapshot({}).sites) {
    if (site.site.find("macro/") != std::string::npos ||
        site.site.find("leakwatch_bench::") != std::string::npos) {
      total += site.durations.count;
    }
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 1;
  const PipelineOptions& options = flags.pipeline;
  std::printf("pipeline: %lld items, %d work rounds, 2 threads per stage; %d timed runs each\n",
              static_cast<long long>(options.items), options.work_rounds, flags.pairs);

  uint64_t expected = 0;
  bool have_expected = false;
  auto check = [&](const char* variant, uint64_t checksum) {
    if (!have_expected) {
      expected = checksum;
      have_expected = true;
    } else if (checksum != expected) {
      std::fprintf(stderr, "leakwatch_macro_bench: %s checksum %llu differs from %llu\n", variant,
                   static_cast<unsigned long long>(checksum),
                   static_cast<unsigned long long>(expected));
      return false;
    }
    return true;
  };

  // Warm-up: page in code and data, create malloc arenas, intern sites.
  if (flags.run_uninstrumented &&
      !check("uninstrumented", TimeOnce<Uninstrumented>(options).checksum))
    return 1;
  if (flags.run_leakwatch && !check("leakwatch", TimeOnce<Instrumented>(options).checksum))
    return 1;

  std::vector<double> bare;
  std::vector<double> instrumented;
  std::vector<double> pair_ratios;
  std::vector<double> bare_cpu;
  std::vector<double> instrumented_cpu;
  const uint64_t waits_before = flags.run_leakwatch ? RecordedWaits() : 0;
  for (int i = 0; i < flags.pairs; ++i) {
    // Alternate which variant goes first so that a drift favours neither.
    for (int k = 0; k < 2; ++k) {
      const bool bare_turn = (k == 0) == (i % 2 == 0);
      if (bare_turn && flags.run_uninstrumented) {
        const Timed t = TimeOnce<Uninstrumented>(options);
        if (!check("uninstrumented", t.checksum)) return 1;
        bare.push_back(t.seconds);
        bare_cpu.push_back(t.cpu_seconds);
      } else if (!bare_turn && flags.run_leakwatch) {
        const Timed t = TimeOnce<Instrumented>(options);
        if (!check("leakwatch", t.checksum)) return 1;
        instrumented.push_back(t.seconds);
        instrumented_cpu.push_back(t.cpu_seconds);
      }
    }
    std::printf("run %2d:", i + 1);
    if (flags.run_uninstrumented) std::printf("  uninstrumented %.4f s", bare.back());
    if (flags.run_leakwatch) std::printf("  leakwatch %.4f s", instrumented.back());
    if (flags.run_uninstrumented && flags.run_leakwatch) {
      pair_ratios.push_back(instrumented.back() / bare.back());
      std::printf("  ratio %.4f", pair_ratios.back());
    }
    std::printf("\n");
  }

  const double items = static_cast<double>(options.items);
  if (flags.run_uninstrumented) {
    std::printf("uninstrumented: median %.4f s, %.0f items/s, CPU %.4f s\n", Median(bare),
                items / Median(bare), Median(bare_cpu));
  }
  if (flags.run_leakwatch) {
    const double waits = static_cast<double>(RecordedWaits() - waits_before);
    std::printf(
        "leakwatch:      median %.4f s, %.0f items/s, CPU %.4f s, %.2f recorded waits per item\n",
        Median(instrumented), items / Median(instrumented), Median(instrumented_cpu),
        waits / (items * flags.pairs));
  }
  if (flags.run_uninstrumented && flags.run_leakwatch) {
    std::printf(
        "overhead: %+.2f %% (ratio of medians), %+.2f %% (median of pair ratios); "
        "CPU time %+.2f %% (ratio of medians)\n",
        (Median(instrumented) / Median(bare) - 1) * 100, (Median(pair_ratios) - 1) * 100,
        (Median(instrumented_cpu) / Median(bare_cpu) - 1) * 100);
  }
  return 0;
}
