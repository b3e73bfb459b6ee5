#include "trend/params.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leakwatch::trend {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kDay = 24 * 3600;

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

struct Range {
  double min;
  bool min_excluded;
  double max;
  bool max_excluded;
};
constexpr Range AtLeast(double min) { return {min, false, kInf, false}; }
constexpr Range Above(double min) { return {min, true, kInf, false}; }
constexpr Range Between(double min, double max) { return {min, false, max, false}; }
// [0, 1): a share of a span that leaves some of it.
constexpr Range kShareBelowOne = {0, false, 1, true};

constexpr bool kKey = true;

ParamField Dur(absl::string_view name, ParamField::Duration field, Range r, bool key = false) {
  return {name, field, "duration", r.min, r.min_excluded, r.max, r.max_excluded, key};
}
ParamField Int(absl::string_view name, ParamField::Int field, absl::string_view unit, Range r,
               bool key = false) {
  return {name, field, unit, r.min, r.min_excluded, r.max, r.max_excluded, key};
}
ParamField Num(absl::string_view name, ParamField::Double field, absl::string_view unit, Range r,
               bool key = false) {
  return {name, field, unit, r.min, r.min_excluded, r.max, r.max_excluded, key};
}

// The one list of parameters. The order is --print-params' (kept from before
// the parameters were grouped by scale).
const std::vector<ParamField>& Table() {
  using P = Params;
  static const auto* const kTable = new std::vector<ParamField>{
      Dur(
          "floor_window", [](P& p) { return &p.floor_window; }, Above(0), kKey),
      Dur(
          "trend_window", [](P& p) { return &p.trend_window; }, Between(0, 30 * kDay), kKey),
      Int(
          "min_floors", [](P& p) { return &p.min_floors; }, "floors", AtLeast(3), kKey),
      Num(
          "z_threshold", [](P& p) { return &p.z_threshold; }, "z", Above(0), kKey),
      Num(
          "min_growth", [](P& p) { return &p.min_growth; }, "tasks", AtLeast(0), kKey),
      Num(
          "min_growth_ratio", [](P& p) { return &p.min_growth_ratio; }, "share of the level",
          AtLeast(0), kKey),
      Dur(
          "guard_window", [](P& p) { return &p.guard_window; }, AtLeast(0)),
      Dur(
          "min_history", [](P& p) { return &p.min_history; }, AtLeast(0)),
      Num(
          "guard_margin", [](P& p) { return &p.guard.margin; }, "share of the growth bar",
          AtLeast(0)),
      Num(
          "guard_drawdown", [](P& p) { return &p.guard.drawdown; }, "share of the drawdown",
          AtLeast(0)),
      Int(
          "spans", [](P& p) { return &p.spans; }, "spans", Between(1, 3)),
      Int(
          "min_span_floors", [](P& p) { return &p.min_span_floors; }, "floors", AtLeast(3)),
      Num(
          "post_shift_z", [](P& p) { return &p.post_shift_z; }, "z", AtLeast(0)),
      Num(
          "recent_z", [](P& p) { return &p.recent_z; }, "z", AtLeast(0)),
      Int(
          "min_post_floors", [](P& p) { return &p.min_post_floors; }, "floors", AtLeast(3)),
      Num(
          "post_trim", [](P& p) { return &p.post_trim; }, "share of the span", kShareBelowOne),
      Num(
          "max_lag_fraction", [](P& p) { return &p.max_lag_fraction; }, "share of the span",
          Between(0, 1)),
      Num(
          "clear_z", [](P& p) { return &p.clear_z; }, "z", AtLeast(0)),
      Int(
          "guard_rank", [](P& p) { return &p.guard_rank; }, "rank", AtLeast(1)),
      Dur(
          "confirm_time", [](P& p) { return &p.confirm_time; }, AtLeast(0)),
      Dur(
          "fast_floor_window", [](P& p) { return &p.fast_floor_window; }, AtLeast(0)),
      Dur(
          "fast_span", [](P& p) { return &p.fast.span; }, AtLeast(0)),
      Int(
          "mid_confirm", [](P& p) { return &p.mid.confirm; }, "floors", AtLeast(1)),
      Dur(
          "jump_window", [](P& p) { return &p.shape.jump_window; }, AtLeast(0)),
      Num(
          "jump_bar_share", [](P& p) { return &p.shape.jump_bar_share; }, "share of the growth bar",
          AtLeast(0)),
      Num(
          "regime_shift", [](P& p) { return &p.regime.step.shift; }, "share of the level",
          AtLeast(0)),
      Num(
          "noise_k", [](P& p) { return &p.shape.noise_k; }, "x jitter", AtLeast(0)),
      Dur(
          "regime_history", [](P& p) { return &p.regime.history; }, AtLeast(0)),
      Num(
          "fast_z", [](P& p) { return &p.fast.z; }, "z", Above(0)),
      Num(
          "fast_ratio", [](P& p) { return &p.fast.growth_ratio; }, "share of the level",
          AtLeast(0)),
      Dur(
          "mid_span", [](P& p) { return &p.mid.span; }, AtLeast(0)),
      Num(
          "mid_z", [](P& p) { return &p.mid.z; }, "z", Above(0)),
      Num(
          "mid_ratio", [](P& p) { return &p.mid.growth_ratio; }, "share of the level", AtLeast(0)),
      Num(
          "jump_share", [](P& p) { return &p.shape.jump_share; }, "share of the growth", Above(0)),
      Num(
          "half_share", [](P& p) { return &p.shape.half_share; }, "share of the slope", AtLeast(0)),
      Num(
          "post_growth_share", [](P& p) { return &p.post_growth_share; }, "share of the growth bar",
          AtLeast(0)),
      Int(
          "fast_confirm", [](P& p) { return &p.fast.confirm; }, "fine floors", AtLeast(1)),
      Num(
          "fast_guard_margin", [](P& p) { return &p.fast.guard.margin; }, "share of the growth bar",
          AtLeast(0)),
      Num(
          "mid_guard_margin", [](P& p) { return &p.mid.guard.margin; }, "share of the growth bar",
          AtLeast(0)),
      Num(
          "fast_guard_drawdown", [](P& p) { return &p.fast.guard.drawdown; },
          "share of the drawdown", AtLeast(0)),
      Num(
          "mid_guard_drawdown", [](P& p) { return &p.mid.guard.drawdown; }, "share of the drawdown",
          AtLeast(0)),
      Int(
          "floor_parts", [](P& p) { return &p.floor_parts; }, "slices", Between(0, 64)),
      Int(
          "fast_floor_parts", [](P& p) { return &p.fast_floor_parts; }, "slices", Between(0, 64)),
      Num(
          "regime_noise_k", [](P& p) { return &p.regime.step.noise_k; }, "x jitter", AtLeast(0)),
      Num(
          "regime_min", [](P& p) { return &p.regime.min_rise; }, "tasks", AtLeast(0)),
      Int(
          "regime_floors", [](P& p) { return &p.regime.step.floors; }, "floors", AtLeast(1)),
      Num(
          "regime_abrupt_shift", [](P& p) { return &p.regime.abrupt.shift; }, "share of the level",
          AtLeast(0)),
      Int(
          "regime_abrupt_floors", [](P& p) { return &p.regime.abrupt.floors; }, "floors",
          AtLeast(1)),
      Num(
          "regime_abrupt_noise_k", [](P& p) { return &p.regime.abrupt.noise_k; }, "x jitter",
          AtLeast(0)),
      Num(
          "regime_guard_k", [](P& p) { return &p.regime.guard_k; }, "x deviation", AtLeast(0)),
      Dur(
          "regime_min_history", [](P& p) { return &p.regime.min_history; }, AtLeast(0)),
  };
  return *kTable;
}

