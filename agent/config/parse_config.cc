// ParseConfig: YAML text -> Config, walking the document against a table of
// every key. Each error names the key path and the line:column where the
// document wrote it; nothing thrown by yaml-cpp escapes.
//
// Hostile input: the size is capped (kMaxConfigBytes), yaml-cpp's depth guard
// stops deep nesting, LoadSingleDocument avoids LoadAll's endless loop, and
// aliases are never expanded (the reader only descends into known keys, so
// even a self-referencing alias is read at most to the schema's depth).

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <new>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "closest_name.h"
#include "config_limits.h"
#include "duration.h"
#include "error_position.h"
#include "leakwatch/config.h"
#include "quote.h"
#include "single_document.h"
#include "validation.h"

namespace leakwatch::config {
namespace {

// The schema: every key of DESIGN.md and the field it fills. Sections are the
// path prefixes.
using Field = std::variant<bool*, int*, double*, std::string*, absl::Duration*,
                           std::vector<double>*, std::vector<std::string>*>;

struct Key {
  absl::string_view path;
  Field (*field)(Config&);
};

const Key kKeys[] = {
    {"exporter.enabled", [](Config& c) -> Field { return &c.exporter.enabled; }},
    {"exporter.listen", [](Config& c) -> Field { return &c.exporter.listen; }},
    {"exporter.path", [](Config& c) -> Field { return &c.exporter.path; }},
    {"exporter.debug_endpoint", [](Config& c) -> Field { return &c.exporter.debug_endpoint; }},
    {"exporter.basic_auth.username",
     [](Config& c) -> Field { return &c.exporter.basic_auth.username; }},
    {"exporter.basic_auth.password_file",
     [](Config& c) -> Field { return &c.exporter.basic_auth.password_file; }},
    {"exporter.tls.cert_file", [](Config& c) -> Field { return &c.exporter.tls.cert_file; }},
    {"exporter.tls.key_file", [](Config& c) -> Field { return &c.exporter.tls.key_file; }},
    {"sampler.interval", [](Config& c) -> Field { return &c.sampler.interval; }},
    {"tasks.long_lived_after", [](Config& c) -> Field { return &c.tasks.long_lived_after; }},
    {"tasks.stuck_after", [](Config& c) -> Field { return &c.tasks.stuck_after; }},
    {"sites.max_sites", [](Config& c) -> Field { return &c.sites.max_sites; }},
    {"sites.stack_depth", [](Config& c) -> Field { return &c.sites.stack_depth; }},
    {"sites.histogram_buckets", [](Config& c) -> Field { return &c.sites.histogram_buckets; }},
    {"sites.skip_modules", [](Config& c) -> Field { return &c.sites.skip_modules; }},
    {"sites.skip_functions", [](Config& c) -> Field { return &c.sites.skip_functions; }},
    {"sites.idle_sites", [](Config& c) -> Field { return &c.sites.idle_sites; }},
    {"sites.idle_threads", [](Config& c) -> Field { return &c.sites.idle_threads; }},
    {"sites.drop_after", [](Config& c) -> Field { return &c.sites.drop_after; }},
    {"sites.debug_dirs", [](Config& c) -> Field { return &c.sites.debug_dirs; }},
    {"intercept.enabled", [](Config& c) -> Field { return &c.intercept.enabled; }},
    {"intercept.mutex", [](Config& c) -> Field { return &c.intercept.mutex; }},
    {"intercept.rwlock", [](Config& c) -> Field { return &c.intercept.rwlock; }},
    {"intercept.condvar", [](Config& c) -> Field { return &c.intercept.condvar; }},
    {"intercept.join", [](Config& c) -> Field { return &c.intercept.join; }},
    {"intercept.futex", [](Config& c) -> Field { return &c.intercept.futex; }},
    {"intercept.threads", [](Config& c) -> Field { return &c.intercept.threads; }},
    {"detector.enabled", [](Config& c) -> Field { return &c.detector.enabled; }},
    {"detector.floor_window", [](Config& c) -> Field { return &c.detector.floor_window; }},
    {"detector.trend_window", [](Config& c) -> Field { return &c.detector.trend_window; }},
    {"detector.min_floors", [](Config& c) -> Field { return &c.detector.min_floors; }},
    {"detector.z_threshold", [](Config& c) -> Field { return &c.detector.z_threshold; }},
    {"detector.min_growth", [](Config& c) -> Field { return &c.detector.min_growth; }},
    {"detector.min_growth_ratio", [](Config& c) -> Field { return &c.detector.min_growth_ratio; }},
    {"introspection.enabled", [](Config& c) -> Field { return &c.introspection.enabled; }},
    {"introspection.listen", [](Config& c) -> Field { return &c.introspection.listen; }},
};

// A key as it appears in a path: C-escaped, cut after 64 bytes.
std::string KeyText(absl::string_view name) {
  if (name.size() <= 64) return absl::CHexEscape(name);
  return absl::StrCat(absl::CHexEscape(name.substr(0, 64)), "...");
}

std::string ChildPath(absl::string_view section, absl::string_view name) {
  return section.empty() ? std::string(name) : absl::StrCat(section, ".", name);
}

const Key* FindKey(absl::string_view path) {
  for (const Key& key : kKeys) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

bool IsSection(absl::string_view path) {
  for (const Key& key : kKeys) {
    if (key.path.size() > path.size() && absl::StartsWith(key.path, path) &&
        key.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

// The names directly inside `section` ("" = the top level), in table order.
std::vector<absl::string_view> ChildNames(absl::string_view section) {
  std::vector<absl::string_view> names;
  for (const Key& key : kKeys) {
    absl::string_view rest = key.path;
    if (!section.empty()) {
      if (!absl::StartsWith(rest, section) || rest.size() <= section.size() ||
          rest[section.size()] != '.') {
        continue;
      }
      rest.remove_prefix(section.size() + 1);
    }
    rest = rest.substr(0, rest.find('.'));
    if (std::find(names.begin(), names.end(), rest) == names.end()) names.push_back(rest);
  }
  return names;
}

// "unknown key, did you mean ...?" for `name` inside `section`.
std::string UnknownKeyMessage(absl::string_view section, absl::string_view name) {
  const std::vector<absl::string_view> siblings = ChildNames(section);
  if (std::optional<absl::string_view> close = ClosestName(name, siblings)) {
    return absl::StrCat("unknown key, did you mean \"", *close, "\"?");
  }
  // A key written in the wrong section, e.g. tasks.interval for sampler.interval
  // (only when one section has it: "enabled" is everywhere).
  const Key* elsewhere = nullptr;
  int matches = 0;
  for (const Key& key : kKeys) {
    if (key.path.substr(key.path.rfind('.') + 1) == name) {
      elsewhere = &key;
      ++matches;
    }
  }
  if (matches == 1) return absl::StrCat("unknown key, did you mean \"", elsewhere->path, "\"?");
  return absl::StrCat("unknown key; the keys here are ", absl::StrJoin(siblings, ", "));
}

// How a value reads in "expected X, got Y".
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") return absl::StrCat("the quoted string ", Quote(node.Scalar()));
      return Quote(node.Scalar());
    default:
      return "nothing";
  }
}

// A scalar whose type YAML decides by its text (not quoted, no other tag).
bool IsPlainOrTagged(const YAML::Node& node, absl::string_view core_tag) {
  return node.IsScalar() && (node.Tag() == "?" || node.Tag() == core_tag);
}

bool IsIntegerText(absl::string_view text) {
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// YAML 1.2 core-schema float (integers included): 1, -2.5, .5, 1e3, 2.5E-3.
bool IsNumberText(absl::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t digits = 0;
  for (; i < text.size() && absl::ascii_isdigit(text[i]); ++i) ++digits;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && absl::ascii_isdigit(text[i]); ++i) ++digits;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    size_t exponent_digits = 0;
    for (; i < text.size() && absl::ascii_isdigit(text[i]); ++i) ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == text.size();
}

bool IsInfinityOrNan(absl::string_view text) {
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  const std::string lower = absl::AsciiStrToLower(text);
  return lower == ".inf" || lower == ".nan";
}

// Walks one document, filling a Config and remembering where each key was.
class DocumentReader {
 public:
  explicit DocumentReader(Config& config) : config_(config) {}

  // Reads the map `node` found at `section` ("" = the whole document).
  absl::Status ReadSection(const YAML::Node& node, const std::string& section, Position where);

  // The position of the value of each key read, by path ("sites.max_sites",
  // "sites.histogram_buckets[2]").
  const std::map<std::string, Position>& positions() const { return positions_; }

 private:
  absl::Status ReadValue(const Key& key, const YAML::Node& node, const std::string& path,
                         Position where);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where, bool* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where, int* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where, double* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where,
                    std::string* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where,
                    absl::Duration* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where,
                    std::vector<double>* out);
  absl::Status Read(const YAML::Node& node, const std::string& path, Position where,
                    std::vector<std::string>* out);
  // Reads the sequence `node` into `out`, each element at its own path
  // ("path[i]") and position through `read_element`; `not_a_list` says what
  // the key takes ("a list of numbers"), `hint` follows it in the error.
  template <class T, class ReadElement>
  absl::Status ReadList(const YAML::Node& node, const std::string& path, Position where,
                        absl::string_view not_a_list, absl::string_view hint, std::vector<T>* out,
                        ReadElement read_element);

  Config& config_;
  std::map<std::string, Position> positions_;
};

absl::Status DocumentReader::ReadSection(const YAML::Node& node, const std::string& section,
                                         Position where) {
  if (node.IsNull()) return absl::OkStatus();  // an empty section keeps its defaults
  if (!node.IsMap()) {
    return ErrorAt(
        section, where,
        absl::StrCat("expected a map with the keys ", absl::StrJoin(ChildNames(section), ", "),
                     ", got ", Describe(node)));
  }
  std::map<std::string, Position> seen;
  for (const auto& entry : node) {
    // Copies: yaml-cpp's iterators hand out temporaries.
    const YAML::Node key = entry.first;
    const YAML::Node value = entry.second;
    const Position key_position = PositionOf(key.Mark());
    if (!key.IsScalar()) {
      return ErrorAt(section, key_position,
                     absl::StrCat("keys must be names, got ", Describe(key), " as a key"));
    }
    const std::string& name = key.Scalar();
    const std::string path = ChildPath(section, KeyText(name));
    if (auto [first, inserted] = seen.emplace(name, key_position); !inserted) {
      return ErrorAt(path, key_position,
                     absl::StrCat("duplicate key (first written at line ", first->second.line,
                                  ", column ", first->second.column, ")"));
    }
    const Position value_position = value.IsNull() ? key_position : PositionOf(value.Mark());
    positions_[path] = value_position;
    if (const Key* leaf = FindKey(path)) {
      if (absl::Status status = ReadValue(*leaf, value, path, value_position); !status.ok()) {
        return status;
      }
    } else if (IsSection(path)) {
      if (absl::Status status = ReadSection(value, path, value_position); !status.ok()) {
        return status;
      }
    } else {
      return ErrorAt(path, key_position, UnknownKeyMessage(section, name));
    }
  }
  return absl::OkStatus();
}

absl::Status DocumentReader::ReadValue(const Key& key, const YAML::Node& node,
                                       const std::string& path, Position where) {
  if (node.IsNull()) {
    return ErrorAt(path, where, "has no value (leave the key out to keep its default)");
  }
  return std::visit([&](auto* field) { return Read(node, path, where, field); },
                    key.field(config_));
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  bool* out) {
  if (IsPlainOrTagged(node, "tag:yaml.org,2002:bool")) {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") {
      *out = true;
      return absl::OkStatus();
    }
    if (text == "false" || text == "False" || text == "FALSE") {
      *out = false;
      return absl::OkStatus();
    }
  }
  return ErrorAt(path, where, absl::StrCat("expected true or false, got ", Describe(node)));
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  int* out) {
  if (!IsPlainOrTagged(node, "tag:yaml.org,2002:int") || !IsIntegerText(node.Scalar())) {
    return ErrorAt(path, where, absl::StrCat("expected an integer, got ", Describe(node)));
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(node.Scalar(), &value) || value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    return ErrorAt(path, where, absl::StrCat(Quote(node.Scalar()), " is out of range"));
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  double* out) {
  if (IsPlainOrTagged(node, "tag:yaml.org,2002:float") && IsInfinityOrNan(node.Scalar())) {
    return ErrorAt(path, where, absl::StrCat("must be a finite number, got ", Describe(node)));
  }
  const bool tagged_ok = IsPlainOrTagged(node, "tag:yaml.org,2002:float") ||
                         IsPlainOrTagged(node, "tag:yaml.org,2002:int");
  double value = 0;
  if (!tagged_ok || !IsNumberText(node.Scalar()) || !absl::SimpleAtod(node.Scalar(), &value)) {
    return ErrorAt(path, where, absl::StrCat("expected a number, got ", Describe(node)));
  }
  if (!std::isfinite(value)) {
    return ErrorAt(path, where, absl::StrCat("must be a finite number, got ", Describe(node)));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  std::string* out) {
  if (!node.IsScalar()) {
    // Unquoted, "[::1]:9464" starts a YAML list.
    const bool bracketed_address = node.IsSequence() && absl::EndsWith(path, ".listen");
    return ErrorAt(path, where,
                   absl::StrCat("expected a string, got ", Describe(node),
                                bracketed_address ? " (quote IPv6 addresses: '[::1]:9464')" : ""));
  }
  *out = node.Scalar();
  return absl::OkStatus();
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  absl::Duration* out) {
  if (!node.IsScalar()) {
    return ErrorAt(path, where,
                   absl::StrCat("expected a duration (500ms, 15s, 2m, 1h), got ", Describe(node)));
  }
  absl::StatusOr<absl::Duration> duration = ParseDuration(node.Scalar());
  if (!duration.ok()) return ErrorAt(path, where, duration.status().message());
  *out = *duration;
  return absl::OkStatus();
}

template <class T, class ReadElement>
absl::Status DocumentReader::ReadList(const YAML::Node& node, const std::string& path,
                                      Position where, absl::string_view not_a_list,
                                      absl::string_view hint, std::vector<T>* out,
                                      ReadElement read_element) {
  if (!node.IsSequence()) {
    return ErrorAt(path, where,
                   absl::StrCat("expected ", not_a_list, ", got ", Describe(node), hint));
  }
  std::vector<T> values;
  size_t index = 0;
  for (const auto& entry : node) {
    const YAML::Node element = entry;
    const std::string element_path = absl::StrCat(path, "[", index, "]");
    const Position element_position = PositionOf(element.Mark());
    positions_[element_path] = element_position.line > 0 ? element_position : where;
    T value{};
    if (absl::Status status = read_element(element, element_path, positions_[element_path], &value);
        !status.ok()) {
      return status;
    }
    values.push_back(std::move(value));
    ++index;
  }
  *out = std::move(values);
  return absl::OkStatus();
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  std::vector<double>* out) {
  return ReadList(
      node, path, where, "a list of numbers", "", out,
      [this](const YAML::Node& element, const std::string& element_path, Position element_where,
             double* value) { return Read(element, element_path, element_where, value); });
}

absl::Status DocumentReader::Read(const YAML::Node& node, const std::string& path, Position where,
                                  std::vector<std::string>* out) {
  // sites.debug_dirs lists directories; the other string lists, glob patterns.
  const bool dirs = absl::EndsWith(path, "debug_dirs");
  return ReadList(node, path, where, dirs ? "a list of directories" : "a list of glob patterns",
                  " (write [] for none)", out,
                  [dirs](const YAML::Node& element, const std::string& element_path,
                         Position element_where, std::string* value) -> absl::Status {
                    if (!element.IsScalar()) {
                      return ErrorAt(
                          element_path, element_where,
                          absl::StrCat("expected a ", dirs ? "directory" : "glob pattern", ", got ",
                                       Describe(element)));
                    }
                    *value = element.Scalar();
                    return absl::OkStatus();
                  });
}

// Names the key of a broken rule with the line:column the document wrote it at.
absl::Status IssueError(const ConfigIssue& issue,
                        const std::map<std::string, Position>& positions) {
  if (auto it = positions.find(issue.key); it != positions.end()) {
    return ErrorAt(issue.key, it->second, issue.message);
  }
  if (auto it = positions.find(issue.related_key); it != positions.end()) {
    return ErrorAt(issue.key, {},
                   absl::StrCat(issue.message, " (", issue.related_key, " is set at line ",
                                it->second.line, ", column ", it->second.column, ")"));
  }
  return ErrorAt(issue.key, {}, issue.message);
}

absl::StatusOr<Config> ParseDocument(absl::string_view yaml) {
  absl::StatusOr<YAML::Node> document = LoadSingleDocument(std::string(yaml));
  if (!document.ok()) return document.status();
  const YAML::Node& root = *document;
  Config config;
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    return ErrorAt("", PositionOf(root.Mark()),
                   absl::StrCat("the config must be a map with the sections ",
                                absl::StrJoin(ChildNames(""), ", "), ", got ", Describe(root)));
  }
  DocumentReader reader(config);
  if (absl::Status status = reader.ReadSection(root, "", PositionOf(root.Mark())); !status.ok()) {
    return status;
  }
  if (std::optional<ConfigIssue> issue = FindConfigIssue(config)) {
    return IssueError(*issue, reader.positions());
  }
  return config;
}

}  // namespace
}  // namespace leakwatch::config

namespace leakwatch {

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text) {
  const absl::string_view yaml(yaml_text.data(), yaml_text.size());
  if (yaml.size() > config::kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the config is ", yaml.size(),
                                                   " bytes; at most ", config::kMaxConfigBytes,
                                                   " are allowed"));
  }
  try {
    return config::ParseDocument(yaml);
  } catch (const YAML::DeepRecursion& e) {
    return config::ErrorAt(
        "", config::PositionOf(e.mark),
        absl::StrCat("invalid YAML: nested more than ", e.depth(), " levels deep"));
  } catch (const YAML::Exception& e) {
    return config::ErrorAt("", config::PositionOf(e.mark), absl::StrCat("invalid YAML: ", e.msg));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while parsing the config");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("parsing the config failed: ", e.what()));
  } catch (...) {
    return absl::InternalError("parsing the config failed with an unknown exception");
  }
}

}  // namespace leakwatch
