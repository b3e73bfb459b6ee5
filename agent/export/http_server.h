// export/http_server.h — the agent's HTTP endpoint: `exporter.path` (Prometheus
// text format) and `/debug/tasks?debug=1|2` (the task dump), with optional
// Basic auth and TLS, gzip when the client asks.
//
// Event-driven, so slow clients cannot starve it: one agent thread runs
// libmicrohttpd's epoll loop over every connection, and a connection waiting
// for its client costs no thread. ConnectionTable (export/connection_table.h)
// caps connections in total (1/8 of the process's descriptor limit, at most
// 128) and per client address (half of that), closing the oldest idle ones
// first, and gives a request 5 s to finish its headers; request bodies are
// refused (export/http_request.h). The thread is created by Start() on the
// calling thread, so it inherits the caller's signal mask
// (core/host_signals.h); libmicrohttpd starts no thread of its own and changes
// no signal disposition.
//
// Thread-safety: Start() and the destructor may be called from any thread;
// the handlers run on the server's thread, one request at a time.

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

  // Binds and starts serving. Errors: UnavailableError (cannot bind, TLS key
  // or certificate refused, no thread), InvalidArgumentError (bad listen
  // address, unreadable password, key or certificate file).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Config::Exporter& config,
                                                           Handlers handlers);
  ~HttpServer();  // stops serving; waits for the request in flight

  int port() const { return port_; }

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_HTTP_SERVER_H_
