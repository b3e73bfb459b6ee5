// leakwatch-trend: runs leakwatch's growth-trend detector over a CSV series, or
// scores it on a labelled scenario set. See --help.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/flags.h"
#include "config/detector_params.h"
#include "eval.h"
#include "leakwatch/config.h"
#include "series_csv.h"
#include "trend/detector.h"

ABSL_FLAG(std::string, preset, "production",
          "<production|fast> detector parameters: production, the defaults of "
          "config/leakwatch.yaml; fast, the demo's minute-scale windows");
ABSL_FLAG(std::string, config, "", "<FILE> take the detector.* keys of a leakwatch YAML config");
ABSL_FLAG(std::vector<std::string>, set, {},
          "<NAME=VALUE> override one detector parameter (repeatable), e.g. --set min_growth=10 "
          "--set trend_window=4h; --print-params lists the names, agent/trend/params.h "
          "explains them");
ABSL_FLAG(bool, print_params, false, "print the parameters in effect and exit");
ABSL_FLAG(std::string, eval, "",
          "<DIR> score the detector and two baseline alert rules on a labelled scenario set: "
          "DIR/labels.csv lists \"file,family,leak_start\" (leak_start in seconds or "
          "\"none\"); prints recall, false-alarm episodes per series-day and detection "
          "latency per family");
ABSL_FLAG(std::string, format, "table", "<table|csv> output of --eval");

namespace {

using leakwatch::tools::Fail;

constexpr leakwatch::tools::Usage kUsage = {
    .tool = "leakwatch-trend",
    .synopsis =
        "leakwatch-trend [flags] [FILE]\n"
        "       leakwatch-trend [flags] --eval DIR [--format table|csv]",
    .description =
        "Runs leakwatch's growth-trend leak detector over one series and prints\n"
        "\"t,suspected,growth_per_hour,z\" for every input row.\n"
        "\n"
        "Input (FILE, or standard input when absent or \"-\"): CSV rows \"t,value\" or\n"
        "\"t,value,process_start\" (seconds), optionally after a header line\n"
        "\"t,value[,process_start]\". A change of process_start is a process restart.\n",
    .flags_file = "tools/trend/main.cc",
    .footer =
        "Exit status: 0 on success, 2 on bad usage or malformed input (the message\n"
        "names the line), 1 on other errors.\n",
    .max_args = 1,
};

int ExitCodeFor(const absl::Status& status) {
  return absl::IsInvalidArgument(status) ? leakwatch::tools::kExitUsage
                                         : leakwatch::tools::kExitFailure;
}

// The parameters the flags ask for, or nullopt after reporting why not (and
// setting `exit_code`).
std::optional<leakwatch::trend::Params> ParamsFromFlags(int& exit_code) {
  namespace trend = leakwatch::trend;
  exit_code = leakwatch::tools::kExitUsage;
  const std::string preset = absl::GetFlag(FLAGS_preset);
  if (preset != "production" && preset != "fast") {
    leakwatch::tools::ExitUsageError(
        kUsage, absl::StrCat("--preset: \"", preset, "\" is neither production nor fast"));
  }
  trend::Params params = preset == "fast" ? trend::FastPreset() : trend::ProductionPreset();
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<leakwatch::Config> config = leakwatch::LoadConfigFile(path);
    if (!config.ok()) {
      exit_code = Fail(kUsage, ExitCodeFor(config.status()),
                       absl::StrCat(path, ": ", config.status().message()));
      return std::nullopt;
    }
    params = leakwatch::config::ParamsFromConfig(config->detector);
  }
  for (const std::string& s : absl::GetFlag(FLAGS_set)) {
    if (absl::Status status = trend::SetParam(params, s); !status.ok()) {
      leakwatch::tools::ExitUsageError(kUsage, absl::StrCat("--set: ", status.message()));
    }
  }
  if (absl::Status status = trend::ValidateParams(params); !status.ok()) {
    Fail(kUsage, exit_code, absl::StrCat("detector parameters: ", status.message()));
    return std::nullopt;
  }
  return params;
}

int Evaluate(const leakwatch::trend::Params& params, const std::string& dir) {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "csv") {
    leakwatch::tools::ExitUsageError(
        kUsage, absl::StrCat("--format: \"", format, "\" is neither table nor csv"));
  }
  absl::StatusOr<std::vector<leakwatch::trendtool::FamilyScore>> scores =
      leakwatch::trendtool::EvaluateScenarioSet(dir, params);
  if (!scores.ok()) {
    return Fail(kUsage, ExitCodeFor(scores.status()), scores.status().message());
  }
  const std::string out = format == "csv" ? leakwatch::trendtool::FormatScoresCsv(*scores)
                                          : leakwatch::trendtool::FormatScoresTable(*scores);
  std::fputs(out.c_str(), stdout);
  return 0;
}

int JudgeSeries(const leakwatch::trend::Params& params, const std::string& input) {
  absl::StatusOr<std::string> text = leakwatch::trendtool::ReadInput(input);
  if (!text.ok()) return Fail(kUsage, leakwatch::tools::kExitFailure, text.status().message());
  absl::StatusOr<std::vector<leakwatch::trendtool::SeriesRow>> rows =
      leakwatch::trendtool::ParseSeriesCsv(*text);
  if (!rows.ok()) {
    return Fail(kUsage, leakwatch::tools::kExitUsage,
                absl::StrCat(input == "-" ? "<stdin>" : input, ": ", rows.status().message()));
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
  if (std::fflush(stdout) != 0) {
    return Fail(kUsage, leakwatch::tools::kExitFailure, "cannot write standard output");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = leakwatch::tools::ParseFlagsOrExit(argc, argv, kUsage);
  int exit_code = 0;
  const std::optional<leakwatch::trend::Params> params = ParamsFromFlags(exit_code);
  if (!params) return exit_code;
  if (absl::GetFlag(FLAGS_print_params)) {
    std::fputs(leakwatch::trend::FormatParams(*params).c_str(), stdout);
    return 0;
  }
  if (const std::string dir = absl::GetFlag(FLAGS_eval); !dir.empty())
    return Evaluate(*params, dir);
  return JudgeSeries(*params, args.empty() ? "-" : args[0]);
}
