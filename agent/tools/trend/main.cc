// leakwatch-trend: runs leakwatch's growth-trend detector over a CSV series, or
// scores it on a labelled scenario set. See --help.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "config/detector_params.h"
#include "eval.h"
#include "leakwatch/config.h"
#include "series_csv.h"
#include "trend/detector.h"

namespace {

constexpr char kUsage[] =
    R"(usage: leakwatch-trend [options] [FILE]
       leakwatch-trend [options] --eval DIR [--format table|csv]

Runs leakwatch's growth-trend leak detector over one series and prints
"t,suspected,growth_per_hour,z" for every input row.

Input (FILE, or standard input when absent or "-"): CSV rows "t,value" or
"t,value,process_start" (seconds), optionally after a header line
"t,value[,process_start]". A change of process_start is a process restart.

Options:
  --preset production|fast  detector parameters (default: production, the
                            defaults of config/leakwatch.yaml; fast: the demo's
                            minute-scale windows)
  --config FILE             take the detector.* keys of a leakwatch YAML config
  --set NAME=VALUE          override one detector parameter (repeatable), e.g.
                            --set min_growth=10 --set trend_window=4h; see
                            --print-params for the names
  --print-params            print the parameters in effect and exit
  --eval DIR                score the detector and two baseline alert rules on a
                            labelled scenario set: DIR/labels.csv lists
                            "file,family,leak_start" (leak_start in seconds or
                            "none"); prints recall, false-alarm episodes per
                            series-day and detection latency per family
  --format table|csv        output of --eval (default: table)
  --help                    this text

Exit status: 0 on success, 2 on bad usage or malformed input (the message
names the line), 1 on other errors.
)";

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "leakwatch-trend: %s\n", message.c_str());
  return code;
}

int ExitCodeFor(const absl::Status& status) { return absl::IsInvalidArgument(status) ? 2 : 1; }

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "production", config_path, eval_dir, format = "table", input = "-";
  std::vector<std::string> sets;
  bool print_params = false, have_input = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--preset") {
      if (!value(preset)) return Fail(2, "--preset needs production or fast");
    } else if (arg == "--config") {
      if (!value(config_path)) return Fail(2, "--config needs a file");
    } else if (arg == "--set") {
      std::string s;
      if (!value(s)) return Fail(2, "--set needs NAME=VALUE");
      sets.push_back(s);
    } else if (arg == "--eval") {
      if (!value(eval_dir)) return Fail(2, "--eval needs a directory");
    } else if (arg == "--format") {
      if (!value(format)) return Fail(2, "--format needs table or csv");
    } else if (arg == "--print-params") {
      print_params = true;
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      return Fail(2, absl::StrCat("unknown option ", arg, " (see --help)"));
    } else {
      if (have_input) return Fail(2, "more than one input file given");
      input = arg;
      have_input = true;
    }
  }

  leakwatch::trend::Params params;
  if (preset == "production") {
    params = leakwatch::trend::ProductionPreset();
  } else if (preset == "fast") {
    params = leakwatch::trend::FastPreset();
  } else {
    return Fail(2, absl::StrCat("--preset: \"", preset, "\" is neither production nor fast"));
  }
  if (!config_path.empty()) {
    absl::StatusOr<leakwatch::Config> config = leakwatch::LoadConfigFile(config_path);
    if (!config.ok()) {
      return Fail(ExitCodeFor(config.status()),
                  absl::StrCat(config_path, ": ", config.status().message()));
    }
    params = leakwatch::config::ParamsFromConfig(config->detector);
  }
  for (const std::string& s : sets) {
    absl::Status status = leakwatch::trend::SetParam(params, s);
    if (!status.ok()) return Fail(2, absl::StrCat("--set: ", status.message()));
  }
  if (absl::Status status = leakwatch::trend::ValidateParams(params); !status.ok()) {
    return Fail(2, absl::StrCat("detector parameters: ", status.message()));
  }
  if (print_params) {
    std::fputs(leakwatch::trend::FormatParams(params).c_str(), stdout);
    return 0;
  }

  if (!eval_dir.empty()) {
    if (format != "table" && format != "csv") {
      return Fail(2, absl::StrCat("--format: \"", format, "\" is neither table nor csv"));
    }
    absl::StatusOr<std::vector<leakwatch::trendtool::FamilyScore>> scores =
        leakwatch::trendtool::EvaluateScenarioSet(eval_dir, params);
    if (!scores.ok())
      return Fail(ExitCodeFor(scores.status()), std::string(scores.status().message()));
    const std::string out = format == "csv" ? leakwatch::trendtool::FormatScoresCsv(*scores)
                                            : leakwatch::trendtool::FormatScoresTable(*scores);
    std::fputs(out.c_str(), stdout);
    return 0;
  }

  absl::StatusOr<std::string> text = leakwatch::trendtool::ReadInput(input);
  if (!text.ok()) return Fail(1, std::string(text.status().message()));
  absl::StatusOr<std::vector<leakwatch::trendtool::SeriesRow>> rows =
      leakwatch::trendtool::ParseSeriesCsv(*text);
  if (!rows.ok()) {
    return Fail(2, absl::StrCat(input == "-" ? "<stdin>" : input, ": ", rows.status().message()));
  }
  leakwatch::trend::SeriesDetector detector(params);
  std::string out = "t,suspected,growth_per_hour,z\n";
  for (const leakwatch::trendtool::SeriesRow& row : *rows) {
    const leakwatch::trend::Verdict v = detector.Add(row.t, row.value, row.process_start);
    absl::StrAppendFormat(&out, "%.15g,%d,%.6g,%.4f\n", row.t, v.suspected ? 1 : 0,
                          v.growth_per_hour, v.z);
    if (out.size() > (1 << 16)) {
      std::fputs(out.c_str(), stdout);
      out.clear();
    }
  }
  std::fputs(out.c_str(), stdout);
  if (std::fflush(stdout) != 0) return Fail(1, "cannot write standard output");
  return 0;
}
