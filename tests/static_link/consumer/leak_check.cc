// A user's test binary linked with leakwatch::testing_main from the installed
// package: every test is checked for leaked tasks when it ends.
#include <thread>

#include "gtest/gtest.h"
#include "leakwatch/task.h"
#include "leakwatch/testing.h"

TEST(Consumer, JoinedThreadLeavesNoTask) {
  std::thread worker([] { leakwatch::TaskScope task("consumer_job"); });
  worker.join();
  EXPECT_TRUE(leakwatch::testing::VerifyNone());
}
