// The leakwatch.v1.Introspection service (agent/rpc/leakwatch.proto), started
// and stopped by the agent (agent/export/agent.cc) through the two C entry
// points at the end, which the agent looks up at Start() when
// `introspection.enabled` is true: libleakwatch does not depend on gRPC.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpc/support/log.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/resource_quota.h"
#include "leakwatch.grpc.pb.h"
#include "leakwatch/config.h"
#include "leakwatch/grpc.h"
#include "leakwatch/snapshot.h"

namespace leakwatch::rpc {
namespace {

namespace v1 = ::leakwatch::v1;

// The service's own threads: a watcher holds one for as long as it watches, so
// at most kMaxWatchers watch at once and the rest stay free for single calls.
// gRPC refuses calls beyond its thread quota with RESOURCE_EXHAUSTED rather than
// adding threads to the host.
constexpr int kMaxThreads = 6;
constexpr int kMaxWatchers = 3;
constexpr uint32_t kMaxTasks = 100000;
constexpr uint32_t kMinIntervalMs = 100;
constexpr uint32_t kDefaultIntervalMs = 1000;
constexpr int kMaxRequestBytes = 4096;
// A snapshot of kMaxTasks tasks with their stacks stays well under this; a
// reply over it fails with RESOURCE_EXHAUSTED instead of growing the host.
constexpr int kMaxReplyBytes = 64 << 20;
// Streams (calls) at once on one connection; with the thread quota above, one
// client cannot occupy the service.
constexpr int kMaxStreamsPerConnection = 4;
// A connection must finish gRPC's handshake (HTTP/2 preface and settings)
// within this: idle or half-open TCP connections are closed, never kept.
constexpr int kHandshakeTimeoutMs = 5000;
// A connection without calls for this long is closed (a console reconnects).
constexpr int kMaxIdleMs = 5 * 60 * 1000;
// The server pings a connection quiet for this long and drops it when the ping
// is not answered within kKeepaliveTimeoutMs: a vanished peer is noticed.
constexpr int kKeepaliveTimeMs = 60 * 1000;
constexpr int kKeepaliveTimeoutMs = 20 * 1000;
// Clients may ping at most this often (and only during calls); a client that
// pings more is sent GOAWAY.
constexpr int kMinClientPingIntervalMs = 10 * 1000;
#ifdef GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS
constexpr int kMaxConnections = 64;
#endif

// gRPC's own log lines (gpr_log: "E1205 07:31:02.123 ... server_chttp2.cc")
// go to stderr by default, which is the host's. They are dropped unless the
// host asks for them: LEAKWATCH_GRPC_LOG=1, or GRPC_VERBOSITY set (gRPC's own
// variable). gpr_set_log_function is process-wide, so it is set only when
// introspection starts, and never when asked.
bool GrpcLogWanted() {
  const char* ours = std::getenv("LEAKWATCH_GRPC_LOG");
  if (ours != nullptr) return std::strcmp(ours, "0") != 0 && ours[0] != '\0';
  return std::getenv("GRPC_VERBOSITY") != nullptr;
}

void DropGrpcLog(gpr_log_func_args*) {}

void Fill(const Snapshot::Histogram& from, v1::Histogram* to) {
  to->mutable_upper_bounds()->Add(from.upper_bounds.begin(), from.upper_bounds.end());
  to->mutable_bucket_counts()->Add(from.bucket_counts.begin(), from.bucket_counts.end());
  to->set_count(from.count);
  to->set_sum_seconds(from.sum_seconds);
}

void Fill(const Snapshot& from, const v1::GetSnapshotRequest& request, v1::Snapshot* to) {
  to->set_taken_at_unix_nanos(from.taken_at_unix_nanos);
  to->set_process_start_time_seconds(from.process_start_time_seconds);
  to->set_os_threads(from.os_threads);
  to->set_sites_in_use(from.sites_in_use);
  to->set_sites_dropped_total(from.sites_dropped_total);
  to->set_tasks_total(static_cast<int64_t>(from.tasks.size()));
  to->set_version(LEAKWATCH_VERSION);
  to->set_pid(static_cast<int32_t>(getpid()));
  for (const Snapshot::Kind& k : from.kinds) {
    v1::Kind* out = to->add_kinds();
    out->set_kind(k.kind);
    out->set_live(k.live);
    out->set_long_lived(k.long_lived);
    out->set_oldest_age_seconds(k.oldest_age_seconds);
    out->set_started_total(k.started_total);
    out->set_finished_total(k.finished_total);
    out->set_leak_suspected(k.leak_suspected);
    out->set_leak_growth_per_hour(k.leak_growth_per_hour);
  }
  for (const Snapshot::Site& s : from.sites) {
    v1::Site* out = to->add_sites();
    out->set_site(s.site);
    out->set_op(OpName(s.op));
    out->set_blocked(s.blocked);
    out->set_stuck(s.stuck);
    out->set_idle(s.idle);
    out->set_oldest_wait_seconds(s.oldest_wait_seconds);
    out->set_deadlocked(s.deadlocked);
    out->set_leak_suspected(s.leak_suspected);
    out->set_leak_growth_per_hour(s.leak_growth_per_hour);
    Fill(s.durations, out->mutable_durations());
  }
  const size_t max_tasks = std::min(request.max_tasks(), kMaxTasks);
  for (size_t i = 0; i < from.tasks.size() && i < max_tasks; ++i) {
    const Snapshot::Task& t = from.tasks[i];
    v1::Task* out = to->add_tasks();
    out->set_id(t.id);
    out->set_tid(t.tid);
    out->set_thread_name(t.thread_name);
    out->set_kind(t.kind);
    out->set_age_seconds(t.age_seconds);
    out->set_blocked(t.blocked);
    if (t.blocked) {
      out->set_site(t.site);
      out->set_op(OpName(t.op));
      out->set_wait_seconds(t.wait_seconds);
    }
    out->set_deadlocked(t.deadlocked);
    if (request.include_stacks()) {
      out->mutable_stack()->Add(t.stack.begin(), t.stack.end());
    }
  }
}

class IntrospectionService final : public v1::Introspection::Service {
 public:
  ::grpc::Status GetSnapshot(::grpc::ServerContext*, const v1::GetSnapshotRequest* request,
                             v1::Snapshot* reply) override {
    try {
      Fill(TakeSnapshot(), *request, reply);
    } catch (const std::exception& e) {  // out of memory: an error, never the host's crash
      return ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED, e.what());
    }
    return ::grpc::Status::OK;
  }

