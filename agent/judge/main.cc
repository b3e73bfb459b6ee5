// leakwatch-judge: judges every selected service across its instances and
// process lifetimes from the history Prometheus keeps, and serves the verdicts
// as leakwatch_judge_* metrics. See --help and the README.

#include <prometheus/text_serializer.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/flags.h"
#include "config/detector_params.h"
#include "config/duration.h"
#include "config/listen_address.h"
#include "http/http_server.h"
#include "judge/fleet.h"
#include "judge/history_reader.h"
#include "judge/judge_cycle.h"
#include "judge/judge_metrics.h"
#include "judge/prometheus_client.h"

ABSL_FLAG(std::string, prometheus, "",
          "<URL> base URL of the Prometheus query API (required), e.g. http://127.0.0.1:9090 or "
          "http://mimir:8080/prometheus");
ABSL_FLAG(std::string, listen, "127.0.0.1:9466",
          "<HOST:PORT> address to serve the judge's /metrics on");
ABSL_FLAG(std::string, interval, "1m", "<DURATION> time between judging cycles");
ABSL_FLAG(
    std::string, config, "",
    "<FILE> leakwatch YAML config (the agent's format, e.g. config/demo.yaml) whose detector.* "
    "keys set the windows the fleet is judged with, and with them the fleet judge's "
    "durations (default: the production windows, 15m floors and a 6h trend)");
ABSL_FLAG(
    std::string, scrape_interval, "1s",
    "<DURATION> scrape interval of the judged jobs: the default grid step is at least this long "
    "(a finer grid only repeats samples)");
ABSL_FLAG(
    std::string, lookback, "",
    "<DURATION> history read per cycle (default: what the fleet judge needs for the detector's "
    "windows: 2d with the production windows, 24m with config/demo.yaml's)");
ABSL_FLAG(std::string, step, "",
          "<DURATION> resolution of the history read (default: the fleet judge's grid step for the "
          "detector's windows, floor_window / 15 but at least --scrape-interval: 1m with the "
          "production windows)");
ABSL_FLAG(std::string, selector, "", "<MATCHERS> extra label matchers, e.g. {namespace=\"shop\"}");
ABSL_FLAG(
    std::string, group_by, "job",
    "<LABELS> comma-separated labels a verdict is per (with site and op, or kind); they replace "
    "job in the verdict metrics");
ABSL_FLAG(bool, once, false, "judge once, print the metrics on stdout and exit");
ABSL_FLAG(
    std::string, at, "",
    "<SECONDS> judge as of this time (Unix seconds), seeing only data up to it (a backtest with "
    "--once)");
ABSL_FLAG(std::string, bearer_token_file, "", "<FILE> file holding a bearer token for the API");
ABSL_FLAG(std::string, basic_auth_user, "", "<USER> user for HTTP basic auth");
ABSL_FLAG(std::string, basic_auth_password_file, "", "<FILE> file holding the basic-auth password");
ABSL_FLAG(std::string, ca_file, "", "<FILE> PEM file of CAs to verify an https API with");
ABSL_FLAG(leakwatch::tools::RepeatedFlag, header, {},
          "<'NAME: VALUE'> extra request header (repeatable; the value is taken whole, commas "
          "included), e.g. 'X-Scope-OrgID: tenant'");
ABSL_FLAG(std::string, query_timeout, "2m", "<DURATION> timeout of one query attempt");
ABSL_FLAG(int, query_attempts, 3, "attempts per query (retries back off from 1s, doubling)");
ABSL_FLAG(int, threads, 2, "jobs read and judged at once");
ABSL_FLAG(bool, query_gzip, false,
          "ask for gzip-compressed answers (for slow links: a sixth of the bytes, but the "
          "server spends a core compressing)");
ABSL_FLAG(int64_t, max_points_per_query, 250'000,
          "series x steps in one query (bounds the memory of an answer)");
ABSL_FLAG(int64_t, max_response_bytes, int64_t{512} << 20, "larger answers fail the query");

