// The Prometheus families made from a Snapshot, and Collector() in an app's own
// prometheus-cpp registry.

#include <map>
#include <sstream>
#include <string>

#include "export/metrics.h"
#include "export/site_activity.h"
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

// {series name: samples} of the site labelled `site` in the text format.
std::map<std::string, int> SeriesOfSite(const std::string& text, const std::string& site) {
  std::map<std::string, int> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.find("site=\"" + site + "\"") == std::string::npos) continue;
    ++out[line.substr(0, line.find('{'))];
  }
  return out;
}

// The gauges every exported site has, one series each.
const std::map<std::string, int> kSiteGauges = {
    {"leakwatch_blocked_oldest_age_seconds", 1}, {"leakwatch_blocked_tasks", 1},
    {"leakwatch_deadlocked_tasks", 1},           {"leakwatch_site_leak_growth_per_hour", 1},
    {"leakwatch_site_leak_suspected", 1},        {"leakwatch_stuck_tasks", 1}};

// The gauges plus the histogram in the default buckets (9 bounds and +Inf).
std::map<std::string, int> GaugesAndHistogram() {
  std::map<std::string, int> out = kSiteGauges;
  out["leakwatch_block_duration_seconds_bucket"] = 10;
  out["leakwatch_block_duration_seconds_count"] = 1;
  out["leakwatch_block_duration_seconds_sum"] = 1;
  return out;
}

// A site with `short_waits` finished waits of 5 ms and `long_waits` of 2 s,
// in the default buckets.
Snapshot::Site SiteWithWaits(const std::string& label, uint64_t short_waits, uint64_t long_waits) {
  Snapshot::Site site;
  site.site = label;
  site.op = Op::kMutex;
  site.durations.upper_bounds = Config().sites.histogram_buckets;
  site.durations.bucket_counts.assign(site.durations.upper_bounds.size() + 1, 0);
  site.durations.bucket_counts[2] += short_waits;  // (0.001, 0.01]
  site.durations.bucket_counts[5] += long_waits;   // (1, 10]
  site.durations.count = short_waits + long_waits;
  site.durations.sum_seconds = 0.005 * short_waits + 2.0 * long_waits;
  return site;
}

// What /metrics shows of one site after the sampler and a scrape saw it.
std::map<std::string, int> Exported(exporter::SiteActivity& activity, const Snapshot::Site& site,
                                    int64_t now_ns) {
  Snapshot snap;
  snap.sites = {site};
  activity.Observe(snap, now_ns);
  activity.Prune(snap, now_ns);
  return SeriesOfSite(prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(snap)),
                      site.site);
}

TEST(MetricFamilies, DefaultBucketsAreTheNineOfTheReadme) {
  EXPECT_EQ(Config().sites.histogram_buckets,
            (std::vector<double>{0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600, 3600}));
}

// Bounded series: a site's histogram is exported from its 10th finished wait
// or its first wait longer than 1 s, and then stays.
TEST(MetricFamilies, HistogramFromTheTenthWaitOrTheFirstWaitOverOneSecond) {
  exporter::SiteActivity activity;
  activity.Configure(absl::Hours(1));
  const int64_t s = 1'000'000'000;
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 0, 0), 0), kSiteGauges);
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 9, 0), 1 * s), kSiteGauges);
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 10, 0), 2 * s), GaugesAndHistogram());
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 11, 0), 3 * s), GaugesAndHistogram());

  // One wait over 1 s is enough; it stays with no new wait.
  EXPECT_EQ(Exported(activity, SiteWithWaits("b.cc:2", 3, 0), 0), kSiteGauges);
  EXPECT_EQ(Exported(activity, SiteWithWaits("b.cc:2", 3, 1), 1 * s), GaugesAndHistogram());
  EXPECT_EQ(Exported(activity, SiteWithWaits("b.cc:2", 3, 1), 100 * s), GaugesAndHistogram());

  // A wait of exactly 1 s (bucket le="1") is not longer than 1 s.
  Snapshot::Site one_second = SiteWithWaits("c.cc:3", 0, 0);
  one_second.durations.bucket_counts[4] = 1;  // (0.1, 1]
  one_second.durations.count = 1;
  EXPECT_EQ(Exported(activity, one_second, 0), kSiteGauges);

  // A scrape before the sampler has seen the site decides from the scrape.
  Snapshot scrape;
  scrape.sites = {SiteWithWaits("d.cc:4", 12, 0), SiteWithWaits("e.cc:5", 2, 0)};
  activity.Prune(scrape, 0);
  const std::string text =
      prometheus::TextSerializer().Serialize(exporter::SnapshotToFamilies(scrape));
  EXPECT_EQ(SeriesOfSite(text, "d.cc:4"), GaugesAndHistogram());
  EXPECT_EQ(SeriesOfSite(text, "e.cc:5"), kSiteGauges);
}

TEST(MetricFamilies, HistogramEndsWithTheSiteAndIsDecidedAgainWhenItReturns) {
  exporter::SiteActivity activity;
  activity.Configure(absl::Seconds(60));
  const int64_t s = 1'000'000'000;
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 10, 0), 0), GaugesAndHistogram());
  EXPECT_TRUE(Exported(activity, SiteWithWaits("a.cc:1", 10, 0), 61 * s).empty());
  // Back with a new wait: its running totals still qualify.
  EXPECT_EQ(Exported(activity, SiteWithWaits("a.cc:1", 11, 0), 62 * s), GaugesAndHistogram());
}

TEST(MetricFamilies, ExpectedIdleSitesGetNoHistogram) {
  exporter::SiteActivity activity;
  activity.Configure(absl::Hours(1));
  const int64_t s = 1'000'000'000;
  // sites.idle_sites: idle from the first snapshot.
  Snapshot::Site pool = SiteWithWaits("wait_for_tasks+0x10", 500, 3);
  pool.idle_site = true;
  EXPECT_EQ(Exported(activity, pool, 0), kSiteGauges);
  // sites.idle_threads: known once a wait there is longer than stuck_after;
  // the histogram ends then and does not come back.
  Snapshot::Site log = SiteWithWaits("logger.cc:9", 20, 0);
  EXPECT_EQ(Exported(activity, log, 0), GaugesAndHistogram());
  log.idle_site = true;
  log.idle = 1;
  log.blocked = 1;
  std::map<std::string, int> idle = kSiteGauges;
  idle["leakwatch_idle_tasks"] = 1;
  EXPECT_EQ(Exported(activity, log, 1 * s), idle);
  log.idle_site = false;
  log.idle = 0;
  log.blocked = 0;
  log.durations.count += 1;
  log.durations.bucket_counts[2] += 1;
  EXPECT_EQ(Exported(activity, log, 2 * s), kSiteGauges);
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
