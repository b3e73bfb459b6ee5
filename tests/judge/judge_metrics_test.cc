#include "judge/judge_metrics.h"

#include <prometheus/text_serializer.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leakwatch::judge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Text(const JudgeMetrics& metrics) {
  return prometheus::TextSerializer().Serialize(metrics.Collect());
}

TEST(JudgeMetricsTest, BeforeAnySuccessOnlyHealthIsExported) {
  JudgeMetrics metrics({"job"});
  std::string text = Text(metrics);
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_last_success_timestamp_seconds 0"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_query_errors_total 0"));
  EXPECT_THAT(text, Not(HasSubstr("leak_suspected")));
}

TEST(JudgeMetricsTest, VerdictsCarryTheGroupLabels) {
  JudgeMetrics metrics({"namespace", "app"});
  FleetVerdict leak;
  leak.suspected = true;
  leak.growth_per_hour = 2.5;
  metrics.Publish({{GroupMetric::kSite, {"shop", "cart"}, "cart.cc:10", "mutex", "", leak},
                   {GroupMetric::kTask, {"shop", "cart"}, "", "", "thread", FleetVerdict{}}},
                  20, 1.7e9);
  std::string text = Text(metrics);
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_site_leak_suspected{namespace=\"shop\",app=\"cart\","
                              "op=\"mutex\",site=\"cart.cc:10\"} 1"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_site_leak_growth_per_hour{namespace=\"shop\","
                              "app=\"cart\",op=\"mutex\",site=\"cart.cc:10\"} 2.5"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_task_leak_suspected{namespace=\"shop\",app=\"cart\","
                              "kind=\"thread\"} 0"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_series_judged 20"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_last_success_timestamp_seconds 1700000000"));
  EXPECT_THAT(text, Not(HasSubstr("job=")));
}

TEST(JudgeMetricsTest, ErrorsAddUpAndLeaveTheVerdicts) {
  JudgeMetrics metrics({"job"});
  FleetVerdict leak;
  leak.suspected = true;
  metrics.Publish({{GroupMetric::kSite, {"shop"}, "a.cc:1", "mutex", "", leak}}, 3, 100);
  metrics.AddQueryErrors(2);
  metrics.AddQueryErrors(1);
  std::string text = Text(metrics);
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_query_errors_total 3"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_site_leak_suspected{job=\"shop\",op=\"mutex\","
                              "site=\"a.cc:1\"} 1"));
  EXPECT_THAT(text, HasSubstr("leakwatch_judge_last_success_timestamp_seconds 100"));
}

}  // namespace
}  // namespace leakwatch::judge
