// judge/fleet.h — the fleet judgment: one verdict per group across every
// instance and every process lifetime (see judge/history.h).
//
// (The method and its parameters are documented here by the fleet judge's
// implementation; the signature below is the seam the reader builds against.)

#ifndef LEAKWATCH_JUDGE_FLEET_H_
#define LEAKWATCH_JUDGE_FLEET_H_

#include "judge/history.h"

namespace leakwatch::judge {

struct FleetParams {
  // Filled in by the fleet judge's implementation; defaults are the production
  // values (a one-minute sampled history of days).
};

struct FleetVerdict {
  bool suspected = false;
  double growth_per_hour = 0;  // robust growth per process per hour
  int instances = 0;           // distinct instances in the judged history
  int lifetimes = 0;           // process lifetimes in the judged history
};

// Judges `history` as of `now` (seconds since the epoch): samples after `now`
// are ignored. Pure function: thread-safe for distinct arguments, no I/O.
FleetVerdict JudgeGroup(const GroupHistory& history, double now, const FleetParams& params);

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_FLEET_H_
