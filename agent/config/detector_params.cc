#include "detector_params.h"

namespace leakwatch {

// The keys' defaults are the detector's (see config/detector_params.h).
Config::Detector::Detector() {
  const trend::Params defaults;
  floor_window = defaults.floor_window;
  trend_window = defaults.trend_window;
  min_floors = defaults.min_floors;
  z_threshold = defaults.z_threshold;
  min_growth = defaults.min_growth;
  min_growth_ratio = defaults.min_growth_ratio;
}

namespace config {

trend::Params ParamsFromConfig(const Config::Detector& detector) {
  trend::Params keys;
  keys.floor_window = detector.floor_window;
  keys.trend_window = detector.trend_window;
  keys.min_floors = detector.min_floors;
  keys.z_threshold = detector.z_threshold;
  keys.min_growth = detector.min_growth;
  keys.min_growth_ratio = detector.min_growth_ratio;
  return trend::ParamsForWindows(keys);
}

absl::StatusOr<trend::Params> LoadDetectorParams(const std::string& path) {
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) return config.status();
  return ParamsFromConfig(config->detector);
}

}  // namespace config
}  // namespace leakwatch
