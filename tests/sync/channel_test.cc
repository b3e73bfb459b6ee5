// Pins Go channel semantics for leakwatch::Channel (and for the same algorithm
// built without instrumentation, internal::BasicChannel<T, NoInstrumentation>).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/sync.h"
#include "site_polling.h"

namespace leakwatch {
namespace {

using namespace ::leakwatch::testing_sync;  // NOLINT: the suite's helpers (site_polling.h)
using ::testing::ElementsAre;

using Bare = internal::BasicChannel<int, internal::NoInstrumentation>;

// One interface over the public Channel<int> and the uninstrumented algorithm,
// so the semantics table runs against both.
class AnyChannel {
 public:
  virtual ~AnyChannel() = default;
  virtual ChannelStatus TrySend(int v) = 0;
  virtual RecvResult<int> TryRecv() = 0;
  virtual ChannelStatus SendFor(int v, milliseconds d) = 0;
  virtual RecvResult<int> RecvFor(milliseconds d) = 0;
  virtual bool Close() = 0;
  virtual size_t Len() const = 0;
  virtual size_t Cap() const = 0;
};

class Instrumented final : public AnyChannel {
 public:
  explicit Instrumented(size_t cap) : ch_(cap) {}
  ChannelStatus TrySend(int v) override { return ch_.TrySend(v); }
  RecvResult<int> TryRecv() override { return ch_.TryRecv(); }
  ChannelStatus SendFor(int v, milliseconds d) override { return ch_.SendFor(v, d); }
  RecvResult<int> RecvFor(milliseconds d) override { return ch_.RecvFor(d); }
  bool Close() override { return ch_.Close(); }
  size_t Len() const override { return ch_.Len(); }
  size_t Cap() const override { return ch_.Cap(); }

 private:
  Channel<int> ch_;
};

class Uninstrumented final : public AnyChannel {
 public:
  explicit Uninstrumented(size_t cap) : ch_(cap) {}
  ChannelStatus TrySend(int v) override { return ch_.TrySend(v); }
  RecvResult<int> TryRecv() override { return ch_.TryRecv(); }
  ChannelStatus SendFor(int v, milliseconds d) override {
    return ch_.SendFor(v, d, std::source_location::current());
  }
  RecvResult<int> RecvFor(milliseconds d) override {
    return ch_.RecvFor(d, std::source_location::current());
  }
  bool Close() override { return ch_.Close(); }
  size_t Len() const override { return ch_.Len(); }
  size_t Cap() const override { return ch_.Cap(); }

