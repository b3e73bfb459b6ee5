// Runs the leakwatch-trend binary as a user would.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "series_csv.h"

namespace leakwatch::trendtool {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Result RunTool(const std::string& args, const std::string& input = "") {
  const std::string in =
      (std::filesystem::temp_directory_path() / absl::StrCat("trend_tool_test_", getpid(), ".in"))
          .string();
  std::ofstream(in) << input;
  const std::string command = absl::StrCat(LEAKWATCH_TREND_TOOL, " ", args, " < ", in, " 2>&1");
  Result r;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(in);
  return r;
}

TEST(LeakwatchTrendTest, PrintsOneVerdictPerInputRow) {
  std::string input = "t,value\n";
  for (int i = 0; i < 50; ++i) absl::StrAppend(&input, 1000 + 60 * i, ",", 7, "\n");
  Result r = RunTool("", input);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 51u);
  EXPECT_EQ(lines[0], "t,suspected,growth_per_hour,z");
  EXPECT_EQ(lines[1], "1000,0,0,0.0000");
}

TEST(LeakwatchTrendTest, FastPresetFlagsALeakInTheOutput) {
  std::string input;
  for (int t = 0; t < 600; ++t) {
    absl::StrAppend(&input, 5000 + t, ",", 4 + (t % 3) + (t >= 120 ? (t - 120) / 2 : 0), ",4000\n");
  }
  Result r = RunTool("--preset fast", input);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(",1,"), std::string::npos);
  Result production = RunTool("", input);
  EXPECT_EQ(production.out.find(",1,"), std::string::npos);
}

TEST(LeakwatchTrendTest, MalformedRowIsAnErrorNamingTheLine) {
  Result r = RunTool("", "t,value\n1,2\n2,x3\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("line 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x3"), std::string::npos) << r.out;
}

TEST(LeakwatchTrendTest, RowsOutOfTimeOrderAreAnErrorNamingTheLine) {
  Result r = RunTool("", "10,1\n20,1\n15,1\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("line 3"), std::string::npos) << r.out;
}

TEST(LeakwatchTrendTest, UnknownOptionAndBadPresetExitTwo) {
  EXPECT_EQ(RunTool("--bogus").exit_code, 2);
  Result r = RunTool("--preset slow");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("slow"), std::string::npos);
}

TEST(LeakwatchTrendTest, HelpDescribesTheFormatAndExitsZero) {
  Result r = RunTool("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("t,suspected,growth_per_hour,z"), std::string::npos);
  EXPECT_NE(r.out.find("--eval"), std::string::npos);
}

TEST(LeakwatchTrendTest, ConfigFileDetectorKeysAreUsed) {
  const std::string path =
      (std::filesystem::temp_directory_path() / absl::StrCat("trend_tool_test_", getpid(), ".yaml"))
          .string();
  std::ofstream(path) << "detector:\n  floor_window: 10s\n  trend_window: 3m\n  min_floors: 6\n";
  Result r = RunTool(absl::StrCat("--config ", path, " --print-params"));
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("floor_window=10s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("min_history=0"), std::string::npos) << r.out;
}

TEST(LeakwatchTrendTest, BadConfigFileIsAnError) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("trend_tool_test_", getpid(), "_bad.yaml"))
                               .string();
  std::ofstream(path) << "detector:\n  floor_window: 10x\n";
  Result r = RunTool(absl::StrCat("--config ", path));
  std::filesystem::remove(path);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("floor_window"), std::string::npos) << r.out;
}

TEST(ParseSeriesCsvTest, AcceptsHeaderBlankLinesCommentsAndProcessStart) {
  absl::StatusOr<std::vector<SeriesRow>> rows =
      ParseSeriesCsv("t,value,process_start\n# note\n\n1,2,100\r\n2, 3 ,100\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].value, 3);
  EXPECT_EQ((*rows)[1].process_start, 100);
  EXPECT_EQ((*rows)[1].line, 5);
}

TEST(ParseSeriesCsvTest, WrongFieldCountAndBadHeaderNameTheLine) {
  EXPECT_NE(ParseSeriesCsv("1,2\n3\n").status().message().find("line 2"), absl::string_view::npos);
  EXPECT_NE(ParseSeriesCsv("t,val\n").status().message().find("line 1"), absl::string_view::npos);
  EXPECT_NE(ParseSeriesCsv("1,nan\n").status().message().find("value"), absl::string_view::npos);
}

}  // namespace
}  // namespace leakwatch::trendtool
