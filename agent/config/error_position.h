// Error messages that point into a YAML document: "key: line L, column C: what".
//
// Thread-safety: pure functions, safe from any thread.

#ifndef LEAKWATCH_CONFIG_ERROR_POSITION_H_
#define LEAKWATCH_CONFIG_ERROR_POSITION_H_

#include <yaml-cpp/mark.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace leakwatch::config {

// Where a key or value sits in the document, 1-based; line 0 = unknown.
struct Position {
  int line = 0;
  int column = 0;
};

// yaml-cpp's 0-based mark as a Position (unknown for yaml-cpp's null mark).
Position PositionOf(const YAML::Mark& mark);

// InvalidArgumentError "key: line L, column C: message", leaving out the key
// when empty and the position when unknown.
absl::Status ErrorAt(absl::string_view key, Position position, absl::string_view message);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_ERROR_POSITION_H_
