// Every tool's command line as a user meets it: --help exits 0 with a text
// generated from the flags; bad usage (an unknown flag, a bad value, a missing
// value, a missing required flag) exits 2 with "<tool>: <message>" on stderr.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace {

struct ToolRun {
  int exit_code = -1;
  std::string out, err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `tool args` with no input; the arguments need no quoting.
ToolRun RunTool(const std::string& tool, const std::string& args) {
  const std::string base =
      (std::filesystem::temp_directory_path() / absl::StrCat("tool_usage_test_", getpid()))
          .string();
  const std::string command =
      absl::StrCat(tool, " ", args, " </dev/null >", base, ".out 2>", base, ".err");
  ToolRun r;
  const int status = std::system(command.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(base + ".out");
  r.err = ReadFile(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

// `args` is bad usage: exit 2, nothing on stdout, and exactly one line
// "<name>: <message> (see --help)" on stderr.
void ExpectUsageError(const std::string& tool, const std::string& name, const std::string& args,
                      const std::string& message) {
  const ToolRun r = RunTool(tool, args);
  EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
  EXPECT_EQ(r.out, "") << args;
  EXPECT_EQ(r.err, absl::StrCat(name, ": ", message, " (see --help)\n")) << args;
}

void ExpectHelp(const std::string& tool, const std::string& flag) {
  const ToolRun r = RunTool(tool, "--help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("usage: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nFlags:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(absl::StrCat("\n  ", flag)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  --help "), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

#ifdef LEAKWATCH_TREND
TEST(ToolUsageTest, LeakwatchTrend) {
  const std::string tool = LEAKWATCH_TREND, name = "leakwatch-trend";
  ExpectHelp(tool, "--set NAME=VALUE");
  ExpectUsageError(tool, name, "--bogus", "unknown flag --bogus");
  ExpectUsageError(tool, name, "--print-params=maybe",
                   "--print-params: \"maybe\" is not true or false");
  ExpectUsageError(tool, name, "--preset slow",
                   "--preset: \"slow\" is neither production nor fast");
  ExpectUsageError(tool, name, "--eval", "--eval needs a value");
  ExpectUsageError(tool, name, "--set fast_z", "--set: \"fast_z\" is not name=value");
  ExpectUsageError(tool, name, "a.csv b.csv", "unexpected argument \"b.csv\" (at most 1 expected)");
  // A value that parses but is out of range names the parameter.
  const ToolRun r = RunTool(tool, "--set fast_z=nan --print-params");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "leakwatch-trend: detector parameters: fast_z: must be a finite number above 0, got "
            "nan\n");
}
#endif

#ifdef LEAKWATCH_CONSOLE
TEST(ToolUsageTest, LeakwatchConsole) {
  const std::string tool = LEAKWATCH_CONSOLE, name = "leakwatch-console";
  ExpectHelp(tool, "--target HOST:PORT");
  ExpectUsageError(tool, name, "--bogus", "unknown flag --bogus");
  ExpectUsageError(tool, name, "--target 127.0.0.1:1 --top many",
                   "--top: \"many\" is not an integer");
  ExpectUsageError(tool, name, "--target 127.0.0.1:1 --interval soon",
                   "--interval: \"soon\" is not a duration such as 500ms, 2s or 1m");
  ExpectUsageError(tool, name, "--target", "--target needs a value");
  ExpectUsageError(tool, name, "--once", "--target HOST:PORT is required");
  ExpectUsageError(tool, name, "--target 127.0.0.1:1 --dump 3", "--dump needs 1 or 2");
  ExpectUsageError(tool, name, "--target 127.0.0.1:1 --width 10", "--width needs a number >= 40");
  ExpectUsageError(tool, name, "--target 127.0.0.1:1 extra", "unexpected argument \"extra\"");
}
#endif

#ifdef LEAKWATCH_DEMO
TEST(ToolUsageTest, LeakwatchDemo) {
  const std::string tool = LEAKWATCH_DEMO, name = "leakwatch-demo";
  ExpectHelp(tool, "--metrics_listen HOST:PORT");
  ExpectUsageError(tool, name, "--bogus", "unknown flag --bogus");
  ExpectUsageError(tool, name, "--load fast", "--load: \"fast\" is not a number");
  ExpectUsageError(tool, name, "--config", "--config needs a value");
  ExpectUsageError(tool, name, "--listen nowhere", "--listen must be host:port, got \"nowhere\"");
  ExpectUsageError(tool, name, "stray", "unexpected argument \"stray\"");
}
#endif

}  // namespace
