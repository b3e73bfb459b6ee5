// judge/prometheus_client.h — a client of Prometheus' HTTP query API
// (/api/v1/query_range and /api/v1/series), the read path of leakwatch-judge.
//
// The same API is served by Thanos Query, Mimir, Cortex and VictoriaMetrics,
// often under a path prefix (http://host:9090/prometheus); the base URL keeps
// it. Queries are POSTed form-encoded (no URL-length limit). A range query is
// split into pieces of at most `max_points_per_series` steps (Prometheus
// refuses more than 11,000 points per series) and the pieces are joined per
// series. Sample values arrive as JSON strings because JSON has no NaN or
// Inf; NaN and +-Inf samples are dropped. Transport errors, 429 and 5xx are
// retried with exponential backoff; other 4xx are not (the query is wrong).
//
//   leakwatch::judge::ClientOptions options;
//   options.base_url = "http://127.0.0.1:9090";
//   auto client = leakwatch::judge::PrometheusClient::Create(options);
//   auto matrix = (*client)->QueryRange("up", start, end, /*step=*/60);
//
// A PrometheusClient is safe for concurrent use from several threads (each
// request opens its own connection).

#ifndef LEAKWATCH_JUDGE_PROMETHEUS_CLIENT_H_
#define LEAKWATCH_JUDGE_PROMETHEUS_CLIENT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leakwatch::judge {

// A series' label set, __name__ included when the API returns it.
using Labels = std::map<std::string, std::string>;

// One series of a range query: finite samples only, ascending times.
struct Series {
  Labels labels;
  std::vector<double> t;      // seconds since the epoch
  std::vector<double> value;  // finite
};

struct ClientOptions {
  std::string base_url;                                      // http(s)://host[:port][/prefix]
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
  std::string bearer_token;                                  // "Authorization: Bearer ..."
  std::string basic_auth_user, basic_auth_password;          // used when the user is set
  std::string ca_file;  // PEM bundle to verify https servers with (system CAs otherwise)
  absl::Duration timeout = absl::Minutes(2);        // per attempt: connect, send, and each read
  int max_attempts = 3;                             // 1 = no retry
  absl::Duration first_backoff = absl::Seconds(1);  // doubled after each failed attempt
  size_t max_response_bytes = size_t{512} << 20;    // larger bodies fail the request
  int max_points_per_series = 11000;                // Prometheus' own limit
  // Ask for gzip: a sixth of the bytes, but Prometheus compresses on one core
  // (1.44 M points: 2.9 s gzipped against 0.5 s plain on loopback).
  bool gzip = false;
};

// The base URL split for cpp-httplib: "http://host:9090" and "/prometheus"
// (no trailing slash; empty when there is no prefix).
struct BaseUrl {
  std::string scheme_host_port;
  std::string path_prefix;
};

// Parses a base URL. Errors (InvalidArgument) name what is wrong: a scheme
// other than http/https, no host, a query string or fragment.
absl::StatusOr<BaseUrl> ParseBaseUrl(absl::string_view url);

// Parses a --header value "Name: value". The name must be an HTTP token.
absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(absl::string_view text);

// Parses a sample value string of the API: a decimal or exponent number,
// "NaN", "+Inf", "-Inf" (any case). Returns InvalidArgument for anything else.
absl::StatusOr<double> ParseSampleValue(absl::string_view text);

// A piece of a range query: evaluation times start, start+step, ..., end.
struct TimeRange {
  double start = 0;
  double end = 0;
};

// Splits [start, end] evaluated every `step` seconds into consecutive pieces
// of at most `max_points` evaluation times each that together evaluate every
// time of the whole range exactly once. Empty when end < start.
std::vector<TimeRange> SplitRange(double start, double end, double step, int max_points);

// Parses a /api/v1/query_range response body (a "matrix"): the envelope's
// status, errorType and error become an error status; values that are NaN or
// +-Inf are dropped. `warnings` (may be null) receives the envelope's warnings.
absl::StatusOr<std::vector<Series>> ParseMatrixResponse(absl::string_view body,
                                                        std::vector<std::string>* warnings);

// Parses a /api/v1/series response body: the label sets.
absl::StatusOr<std::vector<Labels>> ParseSeriesResponse(absl::string_view body,
                                                        std::vector<std::string>* warnings);

class PrometheusClient {
 public:
  // Checks the options (base URL, headers) and returns a client. Does no I/O.
  static absl::StatusOr<std::unique_ptr<PrometheusClient>> Create(ClientOptions options);

  // Runs `query` at start, start+step, ..., end (seconds since the epoch),
  // split into pieces of at most max_points_per_series steps, and joins the
  // pieces per series. Errors: Unavailable (cannot connect, timeout, 5xx,
  // 429 after the retries), InvalidArgument (4xx: the server's errorType and
  // error), DataLoss (malformed or truncated body), ResourceExhausted (body
  // larger than max_response_bytes). Each message names the endpoint.
  absl::StatusOr<std::vector<Series>> QueryRange(const std::string& query, double start, double end,
                                                 double step) const;

  // The label sets of the series matching any of `matchers` in [start, end].
  absl::StatusOr<std::vector<Labels>> SeriesLabels(const std::vector<std::string>& matchers,
                                                   double start, double end) const;

  const ClientOptions& options() const { return options_; }

  // The distinct warnings of successful answers since the last call (at most
  // 10; Thanos, for example, warns of partial answers), oldest first.
  std::vector<std::string> TakeWarnings() const;

 private:
  void AddWarnings(const std::vector<std::string>& warnings) const;

  PrometheusClient(ClientOptions options, BaseUrl base);

  // POSTs `form` to `path` (below the prefix) with retries; returns the body
  // of a 2xx answer.
  absl::StatusOr<std::string> Post(
      const std::string& path, const std::vector<std::pair<std::string, std::string>>& form) const;
  // One attempt of Post: the body of a 2xx answer, UnavailableError when
  // another attempt may succeed, any other error when it cannot.
  absl::StatusOr<std::string> PostOnce(
      const std::string& path, const std::vector<std::pair<std::string, std::string>>& form) const;

  ClientOptions options_;
  BaseUrl base_;
  mutable std::mutex mu_;
  mutable std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_PROMETHEUS_CLIENT_H_
