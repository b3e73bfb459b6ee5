// The shipped config files: leakwatch.yaml documents every key with its
// default, demo.yaml parses into the demo's fast windows.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "config_equality.h"
#include "every_key.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

const std::string kLeakwatchYaml = std::string(LEAKWATCH_SOURCE_DIR) + "/config/leakwatch.yaml";
const std::string kDemoYaml = std::string(LEAKWATCH_SOURCE_DIR) + "/config/demo.yaml";

std::string ReadText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Paths of the leaves (non-map values) of a YAML map, in document order.
void CollectLeafPaths(const YAML::Node& node, const std::string& prefix,
                      std::vector<std::string>* paths) {
  for (const auto& entry : node) {
    const std::string path =
        prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    if (entry.second.IsMap()) {
      CollectLeafPaths(entry.second, path, paths);
    } else {
      paths->push_back(path);
    }
  }
}

TEST(ConfigFilesTest, LeakwatchYamlHoldsTheDefaultOfEveryField) {
  absl::StatusOr<Config> config = LoadConfigFile(kLeakwatchYaml);
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectSameConfig(*config, Config{});
}

TEST(ConfigFilesTest, LeakwatchYamlWritesOutEveryKeyOnce) {
  std::vector<std::string> documented;
  CollectLeafPaths(YAML::LoadFile(kLeakwatchYaml), "", &documented);
  std::vector<std::string> known;
  for (const KeyCase& key : EveryKey()) known.push_back(key.path);
  EXPECT_EQ(documented, known);
}

TEST(ConfigFilesTest, LeakwatchYamlHasACommentLineAboveEachKey) {
  std::istringstream text(ReadText(kLeakwatchYaml));
  std::vector<std::string> lines;
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  // A list item ("- pattern") is part of its key's value, never a key.
  auto is_list_item = [&](size_t i) {
    const size_t start = lines[i].find_first_not_of(' ');
    return start != std::string::npos && lines[i][start] == '-';
  };
  std::string previous;
  int number = 0;
  int keys_with_values = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    ++number;
    const size_t start = line.find_first_not_of(' ');
    const size_t colon = line.find(':');
    const bool value_below = i + 1 < lines.size() && is_list_item(i + 1);
    const bool is_key = start != std::string::npos && line[start] != '#' && !is_list_item(i) &&
                        colon != std::string::npos && (colon + 1 < line.size() || value_below);
    if (is_key) {
      ++keys_with_values;
      const size_t previous_start = previous.find_first_not_of(' ');
      EXPECT_TRUE(previous_start != std::string::npos && previous[previous_start] == '#' &&
                  previous_start == start)
          << "line " << number << " (" << line << ") has no comment line above it";
    }
    previous = line;
  }
  EXPECT_EQ(keys_with_values, static_cast<int>(EveryKey().size()));
}

TEST(ConfigFilesTest, DemoYamlParsesIntoFastWindows) {
  absl::StatusOr<Config> config = LoadConfigFile(kDemoYaml);
  ASSERT_TRUE(config.ok()) << config.status();
  Config expected;
  expected.exporter.listen = "127.0.0.1:9464";
  expected.sampler.interval = absl::Seconds(1);
  expected.tasks.long_lived_after = absl::Seconds(30);
  expected.tasks.stuck_after = absl::Seconds(5);
  expected.detector.floor_window = absl::Seconds(10);
  expected.detector.trend_window = absl::Minutes(3);
  expected.detector.min_floors = 6;
  expected.detector.z_threshold = 2.33;
  expected.detector.min_growth = 3;
  expected.detector.min_growth_ratio = 0.05;
  expected.introspection.enabled = true;
  expected.introspection.listen = "127.0.0.1:9465";
  ExpectSameConfig(*config, expected);
}

}  // namespace
}  // namespace leakwatch
