// ExpectSameConfig: compares two Configs field by field, naming the key of
// each field that differs.

#ifndef LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_
#define LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_

#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {

// One field: EXPECT_EQ that names its key.
#define LEAKWATCH_EXPECT_SAME_KEY(key) EXPECT_EQ(actual.key, expected.key) << #key

inline void ExpectSameConfig(const Config& actual, const Config& expected) {
  LEAKWATCH_EXPECT_SAME_KEY(exporter.enabled);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.listen);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.path);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.debug_endpoint);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.basic_auth.username);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.basic_auth.password_file);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.tls.cert_file);
  LEAKWATCH_EXPECT_SAME_KEY(exporter.tls.key_file);
  LEAKWATCH_EXPECT_SAME_KEY(sampler.interval);
  LEAKWATCH_EXPECT_SAME_KEY(tasks.long_lived_after);
  LEAKWATCH_EXPECT_SAME_KEY(tasks.stuck_after);
  LEAKWATCH_EXPECT_SAME_KEY(sites.max_sites);
  LEAKWATCH_EXPECT_SAME_KEY(sites.stack_depth);
  LEAKWATCH_EXPECT_SAME_KEY(sites.histogram_buckets);
  LEAKWATCH_EXPECT_SAME_KEY(sites.skip_modules);
  LEAKWATCH_EXPECT_SAME_KEY(sites.skip_functions);
  LEAKWATCH_EXPECT_SAME_KEY(sites.idle_sites);
  LEAKWATCH_EXPECT_SAME_KEY(sites.idle_threads);
  LEAKWATCH_EXPECT_SAME_KEY(sites.drop_after);
  LEAKWATCH_EXPECT_SAME_KEY(sites.debug_dirs);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.enabled);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.mutex);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.rwlock);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.condvar);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.join);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.futex);
  LEAKWATCH_EXPECT_SAME_KEY(intercept.threads);
  LEAKWATCH_EXPECT_SAME_KEY(detector.enabled);
  LEAKWATCH_EXPECT_SAME_KEY(detector.floor_window);
  LEAKWATCH_EXPECT_SAME_KEY(detector.trend_window);
  LEAKWATCH_EXPECT_SAME_KEY(detector.min_floors);
  LEAKWATCH_EXPECT_SAME_KEY(detector.z_threshold);
  LEAKWATCH_EXPECT_SAME_KEY(detector.min_growth);
  LEAKWATCH_EXPECT_SAME_KEY(detector.min_growth_ratio);
  LEAKWATCH_EXPECT_SAME_KEY(introspection.enabled);
  LEAKWATCH_EXPECT_SAME_KEY(introspection.listen);
}

#undef LEAKWATCH_EXPECT_SAME_KEY

}  // namespace leakwatch

#endif  // LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_
