// Expected idle waits (sites.idle_sites, sites.idle_threads): which labels and
// thread names match, and how the snapshot counts a long idle wait (idle, not
// stuck, still blocked) against a long wait elsewhere (stuck).

#include "core/idle_waits.h"

#include <pthread.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "core/read_snapshot.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"
#include "test_util.h"

namespace leakwatch {
namespace {

using core::IdleWaitRules;
using testutil::FindSite;

TEST(IdleWaitRules, SitePatternsMatchTheLabelOrItsFunctionPart) {
  const IdleWaitRules rules(
      {"handle_manager", "do_handle_one_connection*", "mariadbd+0xe2d6c2", "src/pool.cc:*"}, {});
  EXPECT_TRUE(rules.LabelIsIdle("handle_manager+0xe0"));
  EXPECT_TRUE(rules.LabelIsIdle("do_handle_one_connection()+0x43d"));
  EXPECT_TRUE(rules.LabelIsIdle("mariadbd+0xe2d6c2"));
  EXPECT_TRUE(rules.LabelIsIdle("src/pool.cc:42"));
  // Another function, another offset of a stripped binary, another file.
  EXPECT_FALSE(rules.LabelIsIdle("handle_manager_2+0xe0"));
  EXPECT_FALSE(rules.LabelIsIdle("mariadbd+0xd5b024"));
  EXPECT_FALSE(rules.LabelIsIdle("mariadbd"));
  EXPECT_FALSE(rules.LabelIsIdle("src/pool.h:42"));
  EXPECT_FALSE(rules.LabelIsIdle(""));
  EXPECT_FALSE(IdleWaitRules({}, {}).LabelIsIdle("handle_manager+0xe0"));
}

TEST(IdleWaitRules, ThreadPatternsMatchWholeNames) {
  const IdleWaitRules rules({}, {"mc-slabmaint", "pool-*"});
  EXPECT_TRUE(rules.HasThreadPatterns());
  EXPECT_TRUE(rules.ThreadIsIdle("mc-slabmaint"));
  EXPECT_TRUE(rules.ThreadIsIdle("pool-3"));
  EXPECT_FALSE(rules.ThreadIsIdle("mc-worker"));
  EXPECT_FALSE(rules.ThreadIsIdle(""));
  EXPECT_FALSE(IdleWaitRules({"x"}, {}).HasThreadPatterns());
}

// A thread named `name` that blocks (BlockScope, op `op`) until released.
class BlockedThread {
 public:
  BlockedThread(const char* name, Op op) {
    thread_ = std::thread([this, name, op] {
      pthread_setname_np(pthread_self(), name);
      BlockScope blocked(op);
      started_.set_value();
      released_.get_future().wait();
    });
    started_.get_future().wait();
  }
  ~BlockedThread() {
    released_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> started_;
  std::promise<void> released_;
  std::thread thread_;
};

int64_t Total(const Snapshot& s, Op op, int64_t Snapshot::Site::*field) {
  int64_t total = 0;
  for (const auto& site : s.sites) {
    if (site.op == op) total += site.*field;
  }
  return total;
}

TEST(IdleWaits, LongWaitAtAnIdleSiteIsIdleNotStuckAndStaysBlocked) {
  BlockedThread idle("svc", Op::kChanRecv);  // every BlockedThread waits at one line of this file
  core::ReadOptions options;
  options.stuck_after_ns = 5'000'000;  // 5 ms
  options.include_tasks = true;
  options.idle_rules = std::make_shared<const IdleWaitRules>(
      std::vector<std::string>{"*/idle_waits_test.cc:*"}, std::vector<std::string>{});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past stuck_after
  Snapshot s = core::ReadSnapshot(options);
  EXPECT_EQ(Total(s, Op::kChanRecv, &Snapshot::Site::blocked), 1);
  EXPECT_EQ(Total(s, Op::kChanRecv, &Snapshot::Site::idle), 1);
  EXPECT_EQ(Total(s, Op::kChanRecv, &Snapshot::Site::stuck), 0);
  int idle_tasks = 0;
  for (const auto& t : s.tasks) idle_tasks += t.blocked && t.op == Op::kChanRecv && t.idle;
  EXPECT_EQ(idle_tasks, 1);

  // Without the rule the same wait is stuck.
  options.idle_rules = nullptr;
  s = core::ReadSnapshot(options);
  EXPECT_EQ(Total(s, Op::kChanRecv, &Snapshot::Site::idle), 0);
  EXPECT_EQ(Total(s, Op::kChanRecv, &Snapshot::Site::stuck), 1);
}

TEST(IdleWaits, ThreadNameMakesEveryLongWaitOfThatThreadIdle) {
  BlockedThread service("lw-idle-svc", Op::kSemaphore);
  BlockedThread worker("lw-worker", Op::kSemaphore);
  core::ReadOptions options;
  options.stuck_after_ns = 5'000'000;
  options.idle_rules = std::make_shared<const IdleWaitRules>(std::vector<std::string>{},
                                                             std::vector<std::string>{"lw-idle-*"});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const Snapshot s = core::ReadSnapshot(options);
  // Both wait at one site: one of them idle, the other stuck.
  EXPECT_EQ(Total(s, Op::kSemaphore, &Snapshot::Site::blocked), 2);
  EXPECT_EQ(Total(s, Op::kSemaphore, &Snapshot::Site::idle), 1);
  EXPECT_EQ(Total(s, Op::kSemaphore, &Snapshot::Site::stuck), 1);
}

TEST(IdleWaits, ShortWaitAtAnIdleSiteIsNeitherIdleNorStuck) {
  BlockedThread idle("lw-idle-svc", Op::kWaitGroup);
  core::ReadOptions options;
  options.stuck_after_ns = 3'600'000'000'000;  // 1 h
  options.idle_rules = std::make_shared<const IdleWaitRules>(
      std::vector<std::string>{"*/idle_waits_test.cc:*"}, std::vector<std::string>{"lw-idle-*"});
  const Snapshot s = core::ReadSnapshot(options);
  EXPECT_EQ(Total(s, Op::kWaitGroup, &Snapshot::Site::blocked), 1);
  EXPECT_EQ(Total(s, Op::kWaitGroup, &Snapshot::Site::idle), 0);
  EXPECT_EQ(Total(s, Op::kWaitGroup, &Snapshot::Site::stuck), 0);
}

}  // namespace
}  // namespace leakwatch
