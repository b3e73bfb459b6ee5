// Each standard primitive family parks kThreads threads in a known function; the
// interposed waits must show up at "function+0xOFFSET" with the right op, and
// their durations must be recorded once released. Built twice: run under
// LD_PRELOAD=libleakwatch_preload.so, and linked with leakwatch::intercept.

#include <pthread.h>
#include <semaphore.h>

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <functional>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "parked.h"

using leakwatch::Op;

namespace parked {

constexpr int kThreads = 3;

// Keeps the Park* functions' frames on the stack: without it a Park* function
// whose last act is the wait ends in a tail call and vanishes from the stack.
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) void ParkInMutex(std::mutex& m) {
  m.lock();
  m.unlock();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInTimedMutex(std::timed_mutex& m) {
  if (m.try_lock_for(std::chrono::hours(1))) m.unlock();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInSharedMutex(std::shared_mutex& m) {
  m.lock_shared();
  m.unlock_shared();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInCondvarWait(std::condition_variable& cv, std::mutex& m,
                                                 const bool& go) {
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return go; });
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInCondvarWaitFor(std::condition_variable& cv, std::mutex& m,
                                                    const bool& go) {
  std::unique_lock<std::mutex> lock(m);
  cv.wait_for(lock, std::chrono::hours(1), [&] { return go; });
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInCondvarWaitUntil(std::condition_variable& cv, std::mutex& m,
                                                      const bool& go) {
  std::unique_lock<std::mutex> lock(m);
  cv.wait_until(lock, std::chrono::system_clock::now() + std::chrono::hours(1), [&] { return go; });
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInJoin(std::thread& t) {
  t.join();
  KEEP_FRAME();
}
__attribute__((noinline)) int ParkInFutureGet(std::shared_future<int> f) {
  const int v = f.get();
  KEEP_FRAME();
  return v;
}
__attribute__((noinline)) void ParkInSemaphore(std::counting_semaphore<>& s) {
  s.acquire();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInLatch(std::latch& l) {
  l.wait();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInBarrier(std::barrier<>& b) {
  b.arrive_and_wait();
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInAtomicWait(std::atomic<int>& a) {
  while (a.load() == 0) a.wait(0);
  KEEP_FRAME();
}
__attribute__((noinline)) void ParkInSemWait(sem_t& s) {
  while (sem_wait(&s) != 0) {
  }
  KEEP_FRAME();
}

// Starts kThreads threads running `park`, checks they are counted at
// `function` with `op`, then runs `release` and joins them.
void ExpectParked(const char* function, Op op, const std::function<void()>& park,
                  const std::function<void()>& release) {
  ASSERT_NE(parked::AgentTakeSnapshot(), nullptr) << "no leakwatch agent in the process";
  const SiteCount before = CountAt(function, op);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(park);
  const SiteCount parked = WaitForBlocked(function, op, kThreads);
  release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(parked.blocked, kThreads) << function << " op=" << parked::OpName(op);
  EXPECT_EQ(parked.label.rfind(std::string(function) + "()+0x", 0), 0u) << parked.label;
  const SiteCount after = CountAt(function, op);
  EXPECT_EQ(after.blocked, 0);
  EXPECT_GE(after.finished, before.finished + kThreads);
}

TEST(InterceptTest, MutexWaitIsSitedAtTheLockingFunction) {
  std::mutex m;
  m.lock();
  ExpectParked(
      "parked::ParkInMutex", Op::kMutex, [&] { ParkInMutex(m); }, [&] { m.unlock(); });
}

TEST(InterceptTest, TimedMutexWaitIsAMutexWait) {
  std::timed_mutex m;
  m.lock();
  ExpectParked(
      "parked::ParkInTimedMutex", Op::kMutex, [&] { ParkInTimedMutex(m); }, [&] { m.unlock(); });
}

TEST(InterceptTest, SharedMutexWaitIsAnRwlockWait) {
  std::shared_mutex m;
  m.lock();
  ExpectParked(
      "parked::ParkInSharedMutex", Op::kRwlock, [&] { ParkInSharedMutex(m); }, [&] { m.unlock(); });
}

void ExpectCondvarParked(const char* function,
                         void (*park)(std::condition_variable&, std::mutex&, const bool&)) {
  std::condition_variable cv;
  std::mutex m;
  bool go = false;
  ExpectParked(
      function, Op::kCondvar, [&] { park(cv, m, go); },
      [&] {
        {
          std::lock_guard<std::mutex> lock(m);
          go = true;
        }
        cv.notify_all();
      });
}

TEST(InterceptTest, CondvarWaitIsSitedPastLibstdcxx) {
  ExpectCondvarParked("parked::ParkInCondvarWait", &ParkInCondvarWait);
}

TEST(InterceptTest, CondvarWaitForIsACondvarWait) {
  ExpectCondvarParked("parked::ParkInCondvarWaitFor", &ParkInCondvarWaitFor);
}

TEST(InterceptTest, CondvarWaitUntilSystemClockIsACondvarWait) {
  ExpectCondvarParked("parked::ParkInCondvarWaitUntil", &ParkInCondvarWaitUntil);
}

TEST(InterceptTest, ThreadJoinIsAJoinWait) {
  std::mutex m;
  m.lock();  // the joined threads wait here, elsewhere than the join site
  std::vector<std::thread> joined;
  for (int i = 0; i < kThreads; ++i) joined.emplace_back([&] { ParkInMutex(m); });
  std::atomic<int> next{0};
  ExpectParked(
      "parked::ParkInJoin", Op::kJoin, [&] { ParkInJoin(joined[next++]); }, [&] { m.unlock(); });
}

TEST(InterceptTest, FutureGetIsAFutureWait) {
  std::promise<int> p;
  std::shared_future<int> f = p.get_future().share();
  ExpectParked(
      "parked::ParkInFutureGet", Op::kFuture, [&] { ParkInFutureGet(f); }, [&] { p.set_value(7); });
}

TEST(InterceptTest, CountingSemaphoreAcquireIsAFutexWait) {
  std::counting_semaphore<> s(0);
  ExpectParked(
      "parked::ParkInSemaphore", Op::kFutex, [&] { ParkInSemaphore(s); },
      [&] { s.release(kThreads); });
}

TEST(InterceptTest, LatchWaitIsAFutexWait) {
  std::latch l(1);
  ExpectParked(
      "parked::ParkInLatch", Op::kFutex, [&] { ParkInLatch(l); }, [&] { l.count_down(); });
}

TEST(InterceptTest, BarrierArriveAndWaitIsAFutexWait) {
  std::barrier<> b(kThreads + 1);
  ExpectParked(
      "parked::ParkInBarrier", Op::kFutex, [&] { ParkInBarrier(b); }, [&] { b.arrive_and_drop(); });
}

TEST(InterceptTest, AtomicWaitIsAFutexWait) {
  std::atomic<int> a{0};
  ExpectParked(
      "parked::ParkInAtomicWait", Op::kFutex, [&] { ParkInAtomicWait(a); },
      [&] {
        a.store(1);
        a.notify_all();
      });
}

TEST(InterceptTest, PosixSemWaitIsASemaphoreWait) {
  sem_t s;
  sem_init(&s, 0, 0);
  ExpectParked(
      "parked::ParkInSemWait", Op::kSemaphore, [&] { ParkInSemWait(s); },
      [&] {
        for (int i = 0; i < kThreads; ++i) sem_post(&s);
      });
  sem_destroy(&s);
}

TEST(InterceptTest, CreatedThreadsAreThreadTasksFromStartToExit) {
  ASSERT_NE(parked::AgentTakeSnapshot(), nullptr) << "no leakwatch agent in the process";
  auto thread_kind = [] {
    for (const auto& k : parked::TakeSnapshot().kinds) {
      if (k.kind == "thread") return k;
    }
    return leakwatch::Snapshot::Kind{};
  };
  const auto before = thread_kind();
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  // These threads make no interposed call (they sleep, which is not a wait
  // leakwatch records): they are tasks because pthread_create registered them.
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (thread_kind().live < before.live + kThreads &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto running = thread_kind();
  go.store(true);
  for (auto& t : threads) t.join();
  auto after = thread_kind();
  while (after.live != before.live && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // exits are asynchronous
    after = thread_kind();
  }
  EXPECT_EQ(running.live, before.live + kThreads);
  EXPECT_GE(running.started_total, before.started_total + kThreads);
  EXPECT_GE(after.finished_total, before.finished_total + kThreads);
  EXPECT_EQ(after.live, before.live);
}

}  // namespace parked
