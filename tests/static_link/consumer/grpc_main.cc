// A user's gRPC service linking the installed leakwatch::grpc: RPC tracking and
// the introspection service.
#include <cstdio>
#include <memory>

#include "leakwatch/grpc.h"
#include "leakwatch/leakwatch.h"

int main() {
  auto factory = std::make_unique<leakwatch::grpc::RpcTrackingInterceptorFactory>();
  leakwatch::Config config;
  config.exporter.enabled = false;
  config.introspection.enabled = true;
  config.introspection.listen = "127.0.0.1:0";
  if (absl::Status s = leakwatch::Start(config); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const int port = leakwatch::grpc::IntrospectionPort();
  leakwatch::Stop();
  std::printf("introspection served on port %d", port);
  return port > 0 ? 0 : 1;
}
