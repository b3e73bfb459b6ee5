// leakwatch::grpc::RpcTrackingInterceptorFactory on a real gRPC server on
// loopback: every call is a task of kind "rpc", blocked at its method until its
// status is sent.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/test_util.h"
#include "echo_test.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "leakwatch/grpc.h"
#include "leakwatch/snapshot.h"

namespace leakwatch {
namespace {

using testutil::FindKind;
using testutil::FindSite;
using testutil::WaitForSnapshot;

constexpr char kSay[] = "/leakwatch.test.Echo/Say";
constexpr char kHang[] = "/leakwatch.test.Echo/Hang";
constexpr char kRepeat[] = "/leakwatch.test.Echo/Repeat";

// Hang() waits until Release().
class EchoService final : public test::Echo::Service {
 public:
  ::grpc::Status Say(::grpc::ServerContext*, const test::Note* in, test::Note* out) override {
    out->set_text(in->text());
    return ::grpc::Status::OK;
  }
  ::grpc::Status Hang(::grpc::ServerContext*, const test::Note*, test::Note*) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++hanging_;
    cv_.wait(lock, [this] { return released_; });
    --hanging_;
    return ::grpc::Status::OK;
  }
  ::grpc::Status Repeat(::grpc::ServerContext*, const test::Note* in,
                        ::grpc::ServerWriter<test::Note>* writer) override {
    for (int i = 0; i < 3; ++i) writer->Write(*in);
    return ::grpc::Status::OK;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  int hanging() {
    std::lock_guard<std::mutex> lock(mu_);
    return hanging_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int hanging_ = 0;
};

class RpcTracking : public ::testing::Test {
 protected:
  void StartServer(std::unique_ptr<grpc::RpcTrackingInterceptorFactory> factory) {
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(std::move(factory));
    builder.experimental().SetInterceptorCreators(std::move(f));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    port_ = port;
    stub_ = test::Echo::NewStub(
        ::grpc::CreateChannel(Address(port), ::grpc::InsecureChannelCredentials()));
  }
  static std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

  void TearDown() override {
    service_.Release();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  ::grpc::Status Say(const std::string& text, std::string* reply = nullptr) {
    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    test::Note in, out;
    in.set_text(text);
    ::grpc::Status status = stub_->Say(&context, in, &out);
    if (reply != nullptr) *reply = out.text();
    return status;
  }

  static uint64_t Finished(const Snapshot& s, const std::string& kind) {
    const Snapshot::Kind* k = FindKind(s, kind);
    return k ? k->finished_total : 0;
  }
  static uint64_t Waits(const Snapshot& s, const char* method) {
    const Snapshot::Site* site = FindSite(s, method, Op::kRpc);
    return site ? site->durations.count : 0;
  }
  static int64_t InFlight(const Snapshot& s, const char* method) {
    return testutil::BlockedAt(s, method, Op::kRpc);
  }

  EchoService service_;
  int port_ = 0;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<test::Echo::Stub> stub_;
};

TEST_F(RpcTracking, AFinishedCallIsATaskOfKindRpcAndAWaitAtItsMethod) {
  StartServer(std::make_unique<grpc::RpcTrackingInterceptorFactory>());
  const Snapshot before = TakeSnapshot();
  std::string reply;
  ASSERT_TRUE(Say("hello", &reply).ok());
  EXPECT_EQ(reply, "hello");
  // The interceptor goes with the call, which gRPC may destroy just after the
  // client has its answer.
  const Snapshot after = WaitForSnapshot(
      [&](const Snapshot& s) { return Finished(s, "rpc") == Finished(before, "rpc") + 1; });
  EXPECT_EQ(Finished(after, "rpc"), Finished(before, "rpc") + 1);
  const Snapshot::Kind* rpc = FindKind(after, "rpc");
  ASSERT_NE(rpc, nullptr);
  EXPECT_EQ(rpc->started_total, Finished(after, "rpc"));
  EXPECT_EQ(rpc->live, 0);
  EXPECT_EQ(Waits(after, kSay), Waits(before, kSay) + 1);
  EXPECT_EQ(InFlight(after, kSay), 0);
}

TEST_F(RpcTracking, ACallWhoseHandlerNeverAnswersStaysBlockedAtItsMethod) {
  StartServer(std::make_unique<grpc::RpcTrackingInterceptorFactory>());
  constexpr int kCalls = 3;
  std::vector<std::thread> clients;
  for (int i = 0; i < kCalls; ++i) {
    clients.emplace_back([this] {
      ::grpc::ClientContext context;
      test::Note in, out;
      stub_->Hang(&context, in, &out).ok();
    });
  }
  const Snapshot hanging =
      WaitForSnapshot([&](const Snapshot& s) { return InFlight(s, kHang) == kCalls; });
  EXPECT_EQ(InFlight(hanging, kHang), kCalls);
  const Snapshot::Kind* rpc = FindKind(hanging, "rpc");
  ASSERT_NE(rpc, nullptr);
  EXPECT_EQ(rpc->live, kCalls);
  int listed = 0;
  for (const Snapshot::Task& t : hanging.tasks) {
    if (t.kind != "rpc") continue;
    ++listed;
    EXPECT_TRUE(t.blocked);
    EXPECT_EQ(t.site, kHang);
    EXPECT_EQ(t.op, Op::kRpc);
  }
  EXPECT_EQ(listed, kCalls);
  EXPECT_NE(DumpTasks(1).find(kHang), std::string::npos);

  service_.Release();
  for (std::thread& t : clients) t.join();
  const Snapshot done = WaitForSnapshot([&](const Snapshot& s) {
    const Snapshot::Kind* k = FindKind(s, "rpc");
    return InFlight(s, kHang) == 0 && k != nullptr && k->live == 0;
  });
  EXPECT_EQ(InFlight(done, kHang), 0);
  EXPECT_EQ(FindKind(done, "rpc")->live, 0);
  EXPECT_GE(Waits(done, kHang), static_cast<uint64_t>(kCalls));
}

TEST_F(RpcTracking, AClientThatGivesUpDoesNotEndTheHandlersWait) {
  StartServer(std::make_unique<grpc::RpcTrackingInterceptorFactory>());
  {
    ::grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    test::Note in, out;
    EXPECT_EQ(stub_->Hang(&context, in, &out).error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // The handler still runs: that is the leak a timeout hides.
  const Snapshot s = WaitForSnapshot([&](const Snapshot& s) { return InFlight(s, kHang) == 1; });
  EXPECT_EQ(InFlight(s, kHang), 1);
  EXPECT_EQ(service_.hanging(), 1);
  service_.Release();
  const Snapshot done = WaitForSnapshot([&](const Snapshot& s) { return InFlight(s, kHang) == 0; });
  EXPECT_EQ(InFlight(done, kHang), 0);
}

TEST_F(RpcTracking, StreamingCallsAndNamedKinds) {
  StartServer(std::make_unique<grpc::RpcTrackingInterceptorFactory>("echo-rpc"));
  const Snapshot before = TakeSnapshot();
  {
    ::grpc::ClientContext context;
    test::Note in, out;
    in.set_text("x");
    auto reader = stub_->Repeat(&context, in);
    int n = 0;
    while (reader->Read(&out)) ++n;
    EXPECT_EQ(n, 3);
    EXPECT_TRUE(reader->Finish().ok());
  }
  ASSERT_TRUE(Say("y").ok());
  const Snapshot after = WaitForSnapshot([&](const Snapshot& s) {
    return Finished(s, "echo-rpc") == Finished(before, "echo-rpc") + 2;
  });
  EXPECT_EQ(Finished(after, "echo-rpc"), Finished(before, "echo-rpc") + 2);
  EXPECT_EQ(Waits(after, kRepeat), Waits(before, kRepeat) + 1);
  EXPECT_EQ(Waits(after, kSay), Waits(before, kSay) + 1);
}

TEST_F(RpcTracking, UnknownMethodsAreNotTrackedUnderTheClientsName) {
  StartServer(std::make_unique<grpc::RpcTrackingInterceptorFactory>());
  // A client can name any method; the server answers UNIMPLEMENTED and no site
  // is made of the name it sent.
  auto channel = ::grpc::CreateChannel(Address(port_), ::grpc::InsecureChannelCredentials());
  ::grpc::GenericStub generic(channel);
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ::grpc::Slice empty("");
  ::grpc::ByteBuffer request(&empty, 1), response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ::grpc::Status status;
  generic.UnaryCall(&context, "/no.such.Service/Probe", ::grpc::StubOptions(), &request, &response,
                    [&](::grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_all();
                    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNIMPLEMENTED);
  for (const Snapshot::Site& site : TakeSnapshot().sites) {
    EXPECT_EQ(site.site.find("no.such.Service"), std::string::npos) << site.site;
  }
}

}  // namespace
}  // namespace leakwatch