 private:
  Bare ch_;
};

// --- The semantics table: single-threaded scripts of non-blocking and timed
// operations, each step with the result Go's semantics demand. A timed step on
// a channel nobody else touches must time out, and must leave no waiter behind
// (the next Try* step checks that).

struct Step {
  enum Kind { kTrySend, kTryRecv, kSendFor, kRecvFor, kClose, kLen } kind;
  int value = 0;                            // sent, or expected received, or expected Len()
  ChannelStatus want = ChannelStatus::kOk;  // kClose: kOk = "this call closed it"
};

Step TrySend(int v, ChannelStatus want) { return {Step::kTrySend, v, want}; }
Step TryRecv(int want_value) { return {Step::kTryRecv, want_value, ChannelStatus::kOk}; }
Step TryRecvFails(ChannelStatus want) { return {Step::kTryRecv, 0, want}; }
Step SendFor(int v, ChannelStatus want) { return {Step::kSendFor, v, want}; }
Step RecvFor(int want_value) { return {Step::kRecvFor, want_value, ChannelStatus::kOk}; }
Step RecvForFails(ChannelStatus want) { return {Step::kRecvFor, 0, want}; }
Step Close(bool closes) {
  return {Step::kClose, 0, closes ? ChannelStatus::kOk : ChannelStatus::kClosed};
}
Step Len(int n) { return {Step::kLen, n}; }

constexpr ChannelStatus kOk = ChannelStatus::kOk;
constexpr ChannelStatus kClosed = ChannelStatus::kClosed;
constexpr ChannelStatus kTimeout = ChannelStatus::kTimeout;
constexpr ChannelStatus kWouldBlock = ChannelStatus::kWouldBlock;

struct Script {
  const char* name;
  size_t capacity;
  std::vector<Step> steps;
};

const Script kScripts[] = {
    {"UnbufferedWithNoPeerNeverCompletes",
     0,
     {TrySend(1, kWouldBlock), TryRecvFails(kWouldBlock), Len(0), SendFor(1, kTimeout),
      TryRecvFails(kWouldBlock),  // the timed-out sender left no value behind
      RecvForFails(kTimeout),
      TrySend(2, kWouldBlock)}},  // ... and the timed-out receiver left no waiter
    {"BufferedAcceptsUpToCapacity",
     2,
     {TrySend(1, kOk), Len(1), TrySend(2, kOk), Len(2), TrySend(3, kWouldBlock),
      SendFor(3, kTimeout), Len(2), TryRecv(1), TrySend(3, kOk), TryRecv(2), TryRecv(3),
      TryRecvFails(kWouldBlock), RecvForFails(kTimeout), Len(0)}},
    {"BufferedIsFifoAcrossWrapAround",
     3,
     {TrySend(1, kOk), TrySend(2, kOk), TryRecv(1), TrySend(3, kOk), TrySend(4, kOk),
      TrySend(5, kWouldBlock), TryRecv(2), TrySend(5, kOk), TryRecv(3), TryRecv(4), RecvFor(5),
      TryRecvFails(kWouldBlock)}},
    {"CapacityOneHoldsOneValue",
     1,
     {SendFor(7, kOk), SendFor(8, kTimeout), RecvFor(7), RecvForFails(kTimeout), TrySend(9, kOk),
      TryRecv(9)}},
    {"CloseLetsReceiversDrainThenReportsClosed",
     3,
     {TrySend(1, kOk), TrySend(2, kOk), Close(true), Len(2), TrySend(3, kClosed),
      SendFor(3, kClosed), TryRecv(1), RecvFor(2), TryRecvFails(kClosed), RecvForFails(kClosed),
      Len(0)}},
    {"CloseUnbufferedFailsEveryOperation",
     0,
     {Close(true), TrySend(1, kClosed), SendFor(1, kClosed), TryRecvFails(kClosed),
      RecvForFails(kClosed)}},
    {"CloseTwiceReportsAlreadyClosed",
     1,
     {TrySend(1, kOk), Close(true), Close(false), Len(1), TryRecv(1), Close(false),
      TryRecvFails(kClosed)}},
};

void RunScript(const Script& script, AnyChannel& ch) {
  ASSERT_EQ(ch.Cap(), script.capacity);
  for (size_t i = 0; i < script.steps.size(); ++i) {
    const Step& step = script.steps[i];
    SCOPED_TRACE(::testing::Message() << "step " << i);
    switch (step.kind) {
      case Step::kTrySend:
        EXPECT_STREQ(ChannelStatusName(ch.TrySend(step.value)), ChannelStatusName(step.want));
        break;
      case Step::kSendFor:
        EXPECT_STREQ(ChannelStatusName(ch.SendFor(step.value, milliseconds(2))),
                     ChannelStatusName(step.want));
        break;
      case Step::kTryRecv:
      case Step::kRecvFor: {
        const RecvResult<int> r =
            step.kind == Step::kTryRecv ? ch.TryRecv() : ch.RecvFor(milliseconds(2));
        EXPECT_STREQ(ChannelStatusName(r.status), ChannelStatusName(step.want));
        EXPECT_EQ(r.value.has_value(), step.want == kOk);
        if (step.want == kOk && r.value.has_value()) {
          EXPECT_EQ(*r.value, step.value);
        }
        break;
      }
      case Step::kClose:
        EXPECT_EQ(ch.Close(), step.want == kOk);
        break;
      case Step::kLen:
        EXPECT_EQ(ch.Len(), static_cast<size_t>(step.value));
        break;
    }
  }
}

class ChannelScriptTest : public ::testing::TestWithParam<std::tuple<Script, bool>> {};

TEST_P(ChannelScriptTest, FollowsGoSemantics) {
  const auto& [script, instrumented] = GetParam();
  std::unique_ptr<AnyChannel> ch;
  if (instrumented) {
    ch = std::make_unique<Instrumented>(script.capacity);
  } else {
    ch = std::make_unique<Uninstrumented>(script.capacity);
  }
  RunScript(script, *ch);
}

INSTANTIATE_TEST_SUITE_P(Scripts, ChannelScriptTest,
                         ::testing::Combine(::testing::ValuesIn(kScripts), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<ChannelScriptTest::ParamType>& info) {
                           return std::string(std::get<0>(info.param).name) +
                                  (std::get<1>(info.param) ? "_Instrumented" : "_Uninstrumented");
                         });

// --- Blocking behaviour with real peers. A blocked peer is observed through
// TakeSnapshot() (the site's blocked count), never by sleeping.

TEST(ChannelTest, UnbufferedSendReturnsOnlyAfterReceiverTookValue) {
  Channel<int> ch;
  std::atomic<bool> sent{false};
  constexpr int kSendLine = __LINE__ + 5;
  const std::string site = LineSite(kSendLine);
  ASSERT_EQ(site, "tests/sync/channel_test.cc:" + std::to_string(kSendLine));
  const uint64_t waits_before = FinishedWaits(site, Op::kChanSend);
  std::thread sender([ch, &sent]() mutable {
    EXPECT_TRUE(ch.Send(7));
    sent = true;
  });
  ASSERT_TRUE(WaitUntilBlocked(site, Op::kChanSend, 1));
  EXPECT_FALSE(sent);       // parked: no receiver yet
  EXPECT_EQ(ch.Len(), 0u);  // the value waits with the sender, not in a buffer
  EXPECT_EQ(ch.Recv(), 7);
  sender.join();
  EXPECT_TRUE(sent);
  // Nothing blocked there any more; the finished wait is in the histogram.
  const auto after = FindSite(TakeSnapshot(), site, Op::kChanSend);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->blocked, 0);
  EXPECT_EQ(after->durations.count - waits_before, 1u);
}

TEST(ChannelTest, OperationsThatCompleteAtOnceRecordNothing) {
  Channel<int> ch(1);
  constexpr int kSendLine = __LINE__ + 1;
  EXPECT_TRUE(ch.Send(1));  // room in the buffer
  constexpr int kRecvLine = __LINE__ + 1;
  EXPECT_EQ(ch.Recv(), 1);  // a value was ready
  const Snapshot snap = TakeSnapshot();
  EXPECT_EQ(FindSite(snap, LineSite(kSendLine), Op::kChanSend), std::nullopt);
  EXPECT_EQ(FindSite(snap, LineSite(kRecvLine), Op::kChanRecv), std::nullopt);
}

TEST(ChannelTest, UnbufferedRecvWaitsForSender) {
  Channel<std::string> ch;
  std::optional<std::string> got;
  constexpr int kRecvLine = __LINE__ + 1;
  std::thread receiver([ch, &got]() mutable { got = ch.Recv(); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kRecvLine), Op::kChanRecv, 1));
  EXPECT_EQ(ch.TrySend("hello"), kOk);  // a receiver is parked: hand-off succeeds at once
  receiver.join();
  EXPECT_EQ(got, "hello");
}

