// leakwatch/testing.h — fail a GoogleTest test that leaks a task.
//
// Its implementation is agent/testing (libleakwatch_testing, and
// leakwatch::testing_main): it may include the standard library, abseil,
// GoogleTest and the public leakwatch/ headers only.
//
// The C++ counterpart of Go's goleak. `VerifyNone()` checks that no task is
// alive beyond the ones that should be, and its failure message says where each
// leaked task waits, like goleak's stack dump:
//
//   TEST(Server, ShutdownReleasesWorkers) {
//     Server server;
//     server.HandleRequest(kSlowRequest);
//     server.Shutdown();
//     EXPECT_TRUE(leakwatch::testing::VerifyNone());
//   }
//
//   leakwatch: 1 unexpected live task, still there after 1000 ms:
//   thread 4242 "worker":
//     task 57 [thread, age 1.02s] blocked in chan_recv for 1.01s at server/server.cc:88
//
// For a whole test binary, check after every test instead (goleak's
// VerifyTestMain, but each leak is blamed on the test that leaked it):
//
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     leakwatch::testing::InstallLeakCheckListener();
//     return RUN_ALL_TESTS();
//   }
//
// or link `leakwatch::testing_main` instead of `GTest::gtest_main`, whose main()
// is exactly that.
//
// What counts as a leak. Every task in a TakeSnapshot() (snapshot.h) is a
// candidate: a thread (kind "thread"), a TaskScope, a tracked coroutine. Blocked
// or running, any candidate left is a leak, except
//   - the calling thread's own "thread" task (its TaskScopes do count);
//   - tasks alive when the baseline was taken: `Options::IgnoreCurrent()`, and
//     for the listener the tasks alive when each test started;
//   - tasks matched by an ignore rule (kind, site substring, thread-name
//     substring; see Options). When a rule matches a task, the "thread" task of
//     the thread it runs on is skipped too: ignoring the kind "pool" skips the
//     pool's threads while they run pool tasks.
// Tasks take time to finish (a released thread still has to be scheduled), so
// the check takes snapshots until none is left or `timeout` (default 1 s) has
// passed; a passing check returns after its first snapshot.
//
// Which threads are visible. A thread is a task only once leakwatch knows it:
//   - linked with `leakwatch::leakwatch` only, a thread becomes a task the first
//     time it uses leakwatch (a TaskScope, BlockScope or a primitive of sync.h
//     that has to wait). A plain std::thread blocked in std::mutex or
//     std::condition_variable that never touched leakwatch is invisible and
//     cannot be reported;
//   - linked with `leakwatch::intercept` too (or run under
//     LD_PRELOAD=libleakwatch_preload.so), every thread is a task from its
//     start, and its pthread/futex waits are sited at the first frame outside
//     libc, libstdc++ and leakwatch ("function+0xOFFSET").
// Thread names are the snapshot's (Snapshot::Task::thread_name: the name the
// thread last gave itself, else the kernel's, at most 15 bytes).
//
// Thread-safety and cost: VerifyNone and FindLeaks may be called from any
// thread; they only read (TakeSnapshot never blocks application threads). An
// Options value is a plain value, not synchronized. The listener is driven by
// GoogleTest's main thread. The checks and the listener never throw: out of
// memory makes the check fail with a message saying so. The Options setters
// allocate and may throw std::bad_alloc. gtest runs tests one at a time, so
// per-test baselines are exact; a test that hands work to threads outliving
// the test must wait for it (or ignore those threads) to keep the next test
// clean.
//
// Code inside namespace leakwatch that includes this header must spell
// GoogleTest's namespace `::testing`: a plain `testing::` finds this one.
//
// This is a separate library (`leakwatch::testing`, linking GoogleTest): the
// core library never depends on GoogleTest, so leakwatch/leakwatch.h does not
// include this header.

#ifndef LEAKWATCH_TESTING_H_
#define LEAKWATCH_TESTING_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"

