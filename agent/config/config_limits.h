// Limits on config values, shared by the parser and the validator. Each is
// documented next to its key in config/leakwatch.yaml.
//
// Thread-safety: compile-time constants only; nothing to guard.

#ifndef LEAKWATCH_CONFIG_CONFIG_LIMITS_H_
#define LEAKWATCH_CONFIG_CONFIG_LIMITS_H_

#include <cstddef>

#include "absl/time/time.h"

namespace leakwatch::config {

// A config is a page of YAML; anything much larger is not one.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

inline constexpr absl::Duration kMinSamplerInterval = absl::Milliseconds(100);
inline constexpr absl::Duration kMaxSamplerInterval = absl::Hours(1);
// Upper bound of tasks.* (the detector's keys have their ranges in
// agent/trend/params.cc).
inline constexpr absl::Duration kMaxWindow = absl::Hours(24 * 30);
inline constexpr int kMinMaxSites = 1;
inline constexpr int kMaxMaxSites = 10000;
inline constexpr int kMinStackDepth = 1;
inline constexpr int kMaxStackDepth = 64;
inline constexpr int kMaxHistogramBuckets = 30;
// sites.skip_modules and sites.skip_functions: patterns per list, bytes per pattern.
inline constexpr size_t kMaxGlobPatterns = 256;
inline constexpr size_t kMaxGlobPatternBytes = 512;

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_CONFIG_LIMITS_H_
