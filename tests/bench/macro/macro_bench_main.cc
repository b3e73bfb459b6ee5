// leakwatch_macro_bench: the macro-benchmark of issue 6 (budgets: <= 3 % wall-time
// overhead with leakwatch's primitives, <= 5 % for an unmodified program under
// the preload library).
//
// Runs the pipeline of macro/pipeline.h three ways, alternately (after one
// untimed warm-up run of each):
//   uninstrumented  std primitives, in this process (which links leakwatch but
//                   not the hooks, so nothing records them);
//   leakwatch       leakwatch's primitives, in this process;
//   preload         the std-primitives pipeline in leakwatch_macro_bare, a
//                   program that does not link leakwatch, run as a child process
//                   once plain and once with LD_PRELOAD=libleakwatch_preload.so
//                   (LEAKWATCH_CONFIG=macro/preload.yaml: production defaults,
//                   exporter on a free port). Each child times one run after a
//                   warm-up run of its own, so process start-up and the agent's
//                   start are not in the times; the two children are compared
//                   with each other, not with the in-process runs.
// It prints each run's wall time, the medians, and each overhead: median(with) /
// median(without) - 1, with the median of the per-pair ratios next to it, and
// the same ratio for the process's CPU time (less sensitive to other load on the
// machine). Every run must return the same checksum.
//
//   leakwatch_macro_bench [--items=N] [--pairs=N] [--work=N] [--variants=LIST]
//                         [--bare=PATH] [--preload=PATH] [--preload_config=PATH]
//
//   --items     requests through the pipeline per run (default 200000)
//   --pairs     timed runs of each variant (default 15)
//   --work      mixing rounds per job in the worker pool (default 200)
//   --variants  comma-separated subset of "uninstrumented,leakwatch,preload"
//               (default all three; without "preload" when its programs were
//               not built)
//   --bare, --preload, --preload_config  leakwatch_macro_bare,
//               libleakwatch_preload.so and the agent's config for the preload
//               variant (defaults: the ones in the build tree)
//
// Exit status: 0 after a complete run; 1 for a bad flag, a child that failed or
// a checksum mismatch (no timing is ever a failure).

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/read_snapshot.h"
#include "leakwatch/snapshot.h"
#include "macro/pipeline.h"
#include "macro/primitives.h"
#include "macro/run.h"

extern char** environ;

