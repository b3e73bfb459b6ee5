// Detection quality of issue 4, checked by running `leakwatch-trend --eval` on a
// freshly generated scenario set (40 series per family, seed 1: the first 40 of
// the 100-per-family benchmark set of `make trend_eval_full`).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "scenarios.h"

namespace leakwatch::trendtest {
namespace {

struct Row {
  double recall = 0;
  int fa_episodes = 0;
  double fa_per_series_day = 0;
  double median_latency_h = 0;
};

// detector -> family -> scores
using Table = std::map<std::string, std::map<std::string, Row>>;

class EvalGoalsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     absl::StrCat("leakwatch_trend_eval_", getpid()));
    ASSERT_TRUE(WriteScenarioSet(dir_->string(), 40, /*seed=*/1, /*days=*/5).ok());
    const std::string command =
        absl::StrCat(LEAKWATCH_TREND_TOOL, " --eval ", dir_->string(), " --format csv");
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    const int status = pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    table_ = new Table;
    bool header = true;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      if (header) {
        header = false;
        continue;
      }
      // family,leaking,series,detector,recall,fa_episodes,exposure_days,
      // fa_per_series_day,detected,median_latency_h,p90_latency_h,"label"
      std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(',', 11));
      ASSERT_EQ(f.size(), 12u) << line;
      Row row;
      (void)absl::SimpleAtod(f[4], &row.recall);
      (void)absl::SimpleAtoi(f[5], &row.fa_episodes);
      (void)absl::SimpleAtod(f[7], &row.fa_per_series_day);
      if (!absl::SimpleAtod(f[9], &row.median_latency_h)) row.median_latency_h = 1e9;
      (*table_)[f[3]][f[0]] = row;
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
    delete table_;
  }
  static const Row& Leakwatch(const std::string& family) { return (*table_)["leakwatch"][family]; }

  static std::filesystem::path* dir_;
  static Table* table_;
};

std::filesystem::path* EvalGoalsTest::dir_ = nullptr;
Table* EvalGoalsTest::table_ = nullptr;

// One test, so that ctest (one process per test) generates and scores the set
// once; each expectation names the goal it checks.
TEST_F(EvalGoalsTest, ScenarioSuiteMeetsTheDetectionGoals) {
  // No false alarm on healthy families (issue goal: zero). Seed 1's 100-series
  // benchmark raises none; fresh seeds raise about one episode per 10,000
  // healthy series (see the README).
  for (const std::string family :
       {"flat", "daily", "bursts", "sawtooth", "step", "restarts", "idle_pool", "longpoll"}) {
    EXPECT_EQ(Leakwatch(family).fa_episodes, 0) << "false alarms on healthy family " << family;
  }
  // No alarm before a leak starts.
  for (const std::string& family : Families()) {
    if (IsLeakFamily(family)) {
      EXPECT_EQ(Leakwatch(family).fa_episodes, 0) << "alarm before the leak in " << family;
    }
  }
  // 2 %/h: recall >= 0.97. Issue goal for the median latency: <= 4 h, not reached
  // (6.0 h here), and out of reach on this noise: trend_oracle_bound, which knows the
  // noise model, needs 4.4 h at zero false alarms. The bound pins against
  // regressions.
  EXPECT_GE(Leakwatch("leak_2pct").recall, 0.97) << "2 %/h leaks missed";
  EXPECT_LE(Leakwatch("leak_2pct").median_latency_h, 7) << "2 %/h leaks found late";
  // 10 %/h: recall 1.0. Issue goal: median <= 1.5 h: 1.46 h on these 40
  // series, 1.51 h on seed 1's 100, 1.6 h on fresh seeds (the oracle's is
  // 1.15 h).
  EXPECT_EQ(Leakwatch("leak_10pct").recall, 1.0) << "10 %/h leaks missed";
  EXPECT_LE(Leakwatch("leak_10pct").median_latency_h, 1.7) << "10 %/h leaks found late";
  // Far fewer false alarms than the predict_linear-style baseline on the same series.
  int leakwatch = 0, ols = 0;
  for (const auto& [family, row] : (*table_)["leakwatch"]) leakwatch += row.fa_episodes;
  for (const auto& [family, row] : (*table_)["ols-1h"]) ols += row.fa_episodes;
  EXPECT_GT(ols, 100) << "the baseline should false-alarm on this suite";
  EXPECT_LT(leakwatch * 50, ols) << "leakwatch " << leakwatch << " vs ols-1h " << ols;
}

}  // namespace
}  // namespace leakwatch::trendtest
