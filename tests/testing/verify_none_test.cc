// Pins leakwatch::testing::VerifyNone and FindLeaks: what counts as a leak, the
// report naming each leaked task's kind and blocked site, retrying until tasks
// finish, and the ignore options.

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blocked_thread.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"
#include "leakwatch/testing.h"

namespace leakwatch::testing {
namespace {

using ::leakwatch::testing_support::BlockedThread;
using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Checks that report at once: the leaks below are already in place.
Options NoWait() { return Options().Timeout(milliseconds(0)); }

// The report's line about the task of `kind`, "" if none.
std::string LineOfKind(const std::string& report, const std::string& kind) {
  const size_t at = report.find("[" + kind + ", age ");
  if (at == std::string::npos) return "";
  const size_t begin = report.rfind('\n', at) + 1;
  return report.substr(begin, report.find('\n', at) - begin);
}

TEST(VerifyNoneTest, PassesWhenEveryThreadFinishedAndSkipsTheCallingThread) {
  {
    BlockedThread thread;
    ASSERT_TRUE(thread.WaitUntilBlocked());
  }  // released and joined
  { BlockScope registers_this_thread(Op::kOther); }
  bool self_is_a_task = false;
  for (const Snapshot::Task& task : TakeSnapshot().tasks) {
    self_is_a_task |= task.kind == "thread" && task.tid == gettid();
  }
  ASSERT_TRUE(self_is_a_task);

  EXPECT_TRUE(VerifyNone(NoWait()));
}

TEST(VerifyNoneTest, ThreadBlockedOnChannelFailsNamingItsSiteAndOp) {
  BlockedThread thread;
  ASSERT_TRUE(thread.WaitUntilBlocked());

  const ::testing::AssertionResult result = VerifyNone(NoWait());

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("1 unexpected live task, still there after 0 ms"));
  EXPECT_THAT(LineOfKind(result.message(), "thread"),
              AllOf(HasSubstr("blocked in chan_recv"), HasSubstr("at " + thread.site())));
}

TEST(VerifyNoneTest, TaskScopeOnLeakedThreadIsReportedWithItsKindAndSite) {
  BlockedThread thread("orphan-job");
  ASSERT_TRUE(thread.WaitUntilBlocked());

  const ::testing::AssertionResult result = VerifyNone(NoWait());

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("2 unexpected live tasks"));
  EXPECT_THAT(LineOfKind(result.message(), "orphan-job"),
              AllOf(HasSubstr("blocked in chan_recv"), HasSubstr(thread.site())));
  EXPECT_THAT(LineOfKind(result.message(), "thread"), Not(HasSubstr("blocked")));
}

TEST(VerifyNoneTest, TaskScopeLeftOpenOnTheCallingThreadIsReported) {
  auto scope = std::make_unique<TaskScope>("unclosed-scope");

  const ::testing::AssertionResult result = VerifyNone(NoWait());
  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("[unclosed-scope, age "));

  scope.reset();
  EXPECT_TRUE(VerifyNone(NoWait()));
}

TEST(VerifyNoneTest, WaitsForATaskThatFinishesWithinTheTimeout) {
  Channel<int> release;
  std::thread finishing([release]() mutable {
    release.Recv();
    // Still alive when the check takes its first snapshot, so a check that
    // does not retry fails; the pass itself never depends on this pause.
    std::this_thread::sleep_for(milliseconds(200));
  });
  bool blocked = false;
  const auto deadline = std::chrono::steady_clock::now() + testing_support::kPollDeadline;
  while (!blocked && std::chrono::steady_clock::now() < deadline) {
    for (const Snapshot::Task& task : TakeSnapshot().tasks) blocked |= task.blocked;
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_TRUE(blocked);

  release.Close();
  EXPECT_TRUE(VerifyNone(Options().Timeout(std::chrono::seconds(30))));
  finishing.join();
}

TEST(VerifyNoneTest, IgnoreKindSkipsTasksOfThatKindAndTheirThreads) {
  BlockedThread ignored("ignored-job");
  ASSERT_TRUE(ignored.WaitUntilBlocked());

  EXPECT_TRUE(VerifyNone(NoWait().IgnoreKind("ignored-job")));
}

TEST(VerifyNoneTest, IgnoreKindStillReportsOtherKinds) {
  BlockedThread ignored("ignored-job");
  BlockedThread other("other-job");
  ASSERT_TRUE(ignored.WaitUntilBlocked());
  ASSERT_TRUE(other.WaitUntilBlocked());

  const ::testing::AssertionResult result = VerifyNone(NoWait().IgnoreKind("ignored-job"));

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("2 unexpected live tasks"));  // other-job, its thread
  EXPECT_THAT(result.message(), HasSubstr(other.site()));
  EXPECT_THAT(result.message(), Not(HasSubstr(ignored.site())));
}