TEST(ChannelTest, BufferedSendBlocksOnlyWhenFull) {
  Channel<int> ch(2);
  constexpr int kThirdSendLine = __LINE__ + 4;
  std::thread sender([ch]() mutable {
    EXPECT_TRUE(ch.Send(1));
    EXPECT_TRUE(ch.Send(2));
    EXPECT_TRUE(ch.Send(3));
  });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kThirdSendLine), Op::kChanSend, 1));
  EXPECT_EQ(ch.Len(), 2u);
  EXPECT_EQ(ch.Recv(), 1);  // frees a slot: the parked 3 moves into the buffer
  sender.join();
  EXPECT_EQ(ch.Len(), 2u);
  EXPECT_EQ(ch.Recv(), 2);
  EXPECT_EQ(ch.Recv(), 3);
}

TEST(ChannelTest, CloseReleasesEveryBlockedReceiverWithNullopt) {
  constexpr int kReceivers = 3;
  Channel<int> ch;
  std::vector<std::optional<int>> got(kReceivers, 0);
  std::vector<std::thread> receivers;
  constexpr int kRecvLine = __LINE__ + 2;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.emplace_back([ch, &got, i]() mutable { got[i] = ch.Recv(); });
  }
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kRecvLine), Op::kChanRecv, kReceivers));
  EXPECT_TRUE(ch.Close());
  for (auto& t : receivers) t.join();
  for (const auto& g : got) EXPECT_EQ(g, std::nullopt);
}

class ChannelCloseWithSendersTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ChannelCloseWithSendersTest, BlockedSendersReturnFalseAndBufferStillDrains) {
  const size_t capacity = GetParam();
  Channel<int> ch(capacity);
  for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(ch.TrySend(100 + static_cast<int>(i)), kOk);
  constexpr int kSenders = 3;
  std::vector<std::thread> senders;
  std::atomic<int> failed{0};
  constexpr int kSendLine = __LINE__ + 3;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([ch, &failed, i]() mutable {
      if (!ch.Send(i)) ++failed;
    });
  }
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kSendLine), Op::kChanSend, kSenders));
  EXPECT_TRUE(ch.Close());
  for (auto& t : senders) t.join();
  EXPECT_EQ(failed, kSenders);
  for (size_t i = 0; i < capacity; ++i) EXPECT_EQ(ch.Recv(), 100 + static_cast<int>(i));
  EXPECT_EQ(ch.Recv(), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChannelCloseWithSendersTest, ::testing::Values(0, 1, 4));

TEST(ChannelTest, CloseWakesTimedWaitersWithClosedNotTimeout) {
  Channel<int> full(1);
  ASSERT_EQ(full.TrySend(1), kOk);
  Channel<int> empty(1);
  ChannelStatus send_status = kOk;
  RecvResult<int> recv_result{kOk, 0};
  constexpr int kSendLine = __LINE__ + 1;
  std::thread sender([full, &send_status]() mutable { send_status = full.SendFor(2, hours(1)); });
  constexpr int kRecvLine = __LINE__ + 1;
  std::thread receiver([empty, &recv_result]() mutable { recv_result = empty.RecvFor(hours(1)); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kSendLine), Op::kChanSend, 1));
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kRecvLine), Op::kChanRecv, 1));
  full.Close();
  empty.Close();
  sender.join();
  receiver.join();
  EXPECT_STREQ(ChannelStatusName(send_status), "closed");
  EXPECT_STREQ(ChannelStatusName(recv_result.status), "closed");
  EXPECT_EQ(recv_result.value, std::nullopt);
}

