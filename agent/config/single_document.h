// Loading exactly one YAML document with yaml-cpp 0.7, safely.
//
// yaml-cpp 0.7's LoadAll() loops forever, allocating, on a stream the parser
// cannot get past (a lone ",": jbeder/yaml-cpp#1040, fixed upstream by #1319
// in 0.8.1). LoadSingleDocument() first walks the stream's documents with an
// event handler that stops as soon as a document starts where the previous
// one did, then builds the node of the first document.
//
// Thread-safety: safe from any thread: each call has its own parser, and the nodes it returns
// share nothing with another call's.

#ifndef LEAKWATCH_CONFIG_SINGLE_DOCUMENT_H_
#define LEAKWATCH_CONFIG_SINGLE_DOCUMENT_H_

#include <yaml-cpp/yaml.h>

#include <string>

#include "absl/status/statusor.h"

namespace leakwatch::config {

// Returns the root of the only document in `text` (a null node for an empty
// stream), or an InvalidArgumentError at the position of a second non-empty
// document or of text the parser cannot get past. Syntax errors propagate as
// yaml-cpp exceptions (YAML::ParserException and kin) for the caller to catch.
absl::StatusOr<YAML::Node> LoadSingleDocument(const std::string& text);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_SINGLE_DOCUMENT_H_
