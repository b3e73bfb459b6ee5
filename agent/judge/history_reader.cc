#include "judge/history_reader.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace leakwatch::judge {
namespace {

constexpr char kStuck[] = "leakwatch_stuck_tasks";
constexpr char kLongLived[] = "leakwatch_tasks_long_lived";
constexpr char kProcessStart[] = "process_start_time_seconds";

bool IsLabelName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string LabelOr(const Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? "" : it->second;
}

std::vector<std::string> GroupValues(const Labels& labels, const std::vector<std::string>& names) {
  std::vector<std::string> values;
  values.reserve(names.size());
  for (const std::string& name : names) values.push_back(LabelOr(labels, name));
  return values;
}

}  // namespace

absl::StatusOr<std::string> SelectorMatchers(absl::string_view selector) {
  absl::string_view s = absl::StripAsciiWhitespace(selector);
  if (s.empty()) return std::string();
  if (!absl::ConsumePrefix(&s, "{") || !absl::ConsumeSuffix(&s, "}")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--selector \"", selector,
                     "\" is not label matchers in braces, e.g. {namespace=\"shop\"}"));
  }
  return std::string(absl::StripAsciiWhitespace(s));
}

absl::StatusOr<std::vector<std::string>> ParseGroupBy(absl::string_view text) {
  std::vector<std::string> names;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::string name(absl::StripAsciiWhitespace(part));
    if (!IsLabelName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--group-by \"", text, "\": \"", name, "\" is not a label name"));
    }
    if (name == "site" || name == "op" || name == "kind" || name == "instance" ||
        name == "__name__") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--group-by \"", text, "\": the judge groups by \"", name,
          "\" itself (each verdict is per site and op, or per kind, across all instances)"));
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--group-by \"", text, "\" names \"", name, "\" twice"));
    }
    names.push_back(std::move(name));
  }
  return names;
}

std::string PromQLString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  out += "\"";
  return out;
}

std::string RegexQuote(absl::string_view text) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && !absl::ascii_isalnum(u) && c != '_') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Labels TargetLabels(const Labels& labels) {
  Labels out = labels;
  for (const char* name : {"__name__", "site", "op", "kind"}) out.erase(name);
  return out;
}

std::vector<Lifetime> SplitLifetimes(const Series& series, const Series* starts) {
  std::vector<Lifetime> out;
  const std::string instance = LabelOr(series.labels, "instance");
  size_t s = 0;  // starts->t[s - 1] is the latest start-time sample at or before t
  for (size_t i = 0; i < series.t.size(); ++i) {
    const double t = series.t[i];
    double start = 0;
    if (starts != nullptr) {
      while (s < starts->t.size() && starts->t[s] <= t) ++s;
      if (s > 0) start = starts->value[s - 1];
    }
    // An unknown start time (none read yet) continues the current lifetime.
    if (out.empty() ||
        (start != 0 && start != out.back().process_start && out.back().process_start != 0)) {
      out.push_back({instance, start, {}, {}});
    } else if (out.back().process_start == 0 && start != 0) {
      out.back().process_start = start;
    }
    out.back().t.push_back(t);
    out.back().value.push_back(series.value[i]);
  }
  return out;
}

HistoryReader::HistoryReader(const PrometheusClient* client, ReaderOptions options)
    : client_(client), options_(std::move(options)) {
  matchers_ = SelectorMatchers(options_.selector).value_or("");
}

std::string HistoryReader::Selector(absl::string_view metric, const JobPlan& job,
                                    absl::string_view extra) const {
  std::vector<std::string> parts;
  if (!matchers_.empty()) parts.push_back(matchers_);
  for (size_t i = 0; i < options_.group_by.size(); ++i) {
    parts.push_back(absl::StrCat(options_.group_by[i], "=", PromQLString(job.group_values[i])));
  }
  if (!extra.empty()) parts.emplace_back(extra);
  return absl::StrCat(metric, "{", absl::StrJoin(parts, ","), "}");
}

