// The interposed pthread_mutex_lock/timedlock keep glibc's semantics for every
// kind of mutex: the default kind is taken inline by the hooks (hooks.cc,
// TryLockDefaultMutex), the others go through glibc's own trylock and lock.
// Built twice like primitives_test.cc: run under LD_PRELOAD of
// libleakwatch_preload.so, and linked with leakwatch::intercept.

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace {

// A deadline `ms` milliseconds from now on CLOCK_REALTIME.
timespec In(int ms) {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_nsec += static_cast<long>(ms % 1000) * 1'000'000;
  t.tv_sec += ms / 1000 + t.tv_nsec / 1'000'000'000;
  t.tv_nsec %= 1'000'000'000;
  return t;
}

class Mutex {
 public:
  explicit Mutex(int type, int robust = PTHREAD_MUTEX_STALLED, int protocol = PTHREAD_PRIO_NONE) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, type);
    pthread_mutexattr_setrobust(&attr, robust);
    pthread_mutexattr_setprotocol(&attr, protocol);
    init_result_ = pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~Mutex() { pthread_mutex_destroy(&m_); }
  pthread_mutex_t* get() { return &m_; }
  int init_result() const { return init_result_; }

 private:
  pthread_mutex_t m_;
  int init_result_;
};

// Another thread's pthread_mutex_trylock result.
int TryLockFromAnotherThread(pthread_mutex_t* m) {
  int r = -1;
  std::thread([&] {
    r = pthread_mutex_trylock(m);
    if (r == 0) pthread_mutex_unlock(m);
  }).join();
  return r;
}

TEST(MutexKindsTest, HooksAreInterposed) {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  EXPECT_NE(dlsym(RTLD_DEFAULT, "pthread_mutex_lock"), dlsym(libc, "pthread_mutex_lock"));
  EXPECT_NE(dlsym(RTLD_DEFAULT, "pthread_mutex_timedlock"), dlsym(libc, "pthread_mutex_timedlock"));
}

TEST(MutexKindsTest, DefaultMutexRecordsOwnerAndUsersLikeGlibc) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  ASSERT_EQ(pthread_mutex_lock(&m), 0);
  EXPECT_EQ(m.__data.__lock, 1);
  EXPECT_EQ(m.__data.__owner, gettid());
  EXPECT_EQ(m.__data.__nusers, 1u);
  EXPECT_EQ(TryLockFromAnotherThread(&m), EBUSY);
  ASSERT_EQ(pthread_mutex_unlock(&m), 0);
  EXPECT_EQ(m.__data.__owner, 0);
  EXPECT_EQ(m.__data.__nusers, 0u);
  EXPECT_EQ(pthread_mutex_destroy(&m), 0);
}

TEST(MutexKindsTest, DefaultMutexExcludesConcurrentIncrements) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  constexpr int kPerThread = 200000;
  int64_t counter = 0;
  auto add = [&] {
    for (int i = 0; i < kPerThread; ++i) {
      pthread_mutex_lock(&m);
      // A read and a separate write: lost updates show if exclusion fails.
      const int64_t v = __atomic_load_n(&counter, __ATOMIC_RELAXED);
      __atomic_store_n(&counter, v + 1, __ATOMIC_RELAXED);
      pthread_mutex_unlock(&m);
    }
  };
  std::thread a(add);
  std::thread b(add);
  a.join();
  b.join();
  EXPECT_EQ(counter, 2 * kPerThread);
  EXPECT_EQ(m.__data.__nusers, 0u);
}

