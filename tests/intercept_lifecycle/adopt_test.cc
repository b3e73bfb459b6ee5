// Threads that were running before the hooks were loaded are counted as thread
// tasks from their real start, once each, until they exit. The test starts
// threads parked on a condition variable, then dlopen()s the library under test
// (LIBRARY: libleakwatch_preload.so, or libleakwatch_intercept.so in a binary
// linked with leakwatch, LEAKWATCH_LINKED) and reads snapshots through it.

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#ifdef LEAKWATCH_LINKED
#include "leakwatch/task.h"
#endif

namespace {

constexpr int kParked = 4;

using TakeSnapshotFn = leakwatch::Snapshot (*)();

struct Parked {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<pid_t> tids;
  bool register_one = false;  // the first thread registers itself (LEAKWATCH_LINKED)
  bool registered = false;
  bool released = false;
  std::vector<std::thread> threads;

  void Start() {
    for (int i = 0; i < kParked; ++i) {
      threads.emplace_back([this, i] {
        std::unique_lock<std::mutex> lock(mu);
        tids.push_back(gettid());
        cv.notify_all();
        cv.wait(lock, [&] { return released || (i == 0 && register_one); });
#ifdef LEAKWATCH_LINKED
        if (i == 0 && !released) {
          leakwatch::TaskScope job("adopted-job");  // gives this thread its own record
          registered = true;
          cv.notify_all();
          cv.wait(lock, [&] { return released; });
        }
#endif
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return tids.size() == kParked; });
  }

  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
    for (std::thread& t : threads) t.join();
  }
};

// Threads of this process now (the test's, and any a runtime started itself,
// such as a sanitizer's background thread: those are adopted too).
int64_t OsThreads() {
  int64_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    n += entry.is_directory() ? 1 : 0;
  }
  return n;
}

const leakwatch::Snapshot::Kind* ThreadKind(const leakwatch::Snapshot& snap) {
  for (const auto& k : snap.kinds) {
    if (k.kind == "thread") return &k;
  }
  return nullptr;
}

// The thread tasks of `tid` in `snap`.
std::vector<const leakwatch::Snapshot::Task*> ThreadTasksOf(const leakwatch::Snapshot& snap,
                                                            pid_t tid) {
  std::vector<const leakwatch::Snapshot::Task*> out;
  for (const auto& t : snap.tasks) {
    if (t.tid == tid && t.kind == "thread") out.push_back(&t);
  }
  return out;
}

TEST(AdoptedThreads, ThreadsRunningBeforeTheLibraryLoadsAreCountedOnceUntilTheyExit) {
  Parked parked;
  parked.Start();
  // The parked threads are at least this old when the library loads.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const int64_t running = OsThreads();  // this one, the parked ones, any others
  ASSERT_GE(running, kParked + 1);
  void* lib = dlopen(LIBRARY, RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto take = reinterpret_cast<TakeSnapshotFn>(dlsym(lib, "_ZN9leakwatch12TakeSnapshotEv"));
  ASSERT_NE(take, nullptr) << dlerror();

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
