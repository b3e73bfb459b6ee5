#include "judge/judge_metrics.h"

#include <mutex>
#include <utility>

#include "prom/families.h"

namespace leakwatch::judge {

using prom::Counter;
using prom::Family;
using prom::Gauge;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

JudgeMetrics::JudgeMetrics(std::vector<std::string> group_by) : group_by_(std::move(group_by)) {}

void JudgeMetrics::Publish(std::vector<GroupVerdict> verdicts, int64_t series_judged,
                           double success_time) {
  std::lock_guard<std::mutex> lock(mu_);
  verdicts_ = std::move(verdicts);
  series_judged_ = series_judged;
  last_success_ = success_time;
}

void JudgeMetrics::AddQueryErrors(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  query_errors_ += n;
}

void JudgeMetrics::SetCycleDuration(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  cycle_seconds_ = seconds;
}

std::vector<MetricFamily> JudgeMetrics::Collect() const {
  auto site_suspected = Family(
      "leakwatch_judge_site_leak_suspected",
      "1 when stuck tasks at the site grow with process age across the group's instances and "
      "lifetimes (leakwatch-judge).",
      MetricType::Gauge);
  auto site_growth =
      Family("leakwatch_judge_site_leak_growth_per_hour",
             "Robust growth of stuck tasks at the site per process per hour.", MetricType::Gauge);
  auto task_suspected = Family(
      "leakwatch_judge_task_leak_suspected",
      "1 when long-lived tasks of the kind grow with process age across the group's instances "
      "and lifetimes (leakwatch-judge).",
      MetricType::Gauge);
  auto task_growth = Family("leakwatch_judge_task_leak_growth_per_hour",
                            "Robust growth of long-lived tasks of the kind per process per hour.",
                            MetricType::Gauge);
  auto last_success = Family("leakwatch_judge_last_success_timestamp_seconds",
                             "When the last successful judging cycle ended (0: never); the "
                             "verdicts are that cycle's.",
                             MetricType::Gauge);
  auto errors =
      Family("leakwatch_judge_query_errors_total",
             "Queries to the Prometheus API that failed after their retries.", MetricType::Counter);
  auto series =
      Family("leakwatch_judge_series_judged",
             "Series (instance x group) judged by the last successful cycle.", MetricType::Gauge);
  auto duration =
      Family("leakwatch_judge_cycle_duration_seconds",
             "Duration of the last judging cycle, queries included.", MetricType::Gauge);

  std::lock_guard<std::mutex> lock(mu_);
  for (const GroupVerdict& v : verdicts_) {
    std::vector<ClientMetric::Label> labels;
    for (size_t i = 0; i < group_by_.size(); ++i) {
      labels.push_back({group_by_[i], v.group_values[i]});
    }
    if (v.metric == GroupMetric::kSite) {
      labels.push_back({"op", v.op});
      labels.push_back({"site", v.site});
      site_suspected.metric.push_back(Gauge(v.verdict.suspected ? 1 : 0, labels));
      site_growth.metric.push_back(Gauge(v.verdict.growth_per_hour, labels));
    } else {
      labels.push_back({"kind", v.kind});
      task_suspected.metric.push_back(Gauge(v.verdict.suspected ? 1 : 0, labels));
      task_growth.metric.push_back(Gauge(v.verdict.growth_per_hour, labels));
    }
  }
  last_success.metric.push_back(Gauge(last_success_));
  errors.metric.push_back(Counter(static_cast<double>(query_errors_)));
  series.metric.push_back(Gauge(static_cast<double>(series_judged_)));
  duration.metric.push_back(Gauge(cycle_seconds_));

  std::vector<MetricFamily> out;
  prom::AppendNonEmpty({&site_suspected, &site_growth, &task_suspected, &task_growth, &last_success,
                        &errors, &series, &duration},
                       &out);
  return out;
}

}  // namespace leakwatch::judge
