// The agent: sampler thread, verdicts, HTTP exporter, and the public entry points
// of agent.h and snapshot.h.

#include "leakwatch/agent.h"

#include <dlfcn.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/adopted_threads.h"
#include "core/clock.h"
#include "core/debuginfo.h"
#include "core/histogram.h"
#include "core/host_signals.h"
#include "core/idle_waits.h"
#include "core/read_snapshot.h"
#include "core/sites.h"
#include "export/dump.h"
#include "export/metrics.h"
#include "export/site_activity.h"
#include "export/verdicts.h"
#include "http/http_server.h"
#include "leakwatch/snapshot.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"

// The interposition layer, when linked or preloaded (weak: the exporter does
// not depend on it). Agent threads' own waits are not recorded.
extern "C" void leakwatch_intercept_set_agent_thread(int agent) __attribute__((weak));
extern "C" void leakwatch_intercept_configure(const leakwatch::Config* config)
    __attribute__((weak));

// The gRPC introspection service lives in libleakwatch_grpc (agent/rpc), which
// libleakwatch does not depend on: Start() looks it up when asked to serve.
using StartIntrospectionFn = void (*)(const leakwatch::Config*, absl::Status*);
using StopIntrospectionFn = void (*)();

namespace leakwatch {
namespace {

struct Introspection {
  StartIntrospectionFn start = nullptr;
  StopIntrospectionFn stop = nullptr;
};

// The service's entry points, if libleakwatch_grpc is loaded.
Introspection FindIntrospection() {
  Introspection i;
  i.start = reinterpret_cast<StartIntrospectionFn>(
      dlsym(RTLD_DEFAULT, "leakwatch_rpc_start_introspection"));
  i.stop = reinterpret_cast<StopIntrospectionFn>(
      dlsym(RTLD_DEFAULT, "leakwatch_rpc_stop_introspection"));
  if (i.start == nullptr || i.stop == nullptr) return {};
  return i;
}

// Marks the calling thread, and the threads it creates meanwhile, as agent threads.
class AgentThreads {
 public:
  AgentThreads() { Set(1); }
  ~AgentThreads() { Set(0); }
  static void Set(int agent) {
    if (leakwatch_intercept_set_agent_thread != nullptr)
      leakwatch_intercept_set_agent_thread(agent);
  }
};

Snapshot TakeSnapshotWith(bool include_tasks, bool include_thread_names);

class AgentCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    try {
      return exporter::SnapshotToFamilies(TakeSnapshotWith(false, false));
    } catch (...) {
      return {};  // out of memory: an empty scrape, never an exception into the host
    }
  }
};

struct Agent {
  std::mutex lifecycle_mu;  // serializes Start/Stop
  std::atomic<bool> running{false};

  std::mutex mu;  // guards config, idle_rules, stop_requested
  std::condition_variable cv;
  Config config;
  std::shared_ptr<const core::IdleWaitRules> idle_rules;  // of config.sites
  bool stop_requested = false;

  std::thread sampler;
  std::unique_ptr<http::HttpServer> server;
  StopIntrospectionFn stop_introspection = nullptr;  // set while it serves
  exporter::VerdictBoard verdicts;
  exporter::SiteActivity activity;  // drops quiet sites (sites.drop_after)

  core::ReadOptions Options() {
    std::lock_guard<std::mutex> lock(mu);
    core::ReadOptions o;
    o.stuck_after_ns = absl::ToInt64Nanoseconds(config.tasks.stuck_after);
    o.long_lived_after_ns = absl::ToInt64Nanoseconds(config.tasks.long_lived_after);
    o.idle_rules = idle_rules;
    return o;
  }

  void SamplerLoop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop_requested) {
      const absl::Duration interval = config.sampler.interval;
      lock.unlock();
      core::ReadOptions options = Options();
      try {
        const Snapshot snap = core::ReadSnapshot(options);
        activity.Observe(snap, core::MonotonicNanos());
        verdicts.Update(snap);
      } catch (...) {
        // Out of memory: skip this tick.
      }
      lock.lock();
      cv.wait_for(lock, absl::ToChronoNanoseconds(interval), [this] { return stop_requested; });
    }
  }
};

Agent& TheAgent() {
  static Agent* agent = new Agent;  // never destroyed: threads may outlive main
  return *agent;
}

// Starts the gRPC introspection service of libleakwatch_grpc, which must be
// linked into the process.
absl::Status StartIntrospection(Agent& a, const Config& config) {
  const Introspection introspection = FindIntrospection();
  if (introspection.start == nullptr) {
    return absl::FailedPreconditionError(
        "introspection.enabled is true, but the gRPC introspection service is not linked "
        "into this process: link leakwatch::grpc (libleakwatch_grpc), or set "
        "introspection.enabled: false");
  }
  absl::Status status;
  introspection.start(&config, &status);
  if (status.ok()) a.stop_introspection = introspection.stop;
  return status;
}

