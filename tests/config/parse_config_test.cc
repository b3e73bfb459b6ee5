// ParseConfig on valid documents: defaults, every key, YAML spellings.

#include <string>

#include "absl/time/time.h"
#include "config_equality.h"
#include "every_key.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

TEST(ParseConfigTest, EmptyDocumentsYieldTheDefaults) {
  for (const char* yaml : {"", "\n", "# only a comment\n", "---\n", "---\n...\n", "~\n"}) {
    SCOPED_TRACE(yaml);
    absl::StatusOr<Config> config = ParseConfig(yaml);
    ASSERT_TRUE(config.ok()) << config.status();
    ExpectSameConfig(*config, Config{});
  }
}

TEST(ParseConfigTest, EmptySectionKeepsItsDefaults) {
  absl::StatusOr<Config> config = ParseConfig("exporter:\nsampler: {}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectSameConfig(*config, Config{});
}

TEST(ParseConfigTest, EveryKeyIsReadIntoItsField) {
  for (const KeyCase& key : EveryKey()) {
    SCOPED_TRACE(key.path);
    ASSERT_FALSE(key.holds(Config{})) << "the case must set a non-default value";
    absl::StatusOr<Config> config = ParseConfig(key.yaml);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_TRUE(key.holds(*config));
  }
}

TEST(ParseConfigTest, KeysLeftOutKeepTheirDefaults) {
  absl::StatusOr<Config> config = ParseConfig("sampler:\n  interval: 1s\n");
  ASSERT_TRUE(config.ok()) << config.status();
  Config expected;
  expected.sampler.interval = absl::Seconds(1);
  ExpectSameConfig(*config, expected);
}

TEST(ParseConfigTest, DurationsAcceptGoAndPrometheusUnits) {
  const struct {
    const char* text;
    absl::Duration want;
  } cases[] = {
      {"500ms", absl::Milliseconds(500)},
      {"15s", absl::Seconds(15)},
      {"2m", absl::Minutes(2)},
      {"1h", absl::Hours(1)},
      {"1h30m", absl::Minutes(90)},
      {"1.5s", absl::Milliseconds(1500)},
      {".5s", absl::Milliseconds(500)},
      {"2.s", absl::Seconds(2)},
      {"2d", absl::Hours(48)},
      {"1h0m0s", absl::Hours(1)},
      {"30m1h", absl::Minutes(90)},
      {"1500us", absl::Microseconds(1500)},
      {"7\xC2\xB5s", absl::Microseconds(7)},  // µs
      {"250ns", absl::Nanoseconds(250)},
      {"1.000000001s", absl::Seconds(1) + absl::Nanoseconds(1)},
      {"0.1234567891234567891s", absl::Nanoseconds(123456789)},
      {"\"45s\"", absl::Seconds(45)},
      {"'30d'", absl::Hours(24 * 30)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<Config> config = ParseConfig(std::string("tasks:\n  stuck_after: ") + c.text);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->tasks.stuck_after, c.want);
  }
}

TEST(ParseConfigTest, BooleansAreTrueOrFalseInYamlCoreSpellings) {
  const struct {
    const char* text;
    bool want;
  } cases[] = {{"true", true},   {"True", true},   {"TRUE", true},         {"false", false},
               {"False", false}, {"FALSE", false}, {"!!bool false", false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<Config> config = ParseConfig(std::string("intercept:\n  futex: ") + c.text);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->intercept.futex, c.want);
  }
}

TEST(ParseConfigTest, NumbersAcceptYamlCoreSpellings) {
  absl::StatusOr<Config> config = ParseConfig(
      "sites:\n  max_sites: +42\n  stack_depth: !!int 8\n"
      "detector:\n  z_threshold: 3\n  min_growth: .5\n  min_growth_ratio: 1E-1\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sites.max_sites, 42);
  EXPECT_EQ(config->sites.stack_depth, 8);
  EXPECT_EQ(config->detector.z_threshold, 3.0);
  EXPECT_EQ(config->detector.min_growth, 0.5);
  EXPECT_EQ(config->detector.min_growth_ratio, 0.1);
}

TEST(ParseConfigTest, HistogramBucketsAcceptBlockLists) {
  absl::StatusOr<Config> config =
      ParseConfig("sites:\n  histogram_buckets:\n    - 0.001\n    - 0.25\n    - 60\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sites.histogram_buckets, (std::vector<double>{0.001, 0.25, 60}));
}

TEST(ParseConfigTest, FlowStyleDocumentIsAccepted) {
  absl::StatusOr<Config> config =
      ParseConfig("{sampler: {interval: 2s}, exporter: {listen: \"localhost:8080\"}}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sampler.interval, absl::Seconds(2));
  EXPECT_EQ(config->exporter.listen, "localhost:8080");
}

TEST(ParseConfigTest, AnchorsAndAliasesAreResolved) {
  absl::StatusOr<Config> config =
      ParseConfig("tasks:\n  long_lived_after: &age 3m\n  stuck_after: *age\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tasks.long_lived_after, absl::Minutes(3));
  EXPECT_EQ(config->tasks.stuck_after, absl::Minutes(3));
}

TEST(ParseConfigTest, ListenAcceptsIpv4BracketedIpv6AndHostNames) {
  for (const char* listen : {"0.0.0.0:0", "127.0.0.1:65535", "'[::1]:9464'", "'[fe80::1:2]:80'",
                             "localhost:9464", "metrics-1.example.com:443"}) {
    SCOPED_TRACE(listen);
    absl::StatusOr<Config> config = ParseConfig(std::string("exporter:\n  listen: ") + listen);
    EXPECT_TRUE(config.ok()) << config.status();
  }
}

TEST(ParseConfigTest, StringsMayBeQuotedOrPlain) {
  absl::StatusOr<Config> config = ParseConfig(
      "exporter:\n  path: \"/m\"\n  tls:\n    cert_file: 'a b.pem'\n"
      "    key_file: 1234\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->exporter.path, "/m");
  EXPECT_EQ(config->exporter.tls.cert_file, "a b.pem");
  EXPECT_EQ(config->exporter.tls.key_file, "1234");
}

TEST(ParseConfigTest, IntrospectionMayShareTheExporterAddressWhenDisabled) {
  absl::StatusOr<Config> config = ParseConfig(
      "exporter:\n  listen: 127.0.0.1:9000\nintrospection:\n  listen: 127.0.0.1:9000\n");
  EXPECT_TRUE(config.ok()) << config.status();
}

}  // namespace
}  // namespace leakwatch
