// http/http_server.h — the project's hardened HTTP server: the agent's
// exporter (`exporter.path` and `/debug/tasks`, export/agent.cc) and
// leakwatch-judge's `/metrics` (judge/main.cc) both serve with it. Optional
// Basic auth and TLS, gzip when the client asks; the routes and replies are
// http/http_request.h's.
//
// Event-driven, so slow clients cannot starve it: one thread of its own runs
// libmicrohttpd's epoll loop over every connection, and a connection waiting
// for its client costs no thread. ConnectionTable (http/connection_table.h)
// caps connections in total (1/8 of the process's descriptor limit, at most
// 128) and per client address (half of that), closing the oldest idle ones
// first, and gives a request 5 s to finish its headers; request bodies are
// refused (http/http_request.h). The thread is created by Start() on the
// calling thread, so it inherits the caller's signal mask
// (core/host_signals.h); libmicrohttpd starts no thread of its own and changes
// no signal disposition.
//
// A layer of its own between config and export (it uses config/ for listen
// addresses and nothing of core, export or the public headers), so the judge
// can serve with it and stay beside export (tests/judge/layers_test.py).
//
// Thread-safety: Start() and the destructor may be called from any thread;
// the handlers run on the server's thread, one request at a time.

#ifndef LEAKWATCH_HTTP_HTTP_SERVER_H_
#define LEAKWATCH_HTTP_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "http/http_request.h"

namespace leakwatch::http {

class HttpServer {
 public:
  struct Options {
    std::string listen;  // host:port (config/listen_address.h); port 0 picks a free one
    // Basic auth when `basic_auth_username` is set: the password is the first
    // line of `basic_auth_password_file`.
    std::string basic_auth_username, basic_auth_password_file;
    std::string tls_cert_file, tls_key_file;  // TLS when tls_cert_file is set
    // Names in error messages: `key_prefix` + "listen", "basic_auth.password_file",
    // "tls.key_file", "tls.cert_file"; `name` for errors without a key.
    std::string key_prefix = "exporter.";
    std::string name = "exporter";
    // Runs first on the server's thread (the agent marks it as its own).
    std::function<void()> on_thread_start;
  };

  // Binds and starts serving `routes` (its expected_auth is set from the
  // options). Errors: UnavailableError (cannot bind, TLS key or certificate
  // refused, no thread), InvalidArgumentError (bad listen address, unreadable
  // password, key or certificate file).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options, Routes routes);
  ~HttpServer();  // stops serving; waits for the request in flight

  int port() const { return port_; }

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace leakwatch::http

#endif  // LEAKWATCH_HTTP_HTTP_SERVER_H_
