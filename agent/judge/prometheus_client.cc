#include "judge/prometheus_client.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace leakwatch::judge {
namespace {

using Json = nlohmann::json;
using Form = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded (RFC 1866 8.2.1, as Go's url.QueryEscape).
std::string FormEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string FormBody(const Form& form) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : form)
    parts.push_back(FormEscape(name) + "=" + FormEscape(value));
  return absl::StrJoin(parts, "&");
}

std::string TimeParam(double t) { return absl::StrFormat("%.3f", t); }

bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) || absl::StrContains("!#$%&'*+-.^_`|~", static_cast<char>(c));
}

// The warnings of an envelope, and its error as a status when it is not
// "success". `http_status` is the HTTP status of the answer (0 when unknown).
absl::Status CheckEnvelope(const Json& envelope, std::vector<std::string>* warnings) {
  if (!envelope.is_object()) return absl::DataLossError("the response is not a JSON object");
  if (warnings != nullptr && envelope.contains("warnings") && envelope["warnings"].is_array()) {
    for (const Json& w : envelope["warnings"]) {
      if (w.is_string()) warnings->push_back(w.get<std::string>());
    }
  }
  auto status = envelope.find("status");
  if (status == envelope.end() || !status->is_string()) {
    return absl::DataLossError("the response has no \"status\" string");
  }
  if (*status == "success") return absl::OkStatus();
  std::string error_type = envelope.value("errorType", std::string("unknown"));
  std::string error = envelope.value("error", std::string("(no error message)"));
  return absl::InvalidArgumentError(absl::StrCat(error_type, ": ", error));
}

// Runs `parse` over the JSON text `body`, turning the library's exceptions
// (syntax errors, wrong types) into DataLoss.
template <typename T, typename Fn>
absl::StatusOr<T> ParseJson(absl::string_view body, Fn parse) {
  try {
    Json envelope = Json::parse(body.begin(), body.end());
    return parse(envelope);
  } catch (const Json::exception& e) {
    return absl::DataLossError(
        absl::StrCat("malformed JSON response (", body.size(), " bytes): ", e.what()));
  }
}

Labels LabelsOf(const Json& metric) {
  Labels labels;
  for (const auto& [name, value] : metric.items()) labels.emplace(name, value.get<std::string>());
  return labels;
}

// What went wrong, in words a user can act on (httplib's own names are terse:
// "Connection", "Read").
std::string Describe(httplib::Error error, absl::Duration timeout) {
  switch (error) {
    case httplib::Error::Connection:
      return "Could not establish connection (nothing listening, or the host is unreachable)";
    case httplib::Error::ConnectionTimeout:
      return absl::StrCat("Could not establish connection within ", absl::FormatDuration(timeout));
    case httplib::Error::Read:
      return absl::StrCat("no answer within ", absl::FormatDuration(timeout),
                          ", or the connection closed before the whole answer came");
    case httplib::Error::Write:
      return "the connection closed while sending the query";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA certificates (--ca-file)";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate did not verify (--ca-file)";
    case httplib::Error::Compression:
      return "cannot decompress the answer";
    default:
      return httplib::to_string(error);
  }
}

// Reads a query_range answer as it is parsed (SAX), straight into Series: no
// document tree, which would take ~180 bytes and most of the parse time per
// sample. Anything but the envelope's known fields is skipped.
class MatrixHandler : public nlohmann::json_sax<Json> {
 public:
  explicit MatrixHandler(std::vector<std::string>* warnings) : warnings_(warnings) {}

  const absl::Status& error() const { return error_; }

  absl::StatusOr<std::vector<Series>> Finish() {
    if (status_.empty()) return absl::DataLossError("the response has no \"status\" string");
    if (status_ != "success") {
      return absl::InvalidArgumentError(
          absl::StrCat(error_type_.empty() ? "unknown" : error_type_, ": ",
                       error_message_.empty() ? "(no error message)" : error_message_));
    }
    if (result_type_ != "matrix") {
      return absl::DataLossError(
          absl::StrCat("expected a matrix result, got \"", result_type_, "\""));
    }
    return std::move(series_);
  }

