#include "judge/history_reader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leakwatch::judge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Series MakeSeries(Labels labels, std::vector<double> t, std::vector<double> value) {
  return Series{std::move(labels), std::move(t), std::move(value)};
}

TEST(SplitLifetimesTest, InPlaceRestartStartsANewLifetime) {
  Series stuck = MakeSeries({{"instance", "a:1"}}, {0, 60, 120, 180, 240}, {1, 2, 3, 0, 1});
  Series starts =
      MakeSeries({{"instance", "a:1"}}, {0, 60, 120, 180, 240}, {-100, -100, -100, 150, 150});
  std::vector<Lifetime> lifetimes = SplitLifetimes(stuck, &starts);
  ASSERT_EQ(lifetimes.size(), 2u);
  EXPECT_EQ(lifetimes[0].instance, "a:1");
  EXPECT_EQ(lifetimes[0].process_start, -100);
  EXPECT_THAT(lifetimes[0].t, ElementsAre(0, 60, 120));
  EXPECT_THAT(lifetimes[0].value, ElementsAre(1, 2, 3));
  EXPECT_EQ(lifetimes[1].process_start, 150);
  EXPECT_THAT(lifetimes[1].t, ElementsAre(180, 240));
  EXPECT_THAT(lifetimes[1].value, ElementsAre(0, 1));
}

TEST(SplitLifetimesTest, StartTimesReadAtOrBeforeEachSample) {
  // The start-time series has gaps (missed scrapes): the latest known value holds.
  Series stuck = MakeSeries({{"instance", "a:1"}}, {60, 120, 180, 240}, {1, 2, 0, 1});
  Series starts = MakeSeries({{"instance", "a:1"}}, {0, 170}, {5, 170});
  std::vector<Lifetime> lifetimes = SplitLifetimes(stuck, &starts);
  ASSERT_EQ(lifetimes.size(), 2u);
  EXPECT_THAT(lifetimes[0].t, ElementsAre(60, 120));
  EXPECT_THAT(lifetimes[1].t, ElementsAre(180, 240));
}

TEST(SplitLifetimesTest, WithoutStartTimesTheSeriesIsOneLifetime) {
  Series stuck = MakeSeries({{"instance", "a:1"}}, {0, 60}, {1, 2});
  std::vector<Lifetime> lifetimes = SplitLifetimes(stuck, nullptr);
  ASSERT_EQ(lifetimes.size(), 1u);
  EXPECT_EQ(lifetimes[0].process_start, 0);
  EXPECT_THAT(lifetimes[0].value, ElementsAre(1, 2));
}

TEST(SplitLifetimesTest, StartTimeFirstSeenLateIsTheFirstLifetimes) {
  Series stuck = MakeSeries({{"instance", "a:1"}}, {0, 60, 120}, {1, 2, 3});
  Series starts = MakeSeries({{"instance", "a:1"}}, {60, 120}, {-5, -5});
  std::vector<Lifetime> lifetimes = SplitLifetimes(stuck, &starts);
  ASSERT_EQ(lifetimes.size(), 1u);
  EXPECT_EQ(lifetimes[0].process_start, -5);
  EXPECT_EQ(lifetimes[0].t.size(), 3u);
}

TEST(SplitLifetimesTest, EmptySeriesHasNoLifetime) {
  EXPECT_TRUE(SplitLifetimes(MakeSeries({}, {}, {}), nullptr).empty());
}

TEST(TargetLabelsTest, DropsNameAndTheGroupedLabels) {
  Labels target = TargetLabels({{"__name__", "leakwatch_stuck_tasks"},
                                {"job", "shop"},
                                {"instance", "a:1"},
                                {"site", "s.cc:1"},
                                {"op", "mutex"},
                                {"kind", "thread"}});
  EXPECT_EQ(target, (Labels{{"instance", "a:1"}, {"job", "shop"}}));
}

TEST(ParseGroupByTest, NamesInOrder) {
  auto names = ParseGroupBy("namespace, app");
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("namespace", "app"));
  EXPECT_THAT(*ParseGroupBy("job"), ElementsAre("job"));
}

TEST(ParseGroupByTest, RejectsBadAndReservedNames) {
  EXPECT_THAT(ParseGroupBy("").status().message(), HasSubstr("not a label name"));
  EXPECT_THAT(ParseGroupBy("job,").status().message(), HasSubstr("not a label name"));
  EXPECT_THAT(ParseGroupBy("1job").status().message(), HasSubstr("not a label name"));
  EXPECT_THAT(ParseGroupBy("job-name").status().message(), HasSubstr("not a label name"));
  EXPECT_THAT(ParseGroupBy("job,site").status().message(), HasSubstr("groups by \"site\""));
  EXPECT_THAT(ParseGroupBy("instance").status().message(), HasSubstr("groups by \"instance\""));
  EXPECT_THAT(ParseGroupBy("job,job").status().message(), HasSubstr("twice"));
}

TEST(SelectorMatchersTest, StripsBraces) {
  EXPECT_EQ(*SelectorMatchers(""), "");
  EXPECT_EQ(*SelectorMatchers(" {namespace=\"shop\"} "), "namespace=\"shop\"");
  EXPECT_EQ(*SelectorMatchers("{}"), "");
  EXPECT_THAT(SelectorMatchers("namespace=\"shop\"").status().message(),
              HasSubstr("not label matchers in braces"));
}

TEST(QuotingTest, PromQLStringsAndRegexes) {
  EXPECT_EQ(PromQLString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(RegexQuote("handler+0x1a"), "handler\\+0x1a");
  EXPECT_EQ(RegexQuote("agent/demo/server.cc:57"), "agent\\/demo\\/server\\.cc\\:57");
  EXPECT_EQ(RegexQuote("f(x)|g"), "f\\(x\\)\\|g");
  // A site label in a PromQL regex matcher: the regex's backslashes doubled.
  EXPECT_EQ(PromQLString(RegexQuote("a.b")), "\"a\\\\.b\"");
}

}  // namespace
}  // namespace leakwatch::judge
