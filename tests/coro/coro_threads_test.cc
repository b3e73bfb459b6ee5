// Coroutine tasks across threads: resumed and destroyed on threads other than
// the one that created them, while the sampler reads.

#include <atomic>
#include <coroutine>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/test_util.h"
#include "coro/awaitables.h"
#include "gtest/gtest.h"
#include "leakwatch/coro.h"
#include "leakwatch/internal/core.h"
#include "leakwatch/snapshot.h"

namespace leakwatch {
namespace {

using coro::Task;
using testing_coro::Event;
using testing_coro::Park;

std::string Site(int line) { return "tests/coro/coro_threads_test.cc:" + std::to_string(line); }

const Snapshot::Task* FindTask(const Snapshot& s, uint64_t id) {
  for (const auto& t : s.tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

uint64_t FinishedAwaits(const Snapshot& s, int line) {
  const Snapshot::Site* site = testutil::FindSite(s, Site(line), Op::kAwait);
  return site ? site->durations.count : 0;
}

Task<void, "coro-hop"> Hop(Event& event, std::coroutine_handle<>* slot) {
  co_await event;
  co_await Park{slot};
}
constexpr int kHopEventLine = __LINE__ - 3;
constexpr int kHopParkLine = __LINE__ - 3;

TEST(CoroutineThreads, ACoroutineResumedOnAnotherThreadIsBlockedThereNext) {
  const uint64_t awaits_before = FinishedAwaits(TakeSnapshot(), kHopEventLine);
  Event event;
  std::coroutine_handle<> parked;
  Task<void, "coro-hop"> task = Hop(event, &parked);
  task.Start();
  Snapshot s = TakeSnapshot();
  ASSERT_NE(FindTask(s, task.id()), nullptr);
  EXPECT_EQ(FindTask(s, task.id())->tid, internal::CurrentTid());

  std::atomic<int32_t> other_tid{0};
  std::thread other([&] {
    other_tid = internal::CurrentTid();
    event.Set();  // resumes the coroutine here; it parks again before Set returns
  });
  other.join();

  s = TakeSnapshot();
  const Snapshot::Task* t = FindTask(s, task.id());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tid, other_tid.load());
  EXPECT_EQ(t->site, Site(kHopParkLine));
  EXPECT_EQ(testutil::BlockedAt(s, Site(kHopEventLine), Op::kAwait), 0);
  EXPECT_EQ(testutil::BlockedAt(s, Site(kHopParkLine), Op::kAwait), 1);
  // The finished wait went into the histogram of the thread that resumed it,
  // which has exited since: its histograms were folded into the totals.
  EXPECT_EQ(FinishedAwaits(s, kHopEventLine), awaits_before + 1);
  // Destroyed on this thread while suspended.
}

Task<void, "coro-stress"> Worker(Event& event) { co_await event; }
constexpr int kWorkerLine = __LINE__ - 1;

// Creators, resumers, destroyers and the sampler all at once: every task is
// counted once, and nothing is left when all are gone (run it under TSan).
TEST(CoroutineThreads, ConcurrentCreateResumeDestroyAndSampleStayConsistent) {
  constexpr int kCreators = 3;
  constexpr int kTasksPerCreator = 2000;
  const Snapshot before = TakeSnapshot();
  const uint64_t awaits_before = FinishedAwaits(before, kWorkerLine);

  struct Batch {
    Event resume_event;
    std::vector<Task<void, "coro-stress">> tasks;
  };
  std::vector<std::unique_ptr<Batch>> batches(kCreators);
  for (auto& b : batches) b = std::make_unique<Batch>();

  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      const Snapshot s = TakeSnapshot();
      const Snapshot::Kind* k = testutil::FindKind(s, "coro-stress");
      if (k != nullptr) {
        EXPECT_GE(k->live, 0);
        EXPECT_LE(k->live, kCreators * kTasksPerCreator);
      }
    }
  });
  std::vector<std::thread> creators;
  for (int c = 0; c < kCreators; ++c) {
    creators.emplace_back([&, c] {
      Batch& b = *batches[c];
      for (int i = 0; i < kTasksPerCreator; ++i) {
        b.tasks.push_back(Worker(b.resume_event));
        b.tasks.back().Start();
      }
    });
  }
  for (auto& t : creators) t.join();
  const Snapshot all_suspended = TakeSnapshot();
  EXPECT_EQ(testutil::FindKind(all_suspended, "coro-stress")->live, kCreators * kTasksPerCreator);
  EXPECT_EQ(testutil::BlockedAt(all_suspended, Site(kWorkerLine), Op::kAwait),
            kCreators * kTasksPerCreator);

  // Batch 0 is resumed by one thread, batch 1 destroyed (cancelled) by another,
  // batch 2 resumed by a third and destroyed by a fourth.
  std::thread resume0([&] { batches[0]->resume_event.Set(); });
  std::thread cancel1([&] { batches[1]->tasks.clear(); });
  std::thread resume2([&] { batches[2]->resume_event.Set(); });
  resume0.join();
  cancel1.join();
  resume2.join();
  std::thread destroy2([&] { batches[2]->tasks.clear(); });
  destroy2.join();
  for (const auto& t : batches[0]->tasks) EXPECT_TRUE(t.done());
  batches[0]->tasks.clear();
  sampling = false;
  sampler.join();

  const Snapshot s = TakeSnapshot();
  const Snapshot::Kind* k = testutil::FindKind(s, "coro-stress");
  ASSERT_NE(k, nullptr);
  const Snapshot::Kind* k0 = testutil::FindKind(before, "coro-stress");
  const uint64_t started0 = k0 ? k0->started_total : 0;
  const uint64_t finished0 = k0 ? k0->finished_total : 0;
  EXPECT_EQ(k->live, 0);
  EXPECT_EQ(k->started_total - started0, uint64_t{kCreators * kTasksPerCreator});
  EXPECT_EQ(k->finished_total - finished0, uint64_t{kCreators * kTasksPerCreator});
  EXPECT_EQ(testutil::BlockedAt(s, Site(kWorkerLine), Op::kAwait), 0);
  EXPECT_EQ(FinishedAwaits(s, kWorkerLine) - awaits_before, uint64_t{2 * kTasksPerCreator});
}

}  // namespace
}  // namespace leakwatch
