// judge/history.h — what leakwatch-judge knows about one judged group, and the
// call that judges it.
//
// agent/judge owns leakwatch-judge, a separate service: the Prometheus query
// client, the history reader, the fleet judgment and the judge's own metrics.
// It may include the standard library, abseil, cpp-httplib, nlohmann-json,
// prometheus-cpp, and judge/, trend/, config/ and prom/ (main.cc also the
// tools' common/flags.h); never export/, core/, intercept/, rpc/ or the public
// leakwatch/ headers (tests/judge/layers_test.py checks it).
//
// leakwatch-judge reads every instance's history back from a Prometheus query
// API (judge/prometheus_client.h, judge/history_reader.h) and judges each group
// — (group labels, site, op) for `leakwatch_stuck_tasks`, (group labels, kind)
// for `leakwatch_tasks_long_lived` — across all its instances and all their
// process lifetimes together (judge/fleet.h). This header is the seam between
// the two halves: the reader fills a GroupHistory, JudgeGroup turns it into a
// FleetVerdict. Nothing here does I/O; plain values, not thread-safe.
//
//   leakwatch::judge::GroupHistory h;
//   h.lifetimes.push_back({"pod-a:9464", 1.7e9, {t0, t1, ...}, {3, 4, ...}});
//   leakwatch::judge::FleetVerdict v =
//       leakwatch::judge::JudgeGroup(h, /*now=*/t_end, leakwatch::judge::FleetParams{});

#ifndef LEAKWATCH_JUDGE_HISTORY_H_
#define LEAKWATCH_JUDGE_HISTORY_H_

#include <string>
#include <vector>

namespace leakwatch::judge {

// The samples of one series of one instance during one process lifetime (between
// two changes of its process_start_time_seconds).
struct Lifetime {
  std::string instance;       // the `instance` label; changes on a rolling deploy
  double process_start = 0;   // seconds since the epoch; 0 when unknown
  std::vector<double> t;      // sample times, seconds since the epoch, ascending
  std::vector<double> value;  // the samples; NaN and +-Inf already dropped
};

// Every lifetime of every instance of one group, in any order. Lifetimes of
// one instance do not overlap in time; lifetimes of different instances do.
struct GroupHistory {
  std::vector<Lifetime> lifetimes;
};

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_HISTORY_H_