namespace {

constexpr leakwatch::tools::Usage kUsage = {
    .tool = "leakwatch-judge",
    .synopsis = "leakwatch-judge --prometheus=URL [flags]",
    .description =
        R"(Every --interval, reads back from Prometheus' query API the history of
leakwatch_stuck_tasks, leakwatch_tasks_long_lived and process_start_time_seconds
of every selected job, judges each (job, site, op) and (job, kind) across all
its instances and process lifetimes together, and serves the verdicts on
--listen's /metrics:
  leakwatch_judge_site_leak_suspected{job,site,op}       0/1
  leakwatch_judge_site_leak_growth_per_hour{job,site,op}  per process
  leakwatch_judge_task_leak_suspected{job,kind}           0/1
  leakwatch_judge_task_leak_growth_per_hour{job,kind}     per process
  leakwatch_judge_last_success_timestamp_seconds, leakwatch_judge_query_errors_total,
  leakwatch_judge_series_judged, leakwatch_judge_cycle_duration_seconds
A failed cycle keeps the last verdicts (see last_success). With --once, judges
once, prints the metrics and exits.
The fleet is judged with the in-process detector's production windows (a day
of history before any verdict); --config=FILE takes the windows from the
detector.* keys of a leakwatch config instead, the one the agents run with
(config/demo.yaml: minutes), and derives the lookback and the grid from them.
)",
    .flags_file = "judge/main.cc",
    .footer =
        "Exit status: 2 on bad usage; 1 when /metrics cannot be served or a --once cycle\n"
        "failed; 0 after --once, or on SIGINT or SIGTERM.\n",
};

absl::StatusOr<std::string> ReadSecret(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read --", flag, " ", path));
  std::stringstream text;
  text << in.rdbuf();
  std::string secret(absl::StripTrailingAsciiWhitespace(text.str()));
  if (secret.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, " is empty"));
  }
  return secret;
}

absl::StatusOr<absl::Duration> PositiveDuration(const std::string& flag, const std::string& text) {
  absl::StatusOr<absl::Duration> d = leakwatch::config::ParseDuration(text);
  if (!d.ok())
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", d.status().message()));
  if (*d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be positive"));
  }
  return *d;
}

struct Settings {
  leakwatch::judge::ClientOptions client;
  leakwatch::judge::ReaderOptions reader;
  leakwatch::judge::FleetParams fleet;
  absl::Duration interval;
  bool once = false;
  bool has_at = false;
  double at = 0;
  std::string listen;
  int threads = 2;
};

// The query-API client's flags: the URL, headers, authentication, TLS and
// the queries' limits. The error is a usage error.
absl::StatusOr<leakwatch::judge::ClientOptions> ClientFromFlags() {
  leakwatch::judge::ClientOptions c;
  c.base_url = absl::GetFlag(FLAGS_prometheus);
  if (c.base_url.empty()) return absl::InvalidArgumentError("--prometheus=URL is required");
  if (absl::Status st = leakwatch::judge::ParseBaseUrl(c.base_url).status(); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--prometheus: ", st.message()));
  }
  for (const std::string& h : absl::GetFlag(FLAGS_header).values) {
    auto parsed = leakwatch::judge::ParseHeader(h);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--header: ", parsed.status().message()));
    }
    c.headers.push_back(*parsed);
  }
  const std::string token_file = absl::GetFlag(FLAGS_bearer_token_file);
  const std::string user = absl::GetFlag(FLAGS_basic_auth_user);
  const std::string password_file = absl::GetFlag(FLAGS_basic_auth_password_file);
  if (!token_file.empty() && !user.empty()) {
    return absl::InvalidArgumentError(
        "--bearer-token-file and --basic-auth-user exclude each other (one Authorization header)");
  }
  if (user.empty() != password_file.empty()) {
    return absl::InvalidArgumentError(
        "--basic-auth-user and --basic-auth-password-file go together");
  }
  if (!token_file.empty()) {
    auto token = ReadSecret("bearer-token-file", token_file);
    if (!token.ok()) return token.status();
    c.bearer_token = *token;
  }
  if (!user.empty()) {
    auto password = ReadSecret("basic-auth-password-file", password_file);
    if (!password.ok()) return password.status();
    c.basic_auth_user = user;
    c.basic_auth_password = *password;
  }
  c.ca_file = absl::GetFlag(FLAGS_ca_file);
  if (!c.ca_file.empty() && !std::ifstream(c.ca_file)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read --ca-file ", c.ca_file));
  }
  auto timeout = PositiveDuration("query-timeout", absl::GetFlag(FLAGS_query_timeout));
  if (!timeout.ok()) return timeout.status();
  c.timeout = *timeout;
  c.max_attempts = absl::GetFlag(FLAGS_query_attempts);
  if (c.max_attempts < 1 || c.max_attempts > 10) {
    return absl::InvalidArgumentError("--query-attempts must be 1..10");
  }
  if (absl::GetFlag(FLAGS_max_response_bytes) < 1024) {
    return absl::InvalidArgumentError("--max-response-bytes must be at least 1024");
  }
  c.max_response_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_response_bytes));
  c.gzip = absl::GetFlag(FLAGS_query_gzip);
  return c;
}