  bool null() override { return Scalar("null"); }
  bool boolean(bool) override { return Scalar("a boolean"); }
  bool number_integer(number_integer_t v) override { return Number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return Number(v); }
  bool binary(binary_t&) override { return Scalar("binary"); }

  bool string(string_t& text) override {
    switch (Top()) {
      case Ctx::kRoot:
        if (key_ == "status") status_ = text;
        if (key_ == "errorType") error_type_ = text;
        if (key_ == "error") error_message_ = text;
        return true;
      case Ctx::kData:
        if (key_ == "resultType") result_type_ = text;
        return true;
      case Ctx::kMetric:
        series_.back().labels[key_] = text;
        return true;
      case Ctx::kWarnings:
        if (warnings_ != nullptr) warnings_->push_back(text);
        return true;
      case Ctx::kPoint: {
        if (point_fields_++ != 1) return Fail("a sample is not [time, \"value\"]");
        absl::StatusOr<double> v = ParseSampleValue(text);
        if (!v.ok()) return Fail(v.status().message());
        point_value_ = *v;
        return true;
      }
      case Ctx::kResult:
      case Ctx::kItem:
      case Ctx::kValues:
        return Fail("unexpected string in a matrix");
      case Ctx::kSkip:
        return true;
    }
    return true;
  }

  bool key(string_t& name) override {
    key_ = name;
    return true;
  }

  bool start_object(std::size_t) override {
    Ctx parent = stack_.empty() ? Ctx::kSkip : Top();
    Ctx next = Ctx::kSkip;
    if (stack_.empty()) {
      next = Ctx::kRoot;
    } else if (parent == Ctx::kRoot && key_ == "data") {
      next = Ctx::kData;
    } else if (parent == Ctx::kResult) {
      next = Ctx::kItem;
      series_.emplace_back();
    } else if (parent == Ctx::kItem && key_ == "metric") {
      next = Ctx::kMetric;
    } else if (parent == Ctx::kValues || parent == Ctx::kPoint || parent == Ctx::kMetric) {
      return Fail("unexpected object in a matrix");
    }
    stack_.push_back(next);
    key_.clear();
    return true;
  }

  bool end_object() override {
    stack_.pop_back();
    return true;
  }

  bool start_array(std::size_t) override {
    if (stack_.empty()) return Fail("the response is not a JSON object");
    Ctx parent = Top();
    Ctx next = Ctx::kSkip;
    if (parent == Ctx::kRoot && key_ == "warnings") {
      next = Ctx::kWarnings;
    } else if (parent == Ctx::kData && key_ == "result") {
      next = Ctx::kResult;
    } else if (parent == Ctx::kItem && key_ == "values") {
      next = Ctx::kValues;
    } else if (parent == Ctx::kValues) {
      next = Ctx::kPoint;
      point_fields_ = 0;
    } else if (parent == Ctx::kPoint || parent == Ctx::kMetric || parent == Ctx::kResult) {
      return Fail("unexpected array in a matrix");
    }
    stack_.push_back(next);
    return true;
  }

  bool end_array() override {
    if (Top() == Ctx::kPoint) {
      if (point_fields_ != 2) return Fail("a sample is not [time, \"value\"]");
      if (std::isfinite(point_value_)) {
        series_.back().t.push_back(point_time_);
        series_.back().value.push_back(point_value_);
      }
    }
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return Fail(absl::StrCat("malformed JSON response: ", e.what()));
  }

 private:
  enum class Ctx { kRoot, kData, kResult, kItem, kMetric, kValues, kPoint, kWarnings, kSkip };

  Ctx Top() const { return stack_.back(); }

