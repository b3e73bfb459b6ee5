// leakwatch-trend-scenarios: writes the seeded scenario set of tests/trend/scenarios.h.
//
//   leakwatch-trend-scenarios --out DIR [--per-family 100] [--seed 1] [--days 5]
//                             [--family NAME]... [--add-leak RATE --leak-start LO:HI]
//
// --add-leak adds a leak of RATE x the level per hour to every series, starting
// LO..HI hours after its first sample (tests/trend/scenarios.h, AddedLeak).

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "scenarios.h"

namespace {

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "leakwatch-trend-scenarios: %s\n", error);
  std::fprintf(error ? stderr : stdout,
               "usage: leakwatch-trend-scenarios --out DIR [--per-family N (100)] [--seed S (1)]\n"
               "                                 [--days D (5)] [--family NAME]...\n"
               "                                 [--add-leak RATE --leak-start LO:HI (hours)]\n"
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
  std::optional<leakwatch::trendtest::AddedLeak> leak;
  bool leak_start_given = false;
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
    } else if (arg == "--add-leak") {
      if (!leak) leak.emplace();
      if (!absl::SimpleAtod(value, &leak->rate) || !(leak->rate > 0)) {
        return Usage("--add-leak needs a rate above 0 (0.2 is 20 % of the level per hour)");
      }
    } else if (arg == "--leak-start") {
      if (!leak) leak.emplace();
      std::vector<std::string> parts = absl::StrSplit(value, ':');
      if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &leak->start_lo_hours) ||
          !absl::SimpleAtod(parts[1], &leak->start_hi_hours)) {
        return Usage("--leak-start needs LO:HI in hours, e.g. 2:20");
      }
      leak_start_given = true;
    } else if (arg == "--family") {
      families.push_back(value);
    } else {
      return Usage(("unknown option " + arg).c_str());
    }
  }
  if (out.empty()) return Usage("--out DIR is required");
  if (leak && !leak_start_given) return Usage("--add-leak needs --leak-start LO:HI");
  if (leak && leak->rate == 0) return Usage("--leak-start needs --add-leak RATE");
  absl::Status status = leakwatch::trendtest::WriteScenarioSet(out, per_family, seed, days,
                                                               families, leak ? &*leak : nullptr);
  if (!status.ok()) {
    std::fprintf(stderr, "leakwatch-trend-scenarios: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
