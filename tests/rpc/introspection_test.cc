// The leakwatch.v1.Introspection service, served by leakwatch::Start() on a
// loopback port and read by a real gRPC client.

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "introspection_client.h"
#include "leakwatch.grpc.pb.h"
#include "leakwatch/agent.h"
#include "leakwatch/grpc.h"
#include "leakwatch/sync.h"

namespace leakwatch {
namespace {

using rpctest::Connect;
using rpctest::IntrospectionConfig;
using rpctest::WithDeadline;

// A thread blocked on a leakwatch::Mutex at kHeldLine until the test ends.
class Blocked {
 public:
  Blocked() {
    mu_.Lock();
    thread_ = std::thread([this] {
      TaskScope task("introspected");
      mu_.Lock();  // kHeldLine
      mu_.Unlock();
    });
  }
  ~Blocked() {
    mu_.Unlock();
    thread_.join();
  }

 private:
  Mutex mu_;
  std::thread thread_;
};
constexpr int kHeldLine = 33;  // the line of the thread's mu_.Lock() above
const std::string kHeldSite = "tests/rpc/introspection_test.cc:" + std::to_string(kHeldLine);

class Introspection : public rpctest::IntrospectionFixture {
 protected:
  void SetUp() override {
    IntrospectionFixture::SetUp();
    if (HasFatalFailure()) return;
    stub_ = Connect(port_);
  }
  void TearDown() override {
    IntrospectionFixture::TearDown();
    EXPECT_EQ(grpc::IntrospectionPort(), 0);
  }

