#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "detector_params.h"
#include "duration.h"
#include "leakwatch/config.h"
#include "listen_address.h"
#include "quote.h"
#include "validation.h"

namespace leakwatch::config {
namespace {

using Issue = std::optional<ConfigIssue>;

ConfigIssue Problem(absl::string_view key, std::string message, absl::string_view related = {}) {
  return ConfigIssue{std::string(key), std::string(related), std::move(message)};
}

Issue CheckIntRange(absl::string_view key, int value, int min, int max) {
  if (value >= min && value <= max) return std::nullopt;
  return Problem(key, absl::StrCat("must be between ", min, " and ", max, ", got ", value));
}

Issue CheckListen(absl::string_view key, const std::string& listen) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen);
  if (address.ok()) return std::nullopt;
  return Problem(key, std::string(address.status().message()));
}

// Both keys of a pair (username and password file, certificate and key) or neither.
Issue CheckPair(absl::string_view first_key, const std::string& first, absl::string_view second_key,
                const std::string& second) {
  if (!first.empty() && second.empty()) {
    return Problem(second_key, absl::StrCat("must be set when ", first_key, " is set"), first_key);
  }
  if (first.empty() && !second.empty()) {
    return Problem(first_key, absl::StrCat("must be set when ", second_key, " is set"), second_key);
  }
  return std::nullopt;
}

Issue CheckExporter(const Config::Exporter& exporter) {
  if (Issue issue = CheckListen("exporter.listen", exporter.listen)) return issue;
  const std::string& path = exporter.path;
  if (path.empty() || path.front() != '/') {
    return Problem("exporter.path", absl::StrCat("must start with '/', got ", Quote(path)));
  }
  for (char c : path) {
    if (c <= ' ' || c == 0x7f || c == '?' || c == '#') {
      return Problem("exporter.path",
                     absl::StrCat("must not contain spaces, control characters, '?' or '#', got ",
                                  Quote(path)));
    }
  }
  if (path == "/debug/tasks") {
    return Problem("exporter.path", "must not be /debug/tasks, which serves the task dump");
  }
  if (Issue issue =
          CheckPair("exporter.basic_auth.username", exporter.basic_auth.username,
                    "exporter.basic_auth.password_file", exporter.basic_auth.password_file)) {
    return issue;
  }
  if (exporter.basic_auth.username.find(':') != std::string::npos) {
    return Problem("exporter.basic_auth.username",
                   absl::StrCat("must not contain ':' (HTTP basic auth forbids it), got ",
                                Quote(exporter.basic_auth.username)));
  }
  return CheckPair("exporter.tls.cert_file", exporter.tls.cert_file, "exporter.tls.key_file",
                   exporter.tls.key_file);
}

Issue CheckTimes(const Config& config) {
  const absl::Duration interval = config.sampler.interval;
  if (interval < kMinSamplerInterval || interval > kMaxSamplerInterval) {
    return Problem(
        "sampler.interval",
        absl::StrCat("must be between ", DurationText(kMinSamplerInterval), " and ",
                     DurationText(kMaxSamplerInterval), ", got ", DurationText(interval)));
  }
  const std::pair<absl::string_view, absl::Duration> task_ages[] = {
      {"tasks.long_lived_after", config.tasks.long_lived_after},
      {"tasks.stuck_after", config.tasks.stuck_after},
  };
  for (const auto& [key, age] : task_ages) {
    if (age <= absl::ZeroDuration() || age > kMaxWindow) {
      return Problem(key, absl::StrCat("must be more than 0s and at most ",
                                       DurationText(kMaxWindow), ", got ", DurationText(age)));
    }
  }
  return std::nullopt;
}

Issue CheckGlobPatterns(absl::string_view key, const std::vector<std::string>& patterns);

Issue CheckSites(const Config::Sites& sites) {
  if (Issue issue = CheckIntRange("sites.max_sites", sites.max_sites, kMinMaxSites, kMaxMaxSites)) {
    return issue;
  }
  if (Issue issue =
          CheckIntRange("sites.stack_depth", sites.stack_depth, kMinStackDepth, kMaxStackDepth)) {
    return issue;
  }
  const std::vector<double>& buckets = sites.histogram_buckets;
  if (buckets.empty() || buckets.size() > kMaxHistogramBuckets) {
    return Problem("sites.histogram_buckets",
                   absl::StrCat("must list between 1 and ", kMaxHistogramBuckets,
                                " bucket bounds, got ", buckets.size()));
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    const std::string key = absl::StrCat("sites.histogram_buckets[", i, "]");
    if (!std::isfinite(buckets[i]) || buckets[i] <= 0) {
      return Problem(key,
                     absl::StrCat("must be a positive finite number of seconds, got ", buckets[i]));
    }
    if (i > 0 && buckets[i] <= buckets[i - 1]) {
      return Problem(key, absl::StrCat("must be greater than the bound before it (", buckets[i - 1],
                                       "), got ", buckets[i]));
    }
  }
  if (Issue issue = CheckGlobPatterns("sites.skip_modules", sites.skip_modules)) return issue;
  if (Issue issue = CheckGlobPatterns("sites.skip_functions", sites.skip_functions)) return issue;
  if (Issue issue = CheckGlobPatterns("sites.idle_sites", sites.idle_sites)) return issue;
  if (Issue issue = CheckGlobPatterns("sites.idle_threads", sites.idle_threads)) return issue;
  for (size_t i = 0; i < sites.debug_dirs.size(); ++i) {
    const std::string& dir = sites.debug_dirs[i];
    if (dir.empty() || dir[0] != '/' || dir.find(':') != std::string::npos) {
      return Problem(
          absl::StrCat("sites.debug_dirs[", i, "]"),
          absl::StrCat("must be an absolute directory path without ':', got ", Quote(dir)));
    }
  }
  return std::nullopt;
}

