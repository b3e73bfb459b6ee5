// tools/trend/eval.h — `leakwatch-trend --eval DIR`: scores the detector and the
// baseline rules on a labelled scenario set.
//
// DIR holds `labels.csv` with the header `file,family,leak_start`: one row per
// scenario, `file` a series CSV relative to DIR (see series_csv.h), `leak_start`
// the time the leak begins in seconds, or `none` for a healthy series. Every
// detector sees every row of every series; per family and detector the result
// holds:
//   recall          leaking series flagged at or after the leak start / leaking series
//   FA per day      alarm episodes (maximal runs of "suspected") that start before
//                   the leak, or anywhere in a healthy series, per series-day of
//                   that exposure
//   median latency  hours from the leak start to the first flagged row
//
//   absl::StatusOr<std::vector<FamilyScore>> s = EvaluateScenarioSet(dir, params);
//
// Thread-safety: no shared state (each call reads its own files and builds its own detectors), so
// calls may run concurrently; a FamilyScore is a plain value.

#ifndef LEAKWATCH_TOOLS_TREND_EVAL_H_
#define LEAKWATCH_TOOLS_TREND_EVAL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trend/detector.h"

namespace leakwatch::trendtool {

// The detectors scored, in output order: a short id and a label.
inline constexpr const char* kDetectorIds[] = {"leakwatch", "ols-1h", "promql-fallback"};
inline constexpr const char* kDetectorNames[] = {
    "leakwatch", "ols-1h (predict_linear style, for: 1h)",
    "promql-fallback (alerts/ rule, approximated in C++)"};
inline constexpr int kDetectors = 3;

struct DetectorScore {
  int leaking_series = 0;
  int detected = 0;
  int false_alarm_episodes = 0;
  double exposure_days = 0;       // series-days in which an alarm is false
  std::vector<double> latencies;  // hours, one per detected series
  double Recall() const;
  double FalseAlarmsPerSeriesDay() const;
  double MedianLatencyHours() const;  // NaN when nothing was detected
  double QuantileLatencyHours(double q) const;
};

struct FamilyScore {
  std::string family;
  int series = 0;
  bool leaking = false;
  DetectorScore detectors[kDetectors];
};

// Runs every scenario of DIR. Errors name the file and line.
absl::StatusOr<std::vector<FamilyScore>> EvaluateScenarioSet(const std::string& dir,
                                                             const trend::Params& params);

// A Markdown table (one row per family and detector).
std::string FormatScoresTable(const std::vector<FamilyScore>& scores);
// CSV: family,leaking,series,detector,recall,fa_episodes,exposure_days,
// fa_per_series_day,detected,median_latency_h,p90_latency_h,label (detector is
// the short id, label the quoted description)
std::string FormatScoresCsv(const std::vector<FamilyScore>& scores);

}  // namespace leakwatch::trendtool

#endif  // LEAKWATCH_TOOLS_TREND_EVAL_H_
