// ParseConfig on bad documents: one test per error class, each pinning the
// key path and the line:column of the message.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error message of parsing `yaml`, which must fail with InvalidArgument.
std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<Config> config = ParseConfig(yaml);
  if (config.ok()) return "<parsed without error>";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

TEST(ConfigErrorsTest, UnknownKeySuggestsTheClosestKey) {
  EXPECT_EQ(ErrorOf("exporter:\n  listn: 127.0.0.1:1\n"),
            "exporter.listn: line 2, column 3: unknown key, did you mean \"listen\"?");
  EXPECT_EQ(ErrorOf("sites:\n  max-sites: 5\n"),
            "sites.max-sites: line 2, column 3: unknown key, did you mean \"max_sites\"?");
  EXPECT_EQ(ErrorOf("detector:\n  trend_windwo: 1h\n"),
            "detector.trend_windwo: line 2, column 3: unknown key, did you mean \"trend_window\"?");
}

TEST(ConfigErrorsTest, UnknownSectionSuggestsTheClosestSection) {
  EXPECT_EQ(ErrorOf("# header\nsamplr:\n  interval: 1s\n"),
            "samplr: line 2, column 1: unknown key, did you mean \"sampler\"?");
}

TEST(ConfigErrorsTest, KeyInTheWrongSectionNamesWhereItBelongs) {
  EXPECT_EQ(ErrorOf("tasks:\n  interval: 1s\n"),
            "tasks.interval: line 2, column 3: unknown key, did you mean \"sampler.interval\"?");
}

TEST(ConfigErrorsTest, KeyOfSeveralOtherSectionsIsNotGuessed) {
  EXPECT_EQ(ErrorOf("sampler:\n  enabled: true\n"),
            "sampler.enabled: line 2, column 3: unknown key; the keys here are interval");
}

TEST(ConfigErrorsTest, LongOrBinaryKeyIsShownEscapedAndCut) {
  EXPECT_EQ(ErrorOf("tasks:\n  \"a\\tb\": 1\n"),
            "tasks.a\\tb: line 2, column 3: unknown key; the keys here are long_lived_after, "
            "stuck_after");
  EXPECT_EQ(ErrorOf("tasks:\n  " + std::string(100, 'k') + ": 1\n"),
            "tasks." + std::string(64, 'k') +
                "...: line 2, column 3: unknown key; the keys here are long_lived_after, "
                "stuck_after");
}

TEST(ConfigErrorsTest, UnknownKeyWithNothingCloseListsTheKeysOfItsSection) {
  EXPECT_EQ(ErrorOf("tls: {}\n"),
            "tls: line 1, column 1: unknown key; the keys here are exporter, sampler, tasks, "
            "sites, intercept, detector, introspection");
  EXPECT_EQ(ErrorOf("exporter:\n  tls:\n    certificate: x\n"),
            "exporter.tls.certificate: line 3, column 5: unknown key; the keys here are "
            "cert_file, key_file");
}

TEST(ConfigErrorsTest, MapWhereABooleanIsExpected) {
  EXPECT_EQ(ErrorOf("exporter:\n  enabled: {on: 1}\n"),
            "exporter.enabled: line 2, column 12: expected true or false, got a map");
}

TEST(ConfigErrorsTest, YesPleaseIsNotABoolean) {
  EXPECT_EQ(ErrorOf("intercept:\n  mutex: yes please\n"),
            "intercept.mutex: line 2, column 10: expected true or false, got \"yes please\"");
  // YAML 1.1 spellings are not booleans in YAML 1.2.
  EXPECT_EQ(ErrorOf("intercept:\n  mutex: yes\n"),
            "intercept.mutex: line 2, column 10: expected true or false, got \"yes\"");
}

TEST(ConfigErrorsTest, QuotedTrueIsAStringNotABoolean) {
  EXPECT_EQ(ErrorOf("detector:\n  enabled: \"true\"\n"),
            "detector.enabled: line 2, column 12: expected true or false, got the quoted string "
            "\"true\"");
}

