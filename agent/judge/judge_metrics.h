// judge/judge_metrics.h — leakwatch-judge's own metrics: the verdicts of the
// last successful cycle and the judge's health, as a prometheus-cpp
// Collectable (served by an Exposer, or serialized once for --once).
//
//   leakwatch_judge_site_leak_suspected{<group labels>,site,op}      0/1
//   leakwatch_judge_site_leak_growth_per_hour{<group labels>,site,op}
//   leakwatch_judge_task_leak_suspected{<group labels>,kind}         0/1
//   leakwatch_judge_task_leak_growth_per_hour{<group labels>,kind}
//   leakwatch_judge_last_success_timestamp_seconds  end of the last successful cycle
//   leakwatch_judge_query_errors_total              failed queries (after retries)
//   leakwatch_judge_series_judged                   series judged in the last successful cycle
//   leakwatch_judge_cycle_duration_seconds          duration of the last cycle
//
// A failed cycle changes only the error counter and the cycle duration: the
// verdicts stay those of the last success, whose time last_success tells, so
// an outage of the query API never shows as a fresh "no leak". The group
// labels are --group-by (default `job`).
//
// Thread-safe: Publish and the counters may be called while Collect runs.

#ifndef LEAKWATCH_JUDGE_JUDGE_METRICS_H_
#define LEAKWATCH_JUDGE_JUDGE_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "judge/fleet.h"
#include "judge/history_reader.h"

namespace leakwatch::judge {

// The verdict on one group, without its history.
struct GroupVerdict {
  GroupMetric metric = GroupMetric::kSite;
  std::vector<std::string> group_values;
  std::string site, op, kind;
  FleetVerdict verdict;
};

class JudgeMetrics : public prometheus::Collectable {
 public:
  explicit JudgeMetrics(std::vector<std::string> group_by);

  // Replaces the verdicts with those of a successful cycle that judged
  // `series_judged` series and ended at `success_time` (seconds since the epoch).
  void Publish(std::vector<GroupVerdict> verdicts, int64_t series_judged, double success_time);
  void AddQueryErrors(int64_t n);
  void SetCycleDuration(double seconds);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::vector<std::string> group_by_;
  mutable std::mutex mu_;
  std::vector<GroupVerdict> verdicts_ ABSL_GUARDED_BY(mu_);
  int64_t series_judged_ ABSL_GUARDED_BY(mu_) = 0;
  double last_success_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t query_errors_ ABSL_GUARDED_BY(mu_) = 0;
  double cycle_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_JUDGE_METRICS_H_
