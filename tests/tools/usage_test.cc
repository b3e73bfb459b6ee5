// Every tool's command line as a user meets it: --help exits 0 with a text
// generated from the flags; bad usage (an unknown flag, a bad value, a missing
// value, a missing required flag) exits 2 with "<tool>: <message>" on stderr;
// leakwatch-judge included.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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

// One tool's command line: its help shows `help_flag`; each of `errors` is
// {arguments, the message they must give}.
struct ToolUsage {
  std::string name, path, help_flag;
  std::vector<std::pair<std::string, std::string>> errors;
};

// The tools this build has.
std::vector<ToolUsage> BuiltTools() {
  std::vector<ToolUsage> tools;
#ifdef LEAKWATCH_TREND
  tools.push_back({"leakwatch-trend",
                   LEAKWATCH_TREND,
                   "--set NAME=VALUE",
                   {{"--bogus", "unknown flag --bogus"},
                    {"--print-params=maybe", "--print-params: \"maybe\" is not true or false"},
                    {"--preset slow", "--preset: \"slow\" is neither production nor fast"},
                    {"--eval", "--eval needs a value"},
                    {"--set fast_z", "--set: \"fast_z\" is not name=value"},
                    {"a.csv b.csv", "unexpected argument \"b.csv\" (at most 1 expected)"}}});
#endif
#ifdef LEAKWATCH_CONSOLE
  tools.push_back({"leakwatch-console",
                   LEAKWATCH_CONSOLE,
                   "--target HOST:PORT",
                   {{"--bogus", "unknown flag --bogus"},
                    {"--target 127.0.0.1:1 --top many", "--top: \"many\" is not an integer"},
                    {"--target 127.0.0.1:1 --interval soon",
                     "--interval: \"soon\" is not a duration such as 500ms, 2s or 1m"},
                    {"--target", "--target needs a value"},
                    {"--once", "--target HOST:PORT is required"},
                    {"--target 127.0.0.1:1 --dump 3", "--dump needs 1 or 2"},
                    {"--target 127.0.0.1:1 --width 10", "--width needs a number >= 40"},
                    {"--target 127.0.0.1:1 extra", "unexpected argument \"extra\""}}});
#endif
#ifdef LEAKWATCH_DEMO
  tools.push_back({"leakwatch-demo",
                   LEAKWATCH_DEMO,
                   "--metrics_listen HOST:PORT",
                   {{"--bogus", "unknown flag --bogus"},
                    {"--load fast", "--load: \"fast\" is not a number"},
                    {"--config", "--config needs a value"},
                    {"--listen nowhere", "--listen must be host:port, got \"nowhere\""},
                    {"stray", "unexpected argument \"stray\""}}});
#endif
#ifdef LEAKWATCH_JUDGE
  tools.push_back(
      {"leakwatch-judge",
       LEAKWATCH_JUDGE,
       "--header 'NAME: VALUE'",
       {{"--bogus", "unknown flag --bogus"},
        {"--once", "--prometheus=URL is required"},
        {"--prometheus", "--prometheus needs a value"},
        {"--prometheus http://x --threads many", "--threads: \"many\" is not an integer"},
        {"--prometheus http://x --query-gzip=maybe",
         "--query-gzip: \"maybe\" is not true or false"},
        {"--prometheus http://x --interval 0s", "--interval must be positive"},
        {"--prometheus http://x --header NoColon",
         "--header: header \"NoColon\" is not \"Name: value\" (no colon)"},
        {"--prometheus http://x extra", "unexpected argument \"extra\""}}});
#endif
  return tools;
}

TEST(ToolUsageTest, EveryToolsHelpAndBadUsage) {
  const std::vector<ToolUsage> tools = BuiltTools();
  ASSERT_FALSE(tools.empty());
  for (const ToolUsage& tool : tools) {
    SCOPED_TRACE(tool.name);
    ExpectHelp(tool.path, tool.help_flag);
    for (const auto& [args, message] : tool.errors) {
      ExpectUsageError(tool.path, tool.name, args, message);
    }
  }
}

#ifdef LEAKWATCH_TREND
// A value that parses but is out of range names the parameter.
TEST(ToolUsageTest, TrendParameterOutOfRangeIsNamed) {
  const ToolRun r = RunTool(LEAKWATCH_TREND, "--set fast_z=nan --print-params");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "leakwatch-trend: detector parameters: fast_z: must be a finite number above 0, got "
            "nan\n");
}
#endif

}  // namespace
