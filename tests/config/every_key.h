// One case per config key: a document that sets the key to a value other than
// its default, and a predicate that holds only when the Config has that value.
// Shared by the parser test (each key is read into its field) and the config
// file test (leakwatch.yaml documents exactly these keys).

#ifndef LEAKWATCH_TESTS_CONFIG_EVERY_KEY_H_
#define LEAKWATCH_TESTS_CONFIG_EVERY_KEY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "leakwatch/config.h"

namespace leakwatch {

struct KeyCase {
  std::string path;  // e.g. "exporter.basic_auth.username"
  std::string yaml;  // sets the key (and any key it must come with)
  std::function<bool(const Config&)> holds;
};

inline const std::vector<KeyCase>& EveryKey() {
  static const std::vector<KeyCase> cases = {
      {"exporter.enabled", "exporter:\n  enabled: false\n",
       [](const Config& c) { return !c.exporter.enabled; }},
      {"exporter.listen", "exporter:\n  listen: 0.0.0.0:0\n",
       [](const Config& c) { return c.exporter.listen == "0.0.0.0:0"; }},
      {"exporter.path", "exporter:\n  path: /leakwatch/metrics\n",
       [](const Config& c) { return c.exporter.path == "/leakwatch/metrics"; }},
      {"exporter.debug_endpoint", "exporter:\n  debug_endpoint: false\n",
       [](const Config& c) { return !c.exporter.debug_endpoint; }},
      {"exporter.basic_auth.username",
       "exporter:\n  basic_auth:\n    username: alice\n    password_file: /etc/pw\n",
       [](const Config& c) { return c.exporter.basic_auth.username == "alice"; }},
      {"exporter.basic_auth.password_file",
       "exporter:\n  basic_auth:\n    username: alice\n    password_file: /etc/pw\n",
       [](const Config& c) { return c.exporter.basic_auth.password_file == "/etc/pw"; }},
      {"exporter.tls.cert_file", "exporter:\n  tls:\n    cert_file: c.pem\n    key_file: k.pem\n",
       [](const Config& c) { return c.exporter.tls.cert_file == "c.pem"; }},
      {"exporter.tls.key_file", "exporter:\n  tls:\n    cert_file: c.pem\n    key_file: k.pem\n",
       [](const Config& c) { return c.exporter.tls.key_file == "k.pem"; }},
      {"sampler.interval", "sampler:\n  interval: 250ms\n",
       [](const Config& c) { return c.sampler.interval == absl::Milliseconds(250); }},
      {"tasks.long_lived_after", "tasks:\n  long_lived_after: 1h30m\n",
       [](const Config& c) { return c.tasks.long_lived_after == absl::Minutes(90); }},
      {"tasks.stuck_after", "tasks:\n  stuck_after: 1.5s\n",
       [](const Config& c) { return c.tasks.stuck_after == absl::Milliseconds(1500); }},
      {"sites.max_sites", "sites:\n  max_sites: 10000\n",
       [](const Config& c) { return c.sites.max_sites == 10000; }},
      {"sites.stack_depth", "sites:\n  stack_depth: 64\n",
       [](const Config& c) { return c.sites.stack_depth == 64; }},
      {"sites.histogram_buckets", "sites:\n  histogram_buckets: [0.5, 1, 2e1]\n",
       [](const Config& c) {
         return c.sites.histogram_buckets == std::vector<double>{0.5, 1, 20};
       }},
      {"sites.skip_modules", "sites:\n  skip_modules: [\"libmylocks.so*\"]\n",
       [](const Config& c) {
         return c.sites.skip_modules == std::vector<std::string>{"libmylocks.so*"};
       }},
      {"sites.skip_functions", "sites:\n  skip_functions:\n    - my_lock*\n    - 'Ns::Lock::*'\n",
       [](const Config& c) {
         return c.sites.skip_functions == std::vector<std::string>{"my_lock*", "Ns::Lock::*"};
       }},
      {"sites.idle_sites", "sites:\n  idle_sites: [\"mariadbd+0xe2d6c2\", 'Pool::Wait*']\n",
       [](const Config& c) {
         return c.sites.idle_sites == std::vector<std::string>{"mariadbd+0xe2d6c2", "Pool::Wait*"};
       }},
      {"sites.idle_threads", "sites:\n  idle_threads: [worker-*]\n",
       [](const Config& c) {
         return c.sites.idle_threads == std::vector<std::string>{"worker-*"};
       }},
      {"sites.drop_after", "sites:\n  drop_after: 0s\n",
       [](const Config& c) { return c.sites.drop_after == absl::ZeroDuration(); }},
      {"sites.debug_dirs", "sites:\n  debug_dirs: [/opt/debug, /srv/symbols]\n",
       [](const Config& c) {
         return c.sites.debug_dirs == std::vector<std::string>{"/opt/debug", "/srv/symbols"};
       }},
      {"intercept.enabled", "intercept:\n  enabled: false\n",
       [](const Config& c) { return !c.intercept.enabled; }},
      {"intercept.mutex", "intercept:\n  mutex: false\n",
       [](const Config& c) { return !c.intercept.mutex; }},
      {"intercept.rwlock", "intercept:\n  rwlock: false\n",
       [](const Config& c) { return !c.intercept.rwlock; }},
      {"intercept.condvar", "intercept:\n  condvar: false\n",
       [](const Config& c) { return !c.intercept.condvar; }},
      {"intercept.join", "intercept:\n  join: false\n",
       [](const Config& c) { return !c.intercept.join; }},
      {"intercept.futex", "intercept:\n  futex: false\n",
       [](const Config& c) { return !c.intercept.futex; }},
      {"intercept.threads", "intercept:\n  threads: false\n",
       [](const Config& c) { return !c.intercept.threads; }},
      {"detector.enabled", "detector:\n  enabled: false\n",
       [](const Config& c) { return !c.detector.enabled; }},
      {"detector.floor_window", "detector:\n  floor_window: 10m\n",
       [](const Config& c) { return c.detector.floor_window == absl::Minutes(10); }},
      {"detector.trend_window", "detector:\n  trend_window: 1d\n",
       [](const Config& c) { return c.detector.trend_window == absl::Hours(24); }},
      {"detector.min_floors", "detector:\n  min_floors: 3\n",
       [](const Config& c) { return c.detector.min_floors == 3; }},
      {"detector.z_threshold", "detector:\n  z_threshold: 2.33\n",
       [](const Config& c) { return c.detector.z_threshold == 2.33; }},
      {"detector.min_growth", "detector:\n  min_growth: 0\n",
       [](const Config& c) { return c.detector.min_growth == 0; }},
      {"detector.min_growth_ratio", "detector:\n  min_growth_ratio: 1.5e-2\n",
       [](const Config& c) { return c.detector.min_growth_ratio == 0.015; }},
      {"introspection.enabled", "introspection:\n  enabled: true\n",
       [](const Config& c) { return c.introspection.enabled; }},
      {"introspection.listen", "introspection:\n  listen: '[::1]:7000'\n",
       [](const Config& c) { return c.introspection.listen == "[::1]:7000"; }},
  };
  return cases;
}

}  // namespace leakwatch

#endif  // LEAKWATCH_TESTS_CONFIG_EVERY_KEY_H_
