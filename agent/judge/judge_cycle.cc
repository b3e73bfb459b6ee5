#include "judge/judge_cycle.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"

namespace leakwatch::judge {
namespace {

// The distinct instances of a group: one series each.
int64_t SeriesOf(const Group& group) {
  std::set<std::string> instances;
  for (const Lifetime& l : group.history.lifetimes) instances.insert(l.instance);
  return static_cast<int64_t>(instances.size());
}

class Cycle {
 public:
  Cycle(const HistoryReader& reader, const JudgeFunction& judge, double now, const ReadPlan& plan)
      : reader_(reader), judge_(judge), now_(now), plan_(plan) {}

  // Takes jobs until none is left or a query failed.
  void Work() {
    for (size_t i = next_.fetch_add(1); i < plan_.jobs.size(); i = next_.fetch_add(1)) {
      if (failed_.load()) return;
      if (!JudgeJob(plan_.jobs[i])) return;
    }
  }

  CycleResult Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(result_);
  }

  std::vector<GroupVerdict> TakeVerdicts() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(verdicts_);
  }

 private:
  bool Fail(const absl::Status& status, double query_seconds) {
    failed_.store(true);
    std::lock_guard<std::mutex> lock(mu_);
    if (result_.status.ok()) result_.status = status;
    ++result_.queries_failed;
    result_.query_seconds += query_seconds;
    return false;
  }

  bool JudgeJob(const JobPlan& job) {
    absl::Time t0 = absl::Now();
    absl::StatusOr<ProcessStarts> starts = reader_.ReadProcessStarts(plan_, job);
    if (!starts.ok()) return Fail(starts.status(), absl::ToDoubleSeconds(absl::Now() - t0));
    double query_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    for (const ReadUnit& unit : job.units) {
      if (failed_.load()) return false;
      t0 = absl::Now();
      absl::StatusOr<std::vector<Group>> groups = reader_.Read(plan_, job, unit, *starts);
      query_seconds += absl::ToDoubleSeconds(absl::Now() - t0);
      if (!groups.ok()) return Fail(groups.status(), query_seconds);
      t0 = absl::Now();
      std::vector<GroupVerdict> verdicts;
      int64_t series = 0;
      for (const Group& g : *groups) {
        verdicts.push_back(
            {g.metric, g.group_values, g.site, g.op, g.kind, judge_(g.history, now_)});
        series += SeriesOf(g);
      }
      const double judge_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
      std::lock_guard<std::mutex> lock(mu_);
      result_.judge_seconds += judge_seconds;
      result_.series_judged += series;
      result_.groups += static_cast<int64_t>(verdicts.size());
      for (GroupVerdict& v : verdicts) verdicts_.push_back(std::move(v));
    }
    std::lock_guard<std::mutex> lock(mu_);
    result_.query_seconds += query_seconds;
    return true;
  }

  const HistoryReader& reader_;
  const JudgeFunction& judge_;
  const double now_;
  const ReadPlan& plan_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  CycleResult result_ ABSL_GUARDED_BY(mu_);
  std::vector<GroupVerdict> verdicts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

CycleResult RunCycle(const HistoryReader& reader, const JudgeFunction& judge, double now,
                     int threads, JudgeMetrics* metrics) {
  const absl::Time start = absl::Now();
  CycleResult result;
  absl::StatusOr<ReadPlan> plan = reader.Plan(now);
  if (!plan.ok()) {
    result.status = plan.status();
    result.queries_failed = 1;
  } else {
    Cycle cycle(reader, judge, now, *plan);
    std::vector<std::thread> workers;
    const int n = std::max(1, std::min<int>(threads, static_cast<int>(plan->jobs.size())));
    for (int i = 1; i < n; ++i) workers.emplace_back([&cycle] { cycle.Work(); });
    cycle.Work();
    for (std::thread& w : workers) w.join();
    std::vector<GroupVerdict> verdicts = cycle.TakeVerdicts();
    result = cycle.Finish();
    if (result.status.ok()) {
      // Sorted, so that the exposition is in a stable order.
      std::sort(verdicts.begin(), verdicts.end(), [](const GroupVerdict& a, const GroupVerdict& b) {
        return std::tie(a.metric, a.group_values, a.site, a.op, a.kind) <
               std::tie(b.metric, b.group_values, b.site, b.op, b.kind);
      });
      metrics->Publish(std::move(verdicts), result.series_judged,
                       absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
    }
  }
  result.warnings = reader.TakeWarnings();
  result.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  metrics->AddQueryErrors(result.queries_failed);
  metrics->SetCycleDuration(result.wall_seconds);
  return result;
}

}  // namespace leakwatch::judge