// The history reader's and the fleet judge's flags: what to read, how to
// group it, and the durations (from the detector's windows, --lookback and
// --step). The error is a usage error.
absl::Status ReaderAndFleetFromFlags(leakwatch::judge::ReaderOptions* reader,
                                     leakwatch::judge::FleetParams* fleet) {
  auto selector = leakwatch::judge::SelectorMatchers(absl::GetFlag(FLAGS_selector));
  if (!selector.ok()) return selector.status();
  reader->selector = absl::GetFlag(FLAGS_selector);
  auto group_by = leakwatch::judge::ParseGroupBy(absl::GetFlag(FLAGS_group_by));
  if (!group_by.ok()) return group_by.status();
  reader->group_by = *group_by;
  // The fleet judge's durations follow the detector's windows: production,
  // or the config's.
  leakwatch::trend::Params detector = leakwatch::trend::ProductionPreset();
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<leakwatch::trend::Params> loaded = leakwatch::config::LoadDetectorParams(path);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--config: ", loaded.status().message()));
    }
    detector = *loaded;
  }
  auto scrape = PositiveDuration("scrape-interval", absl::GetFlag(FLAGS_scrape_interval));
  if (!scrape.ok()) return scrape.status();
  *fleet = leakwatch::judge::FleetParamsForDetector(detector, absl::ToDoubleSeconds(*scrape));
  const std::string lookback = absl::GetFlag(FLAGS_lookback);
  if (!lookback.empty()) {
    auto d = PositiveDuration("lookback", lookback);
    if (!d.ok()) return d.status();
    fleet->lookback_seconds = absl::ToDoubleSeconds(*d);
  }
  const std::string step = absl::GetFlag(FLAGS_step);
  if (!step.empty()) {
    auto d = PositiveDuration("step", step);
    if (!d.ok()) return d.status();
    fleet->step_seconds = absl::ToDoubleSeconds(*d);
  }
  if (absl::Status st = leakwatch::judge::ValidateGridStep(*fleet); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--step/--scrape-interval: ", st.message(),
        " (a floor_window must be at least the grid step: lower --step or --scrape-interval, or "
        "lengthen the config's detector.floor_window)"));
  }
  if (absl::Status st = leakwatch::judge::ValidateFleetParams(*fleet); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--lookback/--step: ", st.message()));
  }
  reader->lookback = absl::Seconds(fleet->lookback_seconds);
  reader->step = absl::Seconds(fleet->step_seconds);
  reader->max_points_per_query = absl::GetFlag(FLAGS_max_points_per_query);
  if (reader->max_points_per_query < 1000) {
    return absl::InvalidArgumentError("--max-points-per-query must be at least 1000");
  }
  return absl::OkStatus();
}

// Every flag checked; the error is a usage error.
absl::StatusOr<Settings> SettingsFromFlags() {
  Settings s;
  absl::StatusOr<leakwatch::judge::ClientOptions> client = ClientFromFlags();
  if (!client.ok()) return client.status();
  s.client = *std::move(client);
  if (absl::Status st = ReaderAndFleetFromFlags(&s.reader, &s.fleet); !st.ok()) return st;
  auto interval = PositiveDuration("interval", absl::GetFlag(FLAGS_interval));
  if (!interval.ok()) return interval.status();
  s.interval = *interval;
  s.once = absl::GetFlag(FLAGS_once);
  const std::string at = absl::GetFlag(FLAGS_at);
  if (!at.empty()) {
    if (!absl::SimpleAtod(at, &s.at) || !std::isfinite(s.at) || s.at <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--at=\"", at, "\" is not a time in Unix seconds"));
    }
    s.has_at = true;
  }
  s.listen = absl::GetFlag(FLAGS_listen);
  if (!s.once) {
    auto address = leakwatch::config::ParseListenAddress(s.listen);
    if (!address.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--listen: ", address.status().message()));
    }
  }
  s.threads = absl::GetFlag(FLAGS_threads);
  if (s.threads < 1 || s.threads > 64) return absl::InvalidArgumentError("--threads must be 1..64");
  return s;
}

double Now(const Settings& s) {
  return s.has_at ? s.at : absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
}

