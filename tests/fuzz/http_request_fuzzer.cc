// libFuzzer target over the request path the project writes itself
// (agent/http/http_request.cc): bodies and smuggling shapes, path routing,
// the `debug` query argument, Basic auth, Accept-Encoding and gzip.
//
// The input is an HTTP/1.1 request head as a client sends it; it is split the
// way libmicrohttpd hands it over (method, path, the first `debug` query
// argument, every header in order), and the first byte picks the routes (auth
// on or off, /debug/tasks on or off). Besides ASan and UBSan, the reply is
// checked against what Answer() promises: a known status, 200 only with the
// right credentials and a GET or HEAD, and a gzip body that inflates to the
// handler's text.

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/http_request.h"

namespace {

using leakwatch::http::HttpReply;
using leakwatch::http::HttpRequest;
using leakwatch::http::Routes;

constexpr char kMetrics[] = "# TYPE leakwatch_tasks gauge\nleakwatch_tasks 3\n";
constexpr char kUser[] = "prometheus:s3cret";

void Check(bool ok) {
  if (!ok) std::abort();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

HttpRequest Parse(std::string_view head) {
  HttpRequest request;
  size_t eol = head.find('\n');
  std::string_view line = Trim(head.substr(0, eol));
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  const size_t sp = line.find(' ');
  request.method = std::string(line.substr(0, sp));
  std::string_view target = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  const size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      std::string_view arg = query.substr(0, amp);
      const size_t eq = arg.find('=');
      if (arg.substr(0, eq) == "debug" && !request.debug.has_value()) {
        request.debug = std::string(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  while (!head.empty()) {
    eol = head.find('\n');
    line = Trim(head.substr(0, eol));
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(Trim(line.substr(colon + 1))));
  }
  return request;
}

std::string Gunzip(const std::string& data) {
  z_stream z{};
  Check(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    Check(rc == Z_OK || rc == Z_STREAM_END);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Routes routes;
  routes.metrics_path = (mode & 4) ? "/custom/metrics" : "/metrics";
  routes.debug_endpoint = (mode & 2) != 0;
  if (mode & 1) routes.expected_auth = kUser;
  routes.metrics = [] { return std::string(kMetrics); };
  routes.dump = [](int debug) {
    Check(debug == 1 || debug == 2);
    return std::string(debug == 1 ? "tasks 1\n" : "tasks 2\n");
  };
  const HttpRequest request = Parse(text);
  const HttpReply reply = leakwatch::http::Answer(request, routes);
  switch (reply.status) {
    case 200:
    case 400:
    case 401:
    case 404:
    case 405:
      break;
    default:
      Check(false);
  }
  if (reply.status == 200) {
    Check(request.method == "GET" || request.method == "HEAD");
    Check(request.path == routes.metrics_path || request.path == "/debug/tasks");
    if (!routes.expected_auth.empty()) {
      int matches = 0;
      for (const auto& [name, value] : request.headers) {
        if (name.size() == 13 && strncasecmp(name.c_str(), "Authorization", 13) == 0) {
          Check(leakwatch::http::BasicAuthMatches(value, routes.expected_auth));
          ++matches;
        }
      }
      Check(matches == 1);
    }
    std::string body = reply.body;
    for (const auto& [name, value] : reply.headers) {
      if (name == "Content-Encoding" && value == "gzip") body = Gunzip(reply.body);
    }
    Check(body == kMetrics || body == "tasks 1\n" || body == "tasks 2\n");
  }
  // The two header parsers on the raw text as a header value.
  const absl::string_view value(text.data(), text.size());
  (void)leakwatch::http::AcceptsGzip(value);
  (void)leakwatch::http::BasicAuthMatches(value, kUser);
  return 0;
}
