// Coroutine tasks (leakwatch/coro.h): counted per kind from frame creation to
// destruction, blocked at the co_await's line while suspended there, listed by
// TakeSnapshot and DumpTasks, with finished awaits in the site's histogram.

#include "leakwatch/coro.h"

#include <coroutine>
#include <source_location>
#include <stdexcept>
#include <string>

#include "core/test_util.h"
#include "coro/awaitables.h"
#include "gtest/gtest.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"

namespace leakwatch {
namespace {

using coro::Task;
using testing_coro::DeclineToSuspend;
using testing_coro::Event;
using testing_coro::Park;
using testing_coro::Pinned;
using testing_coro::ResumeSelf;
using testing_coro::ThrowOnSuspend;
using testing_coro::Ticket;
using testutil::FindKind;
using testutil::FindSite;

std::string Site(int line) { return "tests/coro/coro_test.cc:" + std::to_string(line); }

int64_t Live(const Snapshot& s, const std::string& kind) {
  const Snapshot::Kind* k = FindKind(s, kind);
  return k ? k->live : 0;
}

uint64_t Finished(const Snapshot& s, const std::string& kind) {
  const Snapshot::Kind* k = FindKind(s, kind);
  return k ? k->finished_total : 0;
}

uint64_t Started(const Snapshot& s, const std::string& kind) {
  const Snapshot::Kind* k = FindKind(s, kind);
  return k ? k->started_total : 0;
}

uint64_t FinishedAwaits(const Snapshot& s, int line) {
  const Snapshot::Site* site = FindSite(s, Site(line), Op::kAwait);
  return site ? site->durations.count : 0;
}

const Snapshot::Task* FindTask(const Snapshot& s, uint64_t id) {
  for (const auto& t : s.tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

Task<void, "coro-wait"> WaitFor(Event& event) { co_await event; }
constexpr int kWaitForLine = __LINE__ - 1;

TEST(CoroutineTasks, SuspendedCoroutinesAreBlockedAtTheCoAwaitLine) {
  const uint64_t finished_before = FinishedAwaits(TakeSnapshot(), kWaitForLine);
  Event event;
  Task<void, "coro-wait"> a = WaitFor(event);
  Task<void, "coro-wait"> b = WaitFor(event);
  Task<void, "coro-wait"> c = WaitFor(event);
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-wait"), 3);  // live from creation, before running
  EXPECT_EQ(testutil::BlockedAt(s, Site(kWaitForLine), Op::kAwait), 0);

  a.Start();
  b.Start();
  c.Start();
  s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-wait"), 3);
  const Snapshot::Site* site = FindSite(s, Site(kWaitForLine), Op::kAwait);
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->blocked, 3);
  EXPECT_EQ(site->stuck, 0);  // tasks.stuck_after is a minute by default
  EXPECT_GE(site->oldest_wait_seconds, 0);
  EXPECT_EQ(site->durations.count, finished_before);

  event.Set();
  EXPECT_TRUE(a.done() && b.done() && c.done());
  s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-wait"), 3);  // finished, frames not yet destroyed
  EXPECT_EQ(testutil::BlockedAt(s, Site(kWaitForLine), Op::kAwait), 0);
  EXPECT_EQ(FinishedAwaits(s, kWaitForLine), finished_before + 3);
}

TEST(CoroutineTasks, DestroyingTheFrameEndsTheTask) {
  const Snapshot before = TakeSnapshot();
  Event event;
  {
    Task<void, "coro-wait"> a = WaitFor(event);
    EXPECT_EQ(Started(TakeSnapshot(), "coro-wait"), Started(before, "coro-wait") + 1);
    a.Start();
    event.Set();
    EXPECT_EQ(Finished(TakeSnapshot(), "coro-wait"), Finished(before, "coro-wait"));
  }
  const Snapshot s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-wait"), 0);
  EXPECT_EQ(Started(s, "coro-wait"), Started(before, "coro-wait") + 1);
  EXPECT_EQ(Finished(s, "coro-wait"), Finished(before, "coro-wait") + 1);
}

TEST(CoroutineTasks, DestroyingASuspendedCoroutineStopsCountingIt) {
  const Snapshot before = TakeSnapshot();
  Event event;
  {
    Task<void, "coro-wait"> cancelled = WaitFor(event);
    cancelled.Start();
    const Snapshot s = TakeSnapshot();
    EXPECT_EQ(Live(s, "coro-wait"), 1);
    EXPECT_EQ(testutil::BlockedAt(s, Site(kWaitForLine), Op::kAwait), 1);
  }  // destroyed while suspended: cancelled
  const Snapshot s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-wait"), 0);
  EXPECT_EQ(Finished(s, "coro-wait"), Finished(before, "coro-wait") + 1);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kWaitForLine), Op::kAwait), 0);
  // The wait never finished.
  EXPECT_EQ(FinishedAwaits(s, kWaitForLine), FinishedAwaits(before, kWaitForLine));
}