TEST(ConfigErrorsTest, StringWhereAnIntegerIsExpected) {
  EXPECT_EQ(ErrorOf("sites:\n  max_sites: many\n"),
            "sites.max_sites: line 2, column 14: expected an integer, got \"many\"");
  EXPECT_EQ(ErrorOf("sites:\n  stack_depth: 1.5\n"),
            "sites.stack_depth: line 2, column 16: expected an integer, got \"1.5\"");
  EXPECT_EQ(ErrorOf("sites:\n  stack_depth: '8'\n"),
            "sites.stack_depth: line 2, column 16: expected an integer, got the quoted string "
            "\"8\"");
}

TEST(ConfigErrorsTest, IntegerBeyondIntIsOutOfRange) {
  EXPECT_EQ(ErrorOf("sites:\n  max_sites: 99999999999\n"),
            "sites.max_sites: line 2, column 14: \"99999999999\" is out of range");
  EXPECT_EQ(ErrorOf("sites:\n  max_sites: 99999999999999999999999\n"),
            "sites.max_sites: line 2, column 14: \"99999999999999999999999\" is out of range");
}

TEST(ConfigErrorsTest, WordWhereANumberIsExpected) {
  EXPECT_EQ(ErrorOf("detector:\n  z_threshold: high\n"),
            "detector.z_threshold: line 2, column 16: expected a number, got \"high\"");
}

TEST(ConfigErrorsTest, InfinityIsNotAThreshold) {
  EXPECT_EQ(ErrorOf("detector:\n  z_threshold: .inf\n"),
            "detector.z_threshold: line 2, column 16: must be a finite number, got \".inf\"");
  EXPECT_EQ(ErrorOf("detector:\n  min_growth: 1e999\n"),
            "detector.min_growth: line 2, column 15: must be a finite number, got \"1e999\"");
}

TEST(ConfigErrorsTest, ListWhereAStringIsExpected) {
  EXPECT_EQ(ErrorOf("exporter:\n  path: [/a, /b]\n"),
            "exporter.path: line 2, column 9: expected a string, got a list");
}

TEST(ConfigErrorsTest, UnquotedIpv6ListenAddressGetsAHint) {
  EXPECT_EQ(ErrorOf("exporter:\n  listen: [::1]\n"),
            "exporter.listen: line 2, column 11: expected a string, got a list (quote IPv6 "
            "addresses: '[::1]:9464')");
}

TEST(ConfigErrorsTest, ScalarWhereASectionIsExpected) {
  EXPECT_EQ(ErrorOf("sampler: 5s\n"),
            "sampler: line 1, column 10: expected a map with the keys interval, got \"5s\"");
  EXPECT_EQ(ErrorOf("exporter:\n  tls: on\n"),
            "exporter.tls: line 2, column 8: expected a map with the keys cert_file, key_file, "
            "got \"on\"");
}

TEST(ConfigErrorsTest, NumberWhereAListIsExpected) {
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets: 0.5\n"),
            "sites.histogram_buckets: line 2, column 22: expected a list of numbers, got \"0.5\"");
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets: [0.5, x]\n"),
            "sites.histogram_buckets[1]: line 2, column 28: expected a number, got \"x\"");
}

TEST(ConfigErrorsTest, KeyWithoutAValueIsAnError) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval:\n"),
            "sampler.interval: line 2, column 3: has no value (leave the key out to keep its "
            "default)");
  EXPECT_EQ(ErrorOf("exporter:\n  listen: ~\n"),
            "exporter.listen: line 2, column 3: has no value (leave the key out to keep its "
            "default)");
}

TEST(ConfigErrorsTest, BadDurationNamesKeyAndPosition) {
  // The example of config.h, verbatim.
  EXPECT_EQ(ErrorOf("# leakwatch\nsampler:\n  interval: 5x\n"),
            "sampler.interval: line 3, column 13: \"5x\" is not a duration (use 500ms, 15s, 2m, "
            "1h)");
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: 1h 30m\n"),
            "tasks.stuck_after: line 2, column 16: \"1h 30m\" is not a duration (use 500ms, 15s, "
            "2m, 1h)");
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: 1.5.2s\n"),
            "tasks.stuck_after: line 2, column 16: \"1.5.2s\" is not a duration (use 500ms, 15s, "
            "2m, 1h)");
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: {a: 1}\n"),
            "tasks.stuck_after: line 2, column 16: expected a duration (500ms, 15s, 2m, 1h), got "
            "a map");
}

