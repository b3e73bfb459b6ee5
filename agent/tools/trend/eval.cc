#include "eval.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "baselines.h"
#include "series_csv.h"

namespace leakwatch::trendtool {
namespace {

constexpr double kDay = 86400;

struct Label {
  std::string file;
  std::string family;
  std::optional<double> leak_start;
};

absl::StatusOr<std::vector<Label>> ReadLabels(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "labels.csv").string();
  absl::StatusOr<std::string> text = ReadInput(path);
  if (!text.ok()) return text.status();
  std::vector<Label> labels;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (line_number == 1 && line == "file,family,leak_start") continue;
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", line_number, ": ", what));
    };
    if (fields.size() != 3) return error("expected file,family,leak_start");
    Label label{fields[0], fields[1], std::nullopt};
    if (label.file.empty() || label.family.empty()) return error("empty file or family");
    if (fields[2] != "none") {
      double start;
      if (!absl::SimpleAtod(fields[2], &start) || !std::isfinite(start)) {
        return error(absl::StrCat("leak_start \"", fields[2], "\" is neither a time nor none"));
      }
      label.leak_start = start;
    }
    labels.push_back(std::move(label));
  }
  if (labels.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no scenarios"));
  return labels;
}

// Scores one detector's per-row verdicts on one series.
void Score(const std::vector<SeriesRow>& rows, const std::vector<bool>& suspected,
           const std::optional<double>& leak_start, DetectorScore& score) {
  const double first = rows.front().t;
  const double step = rows.size() > 1 ? (rows.back().t - first) / (rows.size() - 1) : 0;
  const double end = rows.back().t + step;
  const double fa_until = leak_start ? std::min(*leak_start, end) : end;
  score.exposure_days += std::max(0.0, fa_until - first) / kDay;
  bool detected = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!suspected[i]) continue;
    const bool starts_episode = i == 0 || !suspected[i - 1];
    if (starts_episode && rows[i].t < fa_until) ++score.false_alarm_episodes;
    if (leak_start && !detected && rows[i].t >= *leak_start) {
      detected = true;
      score.latencies.push_back((rows[i].t - *leak_start) / 3600);
    }
  }
  if (leak_start) {
    ++score.leaking_series;
    if (detected) ++score.detected;
  }
}

std::string Number(double v, int digits) {
  if (std::isnan(v)) return "-";
  return absl::StrFormat("%.*f", digits, v);
}

}  // namespace

double DetectorScore::Recall() const {
  return leaking_series == 0 ? std::numeric_limits<double>::quiet_NaN()
                             : static_cast<double>(detected) / leaking_series;
}

double DetectorScore::FalseAlarmsPerSeriesDay() const {
  return exposure_days == 0 ? std::numeric_limits<double>::quiet_NaN()
                            : false_alarm_episodes / exposure_days;
}

double DetectorScore::QuantileLatencyHours(double q) const {
  if (latencies.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  const double position = q * (sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

double DetectorScore::MedianLatencyHours() const { return QuantileLatencyHours(0.5); }

absl::StatusOr<std::vector<FamilyScore>> EvaluateScenarioSet(const std::string& dir,
                                                             const trend::Params& params) {
  absl::StatusOr<std::vector<Label>> labels = ReadLabels(dir);
  if (!labels.ok()) return labels.status();
  std::vector<FamilyScore> scores;
  std::map<std::string, size_t> index;
  std::vector<bool> verdicts[kDetectors];
  for (const Label& label : *labels) {
    const std::string path = (std::filesystem::path(dir) / label.file).string();
    absl::StatusOr<std::string> text = ReadInput(path);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<SeriesRow>> rows = ParseSeriesCsv(*text);
    if (!rows.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", rows.status().message()));
    }
    if (rows->empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no rows"));

    auto [it, added] = index.emplace(label.family, scores.size());
    if (added) {
      scores.emplace_back();
      scores.back().family = label.family;
    }
    FamilyScore& family = scores[it->second];
    ++family.series;
    family.leaking = family.leaking || label.leak_start.has_value();

    trend::SeriesDetector detector(params);
    OlsBaseline ols(absl::ToDoubleSeconds(params.trend_window), params.min_growth,
                    params.min_growth_ratio);
    PromqlFallbackBaseline promql;
    for (std::vector<bool>& v : verdicts) v.assign(rows->size(), false);
    for (size_t i = 0; i < rows->size(); ++i) {
      const SeriesRow& r = (*rows)[i];
      verdicts[0][i] = detector.Add(r.t, r.value, r.process_start).suspected;
      verdicts[1][i] = ols.Add(r.t, r.value, r.process_start);
      verdicts[2][i] = promql.Add(r.t, r.value, r.process_start);
    }
    for (int d = 0; d < kDetectors; ++d) {
      Score(*rows, verdicts[d], label.leak_start, family.detectors[d]);
    }
  }
  return scores;
}

std::string FormatScoresTable(const std::vector<FamilyScore>& scores) {
  std::string out =
      "| family | series | detector | recall | FA episodes / series-day | median latency h | "
      "p90 latency h |\n|---|---|---|---|---|---|---|\n";
  for (const FamilyScore& f : scores) {
    for (int d = 0; d < kDetectors; ++d) {
      const DetectorScore& s = f.detectors[d];
      absl::StrAppend(&out, "| ", f.family, f.leaking ? "" : " (healthy)", " | ", f.series, " | ",
                      kDetectorNames[d], " | ", f.leaking ? Number(s.Recall(), 2) : "-", " | ",
                      Number(s.FalseAlarmsPerSeriesDay(), 3), " | ",
                      Number(s.MedianLatencyHours(), 2), " | ",
                      Number(s.QuantileLatencyHours(0.9), 2), " |\n");
    }
  }
  return out;
}

std::string FormatScoresCsv(const std::vector<FamilyScore>& scores) {
  std::string out =
      "family,leaking,series,detector,recall,fa_episodes,exposure_days,fa_per_series_day,"
      "detected,median_latency_h,p90_latency_h,label\n";
  for (const FamilyScore& f : scores) {
    for (int d = 0; d < kDetectors; ++d) {
      const DetectorScore& s = f.detectors[d];
      absl::StrAppend(&out, f.family, ",", f.leaking ? 1 : 0, ",", f.series, ",", kDetectorIds[d],
                      ",", f.leaking ? Number(s.Recall(), 4) : "", ",", s.false_alarm_episodes, ",",
                      Number(s.exposure_days, 3), ",", Number(s.FalseAlarmsPerSeriesDay(), 4), ",",
                      s.detected, ",", Number(s.MedianLatencyHours(), 3), ",",
                      Number(s.QuantileLatencyHours(0.9), 3), ",\"", kDetectorNames[d], "\"\n");
    }
  }
  return out;
}

}  // namespace leakwatch::trendtool
