// Deadlock verdicts: proven cycles, self-relock and exited owners are reported;
// near misses (timed waits, a lock released in time) never are.

#include "core/deadlock.h"

#include <chrono>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "test_util.h"

namespace leakwatch {
namespace {

using testutil::WaitForSnapshot;

int64_t DeadlockedTasks(const Snapshot& s) {
  int64_t n = 0;
  for (const auto& site : s.sites) n += site.deadlocked;
  return n;
}

int64_t BlockedOn(const Snapshot& s, Op op) {
  int64_t n = 0;
  for (const auto& site : s.sites) n += site.op == op ? site.blocked : 0;
  return n;
}

// Leaves `t` blocked forever: deadlocked threads cannot be joined.
void Abandon(std::thread& t) { t.detach(); }

TEST(Deadlock, AbBaBetweenTwoThreadsIsReported) {
  static Mutex a, b;  // leaked on purpose: the threads stay blocked on them
  std::atomic<int> holding{0};
  std::thread t1([&] {
    a.Lock();
    holding++;
    while (holding < 2) std::this_thread::yield();
    b.Lock();  // waits for t2 forever
  });
  std::thread t2([&] {
    b.Lock();
    holding++;
    while (holding < 2) std::this_thread::yield();
    a.Lock();  // waits for t1 forever
  });
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 2; });
  EXPECT_EQ(DeadlockedTasks(s), 2) << DumpTasks(1);
  int marked = 0;
  for (const auto& t : s.tasks) marked += t.deadlocked;
  EXPECT_EQ(marked, 2);
  EXPECT_NE(DumpTasks(1).find("DEADLOCKED 1"), std::string::npos);
  Abandon(t1);
  Abandon(t2);
}

TEST(Deadlock, ThreeThreadCycleIsReported) {
  static Mutex m[3];
  std::atomic<int> holding{0};
  std::thread threads[3];
  for (int i = 0; i < 3; ++i) {
    threads[i] = std::thread([&, i] {
      m[i].Lock();
      holding++;
      while (holding < 3) std::this_thread::yield();
      m[(i + 1) % 3].Lock();
    });
  }
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 3; });
  EXPECT_EQ(DeadlockedTasks(s), 3) << DumpTasks(1);
  for (auto& t : threads) Abandon(t);
}

TEST(Deadlock, RelockingAHeldMutexIsReported) {
  static Mutex m;
  std::thread t([] {
    m.Lock();
    m.Lock();  // not recursive: waits for itself
  });
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 1; });
  EXPECT_EQ(DeadlockedTasks(s), 1) << DumpTasks(1);
  Abandon(t);
}

TEST(Deadlock, WaitingForAMutexWhoseOwnerExitedIsReported) {
  static Mutex m;
  std::thread owner([] { m.Lock(); });  // exits holding the lock
  owner.join();
  std::thread waiter([] { m.Lock(); });
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 1; });
  EXPECT_EQ(DeadlockedTasks(s), 1) << DumpTasks(1);
  Abandon(waiter);
}

TEST(Deadlock, WaitersBehindADeadlockAreStuckForeverToo) {
  static Mutex a, b;
  std::atomic<int> holding{0};
  std::thread t1([&] {
    a.Lock();
    holding++;
    while (holding < 2) std::this_thread::yield();
    b.Lock();
  });
  std::thread t2([&] {
    b.Lock();
    holding++;
    while (holding < 2) std::this_thread::yield();
    a.Lock();
  });
  WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 2; });
  std::thread bystander([] { a.Lock(); });  // a is held by a deadlocked thread
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return DeadlockedTasks(s) == 3; });
  EXPECT_EQ(DeadlockedTasks(s), 3) << DumpTasks(1);
  Abandon(t1);
  Abandon(t2);
  Abandon(bystander);
}

TEST(Deadlock, ALockHeldByARunningThreadIsNotADeadlock) {
  Mutex m;
  std::atomic<bool> release{false};
  std::atomic<bool> locked{false};
  std::thread holder([&] {
    m.Lock();
    locked = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    m.Unlock();  // released just in time
  });
  while (!locked) std::this_thread::yield();
  std::thread waiter([&] {
    m.Lock();
    m.Unlock();
  });
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return BlockedOn(s, Op::kMutex) == 1; });
  ASSERT_EQ(BlockedOn(s, Op::kMutex), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(DeadlockedTasks(TakeSnapshot()), 0);
  release = true;
  holder.join();
  waiter.join();
}

TEST(Deadlock, TimedWaitsAreNeverCalledDeadlocked) {
  // A timed wait for a lock whose owner exited: stuck, but not a proof.
  static Mutex m;
  std::thread owner([] { m.Lock(); });
  owner.join();
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    while (!stop) {
      BlockScope wait(Op::kMutex);  // no owner word: like a timed lock attempt
      if (m.TryLock()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  Snapshot s = WaitForSnapshot([](const Snapshot& s) { return BlockedOn(s, Op::kMutex) == 1; });
  EXPECT_EQ(DeadlockedTasks(s), 0);
  stop = true;
  waiter.join();
}

TEST(DeadlockGraph, ChangedWaitsBetweenReadsGiveNoVerdict) {
  int32_t owner_word = 999999;  // no such thread: would be an exited owner
  std::vector<core::LockWaiter> waiters = {{4242, 100, &owner_word, 0, false}};
  core::FindDeadlocks(
      waiters, [](size_t) { return int64_t{200}; },  // a new wait started meanwhile
      [](int32_t) { return false; });
  EXPECT_FALSE(waiters[0].deadlocked);
  core::FindDeadlocks(
      waiters, [](size_t) { return int64_t{100}; }, [](int32_t) { return false; });
  EXPECT_TRUE(waiters[0].deadlocked);
}

TEST(DeadlockGraph, UnreadableOwnerWordsAreSkipped) {
  const std::vector<int32_t> values =
      core::ReadOwnerWords({reinterpret_cast<const int32_t*>(8), nullptr});
  EXPECT_EQ(values, (std::vector<int32_t>{-1, -1}));
  int32_t word = 77;
  EXPECT_EQ(core::ReadOwnerWords({nullptr, &word}), (std::vector<int32_t>{-1, 77}));
}

}  // namespace
}  // namespace leakwatch