  std::unique_ptr<v1::Introspection::Stub> stub_;
};

const v1::Site* FindSite(const v1::Snapshot& s, const std::string& site, const std::string& op) {
  for (const v1::Site& x : s.sites()) {
    if (x.site() == site && x.op() == op) return &x;
  }
  return nullptr;
}

TEST_F(Introspection, GetSnapshotShowsKindsSitesAndTasks) {
  Blocked blocked;
  testutil::WaitForSnapshot(
      [](const Snapshot& s) { return testutil::BlockedAt(s, kHeldSite, Op::kMutex) == 1; });
  v1::GetSnapshotRequest request;
  request.set_max_tasks(100000);
  request.set_include_stacks(true);
  v1::Snapshot reply;
  ASSERT_TRUE(stub_->GetSnapshot(WithDeadline().get(), request, &reply).ok());
  EXPECT_GT(reply.taken_at_unix_nanos(), 0);
  EXPECT_GT(reply.process_start_time_seconds(), 0);
  EXPECT_GT(reply.pid(), 0);
  EXPECT_FALSE(reply.version().empty());
  const v1::Site* site = FindSite(reply, kHeldSite, "mutex");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->blocked(), 1);
  bool kind_listed = false;
  for (const v1::Kind& k : reply.kinds())
    kind_listed |= k.kind() == "introspected" && k.live() == 1;
  EXPECT_TRUE(kind_listed);
  EXPECT_EQ(reply.tasks_total(), reply.tasks_size());
  bool task_listed = false;
  for (const v1::Task& t : reply.tasks()) {
    if (t.kind() != "introspected") continue;
    task_listed = true;
    EXPECT_TRUE(t.blocked());
    EXPECT_EQ(t.site(), kHeldSite);
    EXPECT_EQ(t.op(), "mutex");
    EXPECT_GT(t.tid(), 0);
  }
  EXPECT_TRUE(task_listed);
}

TEST_F(Introspection, TasksAreListedOnlyAsFarAsAsked) {
  Blocked blocked;
  // The blocked thread registers as a task when it starts: wait for it.
  testutil::WaitForSnapshot(
      [](const Snapshot& s) { return testutil::BlockedAt(s, kHeldSite, Op::kMutex) == 1; });
  v1::GetSnapshotRequest request;  // max_tasks 0
  v1::Snapshot reply;
  ASSERT_TRUE(stub_->GetSnapshot(WithDeadline().get(), request, &reply).ok());
  EXPECT_EQ(reply.tasks_size(), 0);
  EXPECT_GE(reply.tasks_total(), 2);  // this thread and the blocked one
  request.set_max_tasks(1);
  ASSERT_TRUE(stub_->GetSnapshot(WithDeadline().get(), request, &reply).ok());
  ASSERT_EQ(reply.tasks_size(), 1);
  EXPECT_EQ(reply.tasks(0).stack_size(), 0);  // stacks only when asked
}

TEST_F(Introspection, DumpTasksIsTheTextDump) {
  Blocked blocked;
  testutil::WaitForSnapshot(
      [](const Snapshot& s) { return testutil::BlockedAt(s, kHeldSite, Op::kMutex) == 1; });
  v1::DumpTasksRequest request;
  v1::DumpTasksResponse reply;
  for (int debug : {1, 2}) {
    request.set_debug(debug);
    ASSERT_TRUE(stub_->DumpTasks(WithDeadline().get(), request, &reply).ok());
    EXPECT_NE(reply.text().find(kHeldSite), std::string::npos) << reply.text();
  }
  request.set_debug(7);
  const ::grpc::Status bad = stub_->DumpTasks(WithDeadline().get(), request, &reply);
  EXPECT_EQ(bad.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("debug must be 1 or 2"), std::string::npos);
}

TEST_F(Introspection, WatchStreamsUntilTheClientCancels) {
  v1::WatchSnapshotsRequest request;
  request.set_interval_ms(1);  // raised to the 100 ms minimum
  auto context = WithDeadline();
  // On the monotonic clock (a step of the realtime clock must not fail the
  // test): the third snapshot is sent at least two intervals after the first,
  // which is sent after the call starts.
  const auto start = std::chrono::steady_clock::now();
  auto reader = stub_->WatchSnapshots(context.get(), request);
  v1::Snapshot s;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(reader->Read(&s));
    EXPECT_GT(s.taken_at_unix_nanos(), 0);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  context->TryCancel();
  while (reader->Read(&s)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_F(Introspection, WatchersBeyondTheLimitAreRefusedAndStopEndsTheRest) {
  std::vector<std::unique_ptr<::grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<::grpc::ClientReader<v1::Snapshot>>> readers;
  v1::WatchSnapshotsRequest request;
  request.set_interval_ms(100);
  v1::Snapshot s;
  bool refused = false;
  for (int i = 0; i < 8 && !refused; ++i) {
    contexts.push_back(WithDeadline(30));
    readers.push_back(stub_->WatchSnapshots(contexts.back().get(), request));
    if (!readers.back()->Read(&s)) {
      const ::grpc::Status status = readers.back()->Finish();
      EXPECT_EQ(status.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
      refused = true;
      readers.pop_back();
    }
  }
  EXPECT_TRUE(refused);
  // A single call still gets through while the watchers hold their threads.
  v1::Snapshot one;
  EXPECT_TRUE(stub_->GetSnapshot(WithDeadline().get(), v1::GetSnapshotRequest(), &one).ok());
  // Stop ends every watch (well before their 30 s deadlines).
  const auto before = std::chrono::steady_clock::now();
  Stop();
  for (auto& reader : readers) {
    while (reader->Read(&s)) {
    }
    reader->Finish();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(10));
}

TEST(IntrospectionStart, ABusyPortIsAnErrorAndLeavesNothingRunning) {
  rpctest::PortHolder holder;  // the port, held by a second server of our own
  ASSERT_TRUE(holder.ok());
  const absl::Status s = Start(IntrospectionConfig(holder.address()));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("introspection.listen"), std::string::npos) << s;
  EXPECT_FALSE(IsRunning());
  EXPECT_EQ(grpc::IntrospectionPort(), 0);
  holder.Shutdown();
  // And the agent starts again afterwards.
  ASSERT_TRUE(Start(IntrospectionConfig()).ok());
  EXPECT_NE(grpc::IntrospectionPort(), 0);
  Stop();
}

}  // namespace
}  // namespace leakwatch
