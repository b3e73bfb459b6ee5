// ValidateConfig on configs built in code: every rule, named by key.

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

// The error message of validating the default config after `change`.
std::string ErrorAfter(const std::function<void(Config&)>& change) {
  Config config;
  change(config);
  absl::Status status = ValidateConfig(config);
  if (status.ok()) return "<valid>";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(ValidateConfigTest, DefaultConfigIsValid) { EXPECT_TRUE(ValidateConfig(Config{}).ok()); }

TEST(ValidateConfigTest, BoundsOfEachRangeAreValid) {
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sampler.interval = absl::Milliseconds(100);
              c.tasks.long_lived_after = absl::Nanoseconds(1);
              c.tasks.stuck_after = absl::Hours(24 * 30);
              c.sites.max_sites = 1;
              c.sites.stack_depth = 64;
              c.sites.histogram_buckets = {1e-9};
              c.detector.floor_window = absl::Milliseconds(100);
              c.detector.trend_window = absl::Milliseconds(300);
              c.detector.min_floors = 3;
              c.detector.z_threshold = 1e-9;
              c.detector.min_growth = 0;
              c.detector.min_growth_ratio = 0;
            }),
            "<valid>");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sampler.interval = absl::Hours(1);
              c.sites.max_sites = 10000;
              c.sites.stack_depth = 1;
              c.sites.histogram_buckets.assign(30, 0);
              for (int i = 0; i < 30; ++i) c.sites.histogram_buckets[i] = i + 1;
              c.detector.floor_window = absl::Hours(1);
              c.detector.trend_window = absl::Hours(24 * 30);
              c.detector.min_floors = 720;
            }),
            "<valid>");
}

TEST(ValidateConfigTest, SamplerIntervalOutsideItsRange) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sampler.interval = absl::Milliseconds(99); }),
            "sampler.interval: must be between 100ms and 1h, got 99ms");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sampler.interval = absl::InfiniteDuration(); }),
            "sampler.interval: must be between 100ms and 1h, got inf");
}

TEST(ValidateConfigTest, TaskAgesMustBePositiveAndAtMostThirtyDays) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.tasks.long_lived_after = -absl::Seconds(1); }),
            "tasks.long_lived_after: must be more than 0s and at most 30d, got -1s");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.tasks.stuck_after = absl::ZeroDuration(); }),
            "tasks.stuck_after: must be more than 0s and at most 30d, got 0s");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.tasks.stuck_after = absl::Hours(24 * 30) + absl::Nanoseconds(1);
            }),
            "tasks.stuck_after: must be more than 0s and at most 30d, got 720h0.000000001s");
}

TEST(ValidateConfigTest, SiteLimitsOutsideTheirRanges) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.max_sites = 10001; }),
            "sites.max_sites: must be between 1 and 10000, got 10001");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.stack_depth = 0; }),
            "sites.stack_depth: must be between 1 and 64, got 0");
}

TEST(ValidateConfigTest, HistogramBucketsMustBeFewPositiveFiniteAndIncreasing) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.histogram_buckets.clear(); }),
            "sites.histogram_buckets: must list between 1 and 30 bucket bounds, got 0");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.histogram_buckets.assign(31, 1); }),
            "sites.histogram_buckets: must list between 1 and 30 bucket bounds, got 31");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sites.histogram_buckets = {1, std::numeric_limits<double>::quiet_NaN()};
            }),
            "sites.histogram_buckets[1]: must be a positive finite number of seconds, got nan");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sites.histogram_buckets = {1, std::numeric_limits<double>::infinity()};
            }),
            "sites.histogram_buckets[1]: must be a positive finite number of seconds, got inf");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.histogram_buckets = {-1}; }),
            "sites.histogram_buckets[0]: must be a positive finite number of seconds, got -1");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sites.histogram_buckets = {0.5, 0.25};
            }),
            "sites.histogram_buckets[1]: must be greater than the bound before it (0.5), got 0.25");
}

TEST(ValidateConfigTest, DropAfterIsZeroOrAtLeastOneSamplerInterval) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.drop_after = absl::ZeroDuration(); }), "<valid>");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.drop_after = absl::Seconds(5); }), "<valid>");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.drop_after = absl::Seconds(2); }),
            "sites.drop_after: must be 0s (keep every site) or at least sampler.interval (5s), "
            "got 2s");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.drop_after = absl::Seconds(-1); }),
            "sites.drop_after: must be 0s (keep every site) or more than 0s and at most 30d, got "
            "-1s");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.drop_after = absl::Hours(24 * 31); }),
            "sites.drop_after: must be 0s (keep every site) or more than 0s and at most 30d, got "
            "31d");
}

TEST(ValidateConfigTest, IdlePatternsAreCheckedLikeSkipPatterns) {
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sites.idle_sites = {"pool_wait", "*"};
            }),
            "sites.idle_sites[1]: \"*\" would make every wait idle and nothing stuck; name the "
            "service thread or its site");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.idle_threads = {"mc-[a"}; }),
            "sites.idle_threads[0]: has a '[' at offset 3 with no closing ']' (write \\[ for a "
            "literal '['), got \"mc-[a\"");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.sites.idle_threads.assign(257, "w"); }),
            "sites.idle_threads: must list at most 256 patterns, got 257");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sites.idle_sites.clear();
              c.sites.idle_threads.clear();
            }),
            "<valid>");
}

