// Range and cross-field rules of a Config.
//
// agent/config owns the agent's configuration: parsing YAML into the public
// leakwatch/config.h Config (parse_config.cc), its validation with key paths and
// line:column, durations and listen addresses, and the mapping of the detector.*
// keys onto trend::Params (config/detector_params.h). It may include the
// standard library, abseil, yaml-cpp, the public leakwatch/ headers, trend/ and
// config/; nothing above it (export, rpc, judge, tools).
//
// FindConfigIssue() holds every rule in one place. ValidateConfig() (for
// configs built in code) reports the issue by key; ParseConfig() adds the
// line:column where the document wrote the key.
//
// Thread-safety: FindConfigIssue is a pure function, safe from any thread.

#ifndef LEAKWATCH_CONFIG_VALIDATION_H_
#define LEAKWATCH_CONFIG_VALIDATION_H_

#include <optional>
#include <string>

#include "config_limits.h"
#include "leakwatch/config.h"

namespace leakwatch::config {

// One broken rule.
struct ConfigIssue {
  std::string key;          // the key at fault, e.g. "detector.trend_window"
  std::string related_key;  // the key it conflicts with, or empty
  std::string message;      // what is wrong, without the key
};

// Returns the first broken rule in key order, or nullopt if the config is valid.
std::optional<ConfigIssue> FindConfigIssue(const Config& config);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_VALIDATION_H_
