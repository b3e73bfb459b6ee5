// The detector keys and the detector's parameters are one definition: the
// keys' defaults and ranges come from trend/params.h, the shipped configs map
// onto the documented presets.

#include "config/detector_params.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"
#include "trend/params.h"

namespace leakwatch::config {
namespace {

TEST(DetectorParamsTest, TheKeysDefaultsAreTheProductionPreset) {
  const Config::Detector defaults;
  const trend::Params production = trend::ProductionPreset();
  EXPECT_EQ(defaults.floor_window, production.floor_window);
  EXPECT_EQ(defaults.trend_window, production.trend_window);
  EXPECT_EQ(defaults.min_floors, production.min_floors);
  EXPECT_EQ(defaults.z_threshold, production.z_threshold);
  EXPECT_EQ(defaults.min_growth, production.min_growth);
  EXPECT_EQ(defaults.min_growth_ratio, production.min_growth_ratio);
  EXPECT_EQ(trend::FormatParams(ParamsFromConfig(defaults)), trend::FormatParams(production));
}

TEST(DetectorParamsTest, TheShippedConfigsAreTheTwoPresets) {
  absl::StatusOr<Config> production = LoadConfigFile(LEAKWATCH_SOURCE_DIR "/config/leakwatch.yaml");
  absl::StatusOr<Config> demo = LoadConfigFile(LEAKWATCH_SOURCE_DIR "/config/demo.yaml");
  ASSERT_TRUE(production.ok()) << production.status();
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(trend::FormatParams(ParamsFromConfig(production->detector)),
            trend::FormatParams(trend::ProductionPreset()));
  EXPECT_EQ(trend::FormatParams(ParamsFromConfig(demo->detector)),
            trend::FormatParams(trend::FastPreset()));
}

// leakwatch-judge --config: a config file's detector, errors as LoadConfigFile's.
TEST(DetectorParamsTest, LoadDetectorParamsReadsTheShippedConfigsAndNamesBadKeys) {
  absl::StatusOr<trend::Params> production =
      LoadDetectorParams(LEAKWATCH_SOURCE_DIR "/config/leakwatch.yaml");
  absl::StatusOr<trend::Params> demo = LoadDetectorParams(LEAKWATCH_SOURCE_DIR "/config/demo.yaml");
  ASSERT_TRUE(production.ok()) << production.status();
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(trend::FormatParams(*production), trend::FormatParams(trend::ProductionPreset()));
  EXPECT_EQ(trend::FormatParams(*demo), trend::FormatParams(trend::FastPreset()));

  const std::string path = ::testing::TempDir() + "/detector_params_test.yaml";
  { std::ofstream(path) << "sampler:\n  interval: 1s\ndetector:\n  trend_window: 1x\n"; }
  absl::StatusOr<trend::Params> bad = LoadDetectorParams(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("detector.trend_window: line 4, column 17"),
            std::string::npos)
      << bad.status();
  std::remove(path.c_str());
  absl::StatusOr<trend::Params> missing = LoadDetectorParams(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
}

TEST(DetectorParamsTest, MinuteScaleConfigNeedsNoDayOfHistory) {
  Config::Detector demo;
  demo.floor_window = absl::Seconds(10);
  demo.trend_window = absl::Minutes(3);
  demo.min_floors = 6;
  const trend::Params p = ParamsFromConfig(demo);
  EXPECT_EQ(p.min_floors, 6);
  EXPECT_EQ(p.min_history, absl::ZeroDuration());
  EXPECT_EQ(p.confirm_time, absl::Seconds(15));
  EXPECT_EQ(p.floor_parts, 3);
  EXPECT_EQ(ParamsFromConfig(Config::Detector()).min_history, absl::Hours(24));
}

// Each key's range is the detector's: a value just outside it is an error
// naming the key.
TEST(DetectorParamsTest, EveryKeyIsCheckedAgainstTheDetectorsRange) {
  int keys = 0;
  for (const trend::ParamField& field : trend::ParamFields()) {
    if (!field.config_key) continue;
    ++keys;
    Config config;
    trend::Params params = ParamsFromConfig(config.detector);
    const bool is_int = std::holds_alternative<trend::ParamField::Int>(field.field);
    const double below = field.min_excluded ? field.min : field.min - (is_int ? 1 : 0.5);
    const std::string text = std::holds_alternative<trend::ParamField::Duration>(field.field)
                                 ? absl::StrCat(below, "s")
                                 : absl::StrCat(below);
    ASSERT_TRUE(trend::SetParam(params, absl::StrCat(field.name, "=", text)).ok());
    config.detector.floor_window = params.floor_window;
    config.detector.trend_window = params.trend_window;
    config.detector.min_floors = params.min_floors;
    config.detector.z_threshold = params.z_threshold;
    config.detector.min_growth = params.min_growth;
    config.detector.min_growth_ratio = params.min_growth_ratio;
    const absl::Status status = ValidateConfig(config);
    EXPECT_EQ(status.message().substr(0, field.name.size() + 10),
              absl::StrCat("detector.", field.name, ":"))
        << field.name << " " << text << ": " << status;
  }
  EXPECT_EQ(keys, 6);
}

}  // namespace
}  // namespace leakwatch::config