const ParamField* FindField(absl::string_view name) {
  for (const ParamField& field : Table()) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

// Renders a field's bound or value in its own unit.
std::string ValueText(const ParamField& field, double value, const ProblemStyle& style) {
  if (!std::isfinite(value)) return absl::StrCat(value);
  if (std::holds_alternative<ParamField::Duration>(field.field)) {
    const absl::Duration d = absl::Seconds(value);
    return style.duration_text != nullptr ? style.duration_text(d) : absl::FormatDuration(d);
  }
  if (std::holds_alternative<ParamField::Int>(field.field)) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

bool InRange(const ParamField& field, double value) {
  if (!std::isfinite(value)) return false;
  if (field.min_excluded ? !(value > field.min) : !(value >= field.min)) return false;
  return field.max_excluded ? value < field.max : value <= field.max;
}

// "must be ..." for `value`, outside the field's range: the bound it broke.
std::string RangeText(const ParamField& field, double value, const ProblemStyle& style) {
  const bool is_int = std::holds_alternative<ParamField::Int>(field.field);
  const bool is_double = std::holds_alternative<ParamField::Double>(field.field);
  const std::string min = ValueText(field, field.min, style);
  const std::string max = ValueText(field, field.max, style);
  if (is_int && std::isfinite(field.max)) {
    return absl::StrCat("must be between ", min, " and ", max);
  }
  const bool too_high =
      std::isfinite(value) && (field.max_excluded ? value >= field.max : value > field.max);
  const std::string kind = is_double ? "a finite number " : "";
  if (too_high) {
    const char* bound = field.max_excluded ? "below " : is_double ? "of at most " : "at most ";
    return absl::StrCat("must be ", kind, bound, max);
  }
  if (field.min_excluded) {
    if (field.min == 0 && !is_double) return "must be positive";
    return absl::StrCat("must be ", kind, "above ", min);
  }
  return absl::StrCat("must be ", kind, is_double ? "of at least " : "at least ", min);
}

std::optional<ParamProblem> RangeProblem(const Params& p, const ProblemStyle& style) {
  for (const ParamField& field : Table()) {
    if (style.keys_only && !field.config_key) continue;
    const double value = ParamValue(field, p);
    if (!InRange(field, value)) {
      return ParamProblem{
          std::string(field.name), "",
          absl::StrCat(RangeText(field, value, style), ", got ", ValueText(field, value, style))};
    }
  }
  return std::nullopt;
}

// Whole floor_windows in a trend_window.
int64_t WholeFloors(const Params& p) {
  absl::Duration remainder;
  return absl::IDivDuration(p.trend_window, p.floor_window, &remainder);
}

// The relations among the configuration keys.
std::optional<ParamProblem> KeyRelationProblem(const Params& p, const ProblemStyle& style) {
  auto text = [&](absl::Duration d) {
    return style.duration_text != nullptr ? style.duration_text(d) : absl::FormatDuration(d);
  };
  const std::string floor_window = absl::StrCat(style.prefix, "floor_window");
  if (p.trend_window < 2 * p.floor_window) {
    return ParamProblem{"trend_window", "floor_window",
                        absl::StrCat("must be at least twice ", floor_window, " (2 x ",
                                     text(p.floor_window), "), got ", text(p.trend_window))};
  }
  if (p.trend_window > kMaxFloors * p.floor_window) {
    return ParamProblem{
        "trend_window", "floor_window",
        absl::StrCat("must be at most ", kMaxFloors, " x ", floor_window, " (",
                     text(kMaxFloors * p.floor_window), "), got ", text(p.trend_window))};
  }
  const int64_t floors = WholeFloors(p);
  if (p.min_floors > floors) {
    return ParamProblem{"min_floors", "trend_window",
                        absl::StrCat("must be at most ", style.prefix, "trend_window / ",
                                     floor_window, " (", floors, "), got ", p.min_floors)};
  }
  return std::nullopt;
}

// The relations that involve derived fields.
std::optional<ParamProblem> OtherRelationProblem(const Params& p, const ProblemStyle& style) {
  auto problem = [&](absl::string_view name, absl::string_view related, auto... message) {
    return ParamProblem{std::string(name), std::string(related),
                        absl::StrCat("must be ", message...)};
  };
  const std::string pre(style.prefix);
  if (p.guard_window > absl::ZeroDuration() && p.min_history > p.guard_window) {
    return problem("min_history", "guard_window", "at most ", pre, "guard_window");
  }
  for (const auto& [name, span] : {std::pair<const char*, absl::Duration>{"fast_span", p.fast.span},
                                   {"mid_span", p.mid.span}}) {
    if (span > p.trend_window)
      return problem(name, "trend_window", "at most ", pre, "trend_window");
  }
  if (p.fast.span > absl::ZeroDuration() &&
      (p.fast_floor_window <= absl::ZeroDuration() || p.fast_floor_window > p.floor_window ||
       p.fast.span / p.fast_floor_window > 1024)) {
    return problem("fast_floor_window", "fast_span", "positive, at most ", pre,
                   "floor_window, and at least ", pre, "fast_span / 1024");
  }
  const int64_t floors = WholeFloors(p);
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"regime_floors", p.regime.step.floors},
        {"regime_abrupt_floors", p.regime.abrupt.floors}}) {
    if (value > floors) {
      return problem(name, "trend_window", "at most ", pre, "trend_window / ", pre,
                     "floor_window (", floors, "), got ", value);
    }
  }
  return std::nullopt;
}

}  // namespace

