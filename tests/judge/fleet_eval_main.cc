// leakwatch-fleet-eval — scores the fleet judge (judge/fleet.h) on the seeded
// fleet scenarios of fleet_scenarios.h: false-alarm episodes per job-day per
// healthy family, detection latency per leak family, and latency against
// replica count and restart period (the grid).
//
//   leakwatch-fleet-eval [--seeds 2-3] [--per-family 20] [--days 5]
//                        [--every-minutes 10] [--threads 2] [--grid-per-cell 4]
//                        [--families rolling,leak_2pct] [--no-grid]
//                        [--grid-replicas 1,3,10,30] [--grid-restart-hours 0,2,6,24]
//                        [--grid-rates 0.02,0.1] [--set NAME=VALUE ...]
//
// --dump FAMILY:SEED:INDEX (or grid:REPLICAS:RESTART_HOURS:RATE:SEED:INDEX)
// prints one scenario's verdicts over time and, with --at-hour H, its stitched
// series as of H; FLEET_STITCHED_CSV=FILE also writes that series as
// "t,value" rows, the input of `leakwatch-trend`, to see what the detector
// makes of it.
//
// --set changes one judge parameter (judge::SetFleetParam: a FleetParams
// field, or detector.NAME for the stitched series' detector), to try one out.
//
// Seeds 2 and 3 chose the parameters; seed 1 is held out (the goal test runs
// a part of it).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fleet_eval.h"

