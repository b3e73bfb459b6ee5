// A thread that blocks forever on a leakwatch::Channel receive, sited at the
// line that created it: the leak the tests of leakwatch/testing.h look for.
// Destroying it (or Release()) closes the channel and joins the thread, so no
// test leaves a thread behind at exit.

#ifndef LEAKWATCH_TESTS_TESTING_BLOCKED_THREAD_H_
#define LEAKWATCH_TESTS_TESTING_BLOCKED_THREAD_H_

#include <pthread.h>

#include <chrono>
#include <optional>
#include <source_location>
#include <string>
#include <thread>

#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

namespace leakwatch::testing_support {

// Generous: sanitizer builds on a busy 2-core machine are slow. Polls end as
// soon as the state is reached.
inline constexpr std::chrono::seconds kPollDeadline{60};

class BlockedThread {
 public:
  // Starts a thread named `thread_name` (if not empty) that opens a TaskScope
  // of `kind` (if not empty) and waits in Recv at `where`.
  explicit BlockedThread(std::string kind = "", std::string thread_name = "",
                         std::source_location where = std::source_location::current())
      : site_(std::string(where.file_name()) + ":" + std::to_string(where.line())),
        thread_([ch = channel_, kind, thread_name, where]() mutable {
          if (!thread_name.empty()) pthread_setname_np(pthread_self(), thread_name.c_str());
          std::optional<TaskScope> scope;
          if (!kind.empty()) scope.emplace(kind);
          ch.Recv(where);
        }) {}
  ~BlockedThread() { Release(); }

  BlockedThread(const BlockedThread&) = delete;
  BlockedThread& operator=(const BlockedThread&) = delete;

  // The site label its wait is reported at ("tests/testing/x_test.cc:42").
  const std::string& site() const { return site_; }

  // Polls TakeSnapshot() until the thread is blocked at site(); false after
  // kPollDeadline.
  bool WaitUntilBlocked() const {
    const auto deadline = std::chrono::steady_clock::now() + kPollDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const Snapshot::Task& task : TakeSnapshot().tasks) {
        if (task.blocked && task.site == site_) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  // Lets the thread return from Recv and joins it.
  void Release() {
    if (!thread_.joinable()) return;
    channel_.Close();
    thread_.join();
  }

 private:
  Channel<int> channel_;
  std::string site_;
  std::thread thread_;
};

}  // namespace leakwatch::testing_support

#endif  // LEAKWATCH_TESTS_TESTING_BLOCKED_THREAD_H_
