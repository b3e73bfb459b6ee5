#include "series_csv.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leakwatch::trendtool {
namespace {

constexpr const char* kColumns[] = {"t", "value", "process_start"};

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

}  // namespace

absl::StatusOr<std::vector<SeriesRow>> ParseSeriesCsv(absl::string_view text) {
  std::vector<SeriesRow> rows;
  int line_number = 0;
  bool first_content = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped.front() == '#') continue;
    std::vector<absl::string_view> fields = absl::StrSplit(stripped, ',');
    for (absl::string_view& f : fields) f = absl::StripAsciiWhitespace(f);
    const bool header = first_content && !fields.empty() && fields[0] == "t";
    first_content = false;
    if (header) {
      if ((fields.size() != 2 && fields.size() != 3) || fields[1] != "value" ||
          (fields.size() == 3 && fields[2] != "process_start")) {
        return LineError(line_number, "a header must be \"t,value\" or \"t,value,process_start\"");
      }
      continue;
    }
    if (fields.size() != 2 && fields.size() != 3) {
      return LineError(line_number, absl::StrCat("expected 2 or 3 comma-separated fields "
                                                 "(t,value[,process_start]), found ",
                                                 fields.size()));
    }
    double numbers[3] = {0, 0, 0};
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!absl::SimpleAtod(fields[i], &numbers[i]) || !std::isfinite(numbers[i])) {
        return LineError(line_number, absl::StrCat("\"", fields[i], "\" is not a finite number (",
                                                   kColumns[i], ")"));
      }
    }
    if (!rows.empty() && !(numbers[0] > rows.back().t)) {
      return LineError(line_number,
                       absl::StrCat("t ", fields[0], " is not after the previous row's t ",
                                    rows.back().t, " (rows must be in increasing time)"));
    }
    rows.push_back(SeriesRow{numbers[0], numbers[1], numbers[2], line_number});
  }
  return rows;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    if (std::cin.bad()) return absl::InternalError("cannot read standard input");
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return text;
}

}  // namespace leakwatch::trendtool
