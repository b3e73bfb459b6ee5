// config/detector_params.h — the `detector.*` configuration keys and the
// detector's parameters (trend/params.h): one definition, two spellings.
//
// The keys' defaults and ranges are the detector's own: Config::Detector's
// constructor takes the defaults from trend::Params, and ValidateConfig checks
// the keys with trend::FindParamProblem (its ranges and the relations among
// the keys). This file is the only place that maps one onto the other; it sits
// in the config layer because trend depends on abseil alone.

#ifndef LEAKWATCH_CONFIG_DETECTOR_PARAMS_H_
#define LEAKWATCH_CONFIG_DETECTOR_PARAMS_H_

#include <optional>

#include "leakwatch/config.h"
#include "trend/params.h"

namespace leakwatch::config {

// The detector keys of a Config, with the derived fields chosen to match
// (trend::ParamsForWindows): a trend window of an hour or more is judged
// against a daily cycle, shorter windows (demos) against everything seen since
// the process started. ParamsFromConfig(Config::Detector()) is
// trend::ProductionPreset().
trend::Params ParamsFromConfig(const Config::Detector& detector);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_DETECTOR_PARAMS_H_
