// The cost of RpcTrackingInterceptorFactory on a real unary call over loopback,
// against baselines measured in the same run: BM_UnaryCall/0 is a server
// without interceptors, /2 one with an interceptor that does nothing (gRPC's own
// cost of running interceptors at all), /1 one with leakwatch's. Also the
// interceptor's own work per call, without the network (BM_RpcTaskLifecycle).

#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "echo_test.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "leakwatch/coro.h"
#include "leakwatch/grpc.h"

namespace {

class EchoService final : public leakwatch::test::Echo::Service {
 public:
  ::grpc::Status Say(::grpc::ServerContext*, const leakwatch::test::Note* in,
                     leakwatch::test::Note* out) override {
    out->set_text(in->text());
    return ::grpc::Status::OK;
  }
};

class NoOp final : public ::grpc::experimental::Interceptor {
 public:
  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }
};
class NoOpFactory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo*) override {
    return new NoOp;
  }
};

// interceptor: 0 none, 1 leakwatch's, 2 a no-op one.
struct Server {
  explicit Server(int64_t interceptor) {
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    if (interceptor != 0) {
      std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> f;
      if (interceptor == 1) {
        f.push_back(std::make_unique<leakwatch::grpc::RpcTrackingInterceptorFactory>());
      } else {
        f.push_back(std::make_unique<NoOpFactory>());
      }
      builder.experimental().SetInterceptorCreators(std::move(f));
    }
    server = builder.BuildAndStart();
    stub = leakwatch::test::Echo::NewStub(::grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), ::grpc::InsecureChannelCredentials()));
  }
  ~Server() { server->Shutdown(); }
  EchoService service;
  int port = 0;
  std::unique_ptr<::grpc::Server> server;
  std::unique_ptr<leakwatch::test::Echo::Stub> stub;
};

void BM_UnaryCall(benchmark::State& state) {
  Server server(state.range(0));
  leakwatch::test::Note in, out;
  in.set_text("hello");
  for (auto _ : state) {
    ::grpc::ClientContext context;
    if (!server.stub->Say(&context, in, &out).ok()) {
      state.SkipWithError("call failed");
      break;
    }
  }
}
BENCHMARK(BM_UnaryCall)->Arg(0)->Arg(2)->Arg(1)->UseRealTime();

// What the interceptor adds to each call: register the task, begin the wait at
// the method's site, end it (histogram), unregister.
void BM_RpcTaskLifecycle(benchmark::State& state) {
  static const leakwatch::TaskKind kKind("rpc");
  for (auto _ : state) {
    leakwatch::internal::CoroutineRecord record;
    leakwatch::internal::RegisterCoroutine(&record, &kKind);
    leakwatch::internal::BeginWaitAt(&record, "/leakwatch.test.Echo/Say", leakwatch::Op::kRpc);
    leakwatch::internal::EndAwait(&record);
    leakwatch::internal::UnregisterCoroutine(&record);
    benchmark::DoNotOptimize(record);
  }
}
BENCHMARK(BM_RpcTaskLifecycle);

}  // namespace