Task<> DefaultKind(std::coroutine_handle<>* slot) { co_await Park{slot}; }

TEST(CoroutineTasks, TheDefaultKindIsCoroutine) {
  std::coroutine_handle<> parked;
  Task<> task = DefaultKind(&parked);
  task.Start();
  EXPECT_EQ(Live(TakeSnapshot(), "coroutine"), 1);
  parked.resume();
  EXPECT_TRUE(task.done());
}

Task<int, "coro-ready"> NeverSuspends() {
  int sum = co_await DeclineToSuspend{};
  sum += co_await ResumeSelf{};
  co_await std::suspend_never{};
  sum += co_await Ticket{1};
  co_return sum;
}
constexpr int kNeverSuspendsFirstLine = __LINE__ - 6;

TEST(CoroutineTasks, AwaitsThatDoNotReallySuspendRecordNothing) {
  Task<int, "coro-ready"> task = NeverSuspends();
  task.Start();
  ASSERT_TRUE(task.done());
  EXPECT_EQ(task.Result(), 7 + 8 + 7);
  const Snapshot s = TakeSnapshot();
  for (int line = kNeverSuspendsFirstLine; line < kNeverSuspendsFirstLine + 4; ++line) {
    EXPECT_EQ(FinishedAwaits(s, line), 0u) << line;
    EXPECT_EQ(testutil::BlockedAt(s, Site(line), Op::kAwait), 0) << line;
  }
}

Task<const Pinned*, "coro-pinned"> AwaitInPlace(const Pinned& pinned) { co_return co_await pinned; }

Task<bool, "coro-pinned"> AwaitPinnedTemporary() { co_return co_await Pinned{} != nullptr; }

TEST(CoroutineTasks, TemporaryAwaitersThatCannotMoveAreUsedInPlace) {
  Task<bool, "coro-pinned"> task = AwaitPinnedTemporary();
  task.Start();
  EXPECT_TRUE(task.Result());
}

TEST(CoroutineTasks, LvalueAwaitersAreUsedInPlace) {
  const Pinned pinned;
  Task<const Pinned*, "coro-pinned"> task = AwaitInPlace(pinned);
  task.Start();
  EXPECT_EQ(task.Result(), &pinned);
}

Task<int, "coro-chain"> Chain(int depth, Event& event) {
  if (depth == 0) {
    co_await event;
    co_return 0;
  }
  co_return 1 + co_await Chain(depth - 1, event);
}
constexpr int kChainLeafLine = __LINE__ - 5;
constexpr int kChainLinkLine = __LINE__ - 3;

TEST(CoroutineTasks, ASymmetricTransferChainCountsEveryLink) {
  constexpr int kDepth = 10000;  // deep enough to overflow the stack without symmetric transfer
  const Snapshot before = TakeSnapshot();
  Event event;
  Task<int, "coro-chain"> root = Chain(kDepth, event);
  root.Start();
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-chain"), kDepth + 1);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kChainLinkLine), Op::kAwait), kDepth);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kChainLeafLine), Op::kAwait), 1);

  event.Set();
  ASSERT_TRUE(root.done());
  EXPECT_EQ(root.Result(), kDepth);
  s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-chain"), 1);  // only the root's frame is left
  EXPECT_EQ(testutil::BlockedAt(s, Site(kChainLinkLine), Op::kAwait), 0);
  EXPECT_EQ(FinishedAwaits(s, kChainLinkLine) - FinishedAwaits(before, kChainLinkLine),
            static_cast<uint64_t>(kDepth));
  EXPECT_EQ(FinishedAwaits(s, kChainLeafLine) - FinishedAwaits(before, kChainLeafLine), 1u);
}

Task<int, "coro-throw"> ThrowAfterWait(std::coroutine_handle<>* slot) {
  co_await Park{slot};
  throw std::runtime_error("body failed");
}