TEST(ConfigErrorsTest, DurationWithoutUnitIsRejected) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 15\n"),
            "sampler.interval: line 2, column 13: \"15\" has no unit (use 15s, 15ms, 15m, ...)");
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 0\n"),
            "sampler.interval: line 2, column 13: \"0\" has no unit (use 0s, 0ms, 0m, ...)");
}

TEST(ConfigErrorsTest, NegativeDurationIsRejected) {
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: -5s\n"),
            "tasks.stuck_after: line 2, column 16: \"-5s\" is negative; durations must not be");
}

TEST(ConfigErrorsTest, EmptyDurationIsRejected) {
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: \"\"\n"),
            "tasks.stuck_after: line 2, column 16: the duration is empty (use 500ms, 15s, 2m, "
            "1h)");
}

TEST(ConfigErrorsTest, DurationThatOverflowsIsRejected) {
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: 9999999999999999d\n"),
            "tasks.stuck_after: line 2, column 16: \"9999999999999999d\" is too large a duration");
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: 1000000000000000000000s\n"),
            "tasks.stuck_after: line 2, column 16: \"1000000000000000000000s\" is too large a "
            "duration");
}

TEST(ConfigErrorsTest, OutOfRangeValuesNameTheRange) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 50ms\n"),
            "sampler.interval: line 2, column 13: must be between 100ms and 1h, got 50ms");
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 2h\n"),
            "sampler.interval: line 2, column 13: must be between 100ms and 1h, got 2h");
  EXPECT_EQ(ErrorOf("tasks:\n  long_lived_after: 0s\n"),
            "tasks.long_lived_after: line 2, column 21: must be more than 0s and at most 30d, got "
            "0s");
  EXPECT_EQ(ErrorOf("tasks:\n  stuck_after: 31d\n"),
            "tasks.stuck_after: line 2, column 16: must be more than 0s and at most 30d, got 31d");
  EXPECT_EQ(ErrorOf("sites:\n  max_sites: 0\n"),
            "sites.max_sites: line 2, column 14: must be between 1 and 10000, got 0");
  EXPECT_EQ(ErrorOf("sites:\n  stack_depth: 65\n"),
            "sites.stack_depth: line 2, column 16: must be between 1 and 64, got 65");
  EXPECT_EQ(ErrorOf("detector:\n  min_floors: 2\n"),
            "detector.min_floors: line 2, column 15: must be at least 3, got 2");
  EXPECT_EQ(ErrorOf("detector:\n  z_threshold: 0\n"),
            "detector.z_threshold: line 2, column 16: must be a finite number above 0, got 0");
  EXPECT_EQ(ErrorOf("detector:\n  min_growth: -1\n"),
            "detector.min_growth: line 2, column 15: must be a finite number of at least 0, got "
            "-1");
  EXPECT_EQ(ErrorOf("detector:\n  min_growth_ratio: -0.5\n"),
            "detector.min_growth_ratio: line 2, column 21: must be a finite number of at least 0, "
            "got -0.5");
  EXPECT_EQ(ErrorOf("detector:\n  trend_window: 31d\n"),
            "detector.trend_window: line 2, column 17: must be at most 30d, got 31d");
}

TEST(ConfigErrorsTest, HistogramBucketsMustBePositiveAndIncreasing) {
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets: [1, 2, 2]\n"),
            "sites.histogram_buckets[2]: line 2, column 29: must be greater than the bound before "
            "it (2), got 2");
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets:\n    - 0\n"),
            "sites.histogram_buckets[0]: line 3, column 7: must be a positive finite number of "
            "seconds, got 0");
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets: []\n"),
            "sites.histogram_buckets: line 2, column 22: must list between 1 and 30 bucket "
            "bounds, got 0");
  std::string many = "sites:\n  histogram_buckets: [1";
  for (int i = 2; i <= 31; ++i) many += ", " + std::to_string(i);
  EXPECT_EQ(ErrorOf(many + "]\n"),
            "sites.histogram_buckets: line 2, column 22: must list between 1 and 30 bucket "
            "bounds, got 31");
}

