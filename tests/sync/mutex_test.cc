// leakwatch::Mutex: mutual exclusion through its own API and the standard
// wrappers, the owner id, and where its contended waits are sited.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "site_polling.h"

namespace leakwatch {
namespace {

using namespace ::leakwatch::testing_sync;  // NOLINT: the suite's helpers (site_polling.h)
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// --- Mutual exclusion, table-driven over every way of locking. Each style
// increments a plain int that only the mutex protects; TSan checks the rest.

struct LockStyle {
  const char* name;
  // Runs `critical` under `mu` (and, for two-mutex styles, under `other` too).
  std::function<void(Mutex& mu, Mutex& other, const std::function<void()>& critical)> run;
};

const LockStyle kLockStyles[] = {
    {"LockUnlock",
     [](Mutex& mu, Mutex&, const std::function<void()>& critical) {
       mu.Lock();
       critical();
       mu.Unlock();
     }},
    {"TryLockThenLock",
     [](Mutex& mu, Mutex&, const std::function<void()>& critical) {
       if (!mu.TryLock()) mu.Lock();
       critical();
       mu.Unlock();
     }},
    {"LockGuard",
     [](Mutex& mu, Mutex&, const std::function<void()>& critical) {
       std::lock_guard<Mutex> guard(mu);
       critical();
     }},
    {"UniqueLock",
     [](Mutex& mu, Mutex&, const std::function<void()>& critical) {
       std::unique_lock<Mutex> lock(mu);
       critical();
       lock.unlock();
       lock.lock();  // relock through the wrapper too
     }},
    {"ScopedLockOfTwoInEitherOrder",
     [](Mutex& mu, Mutex& other, const std::function<void()>& critical) {
       // Threads alternate the argument order; std::lock's try-and-back-off
       // protocol over our lock/try_lock must still never deadlock.
       static std::atomic<int> flip{0};
       if (flip.fetch_add(1) % 2 == 0) {
         std::scoped_lock lock(mu, other);
         critical();
       } else {
         std::scoped_lock lock(other, mu);
         critical();
       }
     }},
};

class MutexExclusionTest : public ::testing::TestWithParam<LockStyle> {};

TEST_P(MutexExclusionTest, CriticalSectionsNeverOverlap) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 3000;
  Mutex mu;
  Mutex other;
  int counter = 0;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  auto critical = [&] {
    if (inside.fetch_add(1) != 0) overlapped = true;
    ++counter;
    inside.fetch_sub(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) GetParam().run(mu, other, critical);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(counter, kThreads * kIterations);
  EXPECT_EQ(mu.OwnerTid(), 0);
}

INSTANTIATE_TEST_SUITE_P(Styles, MutexExclusionTest, ::testing::ValuesIn(kLockStyles),
                         [](const ::testing::TestParamInfo<LockStyle>& info) {
                           return std::string(info.param.name);
                         });

TEST(MutexTest, TryLockFailsWhileAnotherThreadHoldsIt) {
  Mutex mu;
  mu.Lock();
  std::thread other([&] {
    EXPECT_FALSE(mu.TryLock());
    EXPECT_FALSE(mu.try_lock());
  });
  other.join();
  mu.Unlock();
  std::thread again([&] {
    EXPECT_TRUE(mu.TryLock());
    mu.Unlock();
  });
  again.join();
}

TEST(MutexTest, OwnerTidIsTheHoldingThreadAndZeroWhenFree) {
  Mutex mu;
  EXPECT_EQ(mu.OwnerTid(), 0);
  mu.Lock();
  EXPECT_EQ(mu.OwnerTid(), internal::CurrentTid());
  mu.Unlock();
  EXPECT_EQ(mu.OwnerTid(), 0);
  std::thread other([&] {
    std::lock_guard<Mutex> guard(mu);
    EXPECT_EQ(mu.OwnerTid(), internal::CurrentTid());
  });
  other.join();
  EXPECT_EQ(mu.OwnerTid(), 0);
}

// --- Sites.

TEST(MutexTest, UncontendedLockRecordsNothing) {
  Mutex mu;
  constexpr int kLockLine = __LINE__ + 2;
  for (int i = 0; i < 100; ++i) {
    mu.Lock();
    mu.Unlock();
  }
  EXPECT_EQ(FindSite(TakeSnapshot(), LineSite(kLockLine), Op::kMutex), std::nullopt)
      << "a lock that never waited must not intern a site";
}

TEST(MutexTest, ContendedLockIsSitedAtCallerLineUntilAcquired) {
  Mutex mu;
  mu.Lock();
  constexpr int kLockLine = __LINE__ + 3;
  const uint64_t waits_before = FinishedWaits(LineSite(kLockLine), Op::kMutex);
  std::thread waiter([&] {
    mu.Lock();
    mu.Unlock();
  });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kLockLine), Op::kMutex, 1));
  EXPECT_THAT(LineSite(kLockLine), StartsWith("tests/sync/mutex_test.cc:"));
  mu.Unlock();
  waiter.join();
  const auto site = FindSite(TakeSnapshot(), LineSite(kLockLine), Op::kMutex);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->blocked, 0);
  EXPECT_EQ(site->durations.count - waits_before, 1u);
}

