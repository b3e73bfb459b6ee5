// leakwatch-demo: a small HTTP service with a healthy handler and leaky ones,
// watched by leakwatch. See handlers.cc for the leaks.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "handlers.h"
#include "httplib.h"
#include "leakwatch/leakwatch.h"
#include "load_generator.h"
#ifdef LEAKWATCH_DEMO_GRPC
#include "leakwatch/grpc.h"
#endif

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "<HOST:PORT> the demo's HTTP service (port 0: any)");
ABSL_FLAG(std::string, config, "", "<FILE> leakwatch YAML config (default: built-in defaults)");
ABSL_FLAG(std::string, metrics_listen, "", "<HOST:PORT> overrides exporter.listen of the config");
ABSL_FLAG(std::string, introspection_listen, "",
          "<HOST:PORT> overrides introspection.listen of the config (leakwatch-console's target)");
ABSL_FLAG(double, load, 0, "<RATE> requests per second from the built-in load generator (0: none)");
ABSL_FLAG(double, leak_ratio, 0.15, "<SHARE> share of generated requests that hit a leaky handler");
ABSL_FLAG(std::string, ready_file, "",
          "<FILE> once serving, write \"HTTP_PORT METRICS_PORT INTROSPECTION_PORT\" here");

namespace {

using leakwatch::tools::Fail;

constexpr leakwatch::tools::Usage kUsage = {
    .tool = "leakwatch-demo",
    .synopsis = "leakwatch-demo [--listen HOST:PORT] [--config FILE] [--load RATE] [flags]",
    .description =
        "A small HTTP service with a healthy handler (/work) and leaky ones (/leak/...),\n"
        "watched by leakwatch, with an optional built-in load generator. Runs until\n"
        "SIGINT or SIGTERM.\n",
    .flags_file = "tools/demo/main.cc",
    .footer =
        "Exit status: 0 when stopped by a signal, 2 on bad usage or a bad config, 1\n"
        "when leakwatch or the service cannot start.\n",
    .hyphenated = false,
};

// The config the flags ask for; exits 2 on a bad one.
leakwatch::Config ConfigFromFlags() {
  leakwatch::Config config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<leakwatch::Config> loaded = leakwatch::LoadConfigFile(path);
    if (!loaded.ok())
      std::exit(Fail(kUsage, leakwatch::tools::kExitUsage, loaded.status().message()));
    config = *loaded;
  }
  if (const std::string m = absl::GetFlag(FLAGS_metrics_listen); !m.empty()) {
    config.exporter.listen = m;
  }
  if (const std::string m = absl::GetFlag(FLAGS_introspection_listen); !m.empty()) {
    config.introspection.listen = m;
  }
#ifndef LEAKWATCH_DEMO_GRPC
  if (config.introspection.enabled) {
    Fail(kUsage, 0, "built without gRPC; introspection.enabled ignored");
    config.introspection.enabled = false;
  }
#endif
  return config;
}

// --listen as host and port; exits 2 when it is not host:port.
std::pair<std::string, int> ListenFromFlags() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    leakwatch::tools::ExitUsageError(
        kUsage, absl::StrCat("--listen must be host:port, got \"", listen, "\""));
  }
  return {listen.substr(0, colon), port};
}

// Prints where everything listens and writes --ready_file.
void AnnounceReady(const leakwatch::Config& config, const std::string& host, int port) {
  std::printf("leakwatch-demo: service  http://%s:%d/\n", host.c_str(), port);
  std::printf("leakwatch-demo: metrics  http://%s%s  (tasks: /debug/tasks?debug=1)\n",
              config.exporter.listen.c_str(), config.exporter.path.c_str());
  if (config.exporter.enabled) {
    std::printf("leakwatch-demo: metrics port %d\n", leakwatch::ExporterPort());
  }
  int introspection_port = 0;
#ifdef LEAKWATCH_DEMO_GRPC
  introspection_port = leakwatch::grpc::IntrospectionPort();
  if (introspection_port != 0) {
    std::printf("leakwatch-demo: introspection port %d  (leakwatch-console --target %s:%d)\n",
                introspection_port, host.c_str(), introspection_port);
  }
#endif
  std::fflush(stdout);
  if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
    std::ofstream(ready + ".tmp") << port << " " << leakwatch::ExporterPort() << " "
                                  << introspection_port << "\n";
    std::rename((ready + ".tmp").c_str(), ready.c_str());
  }
}

std::unique_ptr<leakwatch::demo::LoadGenerator> StartLoad(const std::string& host, int port) {
  const double rate = absl::GetFlag(FLAGS_load);
  if (!(rate > 0)) return nullptr;
  const double leak = absl::GetFlag(FLAGS_leak_ratio);
  leakwatch::demo::LoadMix mix;
  mix.work = 1 - leak;
  mix.timeout = leak * 0.7;
  mix.recv = leak * 0.1;
  mix.lock = leak * 0.1;
  mix.waitgroup = leak * 0.1;
  return std::make_unique<leakwatch::demo::LoadGenerator>(host, port, rate, mix);
}

}  // namespace

int main(int argc, char** argv) {
  leakwatch::tools::ParseFlagsOrExit(argc, argv, kUsage);
  const auto [host, listen_port] = ListenFromFlags();
  const leakwatch::Config config = ConfigFromFlags();

  // Signals are taken by a thread below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status s = leakwatch::Start(config); !s.ok()) {
    return Fail(kUsage, leakwatch::tools::kExitFailure,
                absl::StrCat("leakwatch did not start: ", s.message()));
  }
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(16); };
  auto service = std::make_unique<leakwatch::demo::Service>();
  service->Register(server);
  int port = listen_port;
  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Fail(kUsage, leakwatch::tools::kExitFailure,
                absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen)));
  }
  std::thread serving([&server] { server.listen_after_bind(); });
  AnnounceReady(config, host, port);
  std::unique_ptr<leakwatch::demo::LoadGenerator> load = StartLoad(host, port);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  load.reset();
  server.stop();
  serving.join();
  leakwatch::Stop();
  // Leaked workers are still blocked on the service's primitives: leave without
  // running destructors under them.
  std::fflush(stdout);
  std::quick_exit(0);
}
