// trend_oracle_bound — how early any detector could find a linear leak on the
// scenario suite's flat noise without a false alarm, as a yardstick for the
// detection-latency goals of issue 4.
//
// The oracle knows what no real detector does: that the series is flat before
// the leak, and the generator's exact noise model (Poisson counts around a level
// that wanders by 2 % with a one-hour correlation, tests/trend/scenarios.cc).
// Each minute it matches the raw samples of the last `ramp` minutes against a
// ramp (the shape a leak adds) above the mean of a reference [t - 26 h, t - 6 h],
// and divides by that statistic's exact standard deviation under the model. Its
// threshold is the highest value reached on any healthy flat series of the
// seeds (levels of 180 and more, like the leak families'): zero false alarms by
// construction, on nothing but flat series. Then it reports when the statistic
// first crosses that threshold on the leak series.
//
//   trend_oracle_bound [--seeds 2-9] [--per-family 100] [--ramp 180]
//
// A real detector must also stay silent on daily cycles, bursts, sawtooth,
// steps and restarts, which the oracle never sees, so it cannot be faster.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "oracle_args.h"
#include "scenarios.h"

namespace {

namespace oracleargs = ::leakwatch::oracleargs;
using leakwatch::trendtest::GenerateScenario;
using leakwatch::trendtest::Scenario;

constexpr double kWander = 0.02;             // the generator's wander, relative sd
constexpr double kWanderMinutes = 60;        // its correlation time
constexpr size_t kReferenceStart = 26 * 60;  // minutes before now
constexpr size_t kReferenceEnd = 6 * 60;

struct Filter {
  std::vector<double> weights;  // for samples now - ramp + 1 .. now
  double wander_var = 0;        // variance per (kWander x level)^2
  double poisson_var = 0;       // variance per unit of level
};

Filter RampFilter(int ramp) {
  Filter f;
  const double rho = std::exp(-1 / kWanderMinutes);
  for (int i = 0; i < ramp; ++i) f.weights.push_back((i + 1.0) / ramp);
  for (int i = 0; i < ramp; ++i) {
    f.poisson_var += f.weights[i] * f.weights[i];
    for (int j = 0; j < ramp; ++j) {
      f.wander_var += f.weights[i] * f.weights[j] * std::pow(rho, std::abs(i - j));
    }
  }
  return f;
}

// The oracle's statistic at every minute (NaN before a full reference).
std::vector<double> Statistic(const Scenario& s, const Filter& f) {
  const size_t n = s.samples.size(), ramp = f.weights.size();
  std::vector<double> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + static_cast<double>(s.samples[i].value);
  std::vector<double> z(n, std::nan(""));
  for (size_t t = kReferenceStart; t < n; ++t) {
    const size_t r0 = t - kReferenceStart, r1 = t - kReferenceEnd;
    const double level = (prefix[r1] - prefix[r0]) / static_cast<double>(r1 - r0);
    double acc = 0;
    for (size_t i = 0; i < ramp; ++i) {
      acc += f.weights[i] * (static_cast<double>(s.samples[t + 1 - ramp + i].value) - level);
    }
    const double sd =
        std::sqrt(f.wander_var * kWander * kWander * level * level + f.poisson_var * level);
    z[t] = sd > 0 ? acc / sd : 0;
  }
  return z;
}

}  // namespace

int main(int argc, char** argv) {
  int first_seed = 2, last_seed = 9, per_family = 100, ramp = 180;
  if (!oracleargs::ParseArgs(argc, argv, "trend_oracle_bound",
                             "trend_oracle_bound [--seeds A-B] [--per-family N] [--ramp MINUTES]",
                             first_seed, last_seed,
                             {{"--per-family", &per_family, 1, 1 << 30, "a positive integer"},
                              {"--ramp", &ramp, 10, 600, "minutes between 10 and 600"}})) {
    return 2;
  }
  const Filter filter = RampFilter(ramp);
  double threshold = 0;
  int healthy = 0;
  for (int seed = first_seed; seed <= last_seed; ++seed) {
    for (int i = 0; i < per_family; ++i) {
      const Scenario s = *GenerateScenario("flat", i, static_cast<uint64_t>(seed), 5);
      double level = 0;
      for (size_t k = 0; k < 600; ++k) level += static_cast<double>(s.samples[k].value) / 600;
      if (level < 180) continue;
      ++healthy;
      for (double z : Statistic(s, filter)) {
        if (!std::isnan(z)) threshold = std::max(threshold, z);
      }
    }
  }
  std::printf("oracle: %d-minute ramp filter, exact noise model, seeds %d-%d\n", ramp, first_seed,
              last_seed);
  std::printf("zero-false-alarm threshold over %d healthy flat series: %.2f sd\n", healthy,
              threshold);
  for (const char* family : {"leak_2pct", "leak_10pct"}) {
    std::vector<double> latency;
    int found = 0, total = 0;
    for (int seed = first_seed; seed <= last_seed; ++seed) {
      for (int i = 0; i < per_family; ++i) {
        const Scenario s = *GenerateScenario(family, i, static_cast<uint64_t>(seed), 5);
        const std::vector<double> z = Statistic(s, filter);
        ++total;
        for (size_t t = 0; t < z.size(); ++t) {
          if (s.samples[t].t >= *s.leak_start && !std::isnan(z[t]) && z[t] >= threshold) {
            latency.push_back(static_cast<double>(s.samples[t].t - *s.leak_start) / 3600);
            ++found;
            break;
          }
        }
      }
    }
    std::printf("%-10s recall %.2f, median latency %.2f h\n", family,
                static_cast<double>(found) / total, oracleargs::Median(latency));
  }
  return 0;
}