TEST(ConfigErrorsTest, BadSkipPatternNamesTheKeyAndTheElement) {
  EXPECT_EQ(ErrorOf("sites:\n  skip_functions: my_lock\n"),
            "sites.skip_functions: line 2, column 19: expected a list of glob patterns, got "
            "\"my_lock\" (write [] for none)");
  EXPECT_EQ(ErrorOf("sites:\n  skip_modules: [libx.so, [a]]\n"),
            "sites.skip_modules[1]: line 2, column 27: expected a glob pattern, got a list");
  EXPECT_EQ(ErrorOf("sites:\n  skip_functions:\n    - ok_*\n    - 'Queue<int>::operator[](int)'\n"),
            "sites.skip_functions[1]: line 4, column 7: has a '[' at offset 20 with no closing "
            "']' (write \\[ for a literal '['), got \"Queue<int>::operator[](int)\"");
  EXPECT_EQ(ErrorOf("sites:\n  skip_functions: ['**']\n"),
            "sites.skip_functions[0]: line 2, column 20: \"**\" would skip every frame; name the "
            "wrapper");
  EXPECT_EQ(ErrorOf("sites:\n  skip_modules: ['']\n"),
            "sites.skip_modules[0]: line 2, column 18: must not be empty");
  EXPECT_EQ(ErrorOf("sites:\n  skip_modules: ['lib\\']\n"),
            "sites.skip_modules[0]: line 2, column 18: ends with a lone '\\', got \"lib\\\\\"");
}

TEST(ConfigErrorsTest, BadDebugDirNamesTheKeyAndTheElement) {
  EXPECT_EQ(ErrorOf("sites:\n  debug_dirs: /usr/lib/debug\n"),
            "sites.debug_dirs: line 2, column 15: expected a list of directories, got "
            "\"/usr/lib/debug\" (write [] for none)");
  EXPECT_EQ(ErrorOf("sites:\n  debug_dirs: [/opt/debug, debug]\n"),
            "sites.debug_dirs[1]: line 2, column 28: must be an absolute directory path without "
            "':', got \"debug\"");
  EXPECT_EQ(ErrorOf("sites:\n  debug_dirs: ['/a:/b']\n"),
            "sites.debug_dirs[0]: line 2, column 16: must be an absolute directory path without "
            "':', got \"/a:/b\"");
}

TEST(ConfigErrorsTest, BadIdleKeysNameTheKeyTheElementAndTheValue) {
  EXPECT_EQ(ErrorOf("sites:\n  idle_threads: mc-log\n"),
            "sites.idle_threads: line 2, column 17: expected a list of glob patterns, got "
            "\"mc-log\" (write [] for none)");
  EXPECT_EQ(ErrorOf("sites:\n  idle_sites: [handle_manager, '**']\n"),
            "sites.idle_sites[1]: line 2, column 32: \"**\" would make every wait idle and "
            "nothing stuck; name the service thread or its site");
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 10s\nsites:\n  drop_after: 5s\n"),
            "sites.drop_after: line 4, column 15: must be 0s (keep every site) or at least "
            "sampler.interval (10s), got 5s");
  EXPECT_EQ(ErrorOf("sites:\n  drop_after: 50ms\n"),
            "sites.drop_after: line 2, column 15: must be 0s (keep every site) or at least "
            "sampler.interval (5s), got 50ms");
  EXPECT_EQ(ErrorOf("sites:\n  drop_after: 1 hour\n"),
            "sites.drop_after: line 2, column 15: \"1 hour\" is not a duration (use 500ms, 15s, "
            "2m, 1h)");
}