void LogCycle(const leakwatch::judge::CycleResult& r) {
  for (const std::string& w : r.warnings) {
    std::fprintf(stderr, "leakwatch-judge: the query API warns: %s\n", w.c_str());
  }
  if (r.status.ok()) {
    std::fprintf(stderr,
                 "leakwatch-judge: judged %lld groups (%lld series) in %.2fs "
                 "(queries %.2fs, judging %.2fs)\n",
                 static_cast<long long>(r.groups), static_cast<long long>(r.series_judged),
                 r.wall_seconds, r.query_seconds, r.judge_seconds);
  } else {
    std::fprintf(stderr, "leakwatch-judge: cycle failed, keeping the last verdicts: %s\n",
                 std::string(r.status.message()).c_str());
  }
}

// Serves /metrics on --listen and judges every --interval until SIGINT or
// SIGTERM; returns 1 when /metrics cannot be served.
int Serve(const Settings& s, leakwatch::judge::HistoryReader& reader,
          const leakwatch::judge::JudgeFunction& judge,
          const std::shared_ptr<leakwatch::judge::JudgeMetrics>& metrics) {
  // SIGINT and SIGTERM end the service at once, even in the middle of a cycle
  // that waits on a slow query API: the judge is stateless, nothing is lost.
  // They are taken by sigwait on a thread of their own, so they are blocked
  // before any other thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::thread([stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    std::fprintf(stderr, "leakwatch-judge: stopping (signal %d)\n", signal);
    std::fflush(stderr);
    std::_Exit(0);
  }).detach();

  // /metrics is served by the project's hardened server (http/http_server.h):
  // one thread on libmicrohttpd's epoll loop, connection caps, a header
  // deadline, so idle or slow clients cannot starve the judge's scrapes.
  leakwatch::http::Routes routes;
  routes.metrics_path = "/metrics";
  routes.debug_endpoint = false;
  routes.metrics = [metrics] { return prometheus::TextSerializer().Serialize(metrics->Collect()); };
  leakwatch::http::HttpServer::Options options;
  options.listen = s.listen;
  options.key_prefix = "--";
  options.name = "leakwatch-judge";
  absl::StatusOr<std::unique_ptr<leakwatch::http::HttpServer>> server =
      leakwatch::http::HttpServer::Start(options, std::move(routes));
  if (!server.ok()) {
    std::fprintf(stderr, "leakwatch-judge: cannot serve /metrics on %s: %s\n", s.listen.c_str(),
                 std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(
      stderr,
      "leakwatch-judge: serving /metrics on port %d, judging %s every %s "
      "(floor window %s, trend window %s, lookback %s, step %s)\n",
      (*server)->port(), s.client.base_url.c_str(), absl::FormatDuration(s.interval).c_str(),
      absl::FormatDuration(s.fleet.detector.floor_window).c_str(),
      absl::FormatDuration(s.fleet.detector.trend_window).c_str(),
      absl::FormatDuration(s.reader.lookback).c_str(), absl::FormatDuration(s.reader.step).c_str());

  for (;;) {
    const absl::Time start = absl::Now();
    LogCycle(RunCycle(reader, judge, Now(s), s.threads, metrics.get()));
    absl::SleepFor(s.interval - (absl::Now() - start));
  }
}

}  // namespace

int main(int argc, char** argv) {
  leakwatch::tools::ParseFlagsOrExit(argc, argv, kUsage);
  absl::StatusOr<Settings> settings = SettingsFromFlags();
  if (!settings.ok()) leakwatch::tools::ExitUsageError(kUsage, settings.status().message());
  const Settings& s = *settings;

  auto client = leakwatch::judge::PrometheusClient::Create(s.client);
  if (!client.ok()) leakwatch::tools::ExitUsageError(kUsage, client.status().message());
  leakwatch::judge::HistoryReader reader(client->get(), s.reader);
  const leakwatch::judge::FleetParams fleet = s.fleet;
  const leakwatch::judge::JudgeFunction judge = [fleet](const leakwatch::judge::GroupHistory& h,
                                                        double now) {
    return leakwatch::judge::JudgeGroup(h, now, fleet);
  };
  auto metrics = std::make_shared<leakwatch::judge::JudgeMetrics>(s.reader.group_by);

  if (s.once) {
    leakwatch::judge::CycleResult r = RunCycle(reader, judge, Now(s), s.threads, metrics.get());
    LogCycle(r);
    std::fputs(prometheus::TextSerializer().Serialize(metrics->Collect()).c_str(), stdout);
    return r.status.ok() ? 0 : 1;
  }

  return Serve(s, reader, judge, metrics);
}
