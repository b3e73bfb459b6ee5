// http/http_request.h — what the server (the agent's exporter, the judge's /metrics)
// answers to one HTTP request.
//
// The transport (http/http_server.cc) hands over a request whose headers are
// complete; Answer() decides the reply without any I/O: request smuggling
// shapes and bodies are refused, then the method, the path, Basic auth and the
// `debug` level are checked, and the body is gzip-compressed when the client
// accepts it. Kept free of the HTTP library so it can be tested (and fuzzed)
// on its own.
//
// Thread-safety: Answer() is reentrant; Routes' functions must be callable
// from the server's thread. Nothing here throws: a body function that throws
// gives a 500.

#ifndef LEAKWATCH_HTTP_HTTP_REQUEST_H_
#define LEAKWATCH_HTTP_HTTP_REQUEST_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace leakwatch::http {

struct HttpRequest {
  std::string method;
  std::string path;  // without the query string, percent-decoded
  // Value of the `debug` query argument: nullopt when absent.
  std::optional<std::string> debug;
  // Every request header in arrival order (names as sent).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  bool close = false;                                        // close the connection after the reply
};

struct Routes {
  std::string metrics_path = "/metrics";
  bool debug_endpoint = true;
  std::string expected_auth;                   // "user:password"; empty = no auth
  std::function<std::string()> metrics;        // body for metrics_path
  std::function<std::string(int debug)> dump;  // body for /debug/tasks (debug 1 or 2)
};

HttpReply Answer(const HttpRequest& request, const Routes& routes);

// True if `authorization` (a header value) is Basic credentials equal to
// `expected` ("user:password"). Takes the same time for every credential of the
// same length as `expected`: no early exit on the first differing byte.
bool BasicAuthMatches(absl::string_view authorization, absl::string_view expected);

// True if an Accept-Encoding value accepts gzip (a `gzip`, `x-gzip` or `*`
// coding whose q is not 0).
bool AcceptsGzip(absl::string_view accept_encoding);

}  // namespace leakwatch::http

#endif  // LEAKWATCH_HTTP_HTTP_REQUEST_H_
