// What the introspection tests share: an agent config that serves only the
// introspection port (on loopback, a free port unless `listen` says), a
// fixture that runs it, a client stub for it, a client context with a
// deadline, and a port held by a server of the test's own.

#ifndef LEAKWATCH_TESTS_RPC_INTROSPECTION_CLIENT_H_
#define LEAKWATCH_TESTS_RPC_INTROSPECTION_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "leakwatch.grpc.pb.h"
#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#include "leakwatch/grpc.h"

namespace leakwatch::rpctest {

inline Config IntrospectionConfig(const std::string& listen = "127.0.0.1:0") {
  Config config;
  config.exporter.enabled = false;
  config.introspection.enabled = true;
  config.introspection.listen = listen;
  config.sampler.interval = absl::Milliseconds(100);
  return config;
}

inline std::unique_ptr<v1::Introspection::Stub> Connect(int port) {
  return v1::Introspection::NewStub(::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                          ::grpc::InsecureChannelCredentials()));
}

inline std::unique_ptr<::grpc::ClientContext> WithDeadline(int seconds = 10) {
  auto context = std::make_unique<::grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// A fixture whose agent serves only the introspection port, on `port_`; the
// agent is stopped after each test.
class IntrospectionFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status started = Start(IntrospectionConfig());
    ASSERT_TRUE(started.ok()) << started;
    port_ = grpc::IntrospectionPort();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { Stop(); }

  int port_ = 0;
};

// A gRPC server of the test's own on a free loopback port, written to `port`,
// so that starting introspection there fails; nullptr when it cannot start.
// It serves an Introspection that answers every call "unimplemented".
class PortHolder {
 public:
  PortHolder() {
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&unimplemented_);
    server_ = builder.BuildAndStart();
  }
  ~PortHolder() { Shutdown(); }
  void Shutdown() {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }
  bool ok() const { return server_ != nullptr; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  v1::Introspection::Service unimplemented_;
  std::unique_ptr<::grpc::Server> server_;
};

}  // namespace leakwatch::rpctest

#endif  // LEAKWATCH_TESTS_RPC_INTROSPECTION_CLIENT_H_
