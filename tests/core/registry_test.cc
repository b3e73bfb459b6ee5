// Task registry: live tasks per kind, lifecycle counters, blocked sites, thread
// exit, and the stuck / long-lived thresholds.

#include <future>
#include <thread>
#include <vector>

#include "core/read_snapshot.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"
#include "test_util.h"

namespace leakwatch {
namespace {

using testutil::BlockedAt;
using testutil::FindKind;
using testutil::FindSite;
using testutil::WaitForSnapshot;

TEST(Registry, TaskScopeCountsLiveTasksOfItsKind) {
  static const TaskKind kJob("job");
  {
    TaskScope outer(kJob);
    TaskScope inner("request");
    Snapshot s = TakeSnapshot();
    ASSERT_NE(FindKind(s, "job"), nullptr);
    EXPECT_EQ(FindKind(s, "job")->live, 1);
    EXPECT_EQ(FindKind(s, "request")->live, 1);
    EXPECT_GE(FindKind(s, "thread")->live, 1);
  }
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(FindKind(s, "job")->live, 0);
  EXPECT_EQ(FindKind(s, "job")->started_total, 1u);
  EXPECT_EQ(FindKind(s, "job")->finished_total, 1u);
}

TEST(Registry, ScopesNestedBeyondTheRecordedDepthStayBalanced) {
  std::vector<std::unique_ptr<TaskScope>> scopes;
  for (int i = 0; i < 20; ++i) scopes.push_back(std::make_unique<TaskScope>("deep"));
  while (!scopes.empty()) scopes.pop_back();
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(FindKind(s, "deep")->started_total, 20u);
  EXPECT_EQ(FindKind(s, "deep")->finished_total, 20u);
  EXPECT_EQ(FindKind(s, "deep")->live, 0);
}

TEST(Registry, ThreadsAreTasksUntilTheyExit) {
  const int64_t before = FindKind(TakeSnapshot(), "thread")->live;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([released] {
      TaskScope task("worker");
      released.wait();
    });
  }
  Snapshot s = WaitForSnapshot([](const Snapshot& s) {
    const auto* k = FindKind(s, "worker");
    return k != nullptr && k->live == 4;
  });
  EXPECT_EQ(FindKind(s, "worker")->live, 4);
  EXPECT_EQ(FindKind(s, "thread")->live, before + 4);
  release.set_value();
  for (auto& t : threads) t.join();
  s = TakeSnapshot();
  EXPECT_EQ(FindKind(s, "thread")->live, before);
  EXPECT_EQ(FindKind(s, "worker")->live, 0);
  EXPECT_EQ(FindKind(s, "worker")->finished_total, 4u);
  EXPECT_GE(FindKind(s, "thread")->finished_total, 4u);
}

TEST(Registry, BlockScopeIsCountedAtTheCallersLine) {
  std::promise<void> release;
  std::future<void> released = release.get_future();
  const int line = __LINE__ + 3;
  std::thread waiter([&] {
    TaskScope task("waiter");
    BlockScope blocked(Op::kIo);
    released.wait();
  });
  const std::string site = "tests/core/registry_test.cc:" + std::to_string(line);
  Snapshot s = WaitForSnapshot([&](const Snapshot& s) { return BlockedAt(s, site, Op::kIo) == 1; });
  EXPECT_EQ(BlockedAt(s, site, Op::kIo), 1) << "sites: " << DumpTasks(1);
  // The blocked task is the innermost one: the "waiter" task.
  bool found = false;
  for (const auto& t : s.tasks) {
    if (t.blocked && t.site == site) {
      found = true;
      EXPECT_EQ(t.kind, "waiter");
      EXPECT_EQ(t.op, Op::kIo);
    }
  }
  EXPECT_TRUE(found);
  release.set_value();
  waiter.join();
  s = TakeSnapshot();
  const Snapshot::Site* x = FindSite(s, site, Op::kIo);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->blocked, 0);
  EXPECT_EQ(x->durations.count, 1u);  // kept after the thread exited
  EXPECT_GT(x->durations.sum_seconds, 0);
}

TEST(Registry, NestedBlockScopesCountOnceAtTheOuterSite) {
  const int outer_line = __LINE__ + 2;
  {
    BlockScope outer(Op::kFuture);
    BlockScope inner(Op::kMutex);
    Snapshot s = TakeSnapshot();
    EXPECT_EQ(
        BlockedAt(s, "tests/core/registry_test.cc:" + std::to_string(outer_line), Op::kFuture), 1);
    EXPECT_EQ(
        BlockedAt(s, "tests/core/registry_test.cc:" + std::to_string(outer_line + 1), Op::kMutex),
        0);
  }
  Snapshot s = TakeSnapshot();
  const auto* inner =
      FindSite(s, "tests/core/registry_test.cc:" + std::to_string(outer_line + 1), Op::kMutex);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->durations.count, 0u);
}

TEST(Registry, StuckAndLongLivedFollowTheThresholds) {
  TaskScope task("slow");
  BlockScope blocked(Op::kSleep);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  core::ReadOptions options;
  options.stuck_after_ns = 5'000'000;       // 5 ms
  options.long_lived_after_ns = 5'000'000;  // 5 ms
  Snapshot s = core::ReadSnapshot(options);
  int64_t stuck = 0;
  for (const auto& site : s.sites) stuck += site.stuck;
  EXPECT_EQ(stuck, 1);
  EXPECT_EQ(FindKind(s, "slow")->long_lived, 1);
  EXPECT_GE(FindKind(s, "slow")->oldest_age_seconds, 0.02);

  options.stuck_after_ns = 3'600'000'000'000;
  options.long_lived_after_ns = 3'600'000'000'000;
  s = core::ReadSnapshot(options);
  stuck = 0;
  for (const auto& site : s.sites) stuck += site.stuck;
  EXPECT_EQ(stuck, 0);
  EXPECT_EQ(FindKind(s, "slow")->long_lived, 0);
}

TEST(Registry, ManyShortLivedThreadsLeaveConsistentTotals) {
  const Snapshot s0 = TakeSnapshot();
  const auto* k0 = FindKind(s0, "thread");
  const uint64_t started0 = k0->started_total;
  const uint64_t finished0 = k0->finished_total;
  for (int round = 0; round < 10; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([] {
        TaskScope task("short");
        BlockScope b(Op::kOther);
      });
    }
    (void)TakeSnapshot();  // read concurrently with threads starting and exiting
    for (auto& t : threads) t.join();
  }
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(FindKind(s, "thread")->started_total - started0, 80u);
  EXPECT_EQ(FindKind(s, "thread")->finished_total - finished0, 80u);
  EXPECT_EQ(FindKind(s, "short")->started_total, 80u);
  EXPECT_EQ(FindKind(s, "short")->finished_total, 80u);
}

}  // namespace
}  // namespace leakwatch