TEST(ConfigErrorsTest, EscapedBracketAndEmptyListAreValidSkipPatterns) {
  absl::StatusOr<Config> config = ParseConfig(
      "sites:\n  skip_modules: []\n  skip_functions: ['Queue<int>::operator\\[\\](int)']\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->sites.skip_modules.empty());
  EXPECT_EQ(config->sites.skip_functions,
            std::vector<std::string>{"Queue<int>::operator\\[\\](int)"});
}

TEST(ConfigErrorsTest, BadListenAddressSaysWhatIsWrong) {
  EXPECT_EQ(ErrorOf("exporter:\n  listen: 127.0.0.1:70000\n"),
            "exporter.listen: line 2, column 11: \"127.0.0.1:70000\" is not host:port: port "
            "\"70000\" is not in 0..65535 (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)");
  EXPECT_EQ(ErrorOf("exporter:\n  listen: 9464\n"),
            "exporter.listen: line 2, column 11: \"9464\" is not host:port: the port is missing "
            "(e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)");
  EXPECT_EQ(ErrorOf("introspection:\n  listen: \"::1:9465\"\n"),
            "introspection.listen: line 2, column 11: \"::1:9465\" is not host:port: IPv6 "
            "addresses go in brackets (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)");
  EXPECT_EQ(ErrorOf("exporter:\n  listen: 300.1.1.1:80\n"),
            "exporter.listen: line 2, column 11: \"300.1.1.1:80\" is not host:port: \"300.1.1.1\" "
            "is not an IPv4 address (e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464)");
}

TEST(ConfigErrorsTest, BadMetricsPathSaysWhatIsWrong) {
  EXPECT_EQ(ErrorOf("exporter:\n  path: metrics\n"),
            "exporter.path: line 2, column 9: must start with '/', got \"metrics\"");
  EXPECT_EQ(ErrorOf("exporter:\n  path: /debug/tasks\n"),
            "exporter.path: line 2, column 9: must not be /debug/tasks, which serves the task "
            "dump");
}

TEST(ConfigErrorsTest, CrossFieldErrorNamesTheOtherKeyAndWhereItIsSet) {
  // floor_window is written, trend_window keeps its default (6h).
  EXPECT_EQ(ErrorOf("detector:\n  floor_window: 4h\n"),
            "detector.trend_window: must be at least twice detector.floor_window (2 x 4h), got 6h "
            "(detector.floor_window is set at line 2, column 17)");
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 1h\ndetector:\n  floor_window: 30m\n"),
            "detector.floor_window: line 4, column 17: must be at least sampler.interval (1h), got "
            "30m");
  EXPECT_EQ(ErrorOf("detector:\n  floor_window: 1h\n  min_floors: 7\n"),
            "detector.min_floors: line 3, column 15: must be at most detector.trend_window / "
            "detector.floor_window (6), got 7");
  EXPECT_EQ(ErrorOf("exporter:\n  basic_auth:\n    username: alice\n"),
            "exporter.basic_auth.password_file: must be set when exporter.basic_auth.username is "
            "set (exporter.basic_auth.username is set at line 3, column 15)");
  EXPECT_EQ(ErrorOf("exporter:\n  tls:\n    key_file: k.pem\n"),
            "exporter.tls.cert_file: must be set when exporter.tls.key_file is set "
            "(exporter.tls.key_file is set at line 3, column 15)");
  EXPECT_EQ(ErrorOf("introspection:\n  enabled: true\n  listen: 127.0.0.1:9464\n"),
            "introspection.listen: line 3, column 11: is the same address as exporter.listen "
            "(\"127.0.0.1:9464\")");
}

TEST(ConfigErrorsTest, DuplicateKeyPointsAtBothPlaces) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 1s\n  interval: 2s\n"),
            "sampler.interval: line 3, column 3: duplicate key (first written at line 2, column "
            "3)");
  EXPECT_EQ(ErrorOf("tasks: {}\nsampler: {}\ntasks: {}\n"),
            "tasks: line 3, column 1: duplicate key (first written at line 1, column 1)");
}

TEST(ConfigErrorsTest, YamlSyntaxErrorHasAPosition) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval: [1s\n"),
            "line 3, column 1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 1s\n bad: indent\n"),
            "line 3, column 2: invalid YAML: end of map not found");
  EXPECT_EQ(ErrorOf("exporter:\n  listen: a: b\n"),
            "line 2, column 12: invalid YAML: illegal map value");
  EXPECT_EQ(ErrorOf("tasks: *undefined\n"),
            "line 1, column 8: invalid YAML: the referenced anchor is not defined");
}