// Starts the /metrics and /debug/tasks server when the config enables it.
absl::Status StartExporter(Agent& a, const Config& config) {
  if (!config.exporter.enabled) return absl::OkStatus();
  http::Routes routes;
  routes.metrics_path = config.exporter.path;
  routes.debug_endpoint = config.exporter.debug_endpoint;
  routes.metrics = [] { return prometheus::TextSerializer().Serialize(Collector()->Collect()); };
  routes.dump = [](int debug) { return DumpTasks(debug); };
  http::HttpServer::Options options;
  options.listen = config.exporter.listen;
  options.basic_auth_username = config.exporter.basic_auth.username;
  options.basic_auth_password_file = config.exporter.basic_auth.password_file;
  options.tls_cert_file = config.exporter.tls.cert_file;
  options.tls_key_file = config.exporter.tls.key_file;
  options.on_thread_start = [] { core::MarkAgentThread(); };  // never adopted by hooks
  auto server = http::HttpServer::Start(options, std::move(routes));
  if (!server.ok()) return server.status();
  a.server = std::move(*server);
  return absl::OkStatus();
}

}  // namespace

absl::Status Start(const Config& config) {
  Agent& a = TheAgent();
  std::lock_guard<std::mutex> lifecycle(a.lifecycle_mu);
  if (a.running.load()) return absl::FailedPreconditionError("leakwatch is already running");
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  try {
    core::SetMaxSites(config.sites.max_sites);
    core::SetLayout(config.sites.histogram_buckets);
    {
      std::lock_guard<std::mutex> lock(a.mu);
      a.config = config;
      a.idle_rules = std::make_shared<const core::IdleWaitRules>(config.sites.idle_sites,
                                                                 config.sites.idle_threads);
      a.stop_requested = false;
    }
    a.verdicts.Configure(config.detector);
    a.activity.Configure(config.sites.drop_after);
    if (leakwatch_intercept_configure != nullptr) leakwatch_intercept_configure(&config);
    // Drops or re-adopts the threads adopted when the hooks loaded, even if
    // those hooks were dlopen()ed after the weak reference above was resolved.
    core::SetThreadAdoption(config.intercept.enabled && config.intercept.threads);
    AgentThreads agent_threads;  // the HTTP workers and the sampler below
    // Every thread started below, and every thread those start later, blocks
    // the host's signals; civetweb's threads set SIGPIPE to ignored as they
    // start, and the host gets its disposition back (core/host_signals.h).
    core::AgentThreadSignals signals_blocked;
    core::HostSignalDispositions dispositions_kept;
    // The symbolizer thread: names and file:line from debug files for
    // interposed sites (core/debuginfo.h). It outlives Stop, idle.
    core::StartSymbolizer(config.sites.debug_dirs);
    if (absl::Status status = StartExporter(a, config); !status.ok()) return status;
    if (config.introspection.enabled) {
      if (absl::Status status = StartIntrospection(a, config); !status.ok()) {
        a.server.reset();
        return status;
      }
    }
    a.sampler = std::thread([&a] {
      core::MarkAgentThread();  // never adopted by hooks loaded later
      a.SamplerLoop();
    });
  } catch (const std::exception& e) {
    if (a.stop_introspection != nullptr) a.stop_introspection();
    a.stop_introspection = nullptr;
    a.server.reset();
    return absl::InternalError(absl::StrCat("leakwatch failed to start: ", e.what()));
  }
  a.running.store(true);
  return absl::OkStatus();
}

void Stop() {
  Agent& a = TheAgent();
  std::lock_guard<std::mutex> lifecycle(a.lifecycle_mu);
  if (!a.running.load()) return;
  if (a.stop_introspection != nullptr) a.stop_introspection();
  a.stop_introspection = nullptr;
  a.server.reset();
  {
    std::lock_guard<std::mutex> lock(a.mu);
    a.stop_requested = true;
  }
  a.cv.notify_all();
  if (a.sampler.joinable()) a.sampler.join();
  a.running.store(false);
}

bool IsRunning() { return TheAgent().running.load(); }

int ExporterPort() {
  Agent& a = TheAgent();
  std::lock_guard<std::mutex> lifecycle(a.lifecycle_mu);
  return a.server ? a.server->port() : 0;
}

std::shared_ptr<prometheus::Collectable> Collector() {
  static const auto collector = std::make_shared<AgentCollector>();
  return collector;
}

namespace {

Snapshot TakeSnapshotWith(bool include_tasks, bool include_thread_names) {
  Agent& a = TheAgent();
  core::ReadOptions options = a.Options();
  options.include_tasks = include_tasks;
  options.include_thread_names = include_thread_names;
  Snapshot snap = core::ReadSnapshot(options);
  a.verdicts.Attach(snap);
  a.activity.Prune(snap, core::MonotonicNanos());
  return snap;
}

}  // namespace

Snapshot TakeSnapshot() { return TakeSnapshotWith(true, true); }

std::string DumpTasks(int debug) {
  return exporter::FormatDump(TakeSnapshotWith(true, debug == 2), debug);
}

}  // namespace leakwatch