namespace {

using leakwatch_bench::Instrumented;
using leakwatch_bench::IsFlag;
using leakwatch_bench::PipelineOptions;
using leakwatch_bench::Timed;
using leakwatch_bench::TimeOnce;
using leakwatch_bench::Uninstrumented;

constexpr const char* kProgram = "leakwatch_macro_bench";
constexpr const char* kPreloadName = "preload";

// Paths of the preload variant's programs in the build tree (CMake defines them
// when the preload library is built).
#ifndef LEAKWATCH_MACRO_BARE
#define LEAKWATCH_MACRO_BARE ""
#endif
#ifndef LEAKWATCH_MACRO_PRELOAD
#define LEAKWATCH_MACRO_PRELOAD ""
#endif
#ifndef LEAKWATCH_MACRO_PRELOAD_CONFIG
#define LEAKWATCH_MACRO_PRELOAD_CONFIG ""
#endif

struct Flags {
  PipelineOptions pipeline;
  int pairs = 15;
  bool variants_given = false;
  bool run_uninstrumented = true;
  bool run_leakwatch = true;
  bool run_preload = true;
  std::string bare = LEAKWATCH_MACRO_BARE;
  std::string preload = LEAKWATCH_MACRO_PRELOAD;
  std::string preload_config = LEAKWATCH_MACRO_PRELOAD_CONFIG;
};

bool ParseInt(std::string_view arg, std::string_view name, int64_t min, int64_t max, int64_t* out) {
  return leakwatch_bench::ParseIntFlag(kProgram, arg, name, min, max, out);
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    int64_t v = 0;
    if (IsFlag(arg, "--items")) {
      if (!ParseInt(arg, "--items", 1, int64_t{1} << 40, &v)) return false;
      flags->pipeline.items = v;
    } else if (IsFlag(arg, "--pairs")) {
      if (!ParseInt(arg, "--pairs", 1, 1000, &v)) return false;
      flags->pairs = static_cast<int>(v);
    } else if (IsFlag(arg, "--work")) {
      if (!ParseInt(arg, "--work", 0, 1000000, &v)) return false;
      flags->pipeline.work_rounds = static_cast<int>(v);
    } else if (IsFlag(arg, "--bare")) {
      flags->bare = arg.substr(sizeof("--bare"));
    } else if (IsFlag(arg, "--preload")) {
      flags->preload = arg.substr(sizeof("--preload"));
    } else if (IsFlag(arg, "--preload_config")) {
      flags->preload_config = arg.substr(sizeof("--preload_config"));
    } else if (IsFlag(arg, "--variants")) {
      flags->variants_given = true;
      flags->run_uninstrumented = flags->run_leakwatch = flags->run_preload = false;
      std::string_view list = arg.substr(sizeof("--variants"));
      while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        if (name == Uninstrumented::kName) {
          flags->run_uninstrumented = true;
        } else if (name == Instrumented::kName) {
          flags->run_leakwatch = true;
        } else if (name == kPreloadName) {
          flags->run_preload = true;
        } else {
          std::fprintf(stderr,
                       "%s: unknown variant \"%.*s\" in --variants "
                       "(expected uninstrumented, leakwatch, preload)\n",
                       kProgram, static_cast<int>(name.size()), name.data());
          return false;
        }
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
      if (!flags->run_uninstrumented && !flags->run_leakwatch && !flags->run_preload) {
        std::fprintf(stderr, "%s: --variants names no variant\n", kProgram);
        return false;
      }
    } else {
      std::fprintf(stderr,
                   "%s: unknown argument \"%s\" (flags: --items=N, --pairs=N, --work=N, "
                   "--variants=uninstrumented,leakwatch,preload, --bare=PATH, --preload=PATH, "
                   "--preload_config=PATH)\n",
                   kProgram, argv[i]);
      return false;
    }
  }
  // The preload variant needs its programs; by default it is left out (with a
  // note) when they were not built, when asked for it is an error.
  for (const auto& [path, what] :
       {std::pair{&flags->bare, "--bare (leakwatch_macro_bare)"},
        std::pair{&flags->preload, "--preload (libleakwatch_preload.so)"},
        std::pair{&flags->preload_config, "--preload_config"}}) {
    if (!flags->run_preload || (!path->empty() && access(path->c_str(), R_OK) == 0)) continue;
    if (flags->variants_given) {
      std::fprintf(stderr, "%s: the preload variant needs %s, but \"%s\" is not readable\n",
                   kProgram, what, path->c_str());
      return false;
    }
    std::printf("(no preload variant: %s \"%s\" is not readable)\n", what, path->c_str());
    flags->run_preload = false;
  }
  return true;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs leakwatch_macro_bare for one timed run, under the preload library if
// `preloaded`; false (after printing why) if it could not run or failed.
bool RunChild(const Flags& flags, bool preloaded, Timed* out) {
  std::vector<std::string> args = {flags.bare, "--items=" + std::to_string(flags.pipeline.items),
                                   "--work=" + std::to_string(flags.pipeline.work_rounds),
                                   "--runs=1"};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view var = *e;
    if (var.starts_with("LD_PRELOAD=") || var.starts_with("LEAKWATCH_CONFIG=")) continue;
    env.emplace_back(var);
  }
  if (preloaded) {
    env.push_back("LD_PRELOAD=" + flags.preload);
    env.push_back("LEAKWATCH_CONFIG=" + flags.preload_config);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "%s: pipe: %s\n", kProgram, std::strerror(errno));
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, flags.bare.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    std::fprintf(stderr, "%s: cannot run %s: %s\n", kProgram, flags.bare.c_str(),
                 std::strerror(spawned));
    return false;
  }
  std::string output;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  unsigned long long checksum = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::sscanf(output.c_str(), "%lf %lf %llu", &out->seconds, &out->cpu_seconds, &checksum) !=
          3) {
    std::fprintf(stderr, "%s: %s%s failed (wait status %d) or printed no timing: \"%s\"\n",
                 kProgram, preloaded ? "LD_PRELOAD=... " : "", flags.bare.c_str(), status,
                 output.c_str());
    return false;
  }
  out->checksum = checksum;
  return true;
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

// The timings of one variant and the summary line of a comparison.
struct Series {
  std::vector<double> wall;
  std::vector<double> cpu;
  void Add(const Timed& t) {
    wall.push_back(t.seconds);
    cpu.push_back(t.cpu_seconds);
  }
  void PrintMedians(const char* name, double items) const {
    std::printf("%-16s median %.4f s, %.0f items/s, CPU %.4f s", name, Median(wall),
                items / Median(wall), Median(cpu));
  }
};