  bool Fail(absl::string_view message) {
    if (error_.ok()) error_ = absl::DataLossError(message);
    return false;
  }

  bool Number(double v) {
    if (stack_.empty()) return Fail("the response is not a JSON object");
    if (Top() != Ctx::kPoint) return Scalar("a number");
    if (point_fields_++ != 0) return Fail("a sample is not [time, \"value\"]");
    point_time_ = v;
    return true;
  }

  // A scalar other than the expected ones: fine where skipped or in the
  // envelope, wrong inside the matrix.
  bool Scalar(absl::string_view what) {
    if (stack_.empty()) return Fail("the response is not a JSON object");
    switch (Top()) {
      case Ctx::kRoot:
      case Ctx::kData:
      case Ctx::kSkip:
        return true;
      default:
        return Fail(absl::StrCat("unexpected ", what, " in a matrix"));
    }
  }

  std::vector<std::string>* warnings_;
  std::vector<Ctx> stack_;
  std::string key_;
  std::string status_, error_type_, error_message_, result_type_;
  std::vector<Series> series_;
  int point_fields_ = 0;
  double point_time_ = 0, point_value_ = 0;
  absl::Status error_;
};

bool Retryable(int http_status) { return http_status == 429 || http_status >= 500; }

}  // namespace

absl::StatusOr<BaseUrl> ParseBaseUrl(absl::string_view url) {
  absl::string_view rest = url;
  std::string scheme;
  if (absl::ConsumePrefix(&rest, "http://")) {
    scheme = "http";
  } else if (absl::ConsumePrefix(&rest, "https://")) {
    scheme = "https";
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" is not an http:// or https:// URL"));
  }
  if (absl::StrContains(rest, '?') || absl::StrContains(rest, '#')) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" has a query or fragment; give the base URL only"));
  }
  size_t slash = rest.find('/');
  absl::string_view host_port = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash);
  if (host_port.empty() || host_port.front() == ':') {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has no host"));
  }
  if (absl::StrContains(host_port, '@')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", url, "\" carries credentials; use --basic-auth-user and --basic-auth-password-file"));
  }
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  return BaseUrl{absl::StrCat(scheme, "://", host_port), std::string(path)};
}

absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(absl::string_view text) {
  size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("header \"", text, "\" is not \"Name: value\" (no colon)"));
  }
  absl::string_view name = text.substr(0, colon);
  absl::string_view value = absl::StripAsciiWhitespace(text.substr(colon + 1));
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("header \"", text, "\" has no name"));
  }
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat("header name \"", name,
                                                     "\" has a character not allowed in "
                                                     "HTTP header names"));
    }
  }
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("header \"", name, "\" has a line break or NUL in its value"));
    }
  }
  return std::make_pair(std::string(name), std::string(value));
}

