// leakwatch_macro_bare: the macro-benchmark's pipeline (macro/pipeline.h) with
// the standard primitives only, in a program that does not link leakwatch: what
// an unmodified service is to LD_PRELOAD=libleakwatch_preload.so.
// leakwatch_macro_bench runs it as a child process, with and without the preload
// library, for its "preload" variant.
//
//   leakwatch_macro_bare [--items=N] [--work=N] [--runs=N]
//
// After one untimed warm-up run, prints one line per timed run (default 1):
// "<wall seconds> <process CPU seconds> <checksum>". Exit status 0, or 1 for a
// bad flag.

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "macro/pipeline.h"
#include "macro/primitives.h"
#include "macro/run.h"

int main(int argc, char** argv) {
  using namespace leakwatch_bench;  // NOLINT: a small program
  constexpr const char* kProgram = "leakwatch_macro_bare";
  PipelineOptions options;
  int64_t runs = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    int64_t v = 0;
    if (IsFlag(arg, "--items")) {
      if (!ParseIntFlag(kProgram, arg, "--items", 1, int64_t{1} << 40, &v)) return 1;
      options.items = v;
    } else if (IsFlag(arg, "--work")) {
      if (!ParseIntFlag(kProgram, arg, "--work", 0, 1000000, &v)) return 1;
      options.work_rounds = static_cast<int>(v);
    } else if (IsFlag(arg, "--runs")) {
      if (!ParseIntFlag(kProgram, arg, "--runs", 1, 1000, &runs)) return 1;
    } else {
      std::fprintf(stderr, "%s: unknown argument \"%s\" (flags: --items=N, --work=N, --runs=N)\n",
                   kProgram, argv[i]);
      return 1;
    }
  }
  TimeOnce<Uninstrumented>(options);  // warm-up: page in, create malloc arenas
  for (int64_t r = 0; r < runs; ++r) {
    const Timed t = TimeOnce<Uninstrumented>(options);
    std::printf("%.9f %.9f %llu\n", t.seconds, t.cpu_seconds,
                static_cast<unsigned long long>(t.checksum));
  }
  return 0;
}
