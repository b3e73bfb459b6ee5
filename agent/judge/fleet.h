// judge/fleet.h — the fleet judgment: one verdict per group across every
// instance and every process lifetime (see judge/history.h).
//
//   leakwatch::judge::FleetVerdict v =
//       leakwatch::judge::JudgeGroup(history, /*now=*/t, leakwatch::judge::FleetParams{});
//   if (v.suspected) ...  // v.growth_per_hour is per process
//
// What it judges. A leak adds tasks that never finish to every process from its
// start, so it grows with process age in every lifetime of every instance and
// vanishes at each restart. Healthy series saturate (warm-up, pools filling),
// follow the time of day, or step to a new level with a deploy. The judge turns
// all lifetimes into ONE series that behaves like a single process that never
// restarts, and judges that series with the in-process detector
// (trend::SeriesDetector, with its production rules against daily cycles,
// bursts, steps and wander), so no second, weaker detector exists.
//
// How (each step exists because the fleet scenarios of tests/judge showed false
// alarms or misses without it; `leakwatch-fleet-eval` measures it):
//  1. Grid. Each lifetime's samples in (now - lookback, now] are averaged on a
//     grid of `step_seconds` aligned to the absolute time axis, so that
//     instances scraped at different offsets meet on the same points and two
//     judges (or two cycles) see the same points.
//  2. Increments, not levels. Within each lifetime, the change of the trailing
//     `smooth_seconds` mean between consecutive grid points (at most
//     `max_gap_seconds` apart: a scrape gap or an outage breaks the chain
//     instead of reading as a jump) is one increment, tagged with the process
//     age at which it happened. Restarts, rolling deploys with new instance
//     names, autoscaling and a deploy's step to a new level all happen BETWEEN
//     lifetimes, so they produce no increment at all; a leak produces the same
//     positive increment in every lifetime. The increments of one lifetime sum
//     to its last mean minus its first: with raw samples instead of 15-minute
//     means, the noise of those two ends accumulated over the hundreds of
//     lifetimes of a day into a random walk (+80 on a flat 400 over 48 h, 10
//     replicas restarted every 4 h) that the detector took for growth.
//  3. Warm-up. Increments below `min_warmup_seconds` of age never count
//     (start-up transients; crash loops of minutes contribute nothing). The
//     rest is corrected by the pooled age profile: the mean increment rate per
//     `warmup_bin_seconds` of age, relative to each lifetime's level, over the
//     lifetimes whose start lies in the judged range (and, when they cover
//     `warmup_min_bins` bins, only those that started more than
//     `reference_seconds` ago: the reference). A bin is covered when it holds
//     a quarter of the best-covered bin's data and 3 lifetimes. Its line is the
//     median rate of the last third of the covered ages; whatever a bin rises
//     above the line, beyond `warmup_z` x its standard error, is a healthy
//     warm-up and is subtracted from every increment at that age, scaled by
//     the lifetime's level. A leak rises at the line's rate at every age and
//     is kept. Why each part:
//       - a hard warm-up age W chosen from the profile flapped between cycles
//         (the whole stitched series changed with it) and a per-lifetime
//         tolerance grew with the restart rate (warm-up tails of 2-10 minutes
//         after 30 minutes, 13 replicas restarted hourly, made the stitched
//         series climb 6 %/h);
//       - the reference keeps a deploy that ships a leak from reading as a
//         warm-up (its young lifetimes rise, the older ones did not: W jumped
//         to 6-12 h within hours of the deploy and the leak vanished);
//       - 3 lifetimes per bin: a job of 4 replicas restarted daily had one
//         young lifetime in its reference, whose line still rose at its last
//         age, and the rest of every warm-up read as growth;
//       - relative to the level: a deploy that doubles the level doubles its
//         warm-up, and with absolute rates the reference's smaller warm-up
//         left a part of every young lifetime's rise in (a job restarted
//         hourly climbed by that part at every restart: 68 -> 147 in 46 h, the
//         commonest false alarm of deploy_steps). A lifetime's level is the
//         median of its grid means past the minimum warm-up, or the fleet's
//         over the trend window before it started when that is higher (a
//         lifetime still warming up has not reached its own);
//       - lifetimes that started before the range have no young ages to show,
//         and when no profile can be made only ages above
//         `max_warmup_seconds` count;
//       - the line from the later ages, not all of them: a single old
//         lifetime's wander made it slope by 5 %/h.
//  4. Stitching. At each grid point, the mean over the lifetimes that have an
//     increment there is the fleet's increment; their running sum, plus the
//     fleet's typical level (the median of the grid means of lifetimes past
//     the minimum warm-up), is the stitched series: the per-process trajectory
//     with the restarts taken out. A leak of r tasks per hour per process
//     makes it rise by r per hour whether the group is one process that never
//     restarts or thirty that restart every hour; the Poisson noise of n
//     instances averages down by sqrt(n); a daily cycle shared by the
//     instances telescopes into the daily cycle one process would show.
//  5. Judgment. The stitched series is fed to trend::SeriesDetector with the
//     production preset (guard of 26 h, a day of history before a verdict,
//     multi-scale evidence, regime rule, confirmation); its verdict after the
//     last point is the group's. (Without the regime rule 50 %/h leaks were
//     found in 2.3 h instead of 9.4 h, but warm-up jobs raised 5 more false
//     alarms on the training subset: kept.) When
//     the profile's warm-up rises significantly (beyond `mature_z` x a bin's
//     noise) past the minimum warm-up, a second series stitched from the
//     ages after that rise must be suspected too: after a rolling deploy of a
//     job whose processes warm up for hours, the new lifetimes' warm-ups
//     differ from the profile's by chance, together, and that difference
//     rose like a leak for hours (4-16 % of the level). The load's wander does
//     not telescope across lifetimes, so the stitched series random-walks by about
//     2.8 % x level x sqrt(lifetimes ending per 6 h) / replicas over a trend
//     window; the detector's absolute growth bar (min_growth) is raised to
//     `walk_z` x that walk, estimated from the robust spread of the
//     lifetimes' own changes around their common rate. Because the judge is
//     stateless, the lookback must cover the day of history plus a trend
//     window (default 2 days).
//  6. Same-age corroboration. When step 5 does not suspect the group, a
//     second series is stitched with the less biased profile of
//     warmup_z = `corroborated_warmup_z` (1) and judged the same way; its
//     verdict counts only when the lifetimes that started within the last
//     trend window also grew faster than the reference lifetimes (those of
//     step 3's reference) at the same age bins, by `sameage_z` (2.5) x the
//     comparison's standard error. That error adds in quadrature the spread
//     of the excess over floor-window blocks of clock time (the wander the
//     replicas share moves a cohort together), the spread across the recent
//     lifetimes (each one's warm-up tail and wander) and the reference's own
//     noise per age bin (a cohort of a rolling deploy compared with a few
//     lifetimes of a day before); the bar is raised to Student's t for the
//     number of recent lifetimes. Never alone: the second series must show
//     growth to the detector, and the comparison cannot be made at all
//     without 3 recent lifetimes. A leak shipped by a deploy makes every
//     young lifetime outgrow the reference at every age; the less biased
//     series climbs over its 26 h high sooner than step 5's, which the pull
//     of warmup_z 0 had drifted down (-15 % to -30 % of the level before the
//     leak on the goal cell). Matching the time of day too (the reference's
//     increments within `sameage_tod_seconds` of the recent one's, modulo a
//     day) thinned the reference and is off by default (see below).
//     Restart-drop corroboration, the alternative bar (either one passes):
//     a leak's level is base + rate x age, so at every in-place restart
//     (the same `instance`, consecutive lifetimes) the instance DROPS by
//     about rate x the old lifetime's age; a healthy one by its warm-up
//     deficit only. Each restart's drop is the old lifetime's mean over its
//     last min_warmup_seconds less the new one's over ages [W, 2W)
//     (W = min_warmup_seconds), relative to the old mean, plus the mean
//     relative change of the other instances' lifetimes over the same two
//     clock intervals (a difference-in-differences: the wander and the time
//     of day the replicas share cancel; the instance's own imbalance is kept
//     across an in-place restart and cancels too). The restarts whose new
//     lifetime started within the last trend window are set against those
//     whose new lifetime started more than reference_seconds ago: a
//     two-sample t on the means with the pooled spread (under no leak both
//     are drawn alike), passing at `restartdrop_z` (3) raised to Student's t
//     for their degrees of freedom, from 2 recent and 3 reference restarts.
//     Old lifetimes younger than 2W (crash loops) and restarts more than
//     max_gap_seconds after the old lifetime's last point are skipped;
//     deploy replacements (new names) cannot be paired. The same-age
//     comparison needs a cohort of young lifetimes grown for hours; the
//     drops of the first few restarts after a leaky deploy already carry
//     rate x 3-9 h each.
//
// Measured (tests/judge: `leakwatch-fleet-eval --per-family 6`, training
// seeds 2-3, judged every 10 min, before -> after the level-relative profile,
// 3 lifetimes per bin and the mature veto): the method does NOT yet meet
// issue 16's goals.
//  - False alarms: deploy_steps 3 -> 0, warmup 5 -> 3, 1 before the leak in
//    leak_1pct (unchanged); every other healthy family 0.
//  - Leaks: 2 %/h found 8 -> 11 of 12, 1 %/h 7 -> 8 of 12, daily_leak 11 ->
//    12 of 12; 10 %/h and 50 %/h all (median 5.2 h and 9.4 h).
//  - 10 replicas restarted every 6 h: 2 %/h in 9.2 h median, 10 %/h in
//    3.7 h, against the goals of 6 h and 1.5 h; the oracle
//    (fleet_oracle_bound) needs about 3.2 h and 1.25 h.
// Before -> after step 6 (same runs; the goal cell with
// `--grid-replicas 10 --grid-restart-hours 6 --grid-per-cell 4`): false
// alarms unchanged on every family (warmup 3, leak_1pct 1 before its leak,
// the rest 0; goal cell 0); goal cell 10 %/h 3.66 -> 2.85 h median (max 5.41
// -> 3.55 h), 2 %/h unchanged at 9.20 h; leak_10pct 5.23 -> 4.29 h,
// step_leak 9.36 -> 6.30 h, leak_50pct 9.37 -> 9.24 h, detections unchanged
// (1 %/h 8 of 12, 2 %/h 11 of 12). Held-out seed 1: false alarms 0 before
// and after; goal cell 10 %/h 4.21 -> 2.71 h (2 %/h 18.0 h unchanged),
// leak_10pct 6.63 -> 3.27 h. Cost: the grid and increments are built once
// for both series, and the second one is stitched and judged only when the
// comparison corroborates it; a judge cycle (fleet_bench, 1,000 groups, one
// thread, on a loaded machine) took 9.5 s against 9.8 s before (2.2 x when
// the second series was built from the history again and always judged).
//  Where it loses: the profile's per-bin noise, subtracted where positive
//  (warmup_z 0), pulls the stitched series down at every restart (-15 % of
//  the level over 11 h before a leak on the goal cell), which delays small
//  leaks; warmup_z 0.5-1 removes that pull (goal cell 4.3-5.3 h and
//  2.6-3.0 h) but adds 10-40 false-alarm episodes on rolling and warm-up
//  jobs. It is not the profile's error in the subtracted bins: a growth bar
//  for it (the bias warmup_z leaves plus 2 x the standard deviation of the
//  subtracted bins' estimates over a trend window, pooled in quadrature)
//  left warmup_z 1 at 10 / 40 / 5 episodes on rolling / warmup /
//  deploy_steps (goal cell 4.3 h and 2.6 h); the rolling jobs' warm-ups of
//  minutes have almost no subtracted bins. The pull of warmup_z 0 is what
//  keeps the stitched series' other noise under the walk bar. A shorter
//  minimum warm-up (900 s instead of 1800 s), to count a deploy's first
//  half hour, made it worse: goal cell 2 %/h 27.9 h, 10 %/h 5.1 h, one more
//  false alarm on warmup (4): the profile's first bins are the noisiest.
//  A non-increasing fit of the profile (pool-adjacent-violators over the
//  bins from the minimum warm-up on, weighted by their seconds), so that a
//  flat profile's noise is pooled and the pull shrinks from about 0.4 x bins
//  to 0.8 x sqrt(bins) bin errors: the goal cell's stitched series drifted
//  by -8 % instead of -31 % of the level over the 44 h before the leak, and
//  2 %/h was found in 5.1 h median (goal 6 h), 10 %/h in 3.0 h, 1 %/h 11 of
//  12, 2 %/h 12 of 12; but false-alarm episodes rose to 6 on rolling, 7 on
//  warmup, 4 on warmup_leak and 4 on the goal cell (after the first day,
//  when the profile's reference switches to the lifetimes that started a
//  day before): the same trade as warmup_z, so not kept.
//  Tried with step 6 (training seeds, same runs): warmup_z 1 with walk_z 6
//  instead of 4 (a higher walk bar for the less biased series alone): goal
//  cell 5.6 h and 3.0 h, but 18 false-alarm episodes on warmup and 3 on
//  warmup_leak. walk_z 3 alone: goal cell 2 %/h 7.2 h (10 %/h 3.6 h), but 9
//  episodes on rolling and 9 before the leak in leak_1pct. The detector's
//  windows (confirm_time 0 or 15 m, mid_confirm 1, fast_ratio or mid_ratio
//  0.04, min_growth_ratio 0.03, min_history 12 h, the guards' drawdown
//  shares) left 10 %/h at 3.6-3.7 h: what holds it is the 26 h high the
//  drifted series must climb over, and 2 %/h moved to 7.2 h at best. Step 6
//  with sameage_z 2, its error from the blocks' spread only: goal cell 5.4 h
//  and 2.7 h, but 3 / 8 / 2 episodes on rolling / warmup / leak_1pct; with
//  the lifetimes' spread added: 1 / 7 / 1; with Student's t: warmup 6; with
//  the reference's noise added and no time-of-day matching: 1 / 3 / 1 (goal
//  cell 5.6 h and 2.8 h; seed 1 12.1 h and 2.7 h), the one rolling episode
//  a healthy rise of 25 % in 7 h on 4 replicas restarted every 2 h (the
//  stitched series of step 5 rose as much, under its drifted 26 h high),
//  which sameage_z 2.5 vetoes, and with it the 2 %/h gain. sameage_z 2.2
//  (corroborated_warmup_z 1 or 2): goal cell 2 %/h 7.2 h, still that
//  rolling episode. corroborated_warmup_z 0.5 / 2 at sameage_z 2.5 (goal
//  cell only): 10 %/h 3.05 / 2.77 h against 2.85 h. Time-of-day
//  matching within 2 h (for daily cycles): goal cell 2 %/h 7.2 h at
//  sameage_z 2 against 5.6 h without, from a reference a sixth as large.
//
// Before -> after the restart-drop corroboration (same runs, training seeds
// 2-3): false-alarm episodes unchanged on every family (warmup 3, leak_1pct
// 1 before its leak, the rest 0; goal cell 0); goal cell 2 %/h 9.20 ->
// 6.18 h median (max 13.92 -> 7.55 h), 10 %/h 2.85 h unchanged; leak_2pct
// 28.3 -> 21.9 h, leak_1pct found 8 -> 10 of 12. Held-out seed 1: false
// alarms 0 before and after, goal cell 2 %/h 18.0 -> 8.5 h (10 %/h 2.71 h
// unchanged). restartdrop_z 2.5 raised one 20-minute episode before the leak
// in a goal-cell job (a reference of 6 restarts on the first day, z 3.1);
// 3 and 3.5 keep 2 %/h at 6.35 / 6.60 h (from 3 recent restarts), and with
// any bar (0.01) 2 %/h stays at 6.35 h: the wait for restarts, not the bar,
// holds it. A 15-minute drop window instead of 30 changed nothing.
//
// growth_per_hour is the detector's robust growth when suspected, else the
// Theil–Sen slope of the stitched series' 15-minute means over the last 6 h:
// in both cases per process, not summed over the fleet.
//
// Cost: O(samples in the lookback) to build the increments and the stitched
// series, plus one SeriesDetector pass over lookback/step points (two or
// three when the mature veto or step 6 stitches another series). JudgeGroup
// is a pure function (no statics, no I/O): it may be called from several
// threads at once on distinct or shared const arguments.

