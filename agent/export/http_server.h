// The agent's HTTP endpoint: `exporter.path` (Prometheus text format) and
// `/debug/tasks?debug=1|2` (the task dump), with optional Basic auth and TLS.
// Built on civetweb's C API; knows nothing about how the bodies are made.

#ifndef LEAKWATCH_EXPORT_HTTP_SERVER_H_
#define LEAKWATCH_EXPORT_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "leakwatch/config.h"

namespace leakwatch::exporter {

class HttpServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;        // body for exporter.path
    std::function<std::string(int debug)> dump;  // body for /debug/tasks
  };

  // Binds and starts serving. Errors: UnavailableError (cannot bind, TLS
  // failure), InvalidArgumentError (bad listen address, unreadable password).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Config::Exporter& config,
                                                           Handlers handlers);
  ~HttpServer();  // stops serving; waits for in-flight requests

  int port() const { return port_; }

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

// Parses "host:port", "[v6]:port"; resolves host names. Returns the civetweb
// listening_ports value ("127.0.0.1:9464", "[::1]:9464").
absl::StatusOr<std::string> ListenSpec(const std::string& listen);

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_HTTP_SERVER_H_
