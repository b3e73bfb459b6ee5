#include "http/http_request.h"

#include <new>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "http/gzip.h"

namespace leakwatch::http {
namespace {

HttpReply Error(int status, std::string body, bool close = false) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.close = close;
  return reply;
}

// The value of every header named `name` (case-insensitive).
std::vector<absl::string_view> HeaderValues(const HttpRequest& request, absl::string_view name) {
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : request.headers) {
    if (absl::EqualsIgnoreCase(key, name)) values.push_back(value);
  }
  return values;
}

// A request that carries (or claims) a body, or could be read two ways by a
// proxy in front of us, is refused and its connection closed: the exporter
// takes no request bodies, so it never has to decide where one ends.
std::optional<HttpReply> RefuseBodies(const HttpRequest& request) {
  const std::vector<absl::string_view> lengths = HeaderValues(request, "Content-Length");
  const std::vector<absl::string_view> codings = HeaderValues(request, "Transfer-Encoding");
  if (lengths.size() > 1) {
    return Error(400, "bad request: more than one Content-Length header\n", true);
  }
  if (!lengths.empty() && !codings.empty()) {
    return Error(400, "bad request: both Content-Length and Transfer-Encoding\n", true);
  }
  if (!codings.empty()) {
    return Error(400, "bad request: Transfer-Encoding (request bodies are not accepted)\n", true);
  }
  if (!lengths.empty()) {
    uint64_t length = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(lengths[0]), &length)) {
      return Error(400, "bad request: Content-Length is not a number\n", true);
    }
    if (length > 0) {
      const bool get = request.method == "GET" || request.method == "HEAD";
      return get ? Error(400, "bad request: GET and HEAD take no body\n", true)
                 : Error(405, "method not allowed\n", true);
    }
  }
  return std::nullopt;
}

HttpReply Body(std::string body, const char* content_type, const HttpRequest& request) {
  HttpReply reply;
  reply.content_type = content_type;
  reply.headers.emplace_back("Cache-Control", "no-store");
  reply.headers.emplace_back("Vary", "Accept-Encoding");
  bool gzip = false;
  for (absl::string_view value : HeaderValues(request, "Accept-Encoding"))
    gzip |= AcceptsGzip(value);
  if (gzip) {
    if (std::optional<std::string> compressed = Gzip(std::string_view(body))) {
      reply.headers.emplace_back("Content-Encoding", "gzip");
      reply.body = std::move(*compressed);
      return reply;
    }
  }
  reply.body = std::move(body);
  return reply;
}

HttpReply AnswerOrThrow(const HttpRequest& request, const Routes& routes) {
  if (std::optional<HttpReply> refused = RefuseBodies(request)) return *std::move(refused);
  const bool is_metrics = request.path == routes.metrics_path;
  const bool is_dump = routes.debug_endpoint && request.path == "/debug/tasks";
  if (!is_metrics && !is_dump) {
    return Error(404, routes.debug_endpoint
                          ? "not found: leakwatch serves its metrics path and /debug/tasks\n"
                          : "not found: leakwatch serves its metrics path\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpReply reply = Error(405, "method not allowed\n");
    reply.headers.emplace_back("Allow", "GET, HEAD");
    return reply;
  }
  if (!routes.expected_auth.empty()) {
    const std::vector<absl::string_view> auth = HeaderValues(request, "Authorization");
    if (auth.size() != 1 || !BasicAuthMatches(auth[0], routes.expected_auth)) {
      HttpReply reply = Error(401, "unauthorized\n");
      reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"leakwatch\"");
      return reply;
    }
  }
  if (is_metrics) {
    return Body(routes.metrics(), "text/plain; version=0.0.4; charset=utf-8", request);
  }
  int debug = 1;
  if (request.debug.has_value() && !absl::SimpleAtoi(*request.debug, &debug)) debug = 0;
  if (debug != 1 && debug != 2) return Error(400, "debug must be 1 or 2\n");
  return Body(routes.dump(debug), "text/plain; charset=utf-8", request);
}

}  // namespace

HttpReply Answer(const HttpRequest& request, const Routes& routes) {
  try {
    return AnswerOrThrow(request, routes);
  } catch (...) {
    HttpReply reply;
    reply.status = 500;
    reply.close = true;
    return reply;  // no body: building one could throw again
  }
}

bool BasicAuthMatches(absl::string_view authorization, absl::string_view expected) {
  if (authorization.size() < 6 || !absl::EqualsIgnoreCase(authorization.substr(0, 6), "Basic ")) {
    return false;
  }
  std::string decoded;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(authorization.substr(6)), &decoded)) {
    return false;
  }
  // Constant time in the credentials: no early exit on the first differing byte.
  unsigned diff = decoded.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < decoded.size() ? decoded[i] : 0);
  }
  return diff == 0;
}

bool AcceptsGzip(absl::string_view accept_encoding) {
  for (absl::string_view item : absl::StrSplit(accept_encoding, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const absl::string_view coding = absl::StripAsciiWhitespace(parts[0]);
    if (!absl::EqualsIgnoreCase(coding, "gzip") && !absl::EqualsIgnoreCase(coding, "x-gzip") &&
        coding != "*") {
      continue;
    }
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (absl::ConsumePrefix(&param, "q=") || absl::ConsumePrefix(&param, "Q=")) {
        if (!absl::SimpleAtod(param, &q)) q = 0;
      }
    }
    if (q > 0) return true;
  }
  return false;
}

}  // namespace leakwatch::http
