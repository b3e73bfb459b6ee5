// tools/trend/series_csv.h — the `t,value[,process_start]` series format of
// leakwatch-trend.
//
// One row per sample: time and process start in seconds (any finite numbers;
// times strictly increasing), the value a finite number. An optional first
// line `t,value` or `t,value,process_start` is a header. Blank lines and lines
// starting with '#' are skipped. Anything else is an error naming the line:
//
//   absl::StatusOr<std::vector<SeriesRow>> rows = ParseSeriesCsv(text);
//   // error: "line 7: \"12x\" is not a number (value)"
//
// Thread-safety: no shared state, safe from any thread; ReadInput("-") consumes standard input.

#ifndef LEAKWATCH_TOOLS_TREND_SERIES_CSV_H_
#define LEAKWATCH_TOOLS_TREND_SERIES_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leakwatch::trendtool {

struct SeriesRow {
  double t = 0;
  double value = 0;
  double process_start = 0;  // 0 when the column is absent
  int line = 0;              // 1-based line in the input
};

absl::StatusOr<std::vector<SeriesRow>> ParseSeriesCsv(absl::string_view text);

// Reads a whole file ("-" = standard input).
absl::StatusOr<std::string> ReadInput(const std::string& path);

}  // namespace leakwatch::trendtool

#endif  // LEAKWATCH_TOOLS_TREND_SERIES_CSV_H_
