// Adoption of the threads running when the hooks load follows the config's
// thread tracking (intercept.threads, intercept.enabled), and never takes
// leakwatch's own threads. As in adopt_test.cc, the test parks threads, then
// dlopen()s the library under test: libleakwatch_preload.so, which reads
// LEAKWATCH_CONFIG in its constructor, or libleakwatch_intercept.so in a binary
// linked with leakwatch (LEAKWATCH_LINKED), which applies a config with
// leakwatch::Start before or after the load. Each test needs a fresh process.

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

#include "adopt_support.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#ifdef LEAKWATCH_LINKED
#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#endif

namespace {

using leakwatch_test::kParked;
using leakwatch_test::LiveThreads;
using leakwatch_test::LoadAndFindTakeSnapshot;
using leakwatch_test::NotLoadedYet;
using leakwatch_test::OsThreadIds;
using leakwatch_test::OsThreads;
using leakwatch_test::Parked;
using leakwatch_test::TakeSnapshotFn;
using leakwatch_test::ThreadKind;
using leakwatch_test::ThreadTasksOf;

#ifndef LEAKWATCH_LINKED

// The preload library reads `config` (a file next to this test) after its
// hooks adopted the running threads: none of them stays counted, and as no
// snapshot was taken in between, their starts are taken back rather than
// counted finished. The loading thread keeps the record it got at load.
void ExpectRunningThreadsUncountedWithConfig(const char* config) {
  ASSERT_TRUE(NotLoadedYet(LIBRARY)) << "run each test in a process of its own (ctest does)";
  ASSERT_EQ(setenv("LEAKWATCH_CONFIG", (std::string(CONFIG_DIR) + "/" + config).c_str(), 1), 0);
  Parked parked;
  parked.Start();
  TakeSnapshotFn take = LoadAndFindTakeSnapshot(LIBRARY);
  ASSERT_NE(take, nullptr);

  const leakwatch::Snapshot snap = take();
  for (pid_t tid : parked.tids) EXPECT_TRUE(ThreadTasksOf(snap, tid).empty()) << "thread " << tid;
  EXPECT_EQ(ThreadTasksOf(snap, gettid()).size(), 1u);
  const leakwatch::Snapshot::Kind* threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, 1);
  EXPECT_EQ(threads->started_total, 1u);
  EXPECT_EQ(threads->finished_total, 0u);
  parked.Release();
}

TEST(AdoptedThreadsConfig, ThreadsOffInTheConfigReadAtLoadLeavesRunningThreadsUncounted) {
  ExpectRunningThreadsUncountedWithConfig("threads_off.yaml");
}

TEST(AdoptedThreadsConfig, InterceptOffInTheConfigReadAtLoadLeavesRunningThreadsUncounted) {
  ExpectRunningThreadsUncountedWithConfig("intercept_off.yaml");
}

#else  // LEAKWATCH_LINKED

leakwatch::Config QuietConfig(bool threads) {
  leakwatch::Config config;
  config.exporter.enabled = false;
  config.intercept.threads = threads;
  return config;
}

// Tracking off after the load drops the adopted threads (counted finished:
// a snapshot had counted them); back on, they are adopted again from their
// real start, and their exits are counted.
TEST(AdoptedThreadsConfig, ThreadsOffAfterTheLoadDropsAdoptedThreadsAndOnAdoptsThemAgain) {
  ASSERT_TRUE(NotLoadedYet(LIBRARY)) << "run each test in a process of its own (ctest does)";
  Parked parked;
  parked.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int64_t running = OsThreads();
  ASSERT_NE(LoadAndFindTakeSnapshot(LIBRARY), nullptr);

  leakwatch::Snapshot snap = leakwatch::TakeSnapshot();
  ASSERT_EQ(LiveThreads(snap), running);
  const uint64_t first_id = ThreadTasksOf(snap, parked.tids[0]).at(0)->id;
  const uint64_t started = ThreadKind(snap)->started_total;
  const uint64_t finished = ThreadKind(snap)->finished_total;

  ASSERT_TRUE(leakwatch::Start(QuietConfig(false)).ok());
  snap = leakwatch::TakeSnapshot();
  for (pid_t tid : parked.tids) EXPECT_TRUE(ThreadTasksOf(snap, tid).empty()) << "thread " << tid;
  EXPECT_EQ(ThreadTasksOf(snap, gettid()).size(), 1u);  // the loading thread has a record
  const leakwatch::Snapshot::Kind* threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, 1);
  EXPECT_EQ(threads->started_total, started);
  EXPECT_EQ(threads->finished_total, finished + uint64_t(running - 1));
  leakwatch::Stop();

  ASSERT_TRUE(leakwatch::Start(QuietConfig(true)).ok());
  snap = leakwatch::TakeSnapshot();
  threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, running);
  EXPECT_EQ(threads->started_total, started + uint64_t(running - 1));
  EXPECT_EQ(threads->finished_total, finished + uint64_t(running - 1));
  for (pid_t tid : parked.tids) {
    const auto tasks = ThreadTasksOf(snap, tid);
    ASSERT_EQ(tasks.size(), 1u) << "thread " << tid;
    EXPECT_GE(tasks[0]->age_seconds, 0.25) << "thread " << tid;  // its real start
    if (tid == parked.tids[0]) {
      EXPECT_NE(tasks[0]->id, first_id);  // a new task: the first was counted finished
    }
  }

  const uint64_t started_again = threads->started_total;
  const uint64_t finished_again = threads->finished_total;
  parked.Release();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (LiveThreads(snap = leakwatch::TakeSnapshot()) != running - kParked &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, running - kParked);
  EXPECT_EQ(threads->started_total, started_again);
  EXPECT_EQ(threads->finished_total, finished_again + kParked);
  leakwatch::Stop();
}

