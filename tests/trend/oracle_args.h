// What the two oracle-bound tools (tests/trend/oracle_bound.cc,
// tests/judge/fleet_oracle_bound.cc) share: the median of their latencies and
// their command line, `--seeds A-B` and whole-number options in a range.

#ifndef LEAKWATCH_TESTS_TREND_ORACLE_ARGS_H_
#define LEAKWATCH_TESTS_TREND_ORACLE_ARGS_H_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace leakwatch::oracleargs {

// The median of `v`; NaN when empty.
inline double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// `--flag N` with N in [min, max]; `wants` ends the error ("--ramp wants ...").
struct IntOption {
  const char* flag;
  int* value;
  int min, max;
  const char* wants;
};

// Sets `first_seed`-`last_seed` from `--seeds A-B` and each option from its
// flag. On bad usage prints "<tool>: <why>" and `usage` on stderr and returns
// false (the tool exits 2).
inline bool ParseArgs(int argc, char** argv, const char* tool, const char* usage, int& first_seed,
                      int& last_seed, std::initializer_list<IntOption> options) {
  auto bad = [&](const std::string& why) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", tool, why.c_str(), usage);
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return bad("missing value after " + arg);
    const std::string value = argv[++i];
    if (arg == "--seeds") {
      std::vector<std::string> parts = absl::StrSplit(value, '-');
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first_seed) ||
          !absl::SimpleAtoi(parts[1], &last_seed) || first_seed > last_seed) {
        return bad("--seeds wants A-B");
      }
      continue;
    }
    const IntOption* option = nullptr;
    for (const IntOption& o : options) {
      if (arg == o.flag) option = &o;
    }
    if (option == nullptr) return bad("unknown option " + arg);
    if (!absl::SimpleAtoi(value, option->value) || *option->value < option->min ||
        *option->value > option->max) {
      return bad(std::string(option->flag) + " wants " + option->wants);
    }
  }
  return true;
}

}  // namespace leakwatch::oracleargs

#endif  // LEAKWATCH_TESTS_TREND_ORACLE_ARGS_H_
