// What the adoption tests share: threads parked on a condition variable before
// the library under test is loaded, and readers of the thread tasks in a
// snapshot taken through that library. Each adoption test needs a process in
// which the library has not been loaded yet: ctest runs every test in a
// process of its own (gtest_discover_tests), and NotLoadedYet() says so when a
// test is run in the same process as another.

#ifndef LEAKWATCH_TESTS_INTERCEPT_LIFECYCLE_ADOPT_SUPPORT_H_
#define LEAKWATCH_TESTS_INTERCEPT_LIFECYCLE_ADOPT_SUPPORT_H_

#include <dlfcn.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#ifdef LEAKWATCH_LINKED
#include "leakwatch/task.h"
#endif

namespace leakwatch_test {

constexpr int kParked = 4;

using TakeSnapshotFn = leakwatch::Snapshot (*)();

// kParked threads waiting on a condition variable until Release() (or the
// destructor, when a failed assertion left the test early).
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

  ~Parked() {
    if (!released) Release();
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
inline std::set<pid_t> OsThreadIds() {
  std::set<pid_t> ids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    if (entry.is_directory()) ids.insert(std::stoi(entry.path().filename().string()));
  }
  return ids;
}

inline int64_t OsThreads() { return static_cast<int64_t>(OsThreadIds().size()); }

inline const leakwatch::Snapshot::Kind* ThreadKind(const leakwatch::Snapshot& snap) {
  for (const auto& k : snap.kinds) {
    if (k.kind == "thread") return &k;
  }
  return nullptr;
}

// Live thread tasks in `snap` (0 when the kind is not listed).
inline int64_t LiveThreads(const leakwatch::Snapshot& snap) {
  const leakwatch::Snapshot::Kind* k = ThreadKind(snap);
  return k == nullptr ? 0 : k->live;
}

// The thread tasks of `tid` in `snap`.
inline std::vector<const leakwatch::Snapshot::Task*> ThreadTasksOf(const leakwatch::Snapshot& snap,
                                                                   pid_t tid) {
  std::vector<const leakwatch::Snapshot::Task*> out;
  for (const auto& t : snap.tasks) {
    if (t.tid == tid && t.kind == "thread") out.push_back(&t);
  }
  return out;
}

// True if `library` is not loaded in this process yet.
inline bool NotLoadedYet(const char* library) {
  void* lib = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) return true;
  dlclose(lib);
  return false;
}

// TakeSnapshot of the agent `library` brought in: itself or its dependencies
// (libleakwatch_intercept.so), or the agent it loaded, named by AGENT_LIBRARY
// (libleakwatch_preload.so loads libleakwatch_preload_agent.so).
inline TakeSnapshotFn FindTakeSnapshot(void* lib) {
  constexpr char kName[] = "_ZN9leakwatch12TakeSnapshotEv";
  void* take = dlsym(lib, kName);
#ifdef AGENT_LIBRARY
  if (take == nullptr) {
    void* agent = dlopen(AGENT_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(agent, nullptr) << AGENT_LIBRARY << " was not loaded";
    if (agent != nullptr) take = dlsym(agent, kName);
  }
#endif
  EXPECT_NE(take, nullptr) << dlerror();
  return reinterpret_cast<TakeSnapshotFn>(take);
}

// Loads `library` and returns its TakeSnapshot, or nullptr (with a failure).
inline TakeSnapshotFn LoadAndFindTakeSnapshot(const char* library) {
  void* lib = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
  EXPECT_NE(lib, nullptr) << dlerror();
  if (lib == nullptr) return nullptr;
  return FindTakeSnapshot(lib);
}

}  // namespace leakwatch_test

#endif  // LEAKWATCH_TESTS_INTERCEPT_LIFECYCLE_ADOPT_SUPPORT_H_