Params ProductionPreset() { return Params(); }

Params FastPreset() {
  Params demo;
  demo.floor_window = absl::Seconds(10);
  demo.trend_window = absl::Minutes(3);
  demo.min_floors = 6;
  demo.z_threshold = 2.33;
  demo.min_growth = 3;
  demo.min_growth_ratio = 0.05;
  return ParamsForWindows(demo);
}

Params ParamsForWindows(Params p) {
  // Hour-scale windows watch services with daily cycles: a rise is judged only
  // against a full day of history. Minute-scale (demo) windows are not. Nor is
  // a minute-scale window's steep rise taken for a deploy step: a demo leak
  // grows by its whole level every few floors. And without a day of history to
  // have seen a burst before, a minute-scale window keeps floors that hide
  // bursts: the lowest of three slice means.
  if (p.trend_window < absl::Hours(1)) {
    p.min_history = absl::ZeroDuration();
    p.regime.step.shift = 0;
    p.floor_parts = 3;
    p.fast_floor_parts = 3;
  }
  p.confirm_time = p.trend_window / 12;
  // The production proportions to the windows: 7.5 m fine floors under 15 m
  // floors, a 135 m fast span and a 16-floor mid scale in a 6 h window, steps
  // judged over an hour (and half an hour), a 12 h regime.
  const double floors = Seconds(p.trend_window) / Seconds(p.floor_window);
  auto share_of_floors = [&](double per_24) { return std::lround(floors * per_24 / 24); };
  p.fast_floor_window = p.floor_window / 2;
  p.fast.span = p.trend_window * 0.375;
  p.shape.jump_window = p.floor_window * 2;
  p.mid.span = p.floor_window * share_of_floors(16);
  p.regime.step.floors = std::max(1, static_cast<int>(share_of_floors(4)));
  p.regime.abrupt.floors = std::max(1, static_cast<int>(share_of_floors(2)));
  p.regime.history = p.trend_window * 2;
  p.regime.min_history = p.trend_window / 3;
  return p;
}