TEST(MutexTest, DirectLowercaseLockIsSitedAtCallerLine) {
  Mutex mu;
  mu.Lock();
  constexpr int kLockLine = __LINE__ + 2;
  std::thread waiter([&] {
    mu.lock();
    mu.unlock();
  });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kLockLine), Op::kMutex, 1));
  mu.Unlock();
  waiter.join();
}

// Lock through a standard wrapper in a function of this file. noinline keeps
// the function a frame of its own, as a real handler function would be.
[[gnu::noinline]] void IncrementUnderLockGuard(Mutex& mu, int& counter) {
  std::lock_guard<Mutex> guard(mu);
  ++counter;
}
[[gnu::noinline]] void IncrementUnderUniqueLock(Mutex& mu, int& counter) {
  std::unique_lock<Mutex> lock(mu);
  ++counter;
}
[[gnu::noinline]] void IncrementUnderScopedLock(Mutex& mu, int& counter) {
  std::scoped_lock lock(mu);
  ++counter;
}
[[gnu::noinline]] void IncrementUnderScopedLockOfTwo(Mutex& mu, int& counter) {
  Mutex second;
  std::scoped_lock lock(second, mu);
  ++counter;
}

struct WrapperCase {
  const char* name;
  void (*increment)(Mutex&, int&);
  const char* function;  // the function the wait must be sited in
};

class MutexWrapperSiteTest : public ::testing::TestWithParam<WrapperCase> {};

TEST_P(MutexWrapperSiteTest, WaitIsSitedAtCallingFunctionNotStandardHeader) {
  const WrapperCase& c = GetParam();
  Mutex mu;
  int counter = 0;
  for (int round = 1; round <= 2; ++round) {  // the second round hits the frame cache
    SCOPED_TRACE(::testing::Message() << "round " << round);
    mu.Lock();
    std::thread waiter([&] { c.increment(mu, counter); });
    // The site is known only once the waiter blocked; count from there.
    const auto site = PollForSite(Op::kMutex, [&](const Snapshot::Site& s) {
      return s.blocked == 1 && s.site.find(c.function) != std::string::npos;
    });
    const uint64_t waits_before = site.has_value() ? site->durations.count : 0;
    if (!site.has_value()) {
      ADD_FAILURE() << "no blocked mutex site naming " << c.function << ":\n" << DumpTasks(1);
    } else {
      EXPECT_THAT(site->site, Not(StartsWith("/usr/")));
      EXPECT_THAT(site->site, Not(HasSubstr("/include/c++/")));
      EXPECT_THAT(site->site, HasSubstr("+0x"));  // function+0xOFFSET
    }
    mu.Unlock();
    waiter.join();
    EXPECT_EQ(counter, round);
    if (site.has_value()) {
      const auto after = FindSite(TakeSnapshot(), site->site, Op::kMutex);
      ASSERT_TRUE(after.has_value());
      EXPECT_EQ(after->blocked, 0);
      EXPECT_EQ(after->durations.count - waits_before, 1u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Wrappers, MutexWrapperSiteTest,
    ::testing::Values(
        WrapperCase{"LockGuard", &IncrementUnderLockGuard, "IncrementUnderLockGuard"},
        WrapperCase{"UniqueLock", &IncrementUnderUniqueLock, "IncrementUnderUniqueLock"},
        WrapperCase{"ScopedLock", &IncrementUnderScopedLock, "IncrementUnderScopedLock"},
        WrapperCase{"ScopedLockOfTwo", &IncrementUnderScopedLockOfTwo,
                    "IncrementUnderScopedLockOfTwo"}),
    [](const ::testing::TestParamInfo<WrapperCase>& info) { return std::string(info.param.name); });

TEST(MutexTest, WrapperInLambdaIsNeverSitedAtStandardHeaderLine) {
  Mutex mu;
  mu.Lock();
  std::thread waiter([&] { std::lock_guard<Mutex> guard(mu); });
  const auto site = PollForSite(Op::kMutex, [](const Snapshot::Site& s) { return s.blocked == 1; });
  mu.Unlock();
  waiter.join();
  ASSERT_TRUE(site.has_value());
  // Wherever inlining put the lambda, the label is a function, not a header.
  EXPECT_THAT(site->site, Not(StartsWith("/usr/")));
  EXPECT_THAT(site->site, Not(HasSubstr("/include/c++/")));
  EXPECT_THAT(site->site, Not(HasSubstr(".h:")));
}

}  // namespace
}  // namespace leakwatch