TEST(ChannelTest, TimedOperationsSucceedWhenPeerArrivesInTime) {
  Channel<int> ch;
  ChannelStatus send_status = kTimeout;
  constexpr int kSendLine = __LINE__ + 1;
  std::thread sender([ch, &send_status]() mutable { send_status = ch.SendFor(5, hours(1)); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kSendLine), Op::kChanSend, 1));
  EXPECT_EQ(ch.Recv(), 5);
  sender.join();
  EXPECT_EQ(send_status, kOk);

  RecvResult<int> got;
  constexpr int kRecvLine = __LINE__ + 1;
  std::thread receiver([ch, &got]() mutable { got = ch.RecvFor(hours(1)); });
  ASSERT_TRUE(WaitUntilBlocked(LineSite(kRecvLine), Op::kChanRecv, 1));
  EXPECT_TRUE(ch.Send(6));
  receiver.join();
  EXPECT_TRUE(got.ok());
  EXPECT_EQ(got.value, 6);
}

TEST(ChannelTest, CopiesShareOneChannel) {
  Channel<int> a(2);
  Channel<int> b = a;
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == Channel<int>(2));
  EXPECT_EQ(b.TrySend(1), kOk);
  EXPECT_EQ(a.Len(), 1u);
  EXPECT_EQ(a.TryRecv().value, 1);
  Channel<int> c(0);
  c = b;  // assignment rebinds the handle
  EXPECT_TRUE(c == a);
  EXPECT_EQ(c.Cap(), 2u);
  b.Close();
  EXPECT_EQ(a.TrySend(2), kClosed);
  EXPECT_EQ(c.TryRecv().status, kClosed);
}

TEST(ChannelTest, MovedFromHandleStillRefersToTheChannel) {
  Channel<int> a(1);
  Channel<int> b = std::move(a);
  // NOLINTNEXTLINE(bugprone-use-after-move): documented to stay valid.
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.TrySend(3), kOk);
  EXPECT_EQ(b.TryRecv().value, 3);
}

TEST(ChannelTest, ChannelOutlivesHandlesOfBlockedPeers) {
  std::thread receiver;
  std::optional<int> got;
  Channel<int> sender_side;
  {
    Channel<int> ch;
    sender_side = ch;
    receiver = std::thread([ch, &got]() mutable { got = ch.Recv(); });
  }  // the creating handle is gone; the receiver's copy keeps the channel alive
  EXPECT_TRUE(sender_side.Send(9));
  receiver.join();
  EXPECT_EQ(got, 9);
}

