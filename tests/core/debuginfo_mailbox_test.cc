// core/debuginfo.h: a hook that gives up on the symbolizer because it cannot
// take the mailbox's lock before its deadline leaves its request behind; the
// next hook reclaims it, so debug-info labels keep coming (they stopped for
// the rest of the process before).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "core/debuginfo.h"
#include "gtest/gtest.h"

namespace leakwatch::core {
namespace {

__attribute__((noinline)) void LabelledFunction() { asm volatile(""); }

bool AskForLabel(uintptr_t ra) {
  char label[640], function[512];
  return DebugLabelFromHook(ra, label, sizeof label, function, sizeof function);
}

// Another thread takes the mailbox's lock when asked and holds it until
// released, so that the asker's wait for the answer cannot take it.
struct LockHolder {
  std::mutex mu;
  std::condition_variable cv;
  std::mutex* target = nullptr;
  bool locked = false, release = false;

  // Never takes the mailbox's lock while holding `mu` (one lock order).
  void Run() {
    std::mutex* mailbox_lock = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [this] { return target != nullptr; });
      mailbox_lock = target;
    }
    mailbox_lock->lock();
    {
      std::lock_guard<std::mutex> lock(mu);
      locked = true;
    }
    cv.notify_all();
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [this] { return release; });
    }
    mailbox_lock->unlock();
  }
};

LockHolder* g_holder = nullptr;

void TakeTheMailboxFromTheAsker(std::mutex& mailbox_lock) {
  std::unique_lock<std::mutex> lock(g_holder->mu);
  g_holder->target = &mailbox_lock;
  g_holder->cv.notify_all();
  g_holder->cv.wait(lock, [] { return g_holder->locked; });
}

TEST(DebugInfoMailbox, AnAskerThatGaveUpWithoutTheLockDoesNotStopLaterAnswers) {
  StartSymbolizer({});
  const uintptr_t ra = reinterpret_cast<uintptr_t>(&LabelledFunction) + 1;
  ASSERT_TRUE(AskForLabel(ra));

  LockHolder holder;
  g_holder = &holder;
  std::thread holding([&] { holder.Run(); });
  SetAfterPostHookForTesting(&TakeTheMailboxFromTheAsker);
  bool answered = true;
  std::thread asker([&] { answered = AskForLabel(ra); });
  asker.join();  // gives up at its deadline: the lock is held throughout
  SetAfterPostHookForTesting(nullptr);
  {
    std::lock_guard<std::mutex> lock(holder.mu);
    holder.release = true;
  }
  holder.cv.notify_all();
  holding.join();
  EXPECT_FALSE(answered);

  EXPECT_TRUE(AskForLabel(ra));
  EXPECT_TRUE(AskForLabel(reinterpret_cast<uintptr_t>(&AskForLabel) + 1));
}

}  // namespace
}  // namespace leakwatch::core