namespace leakwatch::testing {

// The default for Options::Timeout (goleak's retries add up to about 0.43 s;
// C++ threads under sanitizers on busy CI machines are slower to exit).
inline constexpr std::chrono::milliseconds kDefaultTimeout{1000};

// What a check ignores and how long it waits. Setters chain:
//
//   leakwatch::testing::VerifyNone(leakwatch::testing::Options()
//                                      .IgnoreCurrent()
//                                      .IgnoreKind("grpc-poller")
//                                      .IgnoreSite("third_party/")
//                                      .Timeout(std::chrono::seconds(5)));
class Options {
 public:
  // Skips tasks of this kind (exact match of Snapshot::Task::kind), and the
  // threads running them. IgnoreKind("thread") skips threads but still
  // reports the TaskScopes and coroutines open on them.
  Options& IgnoreKind(std::string_view kind);
  // Skips tasks blocked at a site whose label contains `substring` (e.g.
  // "server/pool.cc:" or "grpc::"), and the threads running them.
  Options& IgnoreSite(std::string_view substring);
  // Skips every task on a thread whose name contains `substring`.
  Options& IgnoreThreadName(std::string_view substring);
  // Takes a snapshot now and skips every task alive in it (goleak's
  // IgnoreCurrent): tasks started later are still checked, including new
  // TaskScopes on threads that were already alive. Repeated calls add up.
  Options& IgnoreCurrent();
  // Skips the tasks with these ids (Snapshot::Task::id).
  Options& IgnoreTasks(const std::vector<uint64_t>& task_ids);
  // How long to wait for tasks to finish before reporting them. Negative
  // values count as zero: one snapshot, no waiting.
  Options& Timeout(std::chrono::milliseconds timeout);

  const std::vector<std::string>& ignored_kinds() const { return ignored_kinds_; }
  const std::vector<std::string>& ignored_sites() const { return ignored_sites_; }
  const std::vector<std::string>& ignored_thread_names() const { return ignored_thread_names_; }
  const std::vector<uint64_t>& ignored_task_ids() const { return ignored_task_ids_; }  // sorted
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::vector<std::string> ignored_kinds_;
  std::vector<std::string> ignored_sites_;
  std::vector<std::string> ignored_thread_names_;
  std::vector<uint64_t> ignored_task_ids_;  // sorted, unique
  std::chrono::milliseconds timeout_ = kDefaultTimeout;
};

// Takes snapshots until no leak is left or `options.timeout()` has passed, and
// returns the leaked tasks of the last snapshot (empty: no leak), oldest first,
// each with its thread's name. On out of memory returns what it has (possibly
// nothing).
std::vector<Snapshot::Task> FindLeaks(const Options& options = {});

// The report VerifyNone prints for `leaks`, grouped by thread: one line per
// task with its kind, age, and when blocked its op, wait and site, then the
// captured stack frames of the wait (at most 16).
std::string FormatLeaks(const std::vector<Snapshot::Task>& leaks, std::chrono::milliseconds waited);

// Success when FindLeaks(options) is empty; otherwise a failure whose message
// is FormatLeaks(). Use as EXPECT_TRUE(leakwatch::testing::VerifyNone()).
::testing::AssertionResult VerifyNone(const Options& options = {});

// Checks every test of a binary: takes a baseline when a test starts and, when
// it ends, adds a non-fatal failure to that test (at the test's own file:line)
// for each task the test left behind, with VerifyNone's message. Tests already
// failed are checked too (a failing test often leaks; goleak's issue #128).
// Install it after InitGoogleTest, with InstallLeakCheckListener or by hand:
//   ::testing::UnitTest::GetInstance()->listeners().Append(
//       new leakwatch::testing::LeakCheckListener(options));  // gtest owns it
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  explicit LeakCheckListener(Options options = {});

  void OnTestStart(const ::testing::TestInfo& test) override;
  void OnTestEnd(const ::testing::TestInfo& test) override;

 private:
  const Options options_;
  Options per_test_;  // options_ plus the running test's baseline
};

// Appends a LeakCheckListener with `options` to GoogleTest's listeners (gtest
// owns and deletes it). Call once, after ::testing::InitGoogleTest.
void InstallLeakCheckListener(const Options& options = {});

}  // namespace leakwatch::testing

#endif  // LEAKWATCH_TESTING_H_
