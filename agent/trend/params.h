// trend/params.h — the detector's parameters: one struct per time scale,
// composed into Params, and one table of every parameter behind `--set`,
// `--print-params` and the validation.
//
// Each parameter is defined once: its default and its meaning here, on its
// member; its name (as `leakwatch-trend --set` and `--print-params` spell it),
// unit and range once, in the table of params.cc (ParamFields()). Nothing else
// lists the parameters: SetParam, FormatParams and ValidateParams walk the
// table, and the config layer (config/detector_params.h) maps the six
// `detector.*` keys onto the fields the table marks as keys, taking their
// defaults and ranges from here.
//
// The numbers in the comments are what the scenario benchmark (tests/trend,
// `leakwatch-trend --eval`) measured when each rule was chosen; the numbered
// steps refer to the method in trend/detector.h.
//
// Thread-safety: Params is a plain value; the functions touch only their arguments and are safe
// from any thread (ParamFields' table is built once, on first use, and never changed).

#ifndef LEAKWATCH_TREND_PARAMS_H_
#define LEAKWATCH_TREND_PARAMS_H_

#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace leakwatch::trend {

// The new-high guard's margin on one scale (4.): the level must exceed the
// guard's reference by max(margin x the scale's growth bar, drawdown x the
// largest drawdown (a fall from a running peak) of the guard's history). A
// series that swings daily or drains periodically must beat its previous peak
// by a share of its swing; a flat or leaking one, which never falls far, only
// by the margin.
struct GuardMargin {
  double margin;
  double drawdown;
};

// One short scale (5.), judged on its own: the fast and the mid scale have this
// shape. The scale counts only when the latest `span` of its floors rises with
// a Mann–Kendall z of at least `z`, by at least max(min_growth, growth_ratio x
// the median floor of the trend window, ShapeTest::noise_k x the floors'
// jitter), spread as ShapeTest asks, to a new high by `guard`; and only after
// `confirm` consecutive floors of such evidence.
struct ShortScale {
  absl::Duration span;  // zero disables the scale
  double z;
  double growth_ratio;
  int confirm;
  GuardMargin guard;
};

// The shape test of the short scales (5.): a scale counts only when its rise is
// spread over it, as a leak's is and a step's (one jump, then a plateau) is
// not: no third of the scale (the median of its floors) is lower than the one
// before it; the Theil–Sen slope of the recent half reaches `half_share` x the
// slope of the whole scale (a step's ramp has ended on a plateau, a leak keeps
// its rate); and no rise within `jump_window` exceeds `jump_share` x the
// scale's growth (1 disables), nor `jump_bar_share` x its growth bar (0
// disables): a leak fast enough to rise that much within a jump_window is left
// to the longer scales, which see whether a plateau follows.
struct ShapeTest {
  // A short scale's growth bar is at least noise_k x the noise of its floors
  // (from the median step between neighbours). 0 disables.
  double noise_k = 4;
  double half_share = 0.7;
  double jump_share = 0.8;
  absl::Duration jump_window = absl::Minutes(30);
  double jump_bar_share = 3;
};

// A step rule (6.): a rise between floors `floors` apart of max(shift x the
// earlier floor, noise_k x the floors' jitter, Regime::min_rise) is a step.
struct StepRule {
  double shift;  // 0 disables the rule
  int floors;
  double noise_k;
};

