// judge/history_reader.h — reads the fleet's history back from a Prometheus
// query API and cuts it into the GroupHistory values the fleet judge judges.
//
// One cycle reads, over [end - lookback, end] every `step`:
//   leakwatch_stuck_tasks        per (group labels, site, op)
//   leakwatch_tasks_long_lived   per (group labels, kind)
//   process_start_time_seconds   per instance, to cut each instance's series
//                                into process lifetimes (an in-place restart
//                                keeps the instance and changes its start
//                                time; a rolling deploy brings new instances)
// The group labels are --group-by (default `job`).
//
// Query cost. A cycle first asks /api/v1/series once for the label sets of the
// selected series (an index lookup, no samples), then reads one group value
// (one job) at a time: one query for its process start times, one for its
// long-lived task kinds, and its stuck-task sites in batches of whole sites,
// each batch holding at most `max_points_per_query` points (series x steps),
// so no answer and no batch of histories in memory grows with the fleet.
// 10,000 series x 2 days at one step a minute are 29 M points, read as about
// 120 queries of 250,000 points (plus two per job); each query is further
// split by the client so that no series gets more than 11,000 points. The times are aligned to
// multiples of `step`, so two judges (or a restarted one) read the same samples and give the same
// verdicts.
//
//   HistoryReader reader(client.get(), options);
//   absl::StatusOr<ReadPlan> plan = reader.Plan(now);
//   for (const JobPlan& job : plan->jobs) {
//     auto starts = reader.ReadProcessStarts(*plan, job);
//     for (const ReadUnit& unit : job.units) {
//       auto groups = reader.Read(*plan, unit, *starts);  // judge, then drop
//     }
//   }
//
// A HistoryReader is immutable after construction: safe for concurrent use.

#ifndef LEAKWATCH_JUDGE_HISTORY_READER_H_
#define LEAKWATCH_JUDGE_HISTORY_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "judge/history.h"
#include "judge/prometheus_client.h"

namespace leakwatch::judge {

struct ReaderOptions {
  std::string selector;  // extra matchers: `{namespace="shop"}`, or empty
  std::vector<std::string> group_by = {"job"};
  absl::Duration lookback = absl::Hours(48);  // FleetParams' default
  absl::Duration step = absl::Minutes(1);
  int64_t max_points_per_query = 250'000;  // series x steps in one query
};

// Checks --selector: empty, or `{...}` (PromQL's syntax inside is checked by
// the server on the first query). Returns the text inside the braces.
absl::StatusOr<std::string> SelectorMatchers(absl::string_view selector);

// Checks and splits --group-by: comma-separated label names, none of them a
// label the judge groups by itself (site, op, kind, instance, __name__).
absl::StatusOr<std::vector<std::string>> ParseGroupBy(absl::string_view text);

// A PromQL string literal holding `text`.
std::string PromQLString(absl::string_view text);

// `text` as an RE2 pattern matching exactly `text` (for label=~"a|b").
std::string RegexQuote(absl::string_view text);

enum class GroupMetric { kSite, kTask };

// One judged group and its history.
struct Group {
  GroupMetric metric = GroupMetric::kSite;
  std::vector<std::string> group_values;  // in --group-by order ("" when absent)
  std::string site, op;                   // kSite
  std::string kind;                       // kTask
  GroupHistory history;
};

// One query's worth of one group value: a metric and, for kSite, a batch of
// whole sites (empty: every site of the group value).
struct ReadUnit {
  GroupMetric metric = GroupMetric::kSite;
  std::vector<std::string> sites;
  int64_t series = 0;  // series the unit reads, as the plan found them
};

// Everything one group value (one job by default) needs.
struct JobPlan {
  std::vector<std::string> group_values;
  std::vector<ReadUnit> units;
};

struct ReadPlan {
  double start = 0, end = 0, step = 60;  // seconds since the epoch; aligned to step
  std::vector<JobPlan> jobs;
  int64_t series = 0;  // stuck-task and long-lived series in the window
};

// process_start_time_seconds of each instance of one group value, keyed by
// the instance's target labels (every label but __name__).
using ProcessStarts = std::map<Labels, Series>;

// Cuts one series into process lifetimes where its instance's process start
// time changes. `starts` may be null (no process_start_time_seconds): then the
// whole series is one lifetime with process_start 0.
std::vector<Lifetime> SplitLifetimes(const Series& series, const Series* starts);

// The target labels of a series: every label but __name__, site, op, kind.
Labels TargetLabels(const Labels& labels);

class HistoryReader {
 public:
  // `client` must outlive the reader. `options` must have passed the checks
  // above (SelectorMatchers, ParseGroupBy).
  HistoryReader(const PrometheusClient* client, ReaderOptions options);

  // Finds the selected series in [now - lookback, now] and plans the reads.
  absl::StatusOr<ReadPlan> Plan(double now) const;

  absl::StatusOr<ProcessStarts> ReadProcessStarts(const ReadPlan& plan, const JobPlan& job) const;

  // Reads one unit and returns its groups, each holding every lifetime of
  // every instance of the group.
  absl::StatusOr<std::vector<Group>> Read(const ReadPlan& plan, const JobPlan& job,
                                          const ReadUnit& unit, const ProcessStarts& starts) const;

  const ReaderOptions& options() const { return options_; }

  // The query API's warnings since the last call (PrometheusClient::TakeWarnings).
  std::vector<std::string> TakeWarnings() const { return client_->TakeWarnings(); }

 private:
  // `metric{selector, group matchers[, extra]}`.
  std::string Selector(absl::string_view metric, const JobPlan& job, absl::string_view extra) const;

  const PrometheusClient* client_;
  ReaderOptions options_;
  std::string matchers_;  // the selector without braces
};

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_HISTORY_READER_H_
