// tools/common/flags.h — command-line flags for leakwatch's tools, on absl
// flags, with one help format, one error shape and one set of exit codes.
//
// agent/tools holds the programs: leakwatch-trend (tools/trend), leakwatch-console
// (tools/console), leakwatch-demo (tools/demo), each over the layers it needs,
// and tools/common, this flags library, which they and leakwatch-judge's main
// share. A tool may include any layer; no layer includes a tool.
//
// A tool defines its flags with ABSL_FLAG in its main file and hands argv to
// ParseFlagsOrExit with a Usage. Only the flags defined in that file are
// accepted; `--help` (or `-h`) prints a text generated from them and exits 0;
// bad usage (an unknown flag, a bad value, a missing value, a surplus
// argument) prints "<tool>: <message> (see --help)" on stderr and exits 2.
//
//   ABSL_FLAG(std::string, target, "", "HOST:PORT of the process (required)");
//   int main(int argc, char** argv) {
//     const std::vector<std::string> args = leakwatch::tools::ParseFlagsOrExit(
//         argc, argv, {.tool = "leakwatch-console", .synopsis = "...",
//                      .flags_file = "tools/console/main.cc"});
//     if (absl::GetFlag(FLAGS_target).empty())
//       leakwatch::tools::ExitUsageError(usage, "--target HOST:PORT is required");
//
// Syntax: `--name=value` or `--name value`; a boolean flag is `--name`,
// `--name=true|false` or `--noname`; `-` and `_` are the same in names, and
// one leading dash does as well as two. A flag of type RepeatedFlag collects
// every occurrence, each one value taken whole (`--header='Accept: a, b'
// --header='X-Scope-OrgID: t'`); one of type std::vector<std::string> is a
// comma-separated list, and each occurrence adds its items (`--set a=1,b=2
// --set c=3`). `--` ends the flags; `-` alone is an argument (standard input).
//
// Thread-safety: parse once, from main, before other threads start.

#ifndef LEAKWATCH_TOOLS_COMMON_FLAGS_H_
#define LEAKWATCH_TOOLS_COMMON_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leakwatch::tools {

// The value of a flag that may be given many times: every occurrence, in
// order, never split (a header value may hold commas).
//   ABSL_FLAG(leakwatch::tools::RepeatedFlag, header, {}, "... (repeatable)");
//   for (const std::string& h : absl::GetFlag(FLAGS_header).values) ...
struct RepeatedFlag {
  std::vector<std::string> values;
};
// absl's text form of the list: each value followed by a NUL byte, which no
// command-line argument can hold (a text without a final NUL is one more
// value, so a single value parses as itself).
bool AbslParseFlag(absl::string_view text, RepeatedFlag* flag, std::string* error);
std::string AbslUnparseFlag(const RepeatedFlag& flag);

// Exit codes shared by every tool.
inline constexpr int kExitFailure = 1;  // the work failed (unreachable target, I/O)
inline constexpr int kExitUsage = 2;    // bad flags, arguments or input

struct Usage {
  // The program's name: the prefix of every message ("leakwatch-trend").
  absl::string_view tool;
  // The lines after "usage: " (each a way to call the tool).
  absl::string_view synopsis;
  // What the tool does, printed before the flags.
  absl::string_view description;
  // The tool's flags are those defined in a file whose path ends with this
  // ("tools/trend/main.cc").
  absl::string_view flags_file;
  // Printed after the flags (the arguments, exit statuses).
  absl::string_view footer;
  // How many arguments that are not flags the tool takes.
  int max_args = 0;
  // Names are shown as `--print-params` rather than `--print_params`.
  bool hyphenated = true;
};

struct ParsedArgs {
  bool help = false;
  std::vector<std::string> args;  // the arguments that are not flags
};

// Sets the tool's flags from argv[1..argc). On bad usage, an
// InvalidArgumentError whose message says what is wrong.
absl::StatusOr<ParsedArgs> ParseFlags(int argc, char** argv, const Usage& usage);

// The help text, generated from the tool's flags.
std::string UsageText(const Usage& usage);

// ParseFlags, then: --help prints UsageText and exits 0; an error exits 2 as
// ExitUsageError. Returns the arguments that are not flags.
std::vector<std::string> ParseFlagsOrExit(int argc, char** argv, const Usage& usage);

// Prints "<tool>: <message>" on stderr and returns `code`, for main to return.
int Fail(const Usage& usage, int code, absl::string_view message);

// Prints "<tool>: <message> (see --help)" on stderr and exits 2.
[[noreturn]] void ExitUsageError(const Usage& usage, absl::string_view message);

}  // namespace leakwatch::tools

#endif  // LEAKWATCH_TOOLS_COMMON_FLAGS_H_
