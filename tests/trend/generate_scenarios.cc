// leakwatch-trend-scenarios: writes the seeded scenario set of tests/trend/scenarios.h.
//
//   leakwatch-trend-scenarios --out DIR [--per-family 100] [--seed 1] [--days 5]
//                             [--family NAME]...

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "scenarios.h"

namespace {

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "leakwatch-trend-scenarios: %s\n", error);
  std::fprintf(error ? stderr : stdout,
               "usage: leakwatch-trend-scenarios --out DIR [--per-family N (100)] [--seed S (1)]\n"
               "                                 [--days D (5)] [--family NAME]...\n"
               "Writes DIR/<family>/<family>-NNN.csv and DIR/labels.csv for leakwatch-trend "
               "--eval.\nFamilies:");
  for (const std::string& f : leakwatch::trendtest::Families()) {
    std::fprintf(error ? stderr : stdout, " %s", f.c_str());
  }
  std::fprintf(error ? stderr : stdout, "\n");
  return error ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  int per_family = 100, days = 5;
  uint64_t seed = 1;
  std::vector<std::string> families;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Usage(nullptr);
    if (i + 1 >= argc) return Usage(("missing value after " + arg).c_str());
    const std::string value = argv[++i];
    if (arg == "--out") {
      out = value;
    } else if (arg == "--per-family") {
      if (!absl::SimpleAtoi(value, &per_family) || per_family < 1) {
        return Usage("--per-family needs a positive integer");
      }
    } else if (arg == "--days") {
      if (!absl::SimpleAtoi(value, &days) || days < 1)
        return Usage("--days needs a positive integer");
    } else if (arg == "--seed") {
      if (!absl::SimpleAtoi(value, &seed)) return Usage("--seed needs an unsigned integer");
    } else if (arg == "--family") {
      families.push_back(value);
    } else {
      return Usage(("unknown option " + arg).c_str());
    }
  }
  if (out.empty()) return Usage("--out DIR is required");
  absl::Status status =
      leakwatch::trendtest::WriteScenarioSet(out, per_family, seed, days, families);
  if (!status.ok()) {
    std::fprintf(stderr, "leakwatch-trend-scenarios: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