namespace {

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "leakwatch-fleet-eval: %s\nusage: leakwatch-fleet-eval [--seeds A-B] "
               "[--per-family N] [--days D] [--every-minutes M] [--threads T] "
               "[--grid-per-cell N] [--families a,b,...] [--no-grid] [--grid-replicas N,...] "
               "[--grid-restart-hours H,...] [--grid-rates R,...] [--set NAME=VALUE]\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace leakwatch::judgetest;
  int first_seed = 2, last_seed = 3, per_family = 20, days = 5, every = 10, threads = 2,
      per_cell = 4;
  bool grid = true;
  std::string dump;
  double at_hour = -1;
  std::vector<std::string> families = FleetFamilies();
  leakwatch::judge::FleetParams params;
  std::vector<int> grid_replicas = {1, 3, 10, 30};
  std::vector<double> grid_restarts = {0, 2, 6, 24}, grid_rates = {0.02, 0.10};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-grid") {
      grid = false;
      continue;
    }
    if (i + 1 >= argc) return Usage("missing value after " + arg);
    const std::string value = argv[++i];
    auto positive = [&](int& out) { return absl::SimpleAtoi(value, &out) && out > 0; };
    if (arg == "--seeds") {
      std::vector<std::string> parts = absl::StrSplit(value, '-');
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first_seed) ||
          !absl::SimpleAtoi(parts[1], &last_seed) || first_seed > last_seed || first_seed < 0) {
        return Usage("--seeds wants A-B");
      }
    } else if (arg == "--per-family") {
      if (!positive(per_family)) return Usage("--per-family wants a positive integer");
    } else if (arg == "--days") {
      if (!positive(days) || days < 3) return Usage("--days wants an integer of at least 3");
    } else if (arg == "--every-minutes") {
      if (!positive(every)) return Usage("--every-minutes wants a positive integer");
    } else if (arg == "--threads") {
      if (!positive(threads)) return Usage("--threads wants a positive integer");
    } else if (arg == "--grid-per-cell") {
      if (!positive(per_cell)) return Usage("--grid-per-cell wants a positive integer");
    } else if (arg == "--dump") {
      dump = value;
    } else if (arg == "--at-hour") {
      if (!absl::SimpleAtod(value, &at_hour)) return Usage("--at-hour wants hours");
    } else if (arg == "--set") {
      if (absl::Status st = leakwatch::judge::SetFleetParam(params, value); !st.ok()) {
        return Usage(std::string(st.message()));
      }
      if (absl::Status st = leakwatch::judge::ValidateFleetParams(params); !st.ok()) {
        return Usage(std::string(st.message()));
      }
    } else if (arg == "--grid-replicas" || arg == "--grid-restart-hours" || arg == "--grid-rates") {
      std::vector<double> list;
      for (absl::string_view v : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        double d = 0;
        if (!absl::SimpleAtod(v, &d) || d < 0) return Usage(arg + " wants numbers, e.g. 2,6");
        list.push_back(d);
      }
      if (list.empty()) return Usage(arg + " wants numbers, e.g. 2,6");
      if (arg == "--grid-replicas") {
        grid_replicas.assign(list.begin(), list.end());
        for (int n : grid_replicas) {
          if (n < 1) return Usage("--grid-replicas wants counts of at least 1");
        }
      } else if (arg == "--grid-restart-hours") {
        grid_restarts = list;
      } else {
        grid_rates = list;
      }
    } else if (arg == "--families") {
      families = absl::StrSplit(value, ',', absl::SkipEmpty());
      for (const std::string& f : families) {
        bool known = false;
        for (const std::string& k : FleetFamilies()) known |= k == f;
        if (!known) return Usage("unknown family " + f);
      }
    } else {
      return Usage("unknown option " + arg);
    }
  }
  std::vector<uint64_t> seeds;
  for (int s = first_seed; s <= last_seed; ++s) seeds.push_back(static_cast<uint64_t>(s));
  if (!dump.empty()) {
    // FAMILY:SEED:INDEX or grid:REPLICAS:RESTART_HOURS:RATE:SEED:INDEX —
    // the verdicts over time, and the stitched series as of --at-hour (hours
    // after the first sample).
    std::vector<std::string> parts = absl::StrSplit(dump, ':');
    int seed = 0, index = 0, replicas = 0;
    double restart_hours = 0, rate = 0;
    absl::StatusOr<FleetScenario> s;
    if (parts.size() == 6 && parts[0] == "grid") {
      if (!absl::SimpleAtoi(parts[1], &replicas) || replicas < 1 ||
          !absl::SimpleAtod(parts[2], &restart_hours) || restart_hours < 0 ||
          !absl::SimpleAtod(parts[3], &rate) || rate < 0 || !absl::SimpleAtoi(parts[4], &seed) ||
          !absl::SimpleAtoi(parts[5], &index)) {
        return Usage("--dump wants grid:REPLICAS:RESTART_HOURS:RATE:SEED:INDEX");
      }
      s = GenerateGridScenario(replicas, restart_hours, rate, index, static_cast<uint64_t>(seed),
                               days);
    } else {
      if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &seed) ||
          !absl::SimpleAtoi(parts[2], &index)) {
        return Usage(
            "--dump wants FAMILY:SEED:INDEX or grid:REPLICAS:RESTART_HOURS:RATE:SEED:INDEX");
      }
      s = GenerateFleetScenario(parts[0], index, static_cast<uint64_t>(seed), days);
    }
    if (!s.ok()) return Usage(std::string(s.status().message()));
    std::printf(
        "%s: replicas %d, restart %.1f h, level %.0f, rate %.3f, leak deploy at %.2f h, "
        "%zu lifetimes\n",
        dump.c_str(), s->replicas, s->restart_hours, s->level, s->leak_rate,
        (s->leak_deploy - s->start) / 3600, s->history.lifetimes.size());
    if (std::getenv("FLEET_LIFETIMES")) {
      for (const leakwatch::judge::Lifetime& l : s->history.lifetimes) {
        if (l.t.back() - l.t.front() < 1800) continue;
        auto mean = [&](double from, double to) {
          double sum = 0;
          int n = 0;
          for (size_t i = 0; i < l.t.size(); ++i) {
            if (l.t[i] - l.process_start >= from && l.t[i] - l.process_start < to) {
              sum += l.value[i];
              ++n;
            }
          }
          return n ? sum / n : -1;
        };
        std::printf(
            "  %s start %.2f h end %.2f h  mean by age 0.5-1h %.1f 1-2h %.1f 2-4h %.1f 4-8h %.1f\n",
            l.instance.c_str(), (l.process_start - s->start) / 3600, (l.t.back() - s->start) / 3600,
            mean(1800, 3600), mean(3600, 7200), mean(7200, 14400), mean(14400, 28800));
      }
    }
    bool previous = false;
    for (double now = s->start + 86400; now < s->end; now += every * 60.0) {
      const leakwatch::judge::FleetVerdict v =
          leakwatch::judge::JudgeGroup(s->history, now, params);
      if (v.suspected != previous) {
        std::printf(
            "%7.2f h  suspected %d  growth %.2f/h  warmup %.2f h  level %.1f  lifetimes %d\n",
            (now - s->start) / 3600, v.suspected, v.growth_per_hour, v.warmup_seconds / 3600,
            v.level, v.lifetimes);
      }
      previous = v.suspected;
    }
    if (at_hour >= 0) {
      const double now = s->start + at_hour * 3600;
      const leakwatch::judge::StitchedSeries st =
          leakwatch::judge::StitchGroup(s->history, now, params);
      std::printf("stitched as of %.2f h: warmup %.2f h level %.1f\n", at_hour,
                  st.warmup_seconds / 3600, st.level);
      // FLEET_STITCHED_CSV=FILE writes every point as "t,value" (leakwatch-trend's input).
      if (const char* csv = std::getenv("FLEET_STITCHED_CSV")) {
        if (FILE* f = std::fopen(csv, "w")) {
          for (size_t i = 0; i < st.t.size(); ++i) std::fprintf(f, "%.0f,%.3f\n", st.t[i], st.x[i]);
          std::fclose(f);
        }
      }
      for (size_t i = 0; i < st.t.size(); i += 15) {
        std::printf("%.2f %.1f\n", (st.t[i] - s->start) / 3600, st.x[i]);
      }
    }
    return 0;
  }
  std::printf(
      "fleet judge on seeds %d-%d, %d jobs per family and seed, %d days, judged every %d min\n\n",
      first_seed, last_seed, per_family, days, every);
  const std::vector<FamilyScore> table =
      EvaluateFamilies(families, seeds, per_family, days, params, every * 60.0, threads);
  std::printf("%s\n", FormatFamilies(table).c_str());
  std::fflush(stdout);
  if (grid) {
    std::printf("latency against replicas and restart period (%d jobs per cell and seed)\n\n",
                per_cell);
    const std::vector<GridCell> cells =
        EvaluateGrid(grid_replicas, grid_restarts, grid_rates, seeds, per_cell, days, params,
                     every * 60.0, threads);
    std::printf("%s\n", FormatGrid(cells).c_str());
  }
  return 0;
}