absl::StatusOr<double> ParseSampleValue(absl::string_view text) {
  double value;
  if (text.empty() || absl::ascii_isspace(static_cast<unsigned char>(text.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(text.back())) ||
      !absl::SimpleAtod(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a sample value"));
  }
  return value;
}

std::vector<TimeRange> SplitRange(double start, double end, double step, int max_points) {
  std::vector<TimeRange> pieces;
  if (end < start || step <= 0 || max_points < 1) return pieces;
  // Evaluation times are start + i*step for i = 0..n-1.
  const int64_t n = static_cast<int64_t>(std::floor((end - start) / step + 1e-9)) + 1;
  for (int64_t first = 0; first < n; first += max_points) {
    int64_t last = std::min<int64_t>(first + max_points, n) - 1;
    pieces.push_back(
        {start + static_cast<double>(first) * step, start + static_cast<double>(last) * step});
  }
  return pieces;
}

absl::StatusOr<std::vector<Series>> ParseMatrixResponse(absl::string_view body,
                                                        std::vector<std::string>* warnings) {
  MatrixHandler handler(warnings);
  const bool parsed = Json::sax_parse(body.begin(), body.end(), &handler);
  if (!parsed || !handler.error().ok()) {
    absl::Status error = handler.error();
    if (error.ok()) error = absl::DataLossError("malformed JSON response");
    return absl::Status(error.code(), absl::StrCat(error.message(), " (", body.size(), " bytes)"));
  }
  return handler.Finish();
}

absl::StatusOr<std::vector<Labels>> ParseSeriesResponse(absl::string_view body,
                                                        std::vector<std::string>* warnings) {
  return ParseJson<std::vector<Labels>>(
      body, [&](const Json& envelope) -> absl::StatusOr<std::vector<Labels>> {
        if (absl::Status s = CheckEnvelope(envelope, warnings); !s.ok()) return s;
        std::vector<Labels> out;
        for (const Json& metric : envelope.at("data")) out.push_back(LabelsOf(metric));
        return out;
      });
}

absl::StatusOr<std::unique_ptr<PrometheusClient>> PrometheusClient::Create(ClientOptions options) {
  absl::StatusOr<BaseUrl> base = ParseBaseUrl(options.base_url);
  if (!base.ok()) return base.status();
  for (const auto& [name, value] : options.headers) {
    if (absl::Status s = ParseHeader(absl::StrCat(name, ": ", value)).status(); !s.ok()) return s;
  }
  if (options.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  if (options.max_points_per_series < 1) {
    return absl::InvalidArgumentError("max_points_per_series must be >= 1");
  }
  return std::unique_ptr<PrometheusClient>(new PrometheusClient(std::move(options), *base));
}

PrometheusClient::PrometheusClient(ClientOptions options, BaseUrl base)
    : options_(std::move(options)), base_(std::move(base)) {}

absl::StatusOr<std::string> PrometheusClient::Post(const std::string& path,
                                                   const Form& form) const {
  absl::Status last;
  absl::Duration backoff = options_.first_backoff;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));
      backoff *= 2;
    }
    absl::StatusOr<std::string> body = PostOnce(path, form);
    if (body.ok() || !absl::IsUnavailable(body.status())) return body;
    last = body.status();
  }
  return absl::Status(last.code(),
                      absl::StrCat(last.message(), " (after ", options_.max_attempts,
                                   options_.max_attempts == 1 ? " attempt)" : " attempts)"));
}

namespace {

// The message of a non-2xx answer: the API's error envelope, else the start
// of the raw body.
std::string ErrorDetail(const std::string& body) {
  absl::StatusOr<std::vector<Labels>> envelope = ParseSeriesResponse(body, nullptr);
  if (!envelope.ok() && absl::IsInvalidArgument(envelope.status())) {
    return std::string(envelope.status().message());
  }
  return absl::StrCat("\"", body.substr(0, 200), body.size() > 200 ? "..." : "", "\"");
}

}  // namespace

