// Deterministic fuzzing of ParseConfig: thousands of mutated and generated
// documents. Whatever the input, ParseConfig returns (never throws, crashes
// or hangs), errors are InvalidArgument with a message, and every config it
// accepts passes ValidateConfig. The ASan build runs this too.

#include <sys/resource.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

// Sanitizer builds cannot cap the address space (see ConfigFuzzTest); their
// runtime aborts the test instead when its resident memory passes 4 GiB.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "hard_rss_limit_mb=4096"; }
#endif
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_options() { return "hard_rss_limit_mb=4096"; }
#endif

namespace leakwatch {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Outside sanitizer builds (which reserve terabytes of address space), cap
// the address space so that a parser that allocates without end fails this
// test with bad_alloc instead of exhausting the machine.
class ConfigFuzzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    rlimit limit{};
    ASSERT_EQ(getrlimit(RLIMIT_AS, &limit), 0);
    constexpr rlim_t kCap = rlim_t{4} << 30;
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > kCap) {
      limit.rlim_cur = kCap;
      ASSERT_EQ(setrlimit(RLIMIT_AS, &limit), 0);
    }
#endif
  }
};

// Checks the contract on one input; returns whether it parsed.
bool CheckParse(const std::string& yaml) {
  absl::StatusOr<Config> config;
  EXPECT_NO_THROW(config = ParseConfig(yaml)) << yaml;
  if (config.ok()) {
    EXPECT_TRUE(ValidateConfig(*config).ok()) << ValidateConfig(*config) << "\n" << yaml;
    return true;
  }
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status() << "\n"
                                                                        << yaml;
  EXPECT_FALSE(config.status().message().empty()) << yaml;
  return false;
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : random_(seed) {}

  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_);
  }

  // Characters that mean something to YAML, plus some that should not appear.
  char InterestingChar() {
    static constexpr char kChars[] =
        "{}[]:,-?&*!|>'\"%@`# \t\n\r.0123456789eE+~\\abcxyz_/\x00\x01\x7f\xc2\xb5\xef\xbb\xbf";
    return kChars[Below(sizeof(kChars) - 1)];  // NUL included, the terminator not
  }

  std::string Mutate(std::string text, const std::vector<std::string>& corpus) {
    const size_t rounds = 1 + Below(8);
    for (size_t i = 0; i < rounds; ++i) {
      const size_t at = Below(text.size() + 1);
      switch (Below(7)) {
        case 0:  // replace a byte
          if (!text.empty()) text[Below(text.size())] = InterestingChar();
          break;
        case 1:  // insert a few bytes
          text.insert(at, Below(4) + 1, InterestingChar());
          break;
        case 2:  // delete a range
          text.erase(at, Below(16));
          break;
        case 3:  // duplicate a range
          text.insert(at, text.substr(Below(text.size() + 1), Below(64)));
          break;
        case 4: {  // splice in a piece of another document
          const std::string& other = corpus[Below(corpus.size())];
          text.insert(at, other.substr(Below(other.size() + 1), Below(128)));
          break;
        }
        case 5:  // flip a random bit
          if (!text.empty()) {
            char& c = text[Below(text.size())];
            c = static_cast<char>(static_cast<unsigned char>(c) ^ (1u << Below(8)));
          }
          break;
        case 6:  // truncate
          text.resize(at);
          break;
      }
    }
    return text;
  }

  // A document of known sections and keys with values of any type.
  std::string Generate() {
    static const char* kKeys[][2] = {
        {"exporter", "enabled"},        {"exporter", "listen"},      {"exporter", "path"},
        {"exporter", "debug_endpoint"}, {"sampler", "interval"},     {"tasks", "long_lived_after"},
        {"tasks", "stuck_after"},       {"sites", "max_sites"},      {"sites", "stack_depth"},
        {"sites", "histogram_buckets"}, {"intercept", "futex"},      {"detector", "floor_window"},
        {"detector", "trend_window"},   {"detector", "min_floors"},  {"detector", "z_threshold"},
        {"detector", "min_growth"},     {"introspection", "listen"}, {"introspection", "enabled"},
    };
    static const char* kValues[] = {
        "true",
        "false",
        "yes",
        "0",
        "1",
        "3",
        "12",
        "-4",
        "99999999999",
        "2.33",
        "1e3",
        ".inf",
        "5s",
        "500ms",
        "1h30m",
        "10s",
        "3m",
        "6h",
        "15m",
        "31d",
        "-1s",
        "1.5s",
        "\"\"",
        "~",
        "{}",
        "[]",
        "[0.1, 1, 10]",
        "[3, 2]",
        "127.0.0.1:0",
        "localhost:9464",
        "'[::1]:1'",
        "/metrics",
        "/debug/tasks",
        "&a 5s",
        "*a",
        "!!str 4",
        "{a: [b]}",
        "|\n    block\n",
    };
    std::string yaml;
    const size_t keys = Below(10);
    for (size_t i = 0; i < keys; ++i) {
      const auto& key = kKeys[Below(std::size(kKeys))];
      yaml +=
          std::string(key[0]) + ":\n  " + key[1] + ": " + kValues[Below(std::size(kValues))] + "\n";
    }
    return yaml;
  }

 private:
  std::mt19937 random_;
};

std::vector<std::string> Corpus() {
  return {
      ReadText(std::string(LEAKWATCH_SOURCE_DIR) + "/config/leakwatch.yaml"),
      ReadText(std::string(LEAKWATCH_SOURCE_DIR) + "/config/demo.yaml"),
      std::string(
          "{sampler: {interval: 2s}, exporter: {listen: \"[::1]:80\", tls: {cert_file: a, ") +
          "key_file: b}}}",
      "sites:\n  histogram_buckets:\n    - 0.5\n    - 1\n",
      "a: &x [*x, *x]\nb: &y {k: *y}\n",
      "%YAML 1.2\n--- !!map\n? exporter\n: {enabled: !!bool true}\n...\n",
  };
}

TEST_F(ConfigFuzzTest, MutatedDocumentsNeverCrashOrThrow) {
  const std::vector<std::string> corpus = Corpus();
  ASSERT_FALSE(corpus[0].empty());
  ASSERT_FALSE(corpus[1].empty());
  Mutator mutator(20240611);
  int parsed = 0;
  constexpr int kRuns = 3000;
  for (int i = 0; i < kRuns; ++i) {
    parsed += CheckParse(mutator.Mutate(corpus[i % corpus.size()], corpus));
  }
  // Most mutations of a valid document still parse; most do not (the fuzzer
  // reaches both the reader and the error paths).
  EXPECT_GT(parsed, kRuns / 20);
  EXPECT_LT(parsed, kRuns - kRuns / 20);
}

TEST_F(ConfigFuzzTest, GeneratedDocumentsNeverCrashOrThrow) {
  Mutator mutator(7);
  int parsed = 0;
  constexpr int kRuns = 3000;
  for (int i = 0; i < kRuns; ++i) parsed += CheckParse(mutator.Generate());
  EXPECT_GT(parsed, kRuns / 20);
  EXPECT_LT(parsed, kRuns - kRuns / 20);
}

TEST_F(ConfigFuzzTest, RandomBytesNeverCrashOrThrow) {
  Mutator mutator(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(mutator.Below(256), '\0');
    for (char& c : bytes) c = static_cast<char>(mutator.Below(256));
    CheckParse(bytes);
  }
}

}  // namespace
}  // namespace leakwatch
