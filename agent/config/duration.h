// Durations in config files, written the way Go and Prometheus write them.
//
// A duration is one or more decimal numbers, each followed by a unit, with no
// spaces and no sign: "500ms", "15s", "2m", "1h30m", "1.5s", "7d". Units are
// ns, us (or µs), ms, s, m, h and d (24h). A bare number ("15") is rejected
// because its unit would be a guess.
//
// Thread-safety: pure functions, safe from any thread.

#ifndef LEAKWATCH_CONFIG_DURATION_H_
#define LEAKWATCH_CONFIG_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leakwatch::config {

// Returns the duration written in `text`, or an InvalidArgumentError whose
// message says what is wrong with the text (the caller adds the key and
// position), e.g. `"5x" is not a duration (use 500ms, 15s, 2m, 1h)`.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// Formats `d` so that ParseDuration reads it back: "1h30m", "1.5s", "100ms",
// "30d" (whole days are written in days).
std::string DurationText(absl::Duration d);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_DURATION_H_