absl::StatusOr<ReadPlan> HistoryReader::Plan(double now) const {
  ReadPlan plan;
  plan.step = std::max(1.0, absl::ToDoubleSeconds(options_.step));
  plan.end = std::floor(now / plan.step) * plan.step;
  plan.start =
      plan.end - std::floor(absl::ToDoubleSeconds(options_.lookback) / plan.step) * plan.step;
  const std::string sel = matchers_.empty() ? "" : absl::StrCat("{", matchers_, "}");
  absl::StatusOr<std::vector<Labels>> found = client_->SeriesLabels(
      {absl::StrCat(kStuck, sel), absl::StrCat(kLongLived, sel)}, plan.start, plan.end);
  if (!found.ok()) return found.status();

  struct Seen {
    std::map<std::string, int64_t> site_series;  // site -> series
    int64_t task_series = 0;
  };
  std::map<std::vector<std::string>, Seen> by_group;
  for (const Labels& labels : *found) {
    Seen& seen = by_group[GroupValues(labels, options_.group_by)];
    if (LabelOr(labels, "__name__") == kStuck) {
      ++seen.site_series[LabelOr(labels, "site")];
    } else {
      ++seen.task_series;
    }
    ++plan.series;
  }
  const int64_t steps = static_cast<int64_t>((plan.end - plan.start) / plan.step) + 1;
  const int64_t batch = std::max<int64_t>(1, options_.max_points_per_query / steps);
  for (auto& [values, seen] : by_group) {
    JobPlan job{values, {}};
    if (seen.task_series > 0) job.units.push_back({GroupMetric::kTask, {}, seen.task_series});
    int64_t total = 0;
    for (const auto& [site, n] : seen.site_series) total += n;
    if (total > 0 && total <= batch) {
      job.units.push_back({GroupMetric::kSite, {}, total});
    } else if (total > 0) {
      ReadUnit unit{GroupMetric::kSite, {}, 0};
      for (const auto& [site, n] : seen.site_series) {
        if (!unit.sites.empty() && unit.series + n > batch) {
          job.units.push_back(std::move(unit));
          unit = ReadUnit{GroupMetric::kSite, {}, 0};
        }
        unit.sites.push_back(site);
        unit.series += n;
      }
      job.units.push_back(std::move(unit));
    }
    plan.jobs.push_back(std::move(job));
  }
  return plan;
}

absl::StatusOr<ProcessStarts> HistoryReader::ReadProcessStarts(const ReadPlan& plan,
                                                               const JobPlan& job) const {
  absl::StatusOr<std::vector<Series>> series =
      client_->QueryRange(Selector(kProcessStart, job, ""), plan.start, plan.end, plan.step);
  if (!series.ok()) return series.status();
  ProcessStarts starts;
  for (Series& s : *series) {
    Labels key = TargetLabels(s.labels);
    starts.emplace(std::move(key), std::move(s));
  }
  return starts;
}

absl::StatusOr<std::vector<Group>> HistoryReader::Read(const ReadPlan& plan, const JobPlan& job,
                                                       const ReadUnit& unit,
                                                       const ProcessStarts& starts) const {
  std::string extra;
  if (!unit.sites.empty()) {
    std::vector<std::string> quoted;
    for (const std::string& site : unit.sites) quoted.push_back(RegexQuote(site));
    extra = absl::StrCat("site=~", PromQLString(absl::StrJoin(quoted, "|")));
  }
  const bool sites = unit.metric == GroupMetric::kSite;
  absl::StatusOr<std::vector<Series>> series = client_->QueryRange(
      Selector(sites ? kStuck : kLongLived, job, extra), plan.start, plan.end, plan.step);
  if (!series.ok()) return series.status();

  std::map<std::tuple<std::string, std::string>, Group> groups;
  for (const Series& s : *series) {
    std::tuple<std::string, std::string> key =
        sites ? std::make_tuple(LabelOr(s.labels, "site"), LabelOr(s.labels, "op"))
              : std::make_tuple(LabelOr(s.labels, "kind"), std::string());
    auto [it, inserted] = groups.try_emplace(key);
    Group& group = it->second;
    if (inserted) {
      group.metric = unit.metric;
      group.group_values = job.group_values;
      if (sites) {
        group.site = std::get<0>(key);
        group.op = std::get<1>(key);
      } else {
        group.kind = std::get<0>(key);
      }
    }
    auto start = starts.find(TargetLabels(s.labels));
    for (Lifetime& l : SplitLifetimes(s, start == starts.end() ? nullptr : &start->second)) {
      group.history.lifetimes.push_back(std::move(l));
    }
  }
  std::vector<Group> out;
  out.reserve(groups.size());
  for (auto& [key, group] : groups) out.push_back(std::move(group));
  return out;
}

}  // namespace leakwatch::judge