// New regimes (6. and 8.).
struct Regime {
  // A rise of 20 % within an hour (4 floors) is a step (a deploy, a resized
  // pool: a leak that fast would rise several times its growth bar per hour);
  // for `history` after it nothing shows evidence, since the guard's history
  // has not yet seen the new level's own excursions. The hour: a deploy's ramp
  // can take half an hour, and the floors lag it. ParamsForWindows derives the
  // floors as 1/6 of the window's floors. A zero shift disables the regime
  // rule (and the step test of the short scales).
  StepRule step = {0.2, 4, 4};
  // An abrupt step: a rise of 12 % within half an hour (and 5 x the jitter)
  // also starts a new regime when the floors before it did not swing (see
  // guard_k: a daily cycle's morning rise is not a step). Deploys whose step
  // reads as 15 % through the floors' wander slipped under the step rule and
  // were the commonest false alarm left; a 10 %/h leak rises 5 % in half an
  // hour. ParamsForWindows derives the floors as 1/12 of the window's floors.
  StepRule abrupt = {0.12, 2, 5};
  // Either rule's rise must also be at least this many tasks.
  double min_rise = 3;
  absl::Duration history = absl::Hours(12);
  // Early judgment in a new regime (after a step, or after a process restart)
  // instead of waiting `history` (or min_history after a restart). When a full
  // min_history of floors preceded the regime and their highest floor rose less
  // than step.shift above their median (around a Theil–Sen line, so a leak's
  // growth does not count; a daily cycle's swing does), their robust deviation
  // (1.4826 x MAD, relative to the median) is carried into it: a series that
  // wandered before will wander as much after. Once `min_history` of floors of
  // the new regime precede a span wholly inside it, that span is judged against
  // the new regime's history alone, with the new-high margin raised by guard_k
  // x the carried deviation x the new regime's median floor. 0 disables.
  double guard_k = 2.0;
  absl::Duration min_history = absl::Hours(2);
};

// Every parameter of a SeriesDetector. The defaults are the production preset
// (a default leakwatch::Config); the trend window is the longest scale.
struct Params {
  // The `detector.*` configuration keys (config/leakwatch.yaml).
  absl::Duration floor_window = absl::Minutes(15);
  absl::Duration trend_window = absl::Hours(6);
  int min_floors = 12;
  double z_threshold = 3.09;
  double min_growth = 20;
  double min_growth_ratio = 0.05;

  // Not configuration keys: ParamsForWindows derives those marked so from the
  // keys; code and `leakwatch-trend --set` may override any of them.

  // Floors (1.) are the lowest of the means of this many equal slices of their
  // window (trend/floors.h); 1 = the window's mean; 0 = the lowest sample.
  // Minute-scale windows use 3.
  int floor_parts = 1;

  // The trend window's spans (2., 3.). Spans judged: 1 = the whole window; 2 =
  // also its recent half; 3 = also its recent quarter. A span shorter than
  // min_span_floors floors is not judged.
  int spans = 3;
  int min_span_floors = 12;
  // Growth is the Theil–Sen slope over pairs at most this fraction of a span
  // apart (0 = all pairs): short lags keep a single step from reading as growth.
  double max_lag_fraction = 0;
  // After the largest level shift inside a judged span, the floors must still
  // rise with at least this z: a single jump followed by a plateau is not a
  // leak. 0 disables (the regime rule has made it unnecessary).
  double post_shift_z = 0;
  // Floors needed after the largest level shift before a span is judged; the
  // first `post_trim` of them (the end of the transition) are not used.
  int min_post_floors = 4;
  double post_trim = 0.34;
  // The rise after the largest shift, over the time the shift has lasted (not
  // extrapolated to the span), must reach this fraction of the growth bar: a
  // step followed by a slow drift is not a leak. 0 disables.
  double post_growth_share = 0.5;
  // The most recent third of a judged span (at least 4 floors) must itself rise
  // with at least this z: a step is followed by a plateau, a leak keeps
  // climbing. 0 disables.
  double recent_z = 1.0;

  // The new-high guard (4.). How far back it looks (covers a daily cycle; zero
  // disables it), and how much history must precede a judged span (a day, so
  // that a daily peak has been seen; zero judges against whatever exists).
  absl::Duration guard_window = absl::Hours(26);
  absl::Duration min_history = absl::Hours(24);
  // The trend window's margin over the guard's reference.
  GuardMargin guard = {0.75, 0.25};
  // The reference is the k-th highest floor of the history (1 = the highest):
  // a recurring peak fills many guard bins, a one-off noise extreme only one.
  int guard_rank = 1;

  // Confirmation (7.): evidence must still hold this long after it first
  // appeared, and the level must by then exceed every floor of the
  // confirm_time before that moment. Zero suspects at once. Derived as
  // trend_window / 12.
  absl::Duration confirm_time = absl::Minutes(30);
  // Hysteresis (9.): while suspected, the window still "grows" when its z
  // reaches this.
  double clear_z = 1.64;