  ::grpc::Status WatchSnapshots(::grpc::ServerContext* context,
                                const v1::WatchSnapshotsRequest* request,
                                ::grpc::ServerWriter<v1::Snapshot>* writer) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "leakwatch stopping");
      if (watchers_ >= kMaxWatchers) {
        return ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                              absl::StrCat("at most ", kMaxWatchers, " watchers at once"));
      }
      ++watchers_;
    }
    const uint32_t interval_ms = request->interval_ms() == 0
                                     ? kDefaultIntervalMs
                                     : std::max(request->interval_ms(), kMinIntervalMs);
    ::grpc::Status status = ::grpc::Status::OK;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && !context->IsCancelled()) {
      lock.unlock();
      v1::Snapshot reply;
      try {
        Fill(TakeSnapshot(), request->snapshot(), &reply);
      } catch (const std::exception& e) {
        status = ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED, e.what());
        lock.lock();
        break;
      }
      const bool written = writer->Write(reply);
      lock.lock();
      if (!written) break;  // the client went away
      // Wakes early when the agent stops; a cancelled client is noticed at the
      // next tick, which is at most a second away for the default interval.
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return stopping_; });
    }
    --watchers_;
    return status;
  }

  ::grpc::Status DumpTasks(::grpc::ServerContext*, const v1::DumpTasksRequest* request,
                           v1::DumpTasksResponse* reply) override {
    if (request->debug() != 1 && request->debug() != 2) {
      return ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("debug must be 1 or 2, not ", request->debug()));
    }
    try {
      reply->set_text(leakwatch::DumpTasks(request->debug()));
    } catch (const std::exception& e) {
      return ::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED, e.what());
    }
    return ::grpc::Status::OK;
  }

  // Ends every watch now; later ones are refused.
  void Stopping() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  int watchers_ = 0;       // guarded by mu_
};

struct Server {
  std::mutex mu;  // guards the members below (Start/Stop and IntrospectionPort)
  std::unique_ptr<IntrospectionService> service;
  std::unique_ptr<::grpc::Server> server;
  int port = 0;
};

Server& TheServer() {
  static Server* server = new Server;  // never destroyed: Stop may run after main
  return *server;
}

absl::Status Start(const Config& config) {
  Server& s = TheServer();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.server != nullptr) return absl::FailedPreconditionError("introspection already serving");
  if (!GrpcLogWanted()) gpr_set_log_function(&DropGrpcLog);
  auto service = std::make_unique<IntrospectionService>();
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.introspection.listen, ::grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  ::grpc::ResourceQuota quota("leakwatch-introspection");
  quota.SetMaxThreads(kMaxThreads);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.SetMaxSendMessageSize(kMaxReplyBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, kHandshakeTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxIdleMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kMinClientPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Debian's gRPC (1.51) has no GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS
  // (added in 1.52): a connection costs no thread here (the thread quota
  // bounds calls, not connections), and the handshake timeout closes the ones
  // that never speak. Use it where it exists.
#ifdef GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS
  builder.AddChannelArgument(GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS, kMaxConnections);
#endif
  // gRPC would share a port with another process's server (SO_REUSEPORT) and
  // split the connections between them: a busy port must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("introspection.listen: cannot serve gRPC at \"",
                                               config.introspection.listen,
                                               "\" (address in use or not local?)"));
  }
  s.service = std::move(service);
  s.server = std::move(server);
  s.port = port;
  return absl::OkStatus();
}

void Stop() {
  Server& s = TheServer();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.server == nullptr) return;
  s.service->Stopping();
  // Calls still running after the deadline are cancelled.
  s.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  s.server->Wait();
  s.server.reset();
  s.service.reset();
  s.port = 0;
}

}  // namespace
}  // namespace leakwatch::rpc

namespace leakwatch::grpc {

int IntrospectionPort() {
  rpc::Server& s = rpc::TheServer();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.port;
}

}  // namespace leakwatch::grpc

// The agent's entry points (looked up with dlsym; see agent/export/agent.cc).
extern "C" __attribute__((visibility("default"))) void leakwatch_rpc_start_introspection(
    const leakwatch::Config* config, absl::Status* status) {
  try {
    *status = leakwatch::rpc::Start(*config);
  } catch (const std::exception& e) {
    *status = absl::InternalError(absl::StrCat("introspection failed to start: ", e.what()));
  }
}

extern "C" __attribute__((visibility("default"))) void leakwatch_rpc_stop_introspection() {
  leakwatch::rpc::Stop();
}
