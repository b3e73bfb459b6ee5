// Quoting of user-written text inside error messages.
//
// Config values can be anything, including megabytes of binary; a message
// shows at most the first few dozen bytes, C-escaped, in double quotes.
//
// Thread-safety: a pure function, safe from any thread.

#ifndef LEAKWATCH_CONFIG_QUOTE_H_
#define LEAKWATCH_CONFIG_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leakwatch::config {

// Returns `text` in double quotes, C-escaped, cut after 64 bytes ("...").
std::string Quote(absl::string_view text);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_QUOTE_H_
