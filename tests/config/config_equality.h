// ExpectSameConfig: compares two Configs field by field, naming the key of
// each field that differs.

#ifndef LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_
#define LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_

#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {

inline void ExpectSameConfig(const Config& actual, const Config& expected) {
  EXPECT_EQ(actual.exporter.enabled, expected.exporter.enabled) << "exporter.enabled";
  EXPECT_EQ(actual.exporter.listen, expected.exporter.listen) << "exporter.listen";
  EXPECT_EQ(actual.exporter.path, expected.exporter.path) << "exporter.path";
  EXPECT_EQ(actual.exporter.debug_endpoint, expected.exporter.debug_endpoint)
      << "exporter.debug_endpoint";
  EXPECT_EQ(actual.exporter.basic_auth.username, expected.exporter.basic_auth.username)
      << "exporter.basic_auth.username";
  EXPECT_EQ(actual.exporter.basic_auth.password_file, expected.exporter.basic_auth.password_file)
      << "exporter.basic_auth.password_file";
  EXPECT_EQ(actual.exporter.tls.cert_file, expected.exporter.tls.cert_file)
      << "exporter.tls.cert_file";
  EXPECT_EQ(actual.exporter.tls.key_file, expected.exporter.tls.key_file)
      << "exporter.tls.key_file";
  EXPECT_EQ(actual.sampler.interval, expected.sampler.interval) << "sampler.interval";
  EXPECT_EQ(actual.tasks.long_lived_after, expected.tasks.long_lived_after)
      << "tasks.long_lived_after";
  EXPECT_EQ(actual.tasks.stuck_after, expected.tasks.stuck_after) << "tasks.stuck_after";
  EXPECT_EQ(actual.sites.max_sites, expected.sites.max_sites) << "sites.max_sites";
  EXPECT_EQ(actual.sites.stack_depth, expected.sites.stack_depth) << "sites.stack_depth";
  EXPECT_EQ(actual.sites.histogram_buckets, expected.sites.histogram_buckets)
      << "sites.histogram_buckets";
  EXPECT_EQ(actual.sites.skip_modules, expected.sites.skip_modules) << "sites.skip_modules";
  EXPECT_EQ(actual.sites.skip_functions, expected.sites.skip_functions) << "sites.skip_functions";
  EXPECT_EQ(actual.sites.idle_sites, expected.sites.idle_sites) << "sites.idle_sites";
  EXPECT_EQ(actual.sites.idle_threads, expected.sites.idle_threads) << "sites.idle_threads";
  EXPECT_EQ(actual.sites.drop_after, expected.sites.drop_after) << "sites.drop_after";
  EXPECT_EQ(actual.sites.debug_dirs, expected.sites.debug_dirs) << "sites.debug_dirs";
  EXPECT_EQ(actual.intercept.enabled, expected.intercept.enabled) << "intercept.enabled";
  EXPECT_EQ(actual.intercept.mutex, expected.intercept.mutex) << "intercept.mutex";
  EXPECT_EQ(actual.intercept.rwlock, expected.intercept.rwlock) << "intercept.rwlock";
  EXPECT_EQ(actual.intercept.condvar, expected.intercept.condvar) << "intercept.condvar";
  EXPECT_EQ(actual.intercept.join, expected.intercept.join) << "intercept.join";
  EXPECT_EQ(actual.intercept.futex, expected.intercept.futex) << "intercept.futex";
  EXPECT_EQ(actual.intercept.threads, expected.intercept.threads) << "intercept.threads";
  EXPECT_EQ(actual.detector.enabled, expected.detector.enabled) << "detector.enabled";
  EXPECT_EQ(actual.detector.floor_window, expected.detector.floor_window)
      << "detector.floor_window";
  EXPECT_EQ(actual.detector.trend_window, expected.detector.trend_window)
      << "detector.trend_window";
  EXPECT_EQ(actual.detector.min_floors, expected.detector.min_floors) << "detector.min_floors";
  EXPECT_EQ(actual.detector.z_threshold, expected.detector.z_threshold) << "detector.z_threshold";
  EXPECT_EQ(actual.detector.min_growth, expected.detector.min_growth) << "detector.min_growth";
  EXPECT_EQ(actual.detector.min_growth_ratio, expected.detector.min_growth_ratio)
      << "detector.min_growth_ratio";
  EXPECT_EQ(actual.introspection.enabled, expected.introspection.enabled)
      << "introspection.enabled";
  EXPECT_EQ(actual.introspection.listen, expected.introspection.listen) << "introspection.listen";
}

}  // namespace leakwatch

#endif  // LEAKWATCH_TESTS_CONFIG_CONFIG_EQUALITY_H_
