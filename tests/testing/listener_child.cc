// A test binary with leakwatch::testing_main's per-test leak check, run by
// listener_test.cc (never by ctest directly: one of its tests leaks on purpose).
// Tests run in this order; only LeaksABlockedThread may fail. listener_test.cc
// pins its line numbers (34, 35).

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "blocked_thread.h"
#include "gtest/gtest.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

namespace {

using ::leakwatch::testing_support::BlockedThread;

// Leaked threads are released when the process exits (after RUN_ALL_TESTS).
std::vector<std::unique_ptr<BlockedThread>>& Leaked() {
  static auto* leaked = new std::vector<std::unique_ptr<BlockedThread>>;
  return *leaked;
}
struct ReleaseAtExit {
  ~ReleaseAtExit() { Leaked().clear(); }
} release_at_exit;

TEST(ListenerChild, JoinsItsThreadBefore) {
  BlockedThread thread;
  ASSERT_TRUE(thread.WaitUntilBlocked());
}

TEST(ListenerChild, LeaksABlockedThread) {
  Leaked().emplace_back(new BlockedThread("leaked-by-child"));  // sited here, line 35
  ASSERT_TRUE(Leaked().back()->WaitUntilBlocked());
}

TEST(ListenerChild, DetachesAThreadThatExitsSoonAfter) {
  leakwatch::Channel<int> release;
  std::thread([release]() mutable {
    leakwatch::TaskScope scope("exits-soon");
    release.Recv();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }).detach();
  // Received: the scope is open, and closes 100 ms after the test ends, so
  // the check at the end of the test has to wait for it.
  ASSERT_TRUE(release.Send(1));
}

TEST(ListenerChild, JoinsItsThreadAfter) {
  BlockedThread thread;
  ASSERT_TRUE(thread.WaitUntilBlocked());
}

}  // namespace