absl::Span<const ParamField> ParamFields() { return Table(); }

double ParamValue(const ParamField& field, const Params& params) {
  // The accessors only read here.
  Params& p = const_cast<Params&>(params);
  if (auto* f = std::get_if<ParamField::Duration>(&field.field)) return Seconds(*(*f)(p));
  if (auto* f = std::get_if<ParamField::Int>(&field.field)) return *(*f)(p);
  return *std::get<ParamField::Double>(field.field)(p);
}

std::optional<ParamProblem> FindParamProblem(const Params& params, const ProblemStyle& style) {
  if (std::optional<ParamProblem> problem = RangeProblem(params, style)) return problem;
  if (std::optional<ParamProblem> problem = KeyRelationProblem(params, style)) return problem;
  if (style.keys_only) return std::nullopt;
  return OtherRelationProblem(params, style);
}

absl::Status ValidateParams(const Params& params) {
  const std::optional<ParamProblem> problem = FindParamProblem(params);
  if (!problem) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(problem->name, ": ", problem->message));
}

absl::Status SetParam(Params& params, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", assignment, "\" is not name=value"));
  }
  const std::string name = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const ParamField* field = FindField(name);
  if (field == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown detector parameter \"", name, "\""));
  }
  bool parsed;
  absl::string_view expected;
  if (auto* f = std::get_if<ParamField::Duration>(&field->field)) {
    parsed = absl::ParseDuration(text, (*f)(params));
    expected = "a duration (use 10s, 15m, 6h)";
  } else if (auto* f = std::get_if<ParamField::Int>(&field->field)) {
    parsed = absl::SimpleAtoi(text, (*f)(params));
    expected = "an integer";
  } else {
    parsed = absl::SimpleAtod(text, std::get<ParamField::Double>(field->field)(params));
    expected = "a number";
  }
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": \"", text, "\" is not ", expected));
  }
  return absl::OkStatus();
}

std::string FormatParams(const Params& params) {
  std::string out;
  Params& p = const_cast<Params&>(params);  // the accessors only read here
  for (const ParamField& field : Table()) {
    absl::StrAppend(&out, field.name, "=");
    if (auto* f = std::get_if<ParamField::Duration>(&field.field)) {
      absl::StrAppend(&out, absl::FormatDuration(*(*f)(p)), "\n");
    } else if (auto* f = std::get_if<ParamField::Int>(&field.field)) {
      absl::StrAppend(&out, *(*f)(p), "\n");
    } else {
      absl::StrAppend(&out, *std::get<ParamField::Double>(field.field)(p), "\n");
    }
  }
  return out;
}

}  // namespace leakwatch::trend
