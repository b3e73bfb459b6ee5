// leakwatch/grpc.h — gRPC servers: RPCs as tasks, and the introspection service.
//
// Its implementation is agent/rpc (libleakwatch_grpc): the RPC interceptor and
// the introspection service over leakwatch.proto. agent/rpc may include the
// standard library, abseil, gRPC, protobuf (its generated leakwatch.pb.h) and
// the public leakwatch/ headers; the agent finds it at Start(), so nothing
// below it links gRPC.
//
// Link `leakwatch::grpc` (libleakwatch_grpc) for both.
//
// RPC tracking. Every RPC a server handles becomes a leakwatch task of kind
// "rpc" (or the kind you name) from the moment gRPC accepts the call until the
// call is destroyed, whichever threads run its handler. Until the handler sends
// the call's status, the task is blocked with Op::kRpc at a site named after the
// method ("/pkg.Service/Method"): leakwatch_blocked_tasks{site=method,op="rpc"}
// counts the calls in flight per method, leakwatch_stuck_tasks those in flight
// longer than tasks.stuck_after, leakwatch_block_duration_seconds is the
// handlers' latency histogram, and a method whose stuck calls keep growing (an
// async handler that never finishes its call, a sync handler blocked forever)
// is a suspected leak like any other site.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(std::make_unique<leakwatch::grpc::RpcTrackingInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Introspection. With libleakwatch_grpc linked, `introspection.enabled: true`
// makes leakwatch::Start() serve the leakwatch.v1.Introspection service
// (agent/rpc/leakwatch.proto) at `introspection.listen`, which
// `leakwatch-console --target ADDR` reads. The service has no authentication:
// keep it on loopback (the default) or behind a port-forward. It runs on at
// most a few threads of its own, which are agent threads (not counted as the
// host's tasks), and refuses calls beyond them (RESOURCE_EXHAUSTED).
// (A toolchain that links with --as-needed drops a library nothing refers to:
// refer to something in it, such as the factory, or Start() reports that the
// service is not linked.)
//
// Cost: one interceptor per call (a heap object holding the task record),
// registering and unregistering the task (one uncontended per-shard lock each,
// as for coroutines, leakwatch/coro.h) and two clock reads. Nothing here throws.

#ifndef LEAKWATCH_GRPC_H_
#define LEAKWATCH_GRPC_H_

#include <string_view>

#include "grpcpp/support/server_interceptor.h"
#include "leakwatch/task.h"

namespace leakwatch::grpc {

class RpcTrackingInterceptorFactory
    : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Calls are tasks of kind "rpc".
  RpcTrackingInterceptorFactory() noexcept;
  // Calls are tasks of `kind` (a label value, like TaskScope's).
  explicit RpcTrackingInterceptorFactory(std::string_view kind) noexcept;

  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo* info) override;

 private:
  TaskKind kind_;
};

// The port the introspection service listens on (useful with
// `introspection.listen: 127.0.0.1:0`), or 0 when it is not serving.
int IntrospectionPort();

}  // namespace leakwatch::grpc

#endif  // LEAKWATCH_GRPC_H_
