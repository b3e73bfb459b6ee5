// tests/trend/scenarios.h — the seeded scenario suite for the leak detector.
//
// Each scenario is one judged series (stuck tasks of a site, or long-lived tasks
// of a kind) sampled once a minute, with the process start time of every sample
// and a label: the time a leak starts, or none. Families follow issue 4:
//
//   healthy: flat, daily, bursts, sawtooth, step, restarts, idle_pool, longpoll
//   leaking: leak_0.5pct, leak_2pct, leak_10pct, step_leak, daily_leak,
//            restart_leak, and leak_2pct_small (low levels, reported only)
//
// Values are what an age-aware signal shows: healthy tasks that finish do not
// appear at all; what remains is idle pools, load-following waiters, periodic
// queues, bursts of slow tasks, and leaked tasks that never finish. Every
// number comes from a splitmix64 stream seeded by (seed, family, index), and the
// Poisson and normal draws are computed here, so a set is reproducible.
//
//   leakwatch::trendtest::Scenario s =
//       leakwatch::trendtest::GenerateScenario("leak_2pct", 7, /*seed=*/1, /*days=*/5);
//   absl::Status st = leakwatch::trendtest::WriteScenarioSet("/tmp/set", 100, 1, 5);

#ifndef LEAKWATCH_TESTS_TREND_SCENARIOS_H_
#define LEAKWATCH_TESTS_TREND_SCENARIOS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace leakwatch::trendtest {

struct Sample {
  int64_t t = 0;              // seconds since the epoch
  int64_t value = 0;          // the judged count
  int64_t process_start = 0;  // seconds since the epoch
};

struct Scenario {
  std::string family;
  int index = 0;
  std::vector<Sample> samples;
  std::optional<int64_t> leak_start;  // when the leak begins; none for healthy
};

// Every family, healthy first.
const std::vector<std::string>& Families();
bool IsLeakFamily(const std::string& family);

// One scenario; an unknown family is an InvalidArgumentError.
absl::StatusOr<Scenario> GenerateScenario(const std::string& family, int index, uint64_t seed,
                                          int days);

// A leak added to any family's series (the first-day fallback alert's evidence,
// tests/alerts/first_day_eval.py): tasks that never finish arrive as a Poisson
// stream at `rate` times the family's level per hour (an idle pool's size for
// idle_pool), from a start drawn uniformly in [start_lo_hours, start_hi_hours]
// after the series' first sample, and are lost at each restart. The leak draws
// from its own stream: before it starts the series is GenerateScenario's.
struct AddedLeak {
  double rate = 0;  // e.g. 0.2: 20 % of the level per hour
  double start_lo_hours = 0;
  double start_hi_hours = 0;
};
absl::StatusOr<Scenario> GenerateScenarioWithLeak(const std::string& family, int index,
                                                  uint64_t seed, int days, const AddedLeak& leak);

// Writes `per_family` scenarios of each family in `families` (all when empty) as
// DIR/<family>/<family>-NNN.csv (`t,value,process_start` with a header) and the
// labels as DIR/labels.csv (`file,family,leak_start`, leak_start `none` when
// healthy). With `leak`, every scenario carries that added leak. Creates DIR.
absl::Status WriteScenarioSet(const std::string& dir, int per_family, uint64_t seed, int days,
                              const std::vector<std::string>& families = {},
                              const AddedLeak* leak = nullptr);

}  // namespace leakwatch::trendtest

#endif  // LEAKWATCH_TESTS_TREND_SCENARIOS_H_