// yaml-cpp 0.7's LoadAll() loops forever allocating on these (jbeder/yaml-cpp#1040).
TEST(ConfigErrorsTest, TokenTheParserCannotPlaceIsASyntaxError) {
  EXPECT_EQ(ErrorOf(","), "line 1, column 1: invalid YAML: unexpected \",\"");
  EXPECT_EQ(ErrorOf("---\n,\n"), "line 2, column 1: invalid YAML: unexpected \",\"");
  EXPECT_EQ(ErrorOf("sampler: {}\n...\n  ,\n"), "line 3, column 3: invalid YAML: unexpected \",\"");
  EXPECT_EQ(ErrorOf("&anchor ,"), "line 1, column 9: invalid YAML: unexpected \",\"");
}

TEST(ConfigErrorsTest, DocumentThatIsNotAMapIsRejected) {
  const std::string expected_tail =
      "the config must be a map with the sections exporter, sampler, tasks, sites, intercept, "
      "detector, introspection, got ";
  EXPECT_EQ(ErrorOf("- sampler\n- tasks\n"), "line 1, column 1: " + expected_tail + "a list");
  EXPECT_EQ(ErrorOf("\n\nhello\n"), "line 3, column 1: " + expected_tail + "\"hello\"");
}

TEST(ConfigErrorsTest, SecondDocumentIsRejected) {
  EXPECT_EQ(ErrorOf("sampler:\n  interval: 1s\n---\nsampler:\n  interval: 2s\n"),
            "line 4, column 1: a second YAML document; the config must be one document");
  EXPECT_EQ(ErrorOf("---\n---\n--- x\n"),
            "line 3, column 5: a second YAML document; the config must be one document");
}

TEST(ConfigErrorsTest, TrailingEmptyDocumentsAreAllowed) {
  absl::StatusOr<Config> config = ParseConfig("sampler:\n  interval: 2s\n---\n...\n---\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sampler.interval, absl::Seconds(2));
}

TEST(ConfigErrorsTest, KeyThatIsNotANameIsRejected) {
  EXPECT_EQ(ErrorOf("sampler:\n  ? [interval]\n  : 1s\n"),
            "sampler: line 2, column 5: keys must be names, got a list as a key");
}

TEST(ConfigErrorsTest, OversizedDocumentIsRejectedUnread) {
  const std::string yaml = "# " + std::string(2 << 20, 'x') + "\n";
  EXPECT_EQ(ErrorOf(yaml), "the config is 2097155 bytes; at most 1048576 are allowed");
}

TEST(ConfigErrorsTest, DeeplyNestedDocumentIsRejectedWithoutCrashing) {
  for (const std::string& open : {std::string("["), std::string("{a: "), std::string("- ")}) {
    std::string yaml = "sites:\n  histogram_buckets: ";
    for (int i = 0; i < 100000; ++i) yaml += open;
    EXPECT_THAT(ErrorOf(yaml), StartsWith("line ")) << open;
  }
}

TEST(ConfigErrorsTest, AliasBombIsRejectedWithoutExpanding) {
  // Ten levels of ten aliases each: 10^10 leaves if expanded.
  std::string yaml = "sites:\n  histogram_buckets:\n";
  std::string anchors;
  for (int level = 1; level <= 10; ++level) {
    anchors += "    - &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) anchors += (i ? ", *l" : "*l") + std::to_string(level - 1);
    anchors += "]\n";
  }
  EXPECT_THAT(ErrorOf("x: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + yaml + anchors),
              HasSubstr("unknown key"));
  EXPECT_EQ(ErrorOf("sites:\n  histogram_buckets:\n    - &l0 [1, 1, 1]\n" + anchors),
            "sites.histogram_buckets[0]: line 3, column 7: expected a number, got a list");
  // A self-referencing section does not send the reader round in circles.
  EXPECT_EQ(ErrorOf("exporter: &e\n  tls: *e\n"),
            "exporter.tls.tls: line 2, column 3: unknown key; the keys here are cert_file, "
            "key_file");
}

}  // namespace
}  // namespace leakwatch