// A config applied before the load (Start, then a late dlopen) with
// interception off: nothing is adopted, not even the loading thread.
TEST(AdoptedThreadsConfig, InterceptOffBeforeTheLoadAdoptsNoThread) {
  ASSERT_TRUE(NotLoadedYet(LIBRARY)) << "run each test in a process of its own (ctest does)";
  Parked parked;
  parked.Start();
  leakwatch::Config config = QuietConfig(true);
  config.intercept.enabled = false;
  ASSERT_TRUE(leakwatch::Start(config).ok());
  ASSERT_NE(LoadAndFindTakeSnapshot(LIBRARY), nullptr);

  const leakwatch::Snapshot snap = leakwatch::TakeSnapshot();
  EXPECT_EQ(LiveThreads(snap), 0);
  for (pid_t tid : parked.tids) EXPECT_TRUE(ThreadTasksOf(snap, tid).empty()) << "thread " << tid;
  EXPECT_TRUE(ThreadTasksOf(snap, gettid()).empty());
  parked.Release();
  leakwatch::Stop();
}

// The agent started before the hooks were dlopen()ed: its sampler and HTTP
// server threads are running, and none of them becomes a task. A thread of
// the server may mark itself only after the scan listed it (/proc races with
// thread start); its entry then goes when it does, hence the wait.
TEST(AdoptedThreadsConfig, AgentThreadsStartedBeforeTheLoadAreNeverAdopted) {
  ASSERT_TRUE(NotLoadedYet(LIBRARY)) << "run each test in a process of its own (ctest does)";
  Parked parked;
  parked.Start();
  const std::set<pid_t> before = OsThreadIds();
  leakwatch::Config config;
  config.exporter.listen = "127.0.0.1:0";
  ASSERT_TRUE(leakwatch::Start(config).ok());
  ASSERT_GT(leakwatch::ExporterPort(), 0);
  std::set<pid_t> agent;
  for (pid_t tid : OsThreadIds()) {
    if (!before.contains(tid)) agent.insert(tid);
  }
  ASSERT_GE(agent.size(), 2u);  // the sampler and the exporter's server thread
  ASSERT_NE(LoadAndFindTakeSnapshot(LIBRARY), nullptr);

  auto agent_tasks = [&](const leakwatch::Snapshot& snap) {
    size_t n = 0;
    for (pid_t tid : agent) n += ThreadTasksOf(snap, tid).size();
    return n;
  };
  leakwatch::Snapshot snap = leakwatch::TakeSnapshot();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (agent_tasks(snap) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    snap = leakwatch::TakeSnapshot();
  }
  for (pid_t tid : agent) EXPECT_TRUE(ThreadTasksOf(snap, tid).empty()) << "agent thread " << tid;
  for (pid_t tid : parked.tids) EXPECT_EQ(ThreadTasksOf(snap, tid).size(), 1u) << "thread " << tid;
  const leakwatch::Snapshot::Kind* threads = ThreadKind(snap);
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->live, static_cast<int64_t>(before.size()));
  EXPECT_EQ(threads->started_total - threads->finished_total, before.size());
  parked.Release();
  leakwatch::Stop();
}

#endif  // LEAKWATCH_LINKED

}  // namespace