TEST(ChannelTest, FailedSendsLeaveMoveOnlyValueWithCaller) {
  Channel<std::unique_ptr<int>> ch(1);
  auto first = std::make_unique<int>(1);
  EXPECT_EQ(ch.TrySend(std::move(first)), kOk);
  EXPECT_EQ(first, nullptr);  // NOLINT(bugprone-use-after-move): moved on success

  auto second = std::make_unique<int>(2);
  EXPECT_EQ(ch.TrySend(std::move(second)), kWouldBlock);
  ASSERT_NE(second, nullptr);  // NOLINT(bugprone-use-after-move): kept on failure
  EXPECT_EQ(ch.SendFor(std::move(second), milliseconds(1)), kTimeout);
  ASSERT_NE(second, nullptr);  // NOLINT(bugprone-use-after-move)
  ch.Close();
  EXPECT_FALSE(ch.Send(std::move(second)));
  ASSERT_NE(second, nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(*second, 2);

  std::optional<std::unique_ptr<int>> got = ch.Recv();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(**got, 1);
}

TEST(ChannelTest, ConstLvalueSendCopies) {
  Channel<std::string> ch(1);
  const std::string value = "kept";
  EXPECT_TRUE(ch.Send(value));
  EXPECT_EQ(value, "kept");
  EXPECT_EQ(ch.Recv(), "kept");
}

TEST(ChannelTest, ZeroAndNegativeTimeoutsDoNotBlock) {
  Channel<int> ch;
  EXPECT_EQ(ch.SendFor(1, milliseconds(0)), kTimeout);
  EXPECT_EQ(ch.SendFor(1, milliseconds(-5)), kTimeout);
  EXPECT_EQ(ch.RecvFor(std::chrono::duration<double>(-1.0)).status, kTimeout);
  EXPECT_EQ(ch.RecvFor(std::chrono::nanoseconds(0)).status, kTimeout);
}

TEST(ChannelTest, HugeTimeoutDoesNotOverflow) {
  Channel<int> ch(1);
  ASSERT_EQ(ch.TrySend(1), kOk);
  // hours::max() would overflow steady_clock if added naively, and a deadline
  // in the past would make these time out immediately instead of succeeding.
  EXPECT_EQ(ch.RecvFor(hours::max()).value, 1);
  EXPECT_EQ(ch.SendFor(2, hours::max()), kOk);
  EXPECT_EQ(ch.RecvFor(std::chrono::duration<double>(1e300)).value, 2);
}

// --- Stress: many producers and consumers, every value received exactly once,
// per-producer order preserved as each consumer sees it. TSan runs these.

struct StressCase {
  const char* name;
  size_t capacity;
  bool timed;  // SendFor/RecvFor with tiny timeouts, retried: stresses waiter removal
};

class ChannelStressTest : public ::testing::TestWithParam<StressCase> {};

TEST_P(ChannelStressTest, EveryValueArrivesExactlyOnceInPerProducerOrder) {
  const StressCase& c = GetParam();
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 1500;
  Channel<int> ch(c.capacity);
  std::vector<std::vector<int>> received(kConsumers);
  std::vector<std::thread> consumers;
  for (int i = 0; i < kConsumers; ++i) {
    consumers.emplace_back([ch, &received, i, timed = c.timed]() mutable {
      while (true) {
        if (timed) {
          RecvResult<int> r = ch.RecvFor(std::chrono::microseconds(50));
          if (r.status == ChannelStatus::kTimeout) continue;
          if (!r.ok()) break;
          received[i].push_back(*r.value);
        } else {
          std::optional<int> v = ch.Recv();
          if (!v) break;
          received[i].push_back(*v);
        }
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([ch, p, timed = c.timed]() mutable {
      for (int k = 0; k < kPerProducer; ++k) {
        const int v = p * kPerProducer + k;
        if (timed) {
          ChannelStatus s;
          while ((s = ch.SendFor(v, std::chrono::microseconds(50))) == ChannelStatus::kTimeout) {
          }
          ASSERT_EQ(s, ChannelStatus::kOk);
        } else {
          ASSERT_TRUE(ch.Send(v));
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  ch.Close();
  for (auto& t : consumers) t.join();

  std::vector<int> all;
  for (const auto& r : received) {
    std::vector<int> last(kProducers, -1);
    for (int v : r) {
      const int p = v / kPerProducer;
      EXPECT_LT(last[p], v) << "producer " << p << " out of order";
      last[p] = v;
    }
    all.insert(all.end(), r.begin(), r.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kProducers * kPerProducer));
  for (int i = 0; i < kProducers * kPerProducer; ++i) ASSERT_EQ(all[i], i);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ChannelStressTest,
    ::testing::Values(StressCase{"Unbuffered", 0, false}, StressCase{"CapacityOne", 1, false},
                      StressCase{"Buffered", 16, false}, StressCase{"UnbufferedTimed", 0, true},
                      StressCase{"BufferedTimed", 4, true}),
    [](const ::testing::TestParamInfo<StressCase>& info) { return std::string(info.param.name); });

TEST(ChannelTest, UninstrumentedUnbufferedHandOffBetweenThreads) {
  Bare ch;
  constexpr int kValues = 2000;
  std::thread producer([ch]() mutable {
    for (int i = 0; i < kValues; ++i) ASSERT_TRUE(ch.Send(i, std::source_location::current()));
    ch.Close();
  });
  std::vector<int> got;
  while (std::optional<int> v = ch.Recv(std::source_location::current())) got.push_back(*v);
  producer.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kValues));
  for (int i = 0; i < kValues; ++i) ASSERT_EQ(got[i], i);
}

}  // namespace
}  // namespace leakwatch
