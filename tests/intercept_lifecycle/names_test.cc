// Thread names set through pthread_setname_np (on the thread itself or from
// another thread) and prctl(PR_SET_NAME) are kept in the thread's record and
// shown by the task dump. Linked with leakwatch::intercept.

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_name.h"
#include "core/thread_record.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"

namespace {

// A thread that runs `setup`, reports its tid and parks until released.
class ParkedThread {
 public:
  explicit ParkedThread(std::function<void()> setup = [] {}) {
    thread_ = std::thread([this, setup = std::move(setup)] {
      setup();
      std::unique_lock<std::mutex> lock(mu_);
      tid_ = gettid();
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return tid_ != 0; });
  }
  ~ParkedThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  pid_t tid() const { return tid_; }
  pthread_t handle() { return thread_.native_handle(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  pid_t tid_ = 0;
  bool released_ = false;
  std::thread thread_;
};

// The name recorded in the record of thread `tid` ("" if none or no record).
std::string RecordedName(pid_t tid) {
  std::string name;
  leakwatch::core::ForEachRecord([&](const leakwatch::core::ThreadRecord& rec) {
    char buf[leakwatch::core::kThreadNameBytes];
    if (rec.tid == tid && leakwatch::core::LoadThreadName(rec, buf)) name = buf;
  });
  return name;
}

std::string DumpLine(pid_t tid, const std::string& name) {
  return "thread " + std::to_string(tid) + " \"" + name + "\"";
}

TEST(ThreadNames, NameSetByTheThreadItselfIsRecordedAndDumped) {
  ParkedThread t([] { ASSERT_EQ(pthread_setname_np(pthread_self(), "lw-self"), 0); });
  EXPECT_EQ(RecordedName(t.tid()), "lw-self");
  EXPECT_NE(leakwatch::DumpTasks(2).find(DumpLine(t.tid(), "lw-self")), std::string::npos);
}

TEST(ThreadNames, TakeSnapshotNamesEveryTasksThread) {
  ParkedThread t([] { ASSERT_EQ(pthread_setname_np(pthread_self(), "lw-snap"), 0); });
  const leakwatch::Snapshot snap = leakwatch::TakeSnapshot();
  bool found = false;
  for (const leakwatch::Snapshot::Task& task : snap.tasks) {
    if (task.tid != t.tid()) continue;
    found = true;
    EXPECT_EQ(task.thread_name, "lw-snap");
  }
  EXPECT_TRUE(found) << "no task runs on thread " << t.tid();
}

TEST(ThreadNames, NameSetByAnotherThreadIsRecordedAndDumped) {
  ParkedThread t;
  ASSERT_EQ(pthread_setname_np(t.handle(), "lw-other"), 0);
  EXPECT_EQ(RecordedName(t.tid()), "lw-other");
  EXPECT_NE(leakwatch::DumpTasks(2).find(DumpLine(t.tid(), "lw-other")), std::string::npos);
}

TEST(ThreadNames, PrctlSetNameIsRecordedTruncatedLikeTheKernel) {
  ParkedThread t([] { ASSERT_EQ(prctl(PR_SET_NAME, "lw-prctl-name-longer-than-15", 0, 0, 0), 0); });
  EXPECT_EQ(RecordedName(t.tid()), "lw-prctl-name-l");  // 15 bytes, as /proc shows
  EXPECT_NE(leakwatch::DumpTasks(2).find(DumpLine(t.tid(), "lw-prctl-name-l")), std::string::npos);
}

TEST(ThreadNames, LatestNameWinsAndFailedRenameChangesNothing) {
  ParkedThread t([] { ASSERT_EQ(prctl(PR_SET_NAME, "lw-first"), 0); });
  ASSERT_EQ(pthread_setname_np(t.handle(), "lw-second"), 0);
  EXPECT_EQ(RecordedName(t.tid()), "lw-second");
  // 16 bytes and more: glibc refuses with ERANGE and nothing changes.
  EXPECT_EQ(pthread_setname_np(t.handle(), "lw-far-too-long-name"), ERANGE);
  EXPECT_EQ(RecordedName(t.tid()), "lw-second");
}

TEST(ThreadNames, UnnamedThreadIsDumpedWithItsKernelName) {
  char main_name[16] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, main_name), 0);
  ParkedThread t;  // inherits this thread's kernel name, never set through a hook
  EXPECT_EQ(RecordedName(t.tid()), "");
  EXPECT_NE(leakwatch::DumpTasks(2).find(DumpLine(t.tid(), main_name)), std::string::npos);
}

TEST(ThreadNames, PrctlForwardsEveryArgument) {
  char name[16] = {};
  ASSERT_EQ(prctl(PR_SET_NAME, "lw-fwd"), 0);
  ASSERT_EQ(prctl(PR_GET_NAME, name), 0);  // a2 is a pointer written by the kernel
  EXPECT_STREQ(name, "lw-fwd");
  // PR_CAP_AMBIENT_IS_SET reads a3 and requires a4 == a5 == 0: both reach the kernel.
  EXPECT_GE(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0), 0);
  errno = 0;
  EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 1, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(prctl(PR_SET_TIMERSLACK, 123456UL, 0, 0, 0), 0);
  EXPECT_EQ(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 123456);
}

// Two threads rename a third while the dump reads: every name read is one of
// the names written, never a mix of two.
TEST(ThreadNames, ConcurrentRenamesNeverTearTheName) {
  ParkedThread t;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  const char* names[2] = {"aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbb"};
  for (const char* name : names) {
    writers.emplace_back([&, name] {
      while (!stop.load()) {
        pthread_setname_np(t.handle(), name);
        std::this_thread::yield();  // renames are rare: let the reader in
      }
    });
  }
  // Reads until 5000 named reads were checked (or a minute passed, which means
  // the writers never got a name in: the count below then fails).
  int seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (seen < 5000 && std::chrono::steady_clock::now() < deadline) {
    const std::string got = RecordedName(t.tid());
    if (got.empty()) continue;  // not named yet, or writers kept it busy
    if (got != names[0] && got != names[1]) {
      ADD_FAILURE() << "torn name: " << got;
      break;
    }
    ++seen;
  }
  stop = true;
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(seen, 5000);
}

}  // namespace
