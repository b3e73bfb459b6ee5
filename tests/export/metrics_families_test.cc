// The Prometheus families made from a Snapshot, and Collector() in an app's own
// prometheus-cpp registry.

#include <string>

#include "export/metrics.h"
#include "gtest/gtest.h"
#include "leakwatch/agent.h"
#include "leakwatch/task.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"

namespace leakwatch {
namespace {

Snapshot MakeSnapshot() {
  Snapshot s;
  s.process_start_time_seconds = 1.7e9;
  s.os_threads = 7;
  s.sites_in_use = 1;
  Snapshot::Kind k;
  k.kind = "job";
  k.live = 3;
  k.started_total = 10;
  k.finished_total = 7;
  s.kinds.push_back(k);
  Snapshot::Site site;
  site.site = "a.cc:1";
  site.op = Op::kChanSend;
  site.blocked = 2;
  site.stuck = 1;
  site.leak_suspected = true;
  site.durations.upper_bounds = {0.1, 1};
  site.durations.bucket_counts = {3, 1, 2};
  site.durations.sum_seconds = 12.5;
  s.sites.push_back(site);
  return s;
}

TEST(MetricFamilies, HistogramBucketsAreCumulativeWithInf) {
  const std::string text =
      prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(MakeSnapshot()));
  EXPECT_NE(text.find("leakwatch_block_duration_seconds_bucket{op=\"chan_send\",site=\"a.cc:1\","
                      "le=\"0.1\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("le=\"1\"} 4"), std::string::npos) << text;
  EXPECT_NE(text.find("le=\"+Inf\"} 6"), std::string::npos) << text;
  EXPECT_NE(text.find("leakwatch_block_duration_seconds_count{op=\"chan_send\",site=\"a.cc:1\"} 6"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("leakwatch_site_leak_suspected{op=\"chan_send\",site=\"a.cc:1\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("leakwatch_tasks_started_total{kind=\"job\"} 10"), std::string::npos);
  EXPECT_NE(text.find("leakwatch_os_threads 7"), std::string::npos);
}

TEST(MetricFamilies, ThreadLimitIsExportedOnlyWhenKnown) {
  Snapshot s = MakeSnapshot();
  s.os_threads_limit = 4096;
  std::string text = prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(s));
  EXPECT_NE(text.find("\nleakwatch_os_threads_limit 4096\n"), std::string::npos) << text;
  s.os_threads_limit = -1;
  text = prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(s));
  EXPECT_EQ(text.find("leakwatch_os_threads_limit"), std::string::npos) << text;
}

TEST(MetricFamilies, IdleTasksAreExportedOnlyAtSitesWithIdleWaits) {
  Snapshot s = MakeSnapshot();
  Snapshot::Site idle = s.sites[0];
  idle.site = "handle_manager+0xe0";
  idle.op = Op::kCondvar;
  idle.blocked = 1;
  idle.stuck = 0;
  idle.idle = 1;
  s.sites.push_back(idle);
  const std::string text = prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(s));
  EXPECT_NE(text.find("# TYPE leakwatch_idle_tasks gauge\nleakwatch_idle_tasks{op=\"condvar\","
                      "site=\"handle_manager+0xe0\"} 1\n#"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("leakwatch_stuck_tasks{op=\"condvar\",site=\"handle_manager+0xe0\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("leakwatch_blocked_tasks{op=\"condvar\",site=\"handle_manager+0xe0\"} 1"),
            std::string::npos);
  // No idle wait anywhere: no family at all.
  const std::string none =
      prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(MakeSnapshot()));
  EXPECT_EQ(none.find("leakwatch_idle_tasks"), std::string::npos) << none;
}

TEST(MetricFamilies, LabelValuesAreEscaped) {
  Snapshot s = MakeSnapshot();
  s.sites[0].site = "weird \"name\"\\with\nnewline";
  const std::string text = prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(s));
  EXPECT_NE(text.find("site=\"weird \\\"name\\\"\\\\with\\nnewline\""), std::string::npos) << text;
}

TEST(MetricFamilies, CollectorWorksWithoutARunningAgent) {
  TaskScope task("collector-test");
  const auto families = Collector()->Collect();
  bool found = false;
  for (const auto& f : families) {
    if (f.name != "leakwatch_tasks") continue;
    for (const auto& m : f.metric) {
      if (!m.label.empty() && m.label[0].value == "collector-test" && m.gauge.value == 1)
        found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace leakwatch
