// common/flags.h on flags defined here: the syntax it accepts, the errors it
// gives, and the help text it generates from the flags.

#include "common/flags.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, target, "", "<HOST:PORT> where to look (required)");
ABSL_FLAG(int, top, 20, "rows to show");
ABSL_FLAG(bool, print_params, false, "print and exit");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1), "refresh period");
ABSL_FLAG(std::vector<std::string>, set, {}, "<NAME=VALUE> one override (repeatable)");
ABSL_FLAG(leakwatch::tools::RepeatedFlag, header, {}, "<'NAME: VALUE'> a header (repeatable)");

namespace leakwatch::tools {
namespace {

constexpr Usage kUsage = {
    .tool = "flags-test",
    .synopsis = "flags-test [flags] [FILE]",
    .description = "Tests the flags.\n",
    .flags_file = "tests/tools/flags_test.cc",
    .footer = "Exit status: 2 on bad usage.\n",
    .max_args = 1,
};

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "flags-test");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), kUsage);
}

std::string ErrorOf(std::vector<std::string> args) {
  absl::FlagSaver restore;
  absl::StatusOr<ParsedArgs> parsed = Parse(std::move(args));
  if (parsed.ok()) return "<ok>";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ToolFlagsTest, ValuesAfterSpaceOrEqualsAndBooleansInEveryForm) {
  absl::FlagSaver restore;
  absl::StatusOr<ParsedArgs> parsed =
      Parse({"--target", "h:1", "--top=5", "-interval", "250ms", "--print-params", "in.csv"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_target), "h:1");
  EXPECT_EQ(absl::GetFlag(FLAGS_top), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_interval), absl::Milliseconds(250));
  EXPECT_TRUE(absl::GetFlag(FLAGS_print_params));
  EXPECT_EQ(parsed->args, std::vector<std::string>{"in.csv"});
  ASSERT_TRUE(Parse({"--noprint_params"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_print_params));
  ASSERT_TRUE(Parse({"--print-params=true"}).ok());
  EXPECT_TRUE(absl::GetFlag(FLAGS_print_params));
}

TEST(ToolFlagsTest, AListFlagCollectsEveryOccurrence) {
  absl::FlagSaver restore;
  ASSERT_TRUE(Parse({"--set", "a=1", "--set=b=2", "--set", "c=3"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_set), (std::vector<std::string>{"a=1", "b=2", "c=3"}));
}

TEST(ToolFlagsTest, ARepeatedFlagKeepsEveryValueWholeCommasIncluded) {
  absl::FlagSaver restore;
  ASSERT_TRUE(Parse({"--header=X-Scope-OrgID: a,b", "--header", "Accept: x, y", "--header="}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_header).values,
            (std::vector<std::string>{"X-Scope-OrgID: a,b", "Accept: x, y", ""}));
  // A later parse starts the list anew; one without the flag leaves it as it was.
  ASSERT_TRUE(Parse({"--header", "One: 1"}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_header).values, std::vector<std::string>{"One: 1"});
  absl::FlagSaver inner;
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_header).values, std::vector<std::string>{"One: 1"});
}

TEST(ToolFlagsTest, ARepeatedFlagsTextFormRoundTrips) {
  for (const std::vector<std::string>& values :
       std::vector<std::vector<std::string>>{{}, {""}, {"a,b"}, {"a", "", "c, d"}}) {
    RepeatedFlag parsed;
    std::string error;
    ASSERT_TRUE(AbslParseFlag(AbslUnparseFlag(RepeatedFlag{values}), &parsed, &error));
    EXPECT_EQ(parsed.values, values);
  }
  RepeatedFlag single;
  std::string error;
  ASSERT_TRUE(AbslParseFlag("X: a,b", &single, &error));
  EXPECT_EQ(single.values, std::vector<std::string>{"X: a,b"});
}

TEST(ToolFlagsTest, DashAloneAndAfterDoubleDashAreArguments) {
  absl::FlagSaver restore;
  absl::StatusOr<ParsedArgs> parsed = Parse({"-"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->args, std::vector<std::string>{"-"});
  parsed = Parse({"--", "--top"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->args, std::vector<std::string>{"--top"});
  EXPECT_EQ(absl::GetFlag(FLAGS_top), 20);
}

TEST(ToolFlagsTest, BadUsageIsAnErrorSayingWhatIsWrong) {
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown flag --bogus");
  EXPECT_EQ(ErrorOf({"--bogus=1"}), "unknown flag --bogus=1");
  EXPECT_EQ(ErrorOf({"--notop"}), "unknown flag --notop");
  EXPECT_EQ(ErrorOf({"--target"}), "--target needs a value");
  EXPECT_EQ(ErrorOf({"--top", "many"}), "--top: \"many\" is not an integer");
  EXPECT_EQ(ErrorOf({"--interval=soon"}),
            "--interval: \"soon\" is not a duration such as 500ms, 2s or 1m");
  EXPECT_EQ(ErrorOf({"--print-params=maybe"}), "--print-params: \"maybe\" is not true or false");
  EXPECT_EQ(ErrorOf({"a.csv", "b.csv"}), "unexpected argument \"b.csv\" (at most 1 expected)");
  // Flags of other files (absl's own, say) are not the tool's.
  EXPECT_EQ(ErrorOf({"--flagfile=x"}), "unknown flag --flagfile=x");
}

TEST(ToolFlagsTest, HelpIsAskedForInAnyPosition) {
  absl::FlagSaver restore;
  for (const char* help : {"--help", "-h", "-help"}) {
    absl::StatusOr<ParsedArgs> parsed = Parse({"--top=3", help, "a", "b"});
    ASSERT_TRUE(parsed.ok()) << help;
    EXPECT_TRUE(parsed->help) << help;
  }
}

TEST(ToolFlagsTest, UsageTextIsGeneratedFromTheFlags) {
  const std::string text = UsageText(kUsage);
  EXPECT_EQ(text.rfind("usage: flags-test [flags] [FILE]\n\nTests the flags.\n\nFlags:\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("  --target HOST:PORT      where to look (required)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  --top N                 rows to show (default: 20)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  --print-params          print and exit\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  --interval DURATION     refresh period (default: 1s)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  --set NAME=VALUE"), std::string::npos) << text;
  EXPECT_NE(text.find("  --header 'NAME: VALUE'  a header (repeatable)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  --help                  this text\n\nExit status"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("flagfile"), std::string::npos) << text;
}

}  // namespace
}  // namespace leakwatch::tools
