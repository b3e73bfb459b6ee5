// leakwatch::grpc::RpcTrackingInterceptorFactory: every RPC a task, blocked at
// its method until its status is sent (see leakwatch/grpc.h).

#include "grpcpp/support/interceptor.h"

#include <string_view>

#include "grpcpp/support/server_interceptor.h"
#include "leakwatch/coro.h"
#include "leakwatch/grpc.h"

namespace leakwatch::grpc {
namespace {

using ::grpc::experimental::InterceptionHookPoints;

// Site labels are kept short; a method path longer than this (only a generic
// service sees arbitrary ones) is cut.
constexpr size_t kMaxMethodLength = 200;

class RpcTask final : public ::grpc::experimental::Interceptor {
 public:
  RpcTask(const TaskKind& kind, const char* method) noexcept {
    internal::RegisterCoroutine(&record_, &kind);
    std::string_view name = method != nullptr && *method != '\0' ? method : "unknown-method";
    internal::BeginWaitAt(&record_, name.substr(0, kMaxMethodLength), Op::kRpc);
  }
  ~RpcTask() override {
    // A call destroyed without a status (cancelled, or the server shut down)
    // ends its wait here.
    internal::EndAwait(&record_);
    internal::UnregisterCoroutine(&record_);
  }
  RpcTask(const RpcTask&) = delete;
  RpcTask& operator=(const RpcTask&) = delete;

  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      internal::EndAwait(&record_);
    }
    methods->Proceed();
  }

 private:
  internal::CoroutineRecord record_;
};

}  // namespace

RpcTrackingInterceptorFactory::RpcTrackingInterceptorFactory() noexcept : kind_("rpc") {}

RpcTrackingInterceptorFactory::RpcTrackingInterceptorFactory(std::string_view kind) noexcept
    : kind_(kind) {}

::grpc::experimental::Interceptor* RpcTrackingInterceptorFactory::CreateServerInterceptor(
    ::grpc::experimental::ServerRpcInfo* info) {
  // gRPC owns the interceptor and deletes it with the call. Out of memory, the
  // call simply goes untracked.
  return new (std::nothrow) RpcTask(kind_, info->method());
}

}  // namespace leakwatch::grpc