// sites.drop_after: 0 (keep every site), or from one sampler interval (a site
// must be seen idle at least once) to 30 days.
Issue CheckDropAfter(const Config& config) {
  const absl::Duration drop_after = config.sites.drop_after;
  if (drop_after == absl::ZeroDuration()) return std::nullopt;
  if (drop_after < absl::ZeroDuration() || drop_after > kMaxWindow) {
    return Problem("sites.drop_after",
                   absl::StrCat("must be 0s (keep every site) or more than 0s and at most ",
                                DurationText(kMaxWindow), ", got ", DurationText(drop_after)));
  }
  if (drop_after < config.sampler.interval) {
    return Problem(
        "sites.drop_after",
        absl::StrCat("must be 0s (keep every site) or at least sampler.interval (",
                     DurationText(config.sampler.interval), "), got ", DurationText(drop_after)),
        "sampler.interval");
  }
  return std::nullopt;
}

// A glob pattern of sites.skip_* or sites.idle_*: what fnmatch(3) would read differently
// from what the user meant, or a pattern that skips every frame.
Issue CheckGlobPattern(const std::string& key, const std::string& pattern) {
  if (pattern.empty()) return Problem(key, "must not be empty");
  if (pattern.size() > kMaxGlobPatternBytes) {
    return Problem(key, absl::StrCat("must be at most ", kMaxGlobPatternBytes, " bytes, got ",
                                     pattern.size()));
  }
  if (pattern.find_first_not_of('*') == std::string::npos) {
    if (absl::StartsWith(key, "sites.idle_")) {
      return Problem(key, absl::StrCat(Quote(pattern),
                                       " would make every wait idle and nothing stuck; name the "
                                       "service thread or its site"));
    }
    return Problem(key, absl::StrCat(Quote(pattern), " would skip every frame; name the wrapper"));
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      return Problem(key,
                     absl::StrCat("must not contain control characters, got ", Quote(pattern)));
    }
    if (c == '\\') {
      if (++i == pattern.size()) {
        return Problem(key, absl::StrCat("ends with a lone '\\', got ", Quote(pattern)));
      }
      continue;
    }
    if (c != '[') continue;
    // A bracket expression: [abc], [!abc], []abc], [a-z]; unterminated, fnmatch
    // would match a literal '[' instead.
    size_t j = i + 1;
    if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
    if (j < pattern.size() && pattern[j] == ']') ++j;
    while (j < pattern.size() && pattern[j] != ']') ++j;
    if (j == pattern.size()) {
      return Problem(key, absl::StrCat("has a '[' at offset ", i,
                                       " with no closing ']' (write \\[ for a literal '['), got ",
                                       Quote(pattern)));
    }
    i = j;
  }
  return std::nullopt;
}

Issue CheckGlobPatterns(absl::string_view key, const std::vector<std::string>& patterns) {
  if (patterns.size() > kMaxGlobPatterns) {
    return Problem(key, absl::StrCat("must list at most ", kMaxGlobPatterns, " patterns, got ",
                                     patterns.size()));
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (Issue issue = CheckGlobPattern(absl::StrCat(key, "[", i, "]"), patterns[i])) return issue;
  }
  return std::nullopt;
}

// The detector keys' ranges and the relations among them are the detector's
// own (trend/params.h); only the tie to the sampler is the config's.
Issue CheckDetector(const Config& config) {
  const Config::Detector& detector = config.detector;
  if (detector.floor_window < config.sampler.interval) {
    return Problem(
        "detector.floor_window",
        absl::StrCat("must be at least sampler.interval (", DurationText(config.sampler.interval),
                     "), got ", DurationText(detector.floor_window)),
        "sampler.interval");
  }
  const trend::ProblemStyle style = {
      .prefix = "detector.", .duration_text = &DurationText, .keys_only = true};
  const std::optional<trend::ParamProblem> problem =
      trend::FindParamProblem(ParamsFromConfig(detector), style);
  if (!problem) return std::nullopt;
  return Problem(absl::StrCat("detector.", problem->name), problem->message,
                 problem->related.empty() ? "" : absl::StrCat("detector.", problem->related));
}

Issue CheckIntrospection(const Config& config) {
  if (Issue issue = CheckListen("introspection.listen", config.introspection.listen)) return issue;
  if (config.exporter.enabled && config.introspection.enabled) {
    const ListenAddress exporter = *ParseListenAddress(config.exporter.listen);
    const ListenAddress introspection = *ParseListenAddress(config.introspection.listen);
    if (exporter.port != 0 && exporter.port == introspection.port &&
        exporter.host == introspection.host) {
      return Problem("introspection.listen",
                     absl::StrCat("is the same address as exporter.listen (",
                                  Quote(config.exporter.listen), ")"),
                     "exporter.listen");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ConfigIssue> FindConfigIssue(const Config& config) {
  if (Issue issue = CheckExporter(config.exporter)) return issue;
  if (Issue issue = CheckTimes(config)) return issue;
  if (Issue issue = CheckSites(config.sites)) return issue;
  if (Issue issue = CheckDropAfter(config)) return issue;
  if (Issue issue = CheckDetector(config)) return issue;
  return CheckIntrospection(config);
}

}  // namespace leakwatch::config

namespace leakwatch {

absl::Status ValidateConfig(const Config& config) {
  std::optional<config::ConfigIssue> issue = config::FindConfigIssue(config);
  if (!issue) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(issue->key, ": ", issue->message));
}

}  // namespace leakwatch
