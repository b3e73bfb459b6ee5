// Pins every field of the documented presets to the values they had before
// the parameters were regrouped by scale (main d076728), so that a change of
// the parameters' shape cannot change a value unnoticed. Durations in seconds;
// the mid scale's span (mid_floors before) in floors.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/time/time.h"
#include "trend/detector.h"

namespace leakwatch::trend {
namespace {

using Values = std::map<std::string, double>;

Values ValuesOf(const Params& p) {
  return {
      {"floor_window", absl::ToDoubleSeconds(p.floor_window)},
      {"trend_window", absl::ToDoubleSeconds(p.trend_window)},
      {"min_floors", static_cast<double>(p.min_floors)},
      {"z_threshold", static_cast<double>(p.z_threshold)},
      {"min_growth", static_cast<double>(p.min_growth)},
      {"min_growth_ratio", static_cast<double>(p.min_growth_ratio)},
      {"guard_window", absl::ToDoubleSeconds(p.guard_window)},
      {"min_history", absl::ToDoubleSeconds(p.min_history)},
      {"guard_margin", static_cast<double>(p.guard.margin)},
      {"guard_drawdown", static_cast<double>(p.guard.drawdown)},
      {"spans", static_cast<double>(p.spans)},
      {"min_span_floors", static_cast<double>(p.min_span_floors)},
      {"post_shift_z", static_cast<double>(p.post_shift_z)},
      {"recent_z", static_cast<double>(p.recent_z)},
      {"min_post_floors", static_cast<double>(p.min_post_floors)},
      {"post_trim", static_cast<double>(p.post_trim)},
      {"max_lag_fraction", static_cast<double>(p.max_lag_fraction)},
      {"clear_z", static_cast<double>(p.clear_z)},
      {"guard_rank", static_cast<double>(p.guard_rank)},
      {"confirm_time", absl::ToDoubleSeconds(p.confirm_time)},
      {"fast_floor_window", absl::ToDoubleSeconds(p.fast_floor_window)},
      {"fast_span", absl::ToDoubleSeconds(p.fast.span)},
      {"mid_confirm", static_cast<double>(p.mid.confirm)},
      {"jump_window", absl::ToDoubleSeconds(p.shape.jump_window)},
      {"jump_bar_share", static_cast<double>(p.shape.jump_bar_share)},
      {"regime_shift", static_cast<double>(p.regime.step.shift)},
      {"noise_k", static_cast<double>(p.shape.noise_k)},
      {"regime_history", absl::ToDoubleSeconds(p.regime.history)},
      {"fast_z", static_cast<double>(p.fast.z)},
      {"fast_ratio", static_cast<double>(p.fast.growth_ratio)},
      {"mid_floors", absl::FDivDuration(p.mid.span, p.floor_window)},
      {"mid_z", static_cast<double>(p.mid.z)},
      {"mid_ratio", static_cast<double>(p.mid.growth_ratio)},
      {"jump_share", static_cast<double>(p.shape.jump_share)},
      {"half_share", static_cast<double>(p.shape.half_share)},
      {"post_growth_share", static_cast<double>(p.post_growth_share)},
      {"fast_confirm", static_cast<double>(p.fast.confirm)},
      {"fast_guard_margin", static_cast<double>(p.fast.guard.margin)},
      {"mid_guard_margin", static_cast<double>(p.mid.guard.margin)},
      {"fast_guard_drawdown", static_cast<double>(p.fast.guard.drawdown)},
      {"mid_guard_drawdown", static_cast<double>(p.mid.guard.drawdown)},
      {"floor_parts", static_cast<double>(p.floor_parts)},
      {"fast_floor_parts", static_cast<double>(p.fast_floor_parts)},
      {"regime_noise_k", static_cast<double>(p.regime.step.noise_k)},
      {"regime_min", static_cast<double>(p.regime.min_rise)},
      {"regime_floors", static_cast<double>(p.regime.step.floors)},
      {"regime_abrupt_shift", static_cast<double>(p.regime.abrupt.shift)},
      {"regime_abrupt_floors", static_cast<double>(p.regime.abrupt.floors)},
      {"regime_abrupt_noise_k", static_cast<double>(p.regime.abrupt.noise_k)},
      {"regime_guard_k", static_cast<double>(p.regime.guard_k)},
      {"regime_min_history", absl::ToDoubleSeconds(p.regime.min_history)},
  };
}

// `base` with the values of `changes` replacing its own.
Values With(Values base, const Values& changes) {
  for (const auto& [name, value] : changes) base.at(name) = value;
  return base;
}

const Values kProduction = {
    {"floor_window", 900.0},
    {"trend_window", 21600.0},
    {"min_floors", 12},
    {"z_threshold", 3.09},
    {"min_growth", 20},
    {"min_growth_ratio", 0.05},
    {"guard_window", 93600.0},
    {"min_history", 86400.0},
    {"guard_margin", 0.75},
    {"guard_drawdown", 0.25},
    {"spans", 3},
    {"min_span_floors", 12},
    {"post_shift_z", 0},
    {"recent_z", 1},
    {"min_post_floors", 4},
    {"post_trim", 0.34},
    {"max_lag_fraction", 0},
    {"clear_z", 1.64},
    {"guard_rank", 1},
    {"confirm_time", 1800.0},
    {"fast_floor_window", 450.0},
    {"fast_span", 8100.0},
    {"mid_confirm", 3},
    {"jump_window", 1800.0},
    {"jump_bar_share", 3},
    {"regime_shift", 0.2},
    {"noise_k", 4},
    {"regime_history", 43200.0},
    {"fast_z", 2},
    {"fast_ratio", 0.065},
    {"mid_floors", 16},
    {"mid_z", 2},
    {"mid_ratio", 0.06},
    {"jump_share", 0.8},
    {"half_share", 0.7},
    {"post_growth_share", 0.5},
    {"fast_confirm", 1},
    {"fast_guard_margin", 1},
    {"mid_guard_margin", 0.75},
    {"fast_guard_drawdown", 0.5},
    {"mid_guard_drawdown", 0.25},
    {"floor_parts", 1},
    {"fast_floor_parts", 1},
    {"regime_noise_k", 4},
    {"regime_min", 3},
    {"regime_floors", 4},
    {"regime_abrupt_shift", 0.12},
    {"regime_abrupt_floors", 2},
    {"regime_abrupt_noise_k", 5},
    {"regime_guard_k", 2},
    {"regime_min_history", 7200.0},
};

// The fast preset: the production values but these.
const Values kFast = With(kProduction, {{"floor_window", 10.0},
                                        {"trend_window", 180.0},
                                        {"min_floors", 6},
                                        {"z_threshold", 2.33},
                                        {"min_growth", 3},
                                        {"min_history", 0.0},
                                        {"confirm_time", 15.0},
                                        {"fast_floor_window", 5.0},
                                        {"fast_span", 67.5},
                                        {"jump_window", 20.0},
                                        {"regime_shift", 0},
                                        {"regime_history", 360.0},
                                        {"mid_floors", 12},
                                        {"floor_parts", 3},
                                        {"fast_floor_parts", 3},
                                        {"regime_floors", 3},
                                        {"regime_min_history", 60.0}});

TEST(PresetsTest, ProductionPresetKeepsEveryValue) {
  EXPECT_EQ(ValuesOf(ProductionPreset()), kProduction);
  EXPECT_EQ(kProduction.size(), 51u);
}

TEST(PresetsTest, FastPresetKeepsEveryValue) {
  EXPECT_EQ(ValuesOf(FastPreset()), kFast);
  EXPECT_EQ(kFast.size(), 51u);
}

}  // namespace
}  // namespace leakwatch::trend