// The value below which a `q` fraction of `v` lies (nearest rank).
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// The interquartile range of the pair ratios shows how far the machine's own
// noise goes: an overhead well inside it is not measurable on this run.
void PrintOverhead(const char* what, const Series& with, const Series& without,
                   const std::vector<double>& pair_ratios) {
  std::printf(
      "%s: %+.2f %% (ratio of medians), %+.2f %% (median of pair ratios, interquartile "
      "%+.2f..%+.2f %%); CPU time %+.2f %% (ratio of medians)\n",
      what, (Median(with.wall) / Median(without.wall) - 1) * 100, (Median(pair_ratios) - 1) * 100,
      (Quantile(pair_ratios, 0.25) - 1) * 100, (Quantile(pair_ratios, 0.75) - 1) * 100,
      (Median(with.cpu) / Median(without.cpu) - 1) * 100);
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
      std::fprintf(stderr, "%s: %s checksum %llu differs from %llu\n", kProgram, variant,
                   static_cast<unsigned long long>(checksum),
                   static_cast<unsigned long long>(expected));
      return false;
    }
    return true;
  };

  // Warm-up: page in code and data, create malloc arenas, intern sites. (Each
  // child warms itself up.)
  if (flags.run_uninstrumented &&
      !check("uninstrumented", TimeOnce<Uninstrumented>(options).checksum))
    return 1;
  if (flags.run_leakwatch && !check("leakwatch", TimeOnce<Instrumented>(options).checksum))
    return 1;

  Series bare, instrumented, child, preloaded;
  std::vector<double> pair_ratios;
  std::vector<double> preload_ratios;
  const uint64_t waits_before = flags.run_leakwatch ? RecordedWaits() : 0;
  for (int i = 0; i < flags.pairs; ++i) {
    // Alternate which run of a pair goes first so that a drift favours neither.
    const bool without_first = i % 2 == 0;
    std::printf("run %2d:", i + 1);
    if (flags.run_uninstrumented || flags.run_leakwatch) {
      for (int k = 0; k < 2; ++k) {
        if (((k == 0) == without_first) && flags.run_uninstrumented) {
          const Timed t = TimeOnce<Uninstrumented>(options);
          if (!check("uninstrumented", t.checksum)) return 1;
          bare.Add(t);
        } else if (((k == 0) != without_first) && flags.run_leakwatch) {
          const Timed t = TimeOnce<Instrumented>(options);
          if (!check("leakwatch", t.checksum)) return 1;
          instrumented.Add(t);
        }
      }
      if (flags.run_uninstrumented) std::printf("  uninstrumented %.4f s", bare.wall.back());
      if (flags.run_leakwatch) std::printf("  leakwatch %.4f s", instrumented.wall.back());
      if (flags.run_uninstrumented && flags.run_leakwatch) {
        pair_ratios.push_back(instrumented.wall.back() / bare.wall.back());
        std::printf("  ratio %.4f", pair_ratios.back());
      }
    }
    if (flags.run_preload) {
      for (int k = 0; k < 2; ++k) {
        const bool with_preload = (k == 0) != without_first;
        Timed t;
        if (!RunChild(flags, with_preload, &t)) return 1;
        if (!check(with_preload ? "preloaded child" : "bare child", t.checksum)) return 1;
        (with_preload ? preloaded : child).Add(t);
      }
      preload_ratios.push_back(preloaded.wall.back() / child.wall.back());
      std::printf("  |  bare child %.4f s  preloaded %.4f s  ratio %.4f", child.wall.back(),
                  preloaded.wall.back(), preload_ratios.back());
    }
    std::printf("\n");
  }

  const double items = static_cast<double>(options.items);
  if (flags.run_uninstrumented) {
    bare.PrintMedians("uninstrumented:", items);
    std::printf("\n");
  }
  if (flags.run_leakwatch) {
    const double waits = static_cast<double>(RecordedWaits() - waits_before);
    instrumented.PrintMedians("leakwatch:", items);
    std::printf(", %.2f recorded waits per item\n", waits / (items * flags.pairs));
  }
  if (flags.run_preload) {
    child.PrintMedians("bare child:", items);
    std::printf("\n");
    preloaded.PrintMedians("under preload:", items);
    std::printf("\n");
  }
  if (flags.run_uninstrumented && flags.run_leakwatch) {
    PrintOverhead("overhead", instrumented, bare, pair_ratios);
  }
  if (flags.run_preload) PrintOverhead("preload overhead", preloaded, child, preload_ratios);
  return 0;
}