Task<std::string, "coro-throw"> Catch(std::coroutine_handle<>* slot) {
  try {
    co_await ThrowAfterWait(slot);
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no exception";
}

TEST(CoroutineTasks, ExceptionsFromTheBodyReachTheAwaiter) {
  std::coroutine_handle<> parked;
  Task<std::string, "coro-throw"> task = Catch(&parked);
  task.Start();
  EXPECT_EQ(Live(TakeSnapshot(), "coro-throw"), 2);
  parked.resume();
  ASSERT_TRUE(task.done());
  EXPECT_EQ(task.Result(), "body failed");
  EXPECT_EQ(Live(TakeSnapshot(), "coro-throw"), 1);
}

Task<std::string, "coro-throw"> SuspendThrows() {
  try {
    co_await ThrowOnSuspend{};
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no exception";
}
constexpr int kSuspendThrowsLine = __LINE__ - 6;

TEST(CoroutineTasks, AThrowingAwaitSuspendLeavesTheCoroutineUnblocked) {
  Task<std::string, "coro-throw"> task = SuspendThrows();
  task.Start();
  ASSERT_TRUE(task.done());
  EXPECT_EQ(task.Result(), "suspend failed");
  const Snapshot s = TakeSnapshot();
  EXPECT_EQ(testutil::BlockedAt(s, Site(kSuspendThrowsLine), Op::kAwait), 0);
  EXPECT_EQ(FinishedAwaits(s, kSuspendThrowsLine), 0u);
}

Task<void, "coro-dump"> DumpMe(Event& event) { co_await event; }
constexpr int kDumpMeLine = __LINE__ - 1;

TEST(CoroutineTasks, SnapshotAndDumpListSuspendedCoroutines) {
  Event event;
  Task<void, "coro-dump"> task = DumpMe(event);
  task.Start();
  const Snapshot s = TakeSnapshot();
  const Snapshot::Task* t = FindTask(s, task.id());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, "coro-dump");
  EXPECT_TRUE(t->blocked);
  EXPECT_EQ(t->op, Op::kAwait);
  EXPECT_EQ(t->site, Site(kDumpMeLine));
  EXPECT_EQ(t->tid, internal::CurrentTid());  // the thread it suspended on
  EXPECT_GE(t->wait_seconds, 0);

  const std::string dump = DumpTasks(2);
  EXPECT_NE(dump.find("task " + std::to_string(task.id()) + " [await, "), std::string::npos)
      << dump;
  EXPECT_NE(dump.find("kind coro-dump"), std::string::npos) << dump;
  EXPECT_NE(dump.find("blocked at " + Site(kDumpMeLine)), std::string::npos) << dump;
  const std::string grouped = DumpTasks(1);
  EXPECT_NE(grouped.find("1 blocked @ " + Site(kDumpMeLine) + " [await]"), std::string::npos)
      << grouped;
  event.Set();
}

// A user's own eager, fire-and-forget coroutine type built on TaskTracker.
struct FireAndForget {
  struct promise_type : coro::TaskTracker {
    promise_type() : TaskTracker(Kind()) {}
    static const TaskKind& Kind() {
      static const TaskKind kind("coro-own");
      return kind;
    }
    FireAndForget get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
};

FireAndForget OwnPromise(Event& first, std::coroutine_handle<>* slot) {
  co_await first;
  co_await Park{slot};
}
constexpr int kOwnFirstLine = __LINE__ - 3;
constexpr int kOwnParkLine = __LINE__ - 3;

TEST(CoroutineTasks, AnyPromiseDerivedFromTaskTrackerIsTracked) {
  const Snapshot before = TakeSnapshot();
  Event first;
  std::coroutine_handle<> parked;
  OwnPromise(first, &parked);
  Snapshot s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-own"), 1);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kOwnFirstLine), Op::kAwait), 1);
  first.Set();
  s = TakeSnapshot();
  EXPECT_EQ(testutil::BlockedAt(s, Site(kOwnFirstLine), Op::kAwait), 0);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kOwnParkLine), Op::kAwait), 1);
  EXPECT_EQ(FinishedAwaits(s, kOwnFirstLine) - FinishedAwaits(before, kOwnFirstLine), 1u);
  parked.resume();  // runs to the end; final_suspend never suspends: frame freed
  s = TakeSnapshot();
  EXPECT_EQ(Live(s, "coro-own"), 0);
  EXPECT_EQ(Finished(s, "coro-own"), Finished(before, "coro-own") + 1);
}

// A promise with an await_transform of its own keeps the sites by passing its
// own defaulted source_location on to TaskTracker's.
struct Delegating {
  struct promise_type : coro::TaskTracker {
    Delegating get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
    // Awaiting a slot parks the coroutine in it.
    auto await_transform(std::coroutine_handle<>* slot,
                         std::source_location where = std::source_location::current()) {
      return TaskTracker::await_transform(Park{slot}, where);
    }
  };
};

Delegating AwaitSlot(std::coroutine_handle<>* slot) { co_await slot; }
constexpr int kAwaitSlotLine = __LINE__ - 1;

TEST(CoroutineTasks, AnOwnAwaitTransformCanForwardTheSite) {
  std::coroutine_handle<> parked;
  AwaitSlot(&parked);
  EXPECT_EQ(testutil::BlockedAt(TakeSnapshot(), Site(kAwaitSlotLine), Op::kAwait), 1);
  parked.resume();
  EXPECT_EQ(Live(TakeSnapshot(), "coroutine"), 0);
}

TEST(CoroutineTasks, ADetachedTaskThatNeverResumesStaysLive) {
  std::coroutine_handle<> parked;
  DefaultKind(&parked).Detach();
  EXPECT_EQ(Live(TakeSnapshot(), "coroutine"), 1);  // leaked, as far as anyone knows
  parked.resume();                                  // finishes and frees itself
  EXPECT_EQ(Live(TakeSnapshot(), "coroutine"), 0);
}

}  // namespace
}  // namespace leakwatch