TEST(MutexKindsTest, DefaultMutexInForkChildRecordsTheChildsTid) {
  std::thread([] {}).join();  // the parent has had threads: the child's tid is new
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  ASSERT_EQ(pthread_mutex_lock(&m), 0);  // caches the parent's tid
  ASSERT_EQ(pthread_mutex_unlock(&m), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int status = 0;
    if (pthread_mutex_lock(&m) != 0) status |= 1;
    if (m.__data.__owner != gettid()) status |= 2;
    if (pthread_mutex_trylock(&m) != EBUSY) status |= 4;
    if (pthread_mutex_unlock(&m) != 0) status |= 8;
    _exit(status);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bits: 1 lock, 2 owner tid, 4 trylock, 8 unlock";
}

TEST(MutexKindsTest, ErrorCheckMutexRelockByOwnerIsEdeadlk) {
  Mutex m(PTHREAD_MUTEX_ERRORCHECK);
  ASSERT_EQ(pthread_mutex_lock(m.get()), 0);
  EXPECT_EQ(pthread_mutex_lock(m.get()), EDEADLK);
  const timespec deadline = In(10);
  EXPECT_EQ(pthread_mutex_timedlock(m.get(), &deadline), EDEADLK);
  int unlock_from_other = -1;
  std::thread([&] { unlock_from_other = pthread_mutex_unlock(m.get()); }).join();
  EXPECT_EQ(unlock_from_other, EPERM);
  EXPECT_EQ(pthread_mutex_unlock(m.get()), 0);
  EXPECT_EQ(pthread_mutex_unlock(m.get()), EPERM);
}

TEST(MutexKindsTest, RecursiveMutexCountsItsLocks) {
  Mutex m(PTHREAD_MUTEX_RECURSIVE);
  ASSERT_EQ(pthread_mutex_lock(m.get()), 0);
  ASSERT_EQ(pthread_mutex_lock(m.get()), 0);
  const timespec deadline = In(10);
  ASSERT_EQ(pthread_mutex_timedlock(m.get(), &deadline), 0);
  EXPECT_EQ(m.get()->__data.__count, 3u);
  ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);
  ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);
  EXPECT_EQ(TryLockFromAnotherThread(m.get()), EBUSY);  // still held once
  ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);
  EXPECT_EQ(TryLockFromAnotherThread(m.get()), 0);
}

TEST(MutexKindsTest, TimedLockOfHeldDefaultMutexTimesOut) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    pthread_mutex_lock(&m);
    held = true;
    while (!release) std::this_thread::yield();
    pthread_mutex_unlock(&m);
  });
  while (!held) std::this_thread::yield();
  const timespec deadline = In(20);
  EXPECT_EQ(pthread_mutex_timedlock(&m, &deadline), ETIMEDOUT);
  release = true;
  holder.join();
  EXPECT_EQ(pthread_mutex_lock(&m), 0);
  EXPECT_EQ(m.__data.__owner, gettid());
  EXPECT_EQ(pthread_mutex_unlock(&m), 0);
}

TEST(MutexKindsTest, RobustMutexOfAnExitedOwnerIsEownerdead) {
  for (const bool timed : {false, true}) {
    SCOPED_TRACE(timed ? "pthread_mutex_timedlock" : "pthread_mutex_lock");
    Mutex m(PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST);
    std::thread([&] { pthread_mutex_lock(m.get()); }).join();  // exits holding it
    const timespec deadline = In(1000);
    const int r = timed ? pthread_mutex_timedlock(m.get(), &deadline) : pthread_mutex_lock(m.get());
    ASSERT_EQ(r, EOWNERDEAD);
    ASSERT_EQ(pthread_mutex_consistent(m.get()), 0);
    ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);
    EXPECT_EQ(pthread_mutex_lock(m.get()), 0);
    EXPECT_EQ(pthread_mutex_unlock(m.get()), 0);
  }
}

TEST(MutexKindsTest, RobustMutexLeftInconsistentIsNotRecoverable) {
  Mutex m(PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST);
  std::thread([&] { pthread_mutex_lock(m.get()); }).join();
  ASSERT_EQ(pthread_mutex_lock(m.get()), EOWNERDEAD);
  ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);  // without pthread_mutex_consistent
  EXPECT_EQ(pthread_mutex_lock(m.get()), ENOTRECOVERABLE);
}

TEST(MutexKindsTest, PriorityInheritanceMutexHandsOverToAWaiter) {
  Mutex m(PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_INHERIT);
  ASSERT_EQ(m.init_result(), 0);
  ASSERT_EQ(pthread_mutex_lock(m.get()), 0);
  std::atomic<int> waiter_result{-1};
  std::thread waiter([&] {
    waiter_result = pthread_mutex_lock(m.get());  // waits in the kernel (FUTEX_LOCK_PI)
    pthread_mutex_unlock(m.get());
  });
  // The waiter is in the kernel once the futex word carries FUTEX_WAITERS
  // (set by FUTEX_LOCK_PI as the waiter queues): wait for that state.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto waiting = [&] {
    return (__atomic_load_n(&m.get()->__data.__lock, __ATOMIC_ACQUIRE) & FUTEX_WAITERS) != 0;
  };
  while (!waiting() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(waiting()) << "the waiter never blocked in the kernel";
  EXPECT_EQ(waiter_result.load(), -1);
  ASSERT_EQ(pthread_mutex_unlock(m.get()), 0);
  waiter.join();
  EXPECT_EQ(waiter_result.load(), 0);
  EXPECT_EQ(TryLockFromAnotherThread(m.get()), 0);
}

}  // namespace