absl::StatusOr<std::string> PrometheusClient::PostOnce(const std::string& path,
                                                       const Form& form) const {
  const std::string url = absl::StrCat(base_.scheme_host_port, base_.path_prefix, path);
  httplib::Client http(base_.scheme_host_port);
  const auto timeout = absl::ToChronoMicroseconds(options_.timeout);
  http.set_connection_timeout(timeout);
  http.set_read_timeout(timeout);
  http.set_write_timeout(timeout);
  if (!options_.ca_file.empty()) http.set_ca_cert_path(options_.ca_file);
  if (!options_.bearer_token.empty()) http.set_bearer_token_auth(options_.bearer_token);
  if (!options_.basic_auth_user.empty()) {
    http.set_basic_auth(options_.basic_auth_user, options_.basic_auth_password);
  }
  httplib::Request req;
  req.method = "POST";
  req.path = base_.path_prefix + path;
  for (const auto& [name, value] : options_.headers) req.headers.emplace(name, value);
  if (options_.gzip) req.headers.emplace("Accept-Encoding", "gzip");
  req.headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  req.body = FormBody(form);
  std::string body;
  bool too_big = false, too_slow = false;
  const absl::Time deadline = absl::Now() + options_.timeout;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (body.size() + n > options_.max_response_bytes) {
      too_big = true;
      return false;
    }
    if (absl::Now() > deadline) {
      too_slow = true;
      return false;
    }
    body.append(data, n);
    return true;
  };
  httplib::Result res = http.send(req);
  if (too_big) {
    // A larger answer would not be smaller next time.
    return absl::ResourceExhaustedError(absl::StrCat("POST ", url, ": the response is larger than ",
                                                     options_.max_response_bytes,
                                                     " bytes (narrow --selector or --lookback)"));
  }
  if (too_slow) {
    return absl::UnavailableError(absl::StrCat("POST ", url, ": the response took longer than ",
                                               absl::FormatDuration(options_.timeout)));
  }
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url, ": ", Describe(res.error(), options_.timeout)));
  }
  if (res->status >= 200 && res->status < 300) return body;
  std::string status = absl::StrCat("POST ", url, ": HTTP ", res->status, " ", ErrorDetail(body));
  if (!Retryable(res->status)) return absl::InvalidArgumentError(status);
  return absl::UnavailableError(status);
}

absl::StatusOr<std::vector<Series>> PrometheusClient::QueryRange(const std::string& query,
                                                                 double start, double end,
                                                                 double step) const {
  std::vector<Series> out;
  std::map<Labels, size_t> index;
  for (const TimeRange& piece : SplitRange(start, end, step, options_.max_points_per_series)) {
    absl::StatusOr<std::string> body =
        Post("/api/v1/query_range", {{"query", query},
                                     {"start", TimeParam(piece.start)},
                                     {"end", TimeParam(piece.end)},
                                     {"step", absl::StrFormat("%.3f", step)}});
    if (!body.ok()) return body.status();
    std::vector<std::string> warnings;
    absl::StatusOr<std::vector<Series>> part = ParseMatrixResponse(*body, &warnings);
    AddWarnings(warnings);
    if (!part.ok()) {
      return absl::Status(part.status().code(),
                          absl::StrCat("query_range ", query, ": ", part.status().message()));
    }
    for (Series& s : *part) {
      auto [it, inserted] = index.emplace(s.labels, out.size());
      if (inserted) {
        out.push_back(std::move(s));
        continue;
      }
      Series& into = out[it->second];
      into.t.insert(into.t.end(), s.t.begin(), s.t.end());
      into.value.insert(into.value.end(), s.value.begin(), s.value.end());
    }
  }
  return out;
}

absl::StatusOr<std::vector<Labels>> PrometheusClient::SeriesLabels(
    const std::vector<std::string>& matchers, double start, double end) const {
  Form form;
  for (const std::string& m : matchers) form.emplace_back("match[]", m);
  form.emplace_back("start", TimeParam(start));
  form.emplace_back("end", TimeParam(end));
  absl::StatusOr<std::string> body = Post("/api/v1/series", form);
  if (!body.ok()) return body.status();
  std::vector<std::string> warnings;
  absl::StatusOr<std::vector<Labels>> labels = ParseSeriesResponse(*body, &warnings);
  AddWarnings(warnings);
  if (!labels.ok()) {
    return absl::Status(
        labels.status().code(),
        absl::StrCat("series ", absl::StrJoin(matchers, ", "), ": ", labels.status().message()));
  }
  return labels;
}

void PrometheusClient::AddWarnings(const std::vector<std::string>& warnings) const {
  if (warnings.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& w : warnings) {
    if (warnings_.size() < 10 &&
        std::find(warnings_.begin(), warnings_.end(), w) == warnings_.end()) {
      warnings_.push_back(w);
    }
  }
}

std::vector<std::string> PrometheusClient::TakeWarnings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(warnings_, {});
}

}  // namespace leakwatch::judge