  // The short scales (5.). The fast scale judges fine floors, one per
  // fast_floor_window (derived as floor_window / 2), each the lowest mean of
  // fast_floor_parts slices (as floor_parts; 1 = the mean: with minima of three
  // slices, a leak on 200 tasks needed 2.2 h at 10 %/h against 1.5 h on 1,000).
  // Its span is derived as 0.375 x trend_window. Its guard compares fine floors
  // with fine floors of the past (means with means), and wants half of the
  // history's swing: means rise with every queue that a periodic drain
  // empties; with a quarter, 2 of 4,000 sawtooth series alarmed.
  absl::Duration fast_floor_window = absl::Seconds(450);
  int fast_floor_parts = 1;
  ShortScale fast = {absl::Minutes(135), 2.0, 0.065, 1, {1.0, 0.5}};
  // The mid scale judges the latest floors over its span (derived as 2/3 of
  // the trend window; a whole number of floor_windows). Its growth ratio is
  // 0.06 (0.04 with floors of slice minima; means, less noisy, need more
  // against hours of upward wander), and three consecutive floors of evidence
  // are needed (two alarmed on 6 of 12,800 healthy series of seeds 20-35).
  ShortScale mid = {absl::Hours(4), 2.0, 0.06, 3, {0.75, 0.25}};
  ShapeTest shape;

  Regime regime;
};

// The documented presets. Production equals a default Config.
Params ProductionPreset();
// Minutes instead of hours, for the demo and for tests: the windows of
// config/demo.yaml (floor_window 10s, trend_window 3m, min_floors 6,
// z_threshold 2.33, min_growth 3, min_growth_ratio 0.05) through
// ParamsForWindows.
Params FastPreset();

// `p` with the fields that depend on its windows (floor_window, trend_window)
// chosen to match; the others are left as given. A trend window of an hour or
// more is judged against a daily cycle (guard 26 h, min_history 24 h), steps
// start a new regime and floors are means; shorter windows (demos) are judged
// against everything seen since the process started, with no history
// required, no regime rule, and floors that are slice minima. The short
// scales, the step rules' spans and the confirmation time keep the production
// proportions to the windows.
Params ParamsForWindows(Params p);

// The largest trend_window / floor_window supported: one trend window of
// floors is kept per series.
inline constexpr int kMaxFloors = 4096;

// One parameter: how `--set` and `--print-params` name it, where it lives in
// Params, its unit and its range (durations in seconds). A double must also be
// finite, a duration finite.
struct ParamField {
  using Duration = absl::Duration* (*)(Params&);
  using Int = int* (*)(Params&);
  using Double = double* (*)(Params&);
  absl::string_view name;
  std::variant<Duration, Int, Double> field;
  absl::string_view unit;
  double min;
  bool min_excluded;  // the range starts just above min
  double max;
  bool max_excluded;  // the range ends just below max
  bool config_key;    // one of the `detector.*` configuration keys
};

// The field's value in `params`, durations in seconds.
double ParamValue(const ParamField& field, const Params& params);

// Every parameter, in the order FormatParams prints them.
absl::Span<const ParamField> ParamFields();

// What is wrong with a Params: the field (as named in ParamFields), a related
// field when a relation between two is broken (else empty), and a message
// such as "must be at least 3, got 2".
struct ParamProblem {
  std::string name;
  std::string related;
  std::string message;
};

// How FindParamProblem words and limits its answer.
struct ProblemStyle {
  // Written before every field name in messages ("detector." for the config).
  absl::string_view prefix = "";
  // Renders durations in messages; null = absl::FormatDuration.
  std::string (*duration_text)(absl::Duration) = nullptr;
  // Only the configuration keys' ranges and the relations among them.
  bool keys_only = false;
};

// The first problem with `params` (each field's range in ParamFields order,
// then the relations between fields), or nullopt.
std::optional<ParamProblem> FindParamProblem(const Params& params, const ProblemStyle& style = {});

// OK, or an InvalidArgumentError "name: message" for FindParamProblem's answer.
absl::Status ValidateParams(const Params& params);

// Sets one field from text, as `name=value` with a name of ParamFields();
// durations use absl syntax ("15m", "6h"). For leakwatch-trend's --set. The
// value's range is checked by ValidateParams, not here.
absl::Status SetParam(Params& params, const std::string& assignment);

// Renders every field, one `name=value` per line.
std::string FormatParams(const Params& params);

}  // namespace leakwatch::trend

#endif  // LEAKWATCH_TREND_PARAMS_H_