#ifndef LEAKWATCH_JUDGE_FLEET_H_
#define LEAKWATCH_JUDGE_FLEET_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "judge/history.h"
#include "trend/params.h"

namespace leakwatch::judge {

struct FleetParams {
  // History judged: samples in (now - lookback_seconds, now]. At least a day
  // (the detector's min_history) plus a trend window (6 h) are needed before a
  // verdict can be suspected.
  double lookback_seconds = 2 * 86400;
  // The grid of the stitched series (one point per step).
  double step_seconds = 60;
  // Increments between grid points of one lifetime further apart are dropped.
  double max_gap_seconds = 600;
  // Increments are those of each lifetime's trailing mean over this long.
  double smooth_seconds = 900;
  // Increments at ages below min_warmup_seconds never count (start-up
  // transients); the pooled age profile (bins of warmup_bin_seconds) takes a
  // healthy warm-up out of the rest (see 3. above). With fewer than
  // warmup_min_bins well-covered age bins of lifetimes whose start is in
  // range, only ages beyond max_warmup_seconds count.
  double min_warmup_seconds = 1800;
  double max_warmup_seconds = 12 * 3600;
  double warmup_bin_seconds = 900;
  int warmup_min_bins = 4;
  // A bin of the profile's leading run counts as warm-up while it rises
  // faster than the profile's line by more than warmup_z x a bin's noise.
  double warmup_z = 0;
  // The age profile is that of the lifetimes that started more than this
  // before `now`, when they cover warmup_min_bins age bins (see ChooseWarmup).
  double reference_seconds = 86400;
  // The detector's absolute growth bar is at least walk_z x the stitched
  // series' random walk over a trend window (StitchedSeries::walk_sd).
  double walk_z = 4;
  // A verdict on a group whose pooled warm-up rises significantly (by more
  // than mature_z x a bin's noise above the line) beyond the minimum warm-up
  // needs the series stitched from the ages past that rise to be suspected
  // too (0 disables).
  double mature_z = 2;
  // The same-age corroboration (see 6. above): when the series stitched with
  // warmup_z = corroborated_warmup_z is suspected and the lifetimes started
  // within the last trend window grow faster than the reference lifetimes did
  // at the same ages (and times of day within sameage_tod_seconds; 43200 or
  // more ignores the time of day) by sameage_z (a normal quantile, raised to
  // Student's t for the number of recent lifetimes) x the comparison's
  // standard error, the group is suspected too. 0 disables.
  double sameage_z = 2.5;
  double corroborated_warmup_z = 1;
  double sameage_tod_seconds = 43200;
  // The restart-drop corroboration (see 6. above), an alternative to the
  // same-age one: the second series also counts when the in-place restarts
  // whose new lifetime started within the last trend window drop by more
  // than the reference restarts did, by restartdrop_z (a normal quantile,
  // raised to Student's t) x the comparison's standard error. 0 disables.
  double restartdrop_z = 3;
  // The detector that judges the stitched series (step 5): the in-process
  // production rules. Its min_growth is raised by walk_z as above.
  trend::Params detector = trend::ProductionPreset();
};

// One FleetParams field (but `detector`): its name, where it lives and its
// range. FleetParamFields() is the one list of them: SetFleetParam,
// ValidateFleetParams and FormatFleetParams walk it, so a new field is one
// entry there.
struct FleetParamField {
  const char* name;
  // Exactly one of the two is set.
  double FleetParams::*real = nullptr;
  int FleetParams::*integer = nullptr;
  double min = 0;              // the smallest value allowed
  bool min_exclusive = false;  // the value must be above `min`, not equal to it
};
absl::Span<const FleetParamField> FleetParamFields();

// Checks each field's range (FleetParamFields: finite, at or above its
// minimum), the relations between fields (step <= max_gap, min <= max
// warm-up, at most 1e6 grid points) and the detector's parameters
// (trend::ValidateParams); the error names the field.
absl::Status ValidateFleetParams(const FleetParams& params);

// Sets one field from text, `name=value`: a FleetParams field by its name
// (`min_warmup_seconds=900`) or a detector parameter as `detector.NAME=VALUE`
// with a name of trend::ParamFields() (`detector.confirm_time=15m`). For the
// evaluation's --set. Ranges are checked by ValidateFleetParams, not here.
absl::Status SetFleetParam(FleetParams& params, const std::string& assignment);

// Every field as `name=value` lines in FleetParamFields() order, then the
// detector's as `detector.name=value` (trend::FormatParams): what a run used,
// and a field-by-field comparison for tests.
std::string FormatFleetParams(const FleetParams& params);

struct FleetVerdict {
  bool suspected = false;
  double growth_per_hour = 0;  // robust growth per process per hour
  int instances = 0;           // distinct instances in the judged history
  int lifetimes = 0;           // process lifetimes in the judged history
  // The warm-up age chosen (step 3), seconds; 0 when nothing was judged.
  double warmup_seconds = 0;
  // The fleet's typical level per process (step 4).
  double level = 0;
};

// The stitched series of steps 1-4 (for tests and the evaluation's dumps).
struct StitchedSeries {
  std::vector<double> t;  // grid point times (centres), ascending
  std::vector<double> x;  // the stitched per-process series at those times
  int instances = 0;
  int lifetimes = 0;
  double warmup_seconds = 0;
  // The age by which the pooled warm-up is over.
  double mature_seconds = 0;
  double level = 0;
  // The standard deviation of the series' random walk over 6 h (the
  // lifetimes' changes that do not telescope), 0 with fewer than 3 lifetimes.
  double walk_sd = 0;
  // Step 6's same-age comparison (JudgeGroup's second series only; 0 from
  // StitchGroup): its excess rate over its standard error, 0 when it could
  // not be made.
  double sameage_z = 0;
  double sameage_rate = 0;    // its excess rate, relative to the level, per hour
  int sameage_lifetimes = 0;  // the recent lifetimes it compared
  // Step 6's restart-drop comparison (likewise): the recent restarts' excess
  // drop over the reference restarts' in standard errors, that excess per
  // hour of the old lifetimes' age (relative to the level), and the recent
  // and reference restarts compared.
  double restartdrop_z = 0;
  double restartdrop_rate = 0;
  int restartdrop_recent = 0;
  int restartdrop_reference = 0;
};
StitchedSeries StitchGroup(const GroupHistory& history, double now, const FleetParams& params);

// Judges `history` as of `now` (seconds since the epoch): samples after `now`
// are ignored, and so are those older than params.lookback_seconds. Pure
// function: thread-safe for distinct arguments, no I/O. Params that fail
// ValidateFleetParams, or a non-finite `now`, yield a default verdict (counts
// only). A lifetime whose `t` and `value` differ in size is judged on their
// common prefix.
FleetVerdict JudgeGroup(const GroupHistory& history, double now, const FleetParams& params);

// The fleet judgment's durations for a detector's windows, so that the judge
// judges on the time scale the detector was tuned for (one definition of the
// windows for the agent and the judge: leakwatch-judge --config). With the
// production preset this is FleetParams{} exactly; with trend::FastPreset()
// (config/demo.yaml: 10 s floors, a 3 m trend window, no day of history) a
// leak that restarts every few minutes is suspected within minutes. Each
// duration keeps its production proportion to the windows:
//   step_seconds       the larger of floor_window / 15 and `scrape_seconds`
//                      (a grid finer than the scrapes only repeats samples)
//   max_gap_seconds    10 steps
//   smooth_seconds, warmup_bin_seconds     one floor_window
//   min_warmup_seconds two floor_windows
//   max_warmup_seconds two trend_windows
//   reference_seconds  the longer of min_history and four trend_windows
//   lookback_seconds   reference_seconds plus four trend_windows, so that
//                      lifetimes older than the reference still show four
//                      trend windows of ages
// The other fields (warmup_min_bins, warmup_z, walk_z, mature_z and step
// 6's) are FleetParams' defaults; `detector` is `detector`. With the
// production preset this is FleetParams{} for any scrape interval up to a
// minute. Pure; check the result with ValidateFleetParams and
// ValidateGridStep.
FleetParams FleetParamsForDetector(const trend::Params& detector, double scrape_seconds);

// OK when every floor_window of `params.detector` holds at least one grid
// point of params.step_seconds; else an InvalidArgumentError naming both (a
// longer step leaves floors without points).
absl::Status ValidateGridStep(const FleetParams& params);

}  // namespace leakwatch::judge

#endif  // LEAKWATCH_JUDGE_FLEET_H_
