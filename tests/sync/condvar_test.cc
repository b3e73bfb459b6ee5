// leakwatch::CondVar with leakwatch::Mutex: predicate waits, timeouts,
// wake-ups, the mutex owner during a wait, and the recorded sites.

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "site_polling.h"

namespace leakwatch {
namespace {

using namespace ::leakwatch::testing_sync;  // NOLINT: the suite's helpers (site_polling.h)

TEST(CondVarTest, PredicateWaitReturnsOnceSignalledPredicateHolds) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  int32_t owner_while_waiting = -1;
  constexpr int kWaitLine = __LINE__ + 4;
  const uint64_t waits_before = FinishedWaits(LineSite(kWaitLine), Op::kCondvar);
  std::thread waiter([&] {
    std::unique_lock<Mutex> lock(mu);
    cv.Wait(lock, [&] { return ready; });
    EXPECT_TRUE(ready);
    EXPECT_EQ(mu.OwnerTid(), internal::CurrentTid());  // the mutex is held again
  });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kCondvar, 1));
  {
    std::lock_guard<Mutex> guard(mu);  // the waiter released the mutex
    owner_while_waiting = mu.OwnerTid();
    cv.Signal();  // a wake-up with the predicate still false: keeps waiting
  }
  {
    std::lock_guard<Mutex> guard(mu);
    ready = true;
  }
  cv.Signal();
  waiter.join();
  EXPECT_EQ(owner_while_waiting, internal::CurrentTid());
  const auto site = FindSite(TakeSnapshot(), LineSite(kWaitLine), Op::kCondvar);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->blocked, 0);
  EXPECT_EQ(site->durations.count - waits_before, 1u)
      << "a predicate wait is one wait however often it wakes";
}

TEST(CondVarTest, PredicateAlreadyTrueReturnsWithoutRecordingAWait) {
  Mutex mu;
  CondVar cv;
  std::unique_lock<Mutex> lock(mu);
  constexpr int kWaitLine = __LINE__ + 1;
  cv.Wait(lock, [] { return true; });
  EXPECT_TRUE(cv.WaitFor(lock, hours(1), [] { return true; }));
  EXPECT_TRUE(lock.owns_lock());
  EXPECT_EQ(FindSite(TakeSnapshot(), LineSite(kWaitLine), Op::kCondvar), std::nullopt);
}

TEST(CondVarTest, TimedWaitsTimeOutAndReacquireTheMutex) {
  Mutex mu;
  CondVar cv;
  std::unique_lock<Mutex> lock(mu);
  // Without a predicate a wait may wake spuriously; loop until the timeout.
  while (cv.WaitFor(lock, milliseconds(1)) != std::cv_status::timeout) {
  }
  EXPECT_EQ(mu.OwnerTid(), internal::CurrentTid());
  EXPECT_FALSE(cv.WaitFor(lock, milliseconds(1), [] { return false; }));
  EXPECT_EQ(mu.OwnerTid(), internal::CurrentTid());
  const auto past = std::chrono::system_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(cv.WaitUntil(lock, past), std::cv_status::timeout);
  EXPECT_FALSE(cv.WaitUntil(lock, past, [] { return false; }));
  EXPECT_FALSE(cv.WaitFor(lock, milliseconds(-1), [] { return false; }));
  EXPECT_TRUE(lock.owns_lock());
}

TEST(CondVarTest, TimedPredicateWaitSucceedsWhenNotifiedInTime) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  bool result = false;
  constexpr int kWaitLine = __LINE__ + 3;
  std::thread waiter([&] {
    std::unique_lock<Mutex> lock(mu);
    result = cv.WaitUntil(lock, std::chrono::steady_clock::now() + hours(1), [&] { return ready; });
  });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kCondvar, 1));
  {
    std::lock_guard<Mutex> guard(mu);
    ready = true;
  }
  cv.notify_one();
  waiter.join();
  EXPECT_TRUE(result);
}

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  constexpr int kWaiters = 4;
  Mutex mu;
  CondVar cv;
  bool go = false;
  std::vector<std::thread> waiters;
  constexpr int kWaitLine = __LINE__ + 4;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      std::unique_lock<Mutex> lock(mu);
      cv.Wait(lock, [&] { return go; });
    });
  }
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kCondvar, kWaiters));
  {
    std::lock_guard<Mutex> guard(mu);
    go = true;
  }
  cv.SignalAll();
  for (auto& t : waiters) t.join();
  EXPECT_TRUE(WaitUntilBlocked(LineSite(kWaitLine), Op::kCondvar, 0));
}

// A bounded queue built from Mutex + two CondVars, hammered by producers and
// consumers; uses the std-style names so both spellings are exercised.
TEST(CondVarTest, BoundedQueueStressDeliversEveryItem) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 2000;
  constexpr size_t kCapacity = 4;
  Mutex mu;
  CondVar not_full;
  CondVar not_empty;
  std::deque<int> queue;
  int producers_left = kProducers;
  std::vector<long long> sums(kConsumers, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      std::unique_lock<Mutex> lock(mu);
      while (true) {
        not_empty.Wait(lock, [&] { return !queue.empty() || producers_left == 0; });
        if (queue.empty()) return;
        sums[c] += queue.front();
        queue.pop_front();
        not_full.notify_one();
      }
    });
  }
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&] {
      for (int k = 1; k <= kPerProducer; ++k) {
        std::unique_lock<Mutex> lock(mu);
        not_full.Wait(lock, [&] { return queue.size() < kCapacity; });
        queue.push_back(k);
        not_empty.Signal();
      }
      std::lock_guard<Mutex> guard(mu);
      if (--producers_left == 0) not_empty.notify_all();
    });
  }
  for (auto& t : threads) t.join();
  long long total = 0;
  for (long long s : sums) total += s;
  EXPECT_EQ(total, static_cast<long long>(kProducers) * kPerProducer * (kPerProducer + 1) / 2);
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace leakwatch
