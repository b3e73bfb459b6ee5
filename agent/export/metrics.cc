#include "export/metrics.h"

#include <limits>
#include <string>

#include "prom/families.h"

namespace leakwatch::exporter {
namespace {

using prom::Counter;
using prom::Family;
using prom::Gauge;
using prom::Label;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<ClientMetric::Label> SiteLabels(const Snapshot::Site& s) {
  return {Label("op", OpName(s.op)), Label("site", s.site)};
}

// The per-kind families: live, started, finished, long-lived, oldest, verdicts.
void AppendKindFamilies(const Snapshot& snap, std::vector<MetricFamily>* out) {
  auto tasks = Family("leakwatch_tasks", "Live tasks by kind (threads are kind \"thread\").",
                      MetricType::Gauge);
  auto started =
      Family("leakwatch_tasks_started_total", "Tasks started, by kind.", MetricType::Counter);
  auto finished =
      Family("leakwatch_tasks_finished_total", "Tasks finished, by kind.", MetricType::Counter);
  auto long_lived =
      Family("leakwatch_tasks_long_lived", "Live tasks older than tasks.long_lived_after, by kind.",
             MetricType::Gauge);
  auto oldest = Family("leakwatch_task_oldest_age_seconds",
                       "Age of the oldest live task of the kind.", MetricType::Gauge);
  auto task_suspected =
      Family("leakwatch_task_leak_suspected",
             "1 when the detector suspects long-lived tasks of the kind leak.", MetricType::Gauge);
  auto task_growth = Family("leakwatch_task_leak_growth_per_hour",
                            "Robust growth estimate of long-lived tasks of the kind, per hour.",
                            MetricType::Gauge);
  for (const Snapshot::Kind& k : snap.kinds) {
    std::vector<ClientMetric::Label> labels = {Label("kind", k.kind)};
    tasks.metric.push_back(Gauge(k.live, labels));
    started.metric.push_back(Counter(k.started_total, labels));
    finished.metric.push_back(Counter(k.finished_total, labels));
    long_lived.metric.push_back(Gauge(k.long_lived, labels));
    oldest.metric.push_back(Gauge(k.oldest_age_seconds, labels));
    task_suspected.metric.push_back(Gauge(k.leak_suspected ? 1 : 0, labels));
    task_growth.metric.push_back(Gauge(k.leak_growth_per_hour, labels));
  }
  prom::AppendNonEmpty(
      {&tasks, &started, &finished, &long_lived, &oldest, &task_suspected, &task_growth}, out);
}

// One sample of leakwatch_block_duration_seconds: the site's histogram of
// finished waits, its buckets made cumulative.
ClientMetric DurationHistogram(const Snapshot::Site& s, std::vector<ClientMetric::Label> labels) {
  ClientMetric h;
  h.label = std::move(labels);
  uint64_t cumulative = 0;
  const auto& d = s.durations;
  for (size_t i = 0; i < d.bucket_counts.size(); ++i) {
    cumulative += d.bucket_counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < d.upper_bounds.size() ? d.upper_bounds[i] : std::numeric_limits<double>::infinity();
    h.histogram.bucket.push_back(b);
  }
  h.histogram.sample_count = cumulative;
  h.histogram.sample_sum = d.sum_seconds;
  return h;
}

// The per-site families: blocked, stuck, oldest wait, durations, deadlocked,
// verdicts.
void AppendSiteFamilies(const Snapshot& snap, std::vector<MetricFamily>* out) {
  auto blocked =
      Family("leakwatch_blocked_tasks", "Tasks blocked at the site now.", MetricType::Gauge);
  auto stuck =
      Family("leakwatch_stuck_tasks",
             "Tasks blocked at the site for longer than tasks.stuck_after.", MetricType::Gauge);
  auto idle = Family("leakwatch_idle_tasks",
                     "Tasks blocked at the site for longer than tasks.stuck_after at an expected "
                     "idle wait (sites.idle_sites, sites.idle_threads); not counted as stuck.",
                     MetricType::Gauge);
  auto oldest_wait = Family("leakwatch_blocked_oldest_age_seconds",
                            "Longest current wait at the site.", MetricType::Gauge);
  auto durations =
      Family("leakwatch_block_duration_seconds",
             "Durations of finished waits at the site that really blocked.", MetricType::Histogram);
  auto deadlocked = Family("leakwatch_deadlocked_tasks",
                           "Tasks at the site that are in a proven deadlock.", MetricType::Gauge);
  auto site_suspected =
      Family("leakwatch_site_leak_suspected",
             "1 when the detector suspects stuck tasks at the site leak.", MetricType::Gauge);
  auto site_growth =
      Family("leakwatch_site_leak_growth_per_hour",
             "Robust growth estimate of stuck tasks at the site, per hour.", MetricType::Gauge);
  for (const Snapshot::Site& s : snap.sites) {
    const auto labels = SiteLabels(s);
    blocked.metric.push_back(Gauge(s.blocked, labels));
    stuck.metric.push_back(Gauge(s.stuck, labels));
    // Only where idle waits are: a series for every site would add to every
    // site's cardinality for a figure that is 0 at almost all of them.
    if (s.idle > 0) idle.metric.push_back(Gauge(s.idle, labels));
    oldest_wait.metric.push_back(Gauge(s.oldest_wait_seconds, labels));
    deadlocked.metric.push_back(Gauge(s.deadlocked, labels));
    site_suspected.metric.push_back(Gauge(s.leak_suspected ? 1 : 0, labels));
    site_growth.metric.push_back(Gauge(s.leak_growth_per_hour, labels));
    // From the site's 10th wait or first wait over 1 s (export/site_activity.h).
    if (s.export_durations) durations.metric.push_back(DurationHistogram(s, labels));
  }
  prom::AppendNonEmpty({&blocked, &stuck, &idle, &oldest_wait, &durations, &deadlocked,
                        &site_suspected, &site_growth},
                       out);
}

// The process-wide families: OS threads and their limit, the site table,
// build and start time.
void AppendProcessFamilies(const Snapshot& snap, std::vector<MetricFamily>* out) {
  auto os_threads =
      Family("leakwatch_os_threads", "Threads of the process, from /proc.", MetricType::Gauge);
  if (snap.os_threads >= 0) os_threads.metric.push_back(Gauge(snap.os_threads));
  auto threads_limit = Family("leakwatch_os_threads_limit",
                              "Threads the process can have: the smallest of RLIMIT_NPROC, "
                              "kernel.threads-max, kernel.pid_max and the cgroup's pids.max.",
                              MetricType::Gauge);
  if (snap.os_threads_limit >= 0) threads_limit.metric.push_back(Gauge(snap.os_threads_limit));
  auto sites = Family("leakwatch_sites", "Sites interned in the site table.", MetricType::Gauge);
  sites.metric.push_back(Gauge(snap.sites_in_use));
  auto dropped =
      Family("leakwatch_sites_dropped_total",
             "Sites counted under site=\"other\" because the table was full.", MetricType::Counter);
  dropped.metric.push_back(Counter(snap.sites_dropped_total));
  auto build =
      Family("leakwatch_build_info", "leakwatch build; the value is always 1.", MetricType::Gauge);
  build.metric.push_back(Gauge(1, {Label("version", LEAKWATCH_VERSION)}));
  auto start =
      Family("process_start_time_seconds",
             "Start time of the process since the Unix epoch, in seconds.", MetricType::Gauge);
  start.metric.push_back(Gauge(snap.process_start_time_seconds));

  prom::AppendNonEmpty({&os_threads, &threads_limit, &sites, &dropped, &build, &start}, out);
}

}  // namespace

std::vector<MetricFamily> SnapshotToFamilies(const Snapshot& snap) {
  std::vector<MetricFamily> out;
  AppendKindFamilies(snap, &out);
  AppendSiteFamilies(snap, &out);
  AppendProcessFamilies(snap, &out);
  return out;
}

}  // namespace leakwatch::exporter