TEST(ValidateConfigTest, DetectorWindowsMustNest) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.floor_window = absl::Seconds(4); }),
            "detector.floor_window: must be at least sampler.interval (5s), got 4s");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.trend_window = absl::Minutes(29); }),
            "detector.trend_window: must be at least twice detector.floor_window (2 x 15m), got "
            "29m");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.trend_window = absl::Hours(24 * 31); }),
            "detector.trend_window: must be at most 30d, got 31d");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.sampler.interval = absl::Seconds(1);
              c.detector.floor_window = absl::Seconds(1);
              c.detector.trend_window = absl::Hours(2);
            }),
            "detector.trend_window: must be at most 4096 x detector.floor_window (1h8m16s), got "
            "2h");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.min_floors = 25; }),
            "detector.min_floors: must be at most detector.trend_window / detector.floor_window "
            "(24), got 25");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.min_floors = 2; }),
            "detector.min_floors: must be at least 3, got 2");
}

TEST(ValidateConfigTest, DetectorThresholdsMustBeFiniteAndNotNegative) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.z_threshold = -1; }),
            "detector.z_threshold: must be a finite number above 0, got -1");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.detector.z_threshold = std::numeric_limits<double>::infinity();
            }),
            "detector.z_threshold: must be a finite number above 0, got inf");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.detector.min_growth = std::numeric_limits<double>::quiet_NaN();
            }),
            "detector.min_growth: must be a finite number of at least 0, got nan");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.detector.min_growth_ratio = -0.01; }),
            "detector.min_growth_ratio: must be a finite number of at least 0, got -0.01");
}

TEST(ValidateConfigTest, ListenAddressesMustBeHostColonPort) {
  const char* tail = " (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)";
  const struct {
    const char* listen;
    std::string why;
  } cases[] = {
      {"", "the port is missing"},
      {"localhost", "the port is missing"},
      {"localhost:", "the port is missing"},
      {":9464", "the host is missing (0.0.0.0 listens on all interfaces)"},
      {"[::1]9464", "the port is missing"},
      {"[::1:9464", "the IPv6 address has no closing ']'"},
      {"[1.2.3.4]:80", "\"1.2.3.4\" is not an IPv6 address"},
      {"fe80::1:80", "IPv6 addresses go in brackets"},
      {"1.2.3:80", "\"1.2.3\" is not an IPv4 address"},
      {"01.2.3.4:80", "\"01.2.3.4\" is not an IPv4 address"},
      {"bad_host:80", "\"bad_host\" is not a host name"},
      {"-bad.example:80", "\"-bad.example\" is not a host name"},
      {"a..b:80", "\"a..b\" is not a host name"},
      {"localhost:http", "port \"http\" is not in 0..65535"},
      {"localhost:-1", "port \"-1\" is not in 0..65535"},
      {"localhost:65536", "port \"65536\" is not in 0..65535"},
      {"localhost:000080", "port \"000080\" is not in 0..65535"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.listen);
    EXPECT_EQ(
        ErrorAfter([&](Config& config) { config.exporter.listen = c.listen; }),
        "exporter.listen: \"" + std::string(c.listen) + "\" is not host:port: " + c.why + tail);
  }
  EXPECT_EQ(ErrorAfter([](Config& c) { c.introspection.listen = "localhost"; }),
            std::string("introspection.listen: \"localhost\" is not host:port: the port is "
                        "missing") +
                tail);
}

TEST(ValidateConfigTest, HostNameWithANulByteIsRejected) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.listen = std::string("[::1\0x]:80", 10); }),
            "exporter.listen: \"[::1\\x00x]:80\" is not host:port: \"::1\\x00x\" is not an IPv6 "
            "address (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)");
}

TEST(ValidateConfigTest, MetricsPathMustBeAnAbsolutePlainPath) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.path = ""; }),
            "exporter.path: must start with '/', got \"\"");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.path = "/metrics?x=1"; }),
            "exporter.path: must not contain spaces, control characters, '?' or '#', got "
            "\"/metrics?x=1\"");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.path = "/my metrics"; }),
            "exporter.path: must not contain spaces, control characters, '?' or '#', got "
            "\"/my metrics\"");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.path = "/debug/tasks"; }),
            "exporter.path: must not be /debug/tasks, which serves the task dump");
}

TEST(ValidateConfigTest, BasicAuthNeedsBothUserAndPasswordFile) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.basic_auth.username = "alice"; }),
            "exporter.basic_auth.password_file: must be set when exporter.basic_auth.username "
            "is set");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.basic_auth.password_file = "/etc/pw"; }),
            "exporter.basic_auth.username: must be set when exporter.basic_auth.password_file "
            "is set");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.exporter.basic_auth.username = "al:ice";
              c.exporter.basic_auth.password_file = "/etc/pw";
            }),
            "exporter.basic_auth.username: must not contain ':' (HTTP basic auth forbids it), got "
            "\"al:ice\"");
}

TEST(ValidateConfigTest, TlsNeedsBothCertificateAndKey) {
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.tls.cert_file = "c.pem"; }),
            "exporter.tls.key_file: must be set when exporter.tls.cert_file is set");
  EXPECT_EQ(ErrorAfter([](Config& c) { c.exporter.tls.key_file = "k.pem"; }),
            "exporter.tls.cert_file: must be set when exporter.tls.key_file is set");
}

TEST(ValidateConfigTest, IntrospectionMustNotTakeTheExporterAddress) {
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.introspection.enabled = true;
              c.introspection.listen = c.exporter.listen;
            }),
            "introspection.listen: is the same address as exporter.listen (\"127.0.0.1:9464\")");
  // Port 0 picks a fresh port for each, so both may ask for it.
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.introspection.enabled = true;
              c.exporter.listen = "127.0.0.1:0";
              c.introspection.listen = "127.0.0.1:0";
            }),
            "<valid>");
  EXPECT_EQ(ErrorAfter([](Config& c) {
              c.introspection.enabled = true;
              c.exporter.enabled = false;
              c.introspection.listen = c.exporter.listen;
            }),
            "<valid>");
}

}  // namespace
}  // namespace leakwatch
