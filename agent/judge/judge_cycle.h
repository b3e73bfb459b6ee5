// judge/judge_cycle.h — one judging cycle of leakwatch-judge: plan the reads,
// read each job's history, judge every group, and publish the verdicts.
//
// Jobs (group values) are shared among `threads` workers; a worker reads one
// job's process start times, then each of its read units, and judges a unit's
// groups before reading the next, so at most `threads` units of history are
// in memory at once. The cycle is all or nothing: the first failed query ends
// it, and the verdicts published stay those of the last successful cycle.
//
//   JudgeMetrics metrics({"job"});
//   CycleResult r = RunCycle(reader, judge, now, /*threads=*/2, &metrics);
//
// Thread-safe when the reader, the judge function and the metrics are.

#ifndef LEAKWATCH_JUDGE_JUDGE_CYCLE_H_
#define LEAKWATCH_JUDGE_JUDGE_CYCLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "judge/fleet.h"
#include "judge/history_reader.h"
#include "judge/judge_metrics.h"

namespace leakwatch::judge {

// Judges one group's history as of `now` (JudgeGroup with the service's
// FleetParams).
using JudgeFunction = std::function<FleetVerdict(const GroupHistory& history, double now)>;

struct CycleResult {
  absl::Status status;        // the first error, or OK
  int64_t series_judged = 0;  // instance x group series read and judged
  int64_t groups = 0;
  int64_t queries_failed = 0;
  double query_seconds = 0;  // summed over workers: time in queries and parsing
  double judge_seconds = 0;  // summed over workers: time in the judge function
  double wall_seconds = 0;
  std::vector<std::string> warnings;  // the query API's, distinct, at most 10
};

// Runs one cycle as of `now` (seconds since the epoch) and, when it succeeds,
// publishes its verdicts into `metrics` (stamped with the wall-clock time the
// cycle ended). Always adds the failed queries and the cycle duration.
CycleResult RunCycle(const HistoryReader& reader, const JudgeFunction& judge, double now,
                     int threads, JudgeMetrics* metrics);

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_JUDGE_CYCLE_H_
