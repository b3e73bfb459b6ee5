// leakwatch::WaitGroup: Go's Add/Done/Wait, the clamped misuse, timeouts and
// the recorded site.

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "site_polling.h"

namespace leakwatch {
namespace {

using namespace ::leakwatch::testing_sync;  // NOLINT: the suite's helpers (site_polling.h)

TEST(WaitGroupTest, WaitOnZeroCounterReturnsWithoutRecordingAWait) {
  WaitGroup wg;
  constexpr int kWaitLine = __LINE__ + 1;
  wg.Wait();
  EXPECT_TRUE(wg.WaitFor(milliseconds(0)));
  EXPECT_EQ(FindSite(TakeSnapshot(), LineSite(kWaitLine), Op::kWaitGroup), std::nullopt);
}

TEST(WaitGroupTest, WaitReturnsAfterLastDoneAndSeesTasksWrites) {
  constexpr int kTasks = 8;
  WaitGroup wg;
  std::vector<int> results(kTasks, 0);
  std::vector<std::thread> tasks;
  ASSERT_TRUE(wg.Add(kTasks));
  for (int i = 0; i < kTasks; ++i) {
    tasks.emplace_back([&, i] {
      results[i] = i + 1;  // published to the waiter by Done (TSan checks)
      EXPECT_TRUE(wg.Done());
    });
  }
  wg.Wait();
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(results[i], i + 1);
  for (auto& t : tasks) t.join();
}

TEST(WaitGroupTest, BlockedWaitIsSitedAtCallerLineUntilReleased) {
  WaitGroup wg;
  ASSERT_TRUE(wg.Add(2));
  constexpr int kWaitLine = __LINE__ + 2;
  const uint64_t waits_before = FinishedWaits(LineSite(kWaitLine), Op::kWaitGroup);
  std::thread waiter([&] { wg.Wait(); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kWaitGroup, 1));
  EXPECT_TRUE(wg.Done());
  // One Done of two: still blocked (the /leak/waitgroup pattern).
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kWaitGroup, 1));
  EXPECT_TRUE(wg.Done());
  waiter.join();
  const auto site = FindSite(TakeSnapshot(), LineSite(kWaitLine), Op::kWaitGroup);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->blocked, 0);
  EXPECT_EQ(site->durations.count - waits_before, 1u);
}

struct MisuseCase {
  const char* name;
  int64_t initial;
  int64_t delta;
  bool want_ok;
  bool want_zero_after;  // counter is 0 afterwards (Wait returns at once)
};

class WaitGroupMisuseTest : public ::testing::TestWithParam<MisuseCase> {};

TEST_P(WaitGroupMisuseTest, NegativeCounterIsClampedCountedAndNeverFatal) {
  const MisuseCase& c = GetParam();
  WaitGroup wg;
  if (c.initial != 0) {
    ASSERT_TRUE(wg.Add(c.initial));
  }
  const uint64_t misuse_before = WaitGroup::MisuseCount();
  EXPECT_EQ(wg.Add(c.delta), c.want_ok);
  EXPECT_EQ(WaitGroup::MisuseCount() - misuse_before, c.want_ok ? 0u : 1u);
  EXPECT_EQ(wg.WaitFor(milliseconds(0)), c.want_zero_after);
  // Still usable afterwards.
  if (c.want_zero_after) {
    EXPECT_TRUE(wg.Add(1));
    EXPECT_FALSE(wg.WaitFor(milliseconds(0)));
    EXPECT_TRUE(wg.Done());
    EXPECT_TRUE(wg.WaitFor(milliseconds(0)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WaitGroupMisuseTest,
    ::testing::Values(MisuseCase{"DoneOnZero", 0, -1, false, true},
                      MisuseCase{"AddTooNegative", 2, -5, false, true},
                      MisuseCase{"ExactlyToZero", 2, -2, true, true},
                      MisuseCase{"Positive", 1, 3, true, false},
                      MisuseCase{"Overflow", std::numeric_limits<int64_t>::max(), 1, false, false},
                      MisuseCase{"MostNegativeDelta", 1, std::numeric_limits<int64_t>::min(), false,
                                 true}),
    [](const ::testing::TestParamInfo<MisuseCase>& info) { return std::string(info.param.name); });

TEST(WaitGroupTest, MisuseReleasesBlockedWaiter) {
  WaitGroup wg;
  ASSERT_TRUE(wg.Add(1));
  constexpr int kWaitLine = __LINE__ + 1;
  std::thread waiter([&] { wg.Wait(); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kWaitGroup, 1));
  EXPECT_FALSE(wg.Add(-3));  // clamped to zero: the waiter goes
  waiter.join();
}

TEST(WaitGroupTest, WaitForTimesOutWhileCounterIsPositive) {
  WaitGroup wg;
  ASSERT_TRUE(wg.Add(1));
  EXPECT_FALSE(wg.WaitFor(milliseconds(1)));
  EXPECT_FALSE(wg.WaitFor(milliseconds(-1)));
  std::thread finisher([&] { EXPECT_TRUE(wg.Done()); });
  EXPECT_TRUE(wg.WaitFor(hours(1)));
  finisher.join();
}

TEST(WaitGroupTest, WaiterMayDestroyItRightAfterWaitReturns) {
  // The Done that releases the waiter must be finished with the WaitGroup by
  // then; ASan/TSan flag a use after free otherwise.
  for (int i = 0; i < 300; ++i) {
    auto wg = std::make_unique<WaitGroup>();
    ASSERT_TRUE(wg->Add(1));
    std::thread task([w = wg.get()] { w->Done(); });
    wg->Wait();
    wg.reset();
    task.join();
  }
}

TEST(WaitGroupTest, ReusableForManyRounds) {
  WaitGroup wg;
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(wg.Add(3));
    std::vector<std::thread> tasks;
    for (int i = 0; i < 3; ++i) tasks.emplace_back([&] { wg.Done(); });
    wg.Wait();
    for (auto& t : tasks) t.join();
  }
  EXPECT_TRUE(wg.WaitFor(milliseconds(0)));
}

}  // namespace
}  // namespace leakwatch
