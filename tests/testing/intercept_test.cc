// Pins VerifyNone with the interposition library linked (leakwatch::intercept):
// a plain std::thread that never touches leakwatch is a task from its start,
// and its wait in std::mutex is reported.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/testing.h"

namespace leakwatch::testing {
namespace {

using ::testing::HasSubstr;

TEST(VerifyNoneWithInterceptTest, PlainThreadBlockedInStdMutexIsReported) {
  std::mutex mu;
  mu.lock();
  std::atomic<pid_t> tid{0};
  std::thread plain([&] {
    tid.store(gettid());
    std::lock_guard<std::mutex> wait_here(mu);
  });
  bool blocked = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!blocked && std::chrono::steady_clock::now() < deadline) {
    for (const Snapshot::Task& task : TakeSnapshot().tasks) {
      blocked |= task.tid == tid.load() && task.blocked;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(blocked);

  const ::testing::AssertionResult result =
      VerifyNone(Options().Timeout(std::chrono::milliseconds(0)));
  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("thread " + std::to_string(tid.load())));
  EXPECT_THAT(result.message(), HasSubstr("[thread, age "));
  EXPECT_THAT(result.message(), HasSubstr("blocked in mutex"));

  mu.unlock();
  plain.join();
  EXPECT_TRUE(VerifyNone());
}

}  // namespace
}  // namespace leakwatch::testing