TEST(VerifyNoneTest, IgnoringKindThreadStillReportsTaskScopesOnThreads) {
  BlockedThread plain;
  BlockedThread scoped("scoped-job");
  ASSERT_TRUE(plain.WaitUntilBlocked());
  ASSERT_TRUE(scoped.WaitUntilBlocked());

  const ::testing::AssertionResult result = VerifyNone(NoWait().IgnoreKind("thread"));

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("1 unexpected live task,"));
  EXPECT_THAT(LineOfKind(result.message(), "scoped-job"), HasSubstr(scoped.site()));
}

TEST(VerifyNoneTest, IgnoreSiteSkipsTasksBlockedAtAMatchingSite) {
  BlockedThread thread;
  ASSERT_TRUE(thread.WaitUntilBlocked());

  EXPECT_TRUE(VerifyNone(NoWait().IgnoreSite(thread.site())));
  EXPECT_TRUE(VerifyNone(NoWait().IgnoreSite("verify_none_test.cc:")));
  EXPECT_FALSE(VerifyNone(NoWait().IgnoreSite("no/such/file.cc:1")));
}

TEST(VerifyNoneTest, IgnoreThreadNameSkipsEveryTaskOnMatchingThreads) {
  BlockedThread named("named-job", "lw-ignored-7");
  ASSERT_TRUE(named.WaitUntilBlocked());

  const ::testing::AssertionResult result = VerifyNone(NoWait());
  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("\"lw-ignored-7\":"));

  EXPECT_TRUE(VerifyNone(NoWait().IgnoreThreadName("lw-ignored")));
  EXPECT_FALSE(VerifyNone(NoWait().IgnoreThreadName("someone-else")));
}

TEST(VerifyNoneTest, IgnoreCurrentSkipsOnlyTasksAliveWhenItWasCalled) {
  BlockedThread before;
  ASSERT_TRUE(before.WaitUntilBlocked());
  const Options options = NoWait().IgnoreCurrent();
  EXPECT_TRUE(VerifyNone(options));

  BlockedThread after;
  ASSERT_TRUE(after.WaitUntilBlocked());
  const ::testing::AssertionResult result = VerifyNone(options);

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr(after.site()));
  EXPECT_THAT(result.message(), Not(HasSubstr(before.site())));
}

TEST(VerifyNoneTest, IgnoreCurrentStillReportsNewScopesOnOldThreads) {
  const Options options = NoWait().IgnoreCurrent();
  TaskScope scope("new-scope-on-old-thread");

  const ::testing::AssertionResult result = VerifyNone(options);

  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("[new-scope-on-old-thread, age "));
}

TEST(FindLeaksTest, ReturnsEachLeakedTaskWithItsThread) {
  BlockedThread thread("found-job", "lw-found");
  ASSERT_TRUE(thread.WaitUntilBlocked());

  const std::vector<Snapshot::Task> leaks = FindLeaks(NoWait());

  ASSERT_EQ(leaks.size(), 2u);
  EXPECT_EQ(leaks[0].tid, leaks[1].tid);
  int scoped = leaks[0].kind == "found-job" ? 0 : 1;
  EXPECT_EQ(leaks[scoped].kind, "found-job");
  EXPECT_TRUE(leaks[scoped].blocked);
  EXPECT_EQ(leaks[scoped].op, Op::kChanRecv);
  EXPECT_EQ(leaks[scoped].site, thread.site());
  EXPECT_EQ(leaks[1 - scoped].kind, "thread");
  EXPECT_EQ(leaks[0].thread_name, "lw-found");
}

TEST(OptionsTest, TimeoutBelowZeroMeansOneSnapshot) {
  EXPECT_EQ(Options().Timeout(milliseconds(-5)).timeout(), milliseconds(0));
  EXPECT_EQ(Options().timeout(), kDefaultTimeout);
}

}  // namespace
}  // namespace leakwatch::testing
