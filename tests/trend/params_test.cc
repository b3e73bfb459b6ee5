// The parameter table (trend/params.h): every field is set, printed and range
// checked through it, and every out-of-range value is rejected by name.

#include "trend/params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leakwatch::trend {
namespace {

bool IsDuration(const ParamField& f) {
  return std::holds_alternative<ParamField::Duration>(f.field);
}
bool IsInt(const ParamField& f) { return std::holds_alternative<ParamField::Int>(f.field); }

// `value` written for SetParam in the field's unit (durations in seconds).
std::string Text(const ParamField& f, double value) {
  if (IsDuration(f)) return absl::FormatDuration(absl::Seconds(value));
  if (IsInt(f)) return absl::StrCat(static_cast<int64_t>(value));
  return absl::StrCat(value);
}

// Every value just outside the field's range, and the values no range holds.
std::vector<std::string> OutOfRange(const ParamField& f) {
  std::vector<std::string> values;
  const double step = IsInt(f) ? 1 : 0.001;
  values.push_back(Text(f, f.min_excluded ? f.min : f.min - step));
  if (std::isfinite(f.max)) {
    values.push_back(Text(f, f.max_excluded ? f.max : f.max + step));
  }
  if (IsDuration(f)) values.push_back("inf");
  if (!IsDuration(f) && !IsInt(f)) {
    for (const char* v : {"nan", "inf", "-inf"}) values.push_back(v);
  }
  return values;
}

TEST(ParamsTest, EveryFieldIsListedOnceAndThePresetsAreValid) {
  std::set<absl::string_view> names;
  for (const ParamField& f : ParamFields()) EXPECT_TRUE(names.insert(f.name).second) << f.name;
  EXPECT_EQ(names.size(), 51u);
  EXPECT_TRUE(ValidateParams(ProductionPreset()).ok()) << ValidateParams(ProductionPreset());
  EXPECT_TRUE(ValidateParams(FastPreset()).ok()) << ValidateParams(FastPreset());
}

TEST(ParamsTest, EveryFieldIsSetAndPrintedByItsName) {
  for (const ParamField& f : ParamFields()) {
    Params p = ProductionPreset();
    // A value inside every range: the minimum, or just above an excluded one.
    const double value = f.min_excluded ? f.min + (IsInt(f) ? 1 : 0.5) : f.min;
    ASSERT_TRUE(SetParam(p, absl::StrCat(f.name, "=", Text(f, value))).ok()) << f.name;
    EXPECT_EQ(ParamValue(f, p), value) << f.name;
    const std::string printed =
        IsDuration(f) ? absl::FormatDuration(absl::Seconds(value)) : absl::StrCat(value);
    EXPECT_NE(FormatParams(p).find(absl::StrCat(f.name, "=", printed, "\n")), std::string::npos)
        << f.name;
  }
}

TEST(ParamsTest, EveryOutOfRangeValueIsRejectedByName) {
  int checked = 0;
  for (const ParamField& f : ParamFields()) {
    for (const std::string& value : OutOfRange(f)) {
      Params bad = ProductionPreset();
      const std::string assignment = absl::StrCat(f.name, "=", value);
      ASSERT_TRUE(SetParam(bad, assignment).ok()) << assignment;
      const absl::Status status = ValidateParams(bad);
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << assignment;
      EXPECT_EQ(status.message().substr(0, f.name.size() + 1), absl::StrCat(f.name, ":"))
          << assignment << " gave " << status;
      ++checked;
    }
  }
  EXPECT_GT(checked, 51 * 2);
}

TEST(ParamsTest, FieldsOnceUncheckedNowHaveRanges) {
  // Before the table, these passed validation; NaN turned the z test off.
  for (const char* assignment :
       {"fast_z=nan", "fast_z=0", "mid_z=-1", "post_shift_z=-1", "recent_z=nan", "clear_z=-inf",
        "regime_shift=-0.1", "regime_history=-1s", "fast_ratio=nan", "noise_k=-1", "mid_ratio=inf",
        "jump_bar_share=-1", "min_growth=nan", "regime_min_history=inf"}) {
    Params bad = ProductionPreset();
    ASSERT_TRUE(SetParam(bad, assignment).ok()) << assignment;
    EXPECT_FALSE(ValidateParams(bad).ok()) << assignment;
  }
  Params p = ProductionPreset();
  ASSERT_TRUE(SetParam(p, "fast_z=nan").ok());
  EXPECT_EQ(ValidateParams(p).message(), "fast_z: must be a finite number above 0, got nan");
}

TEST(ParamsTest, ValidateNamesTheRelationABreachBreaks) {
  Params p = ProductionPreset();
  p.fast_floor_window = absl::Minutes(30);
  EXPECT_NE(ValidateParams(p).message().find("fast_floor_window"), absl::string_view::npos);
  p = ProductionPreset();
  p.floor_window = absl::Hours(6);
  EXPECT_EQ(ValidateParams(p).message(),
            "trend_window: must be at least twice floor_window (2 x 6h), got 6h");
  p = ProductionPreset();
  p.mid.span = absl::Hours(7);
  EXPECT_EQ(ValidateParams(p).message(), "mid_span: must be at most trend_window");
  p = ProductionPreset();
  p.regime.step.floors = 25;
  EXPECT_NE(ValidateParams(p).message().find("regime_floors: must be at most trend_window"),
            absl::string_view::npos);
}

TEST(ParamsTest, SetParamParsesDurationsAndNumbersAndNamesBadInput) {
  Params p = ProductionPreset();
  ASSERT_TRUE(SetParam(p, "trend_window=4h").ok());
  ASSERT_TRUE(SetParam(p, "min_growth=7.5").ok());
  ASSERT_TRUE(SetParam(p, "regime_abrupt_noise_k=6").ok());
  EXPECT_EQ(p.trend_window, absl::Hours(4));
  EXPECT_EQ(p.min_growth, 7.5);
  EXPECT_EQ(p.regime.abrupt.noise_k, 6);
  EXPECT_EQ(SetParam(p, "trend_window=4x").message(),
            "trend_window: \"4x\" is not a duration (use 10s, 15m, 6h)");
  EXPECT_EQ(SetParam(p, "spans=two").message(), "spans: \"two\" is not an integer");
  EXPECT_EQ(SetParam(p, "bogus=1").message(), "unknown detector parameter \"bogus\"");
  EXPECT_FALSE(SetParam(p, "min_floors").ok());
}

TEST(ParamsTest, MinuteScaleWindowsNeedNoDayOfHistory) {
  Params keys;
  keys.floor_window = absl::Seconds(10);
  keys.trend_window = absl::Minutes(3);
  keys.min_floors = 6;
  const Params p = ParamsForWindows(keys);
  EXPECT_EQ(p.floor_window, absl::Seconds(10));
  EXPECT_EQ(p.min_floors, 6);
  EXPECT_EQ(p.min_history, absl::ZeroDuration());
  EXPECT_EQ(p.confirm_time, absl::Seconds(15));
  // Without a day of history to absorb bursts, minute-scale floors stay the
  // lowest of three slice means; hour-scale floors are window means.
  EXPECT_EQ(p.floor_parts, 3);
  EXPECT_EQ(p.fast_floor_parts, 3);
  EXPECT_EQ(ParamsForWindows(Params()).floor_parts, 1);
  EXPECT_EQ(ParamsForWindows(Params()).fast_floor_parts, 1);
}

TEST(ParamsTest, TheProductionPresetIsItsOwnWindowsDerived) {
  EXPECT_EQ(FormatParams(ParamsForWindows(ProductionPreset())), FormatParams(ProductionPreset()));
}

TEST(ParamsTest, TheStepRuleSpansAnHourForAnyFloorWindow) {
  Params keys;
  keys.floor_window = absl::Minutes(5);
  keys.trend_window = absl::Hours(6);
  const Params p = ParamsForWindows(keys);
  EXPECT_EQ(p.regime.step.floors, 12);
  EXPECT_EQ(p.regime.abrupt.floors, 6);
  EXPECT_EQ(p.mid.span, absl::Hours(4));
}

}  // namespace
}  // namespace leakwatch::trend
