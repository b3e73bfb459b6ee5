// Threads that were running before the hooks were loaded are counted as thread
// tasks from their real start, once each, until they exit. The test starts
// threads parked on a condition variable, then dlopen()s the library under test
// (LIBRARY: libleakwatch_preload.so, or libleakwatch_intercept.so in a binary
// linked with leakwatch, LEAKWATCH_LINKED) and reads snapshots through it.

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "adopt_support.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"

namespace {

using leakwatch_test::kParked;
using leakwatch_test::OsThreads;
using leakwatch_test::Parked;
using leakwatch_test::TakeSnapshotFn;
using leakwatch_test::ThreadKind;
using leakwatch_test::ThreadTasksOf;

TEST(AdoptedThreads, ThreadsRunningBeforeTheLibraryLoadsAreCountedOnceUntilTheyExit) {
  Parked parked;
  parked.Start();
  // The parked threads are at least this old when the library loads.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const int64_t running = OsThreads();  // this one, the parked ones, any others
  ASSERT_GE(running, kParked + 1);
  void* lib = dlopen(LIBRARY, RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  TakeSnapshotFn take = leakwatch_test::FindTakeSnapshot(lib);
  ASSERT_NE(take, nullptr);

  // The loading thread (this one) registered itself; the others were adopted.
  // Threads the library started itself (the agent's) are not tasks.
  leakwatch::Snapshot snap = take();
  const leakwatch::Snapshot::Kind* threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, running);
  EXPECT_EQ(threads->started_total - threads->finished_total, uint64_t(running));
  EXPECT_GE(threads->oldest_age_seconds, 0.25);
  [[maybe_unused]] uint64_t first_id = 0;
  for (pid_t tid : parked.tids) {
    const auto tasks = ThreadTasksOf(snap, tid);
    ASSERT_EQ(tasks.size(), 1u) << "thread " << tid;
    EXPECT_GE(tasks[0]->age_seconds, 0.25) << "thread " << tid;  // its real start
    if (tid == parked.tids[0]) first_id = tasks[0]->id;
  }
  EXPECT_EQ(ThreadTasksOf(snap, gettid()).size(), 1u);

#ifdef LEAKWATCH_LINKED
  // An adopted thread that registers itself is still counted once, with the same
  // task id and start.
  {
    std::unique_lock<std::mutex> lock(parked.mu);
    parked.register_one = true;
    parked.cv.notify_all();
    parked.cv.wait(lock, [&] { return parked.registered; });
  }
  snap = take();
  threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, running);
  EXPECT_EQ(threads->started_total - threads->finished_total, uint64_t(running));
  const auto tasks = ThreadTasksOf(snap, parked.tids[0]);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0]->id, first_id);
  EXPECT_GE(tasks[0]->age_seconds, 0.25);
#endif

  // Once they exit, they are gone and each exit was counted.
  const uint64_t started = threads->started_total;
  const uint64_t finished = threads->finished_total;
  parked.Release();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  do {
    snap = take();
    threads = ThreadKind(snap);
    ASSERT_NE(threads, nullptr);
    if (threads->live == running - kParked) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(threads->live, running - kParked);
  EXPECT_EQ(threads->started_total, started);
  EXPECT_EQ(threads->finished_total, finished + kParked);
  for (pid_t tid : parked.tids) EXPECT_TRUE(ThreadTasksOf(snap, tid).empty()) << tid;
}

}  // namespace
