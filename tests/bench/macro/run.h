// Pieces shared by the macro-benchmark's two programs (leakwatch_macro_bench and
// leakwatch_macro_bare): integer flags, and timing one pipeline run.
//
// Thread-safety: the functions are safe to call from any thread.

#ifndef LEAKWATCH_TESTS_BENCH_MACRO_RUN_H_
#define LEAKWATCH_TESTS_BENCH_MACRO_RUN_H_

#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "macro/pipeline.h"

namespace leakwatch_bench {

// True if `arg` is "--name=value" (`name` includes the dashes).
inline bool IsFlag(std::string_view arg, std::string_view name) {
  return arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=';
}

// Parses the value of "--name=value" as an integer in [min, max]; prints an
// error naming `program` and the flag and returns false on anything else.
inline bool ParseIntFlag(const char* program, std::string_view arg, std::string_view name,
                         int64_t min, int64_t max, int64_t* out) {
  const std::string value(arg.substr(name.size() + 1));
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    std::fprintf(stderr, "%s: %.*s must be an integer in [%lld, %lld], got \"%s\"\n", program,
                 static_cast<int>(name.size()), name.data(), static_cast<long long>(min),
                 static_cast<long long>(max), value.c_str());
    return false;
  }
  *out = v;
  return true;
}

inline double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timed {
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // CPU time of the whole process (all threads)
  uint64_t checksum = 0;
};

template <class Prims>
Timed TimeOnce(const PipelineOptions& options) {
  const double cpu_start = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const uint64_t checksum = RunPipeline<Prims>(options);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return {elapsed.count(), ProcessCpuSeconds() - cpu_start, checksum};
}

}  // namespace leakwatch_bench

#endif  // LEAKWATCH_TESTS_BENCH_MACRO_RUN_H_
