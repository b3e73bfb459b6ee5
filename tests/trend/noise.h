// tests/trend/noise.h — the seeded random draws behind the scenario suites
// (tests/trend/scenarios.cc, tests/judge/fleet_scenarios.cc).
//
// splitmix64 and the uniform, log-uniform, normal and Poisson draws computed
// from it, and a mean-reverting wander, here (not <random>'s distributions, whose algorithms differ
// between standard libraries), so every platform writes the same scenario sets.
//
//   leakwatch::testnoise::Rng rng(leakwatch::testnoise::Hash("flat", seed));
//   int64_t tasks = rng.Poisson(200);

#ifndef LEAKWATCH_TESTS_TREND_NOISE_H_
#define LEAKWATCH_TESTS_TREND_NOISE_H_

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

namespace leakwatch::testnoise {

// splitmix64 with its draws.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  double LogUniform(double lo, double hi) { return std::exp(Uniform(std::log(lo), std::log(hi))); }
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
  int64_t Poisson(double mean) {
    if (!(mean > 0)) return 0;
    if (mean < 30) {  // Knuth
      const double limit = std::exp(-mean);
      int64_t k = 0;
      double p = Uniform();
      while (p > limit) {
        ++k;
        p *= Uniform();
      }
      return k;
    }
    const double x = std::round(mean + std::sqrt(mean) * Normal());
    return x < 0 ? 0 : static_cast<int64_t>(x);
  }

 private:
  uint64_t state_;
};

// Mean-reverting noise (an AR(1) process) sampled every `step_seconds` with a
// given correlation time, stationary N(0, 1). It draws from the Rng it is
// given: one Normal() when made and one per Next().
class Wander {
 public:
  Wander() = default;
  Wander(Rng& rng, double correlation_seconds, double step_seconds)
      : rho_(std::exp(-step_seconds / correlation_seconds)), x_(rng.Normal()) {}
  double Next(Rng& rng) {
    x_ = rho_ * x_ + std::sqrt(1 - rho_ * rho_) * rng.Normal();
    return x_;
  }

 private:
  double rho_ = 0;
  double x_ = 0;
};

inline uint64_t Hash(const std::string& text, uint64_t h) {
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace leakwatch::testnoise

#endif  // LEAKWATCH_TESTS_TREND_NOISE_H_
