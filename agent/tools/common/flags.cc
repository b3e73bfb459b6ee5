#include "common/flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace leakwatch::tools {
namespace {

std::string Shown(const Usage& usage, absl::string_view name) {
  return usage.hyphenated ? absl::StrReplaceAll(name, {{"_", "-"}}) : std::string(name);
}

// The tool's own flags, by name.
std::vector<absl::CommandLineFlag*> ToolFlags(const Usage& usage) {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!flag->IsRetired() && absl::EndsWith(flag->Filename(), usage.flags_file)) {
      flags.push_back(flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

absl::CommandLineFlag* FindToolFlag(const Usage& usage, absl::string_view name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr || flag->IsRetired() || !absl::EndsWith(flag->Filename(), usage.flags_file)) {
    return nullptr;
  }
  return flag;
}

// A flag's kind of value: how the help text shows it, and what an error says
// it must be.
struct ValueKind {
  const char* placeholder;
  const char* expected;
};
ValueKind KindOf(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return {"", "true or false"};
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>()) return {" N", "an integer"};
  if (flag.IsOfType<double>()) return {" NUMBER", "a number"};
  if (flag.IsOfType<absl::Duration>()) return {" DURATION", "a duration such as 500ms, 2s or 1m"};
  return {" VALUE", "a valid value"};
}

// "  --name VALUE   help", the help wrapped at 80 columns under its column.
void AppendFlagHelp(std::string& text, const std::string& name, absl::string_view help) {
  constexpr size_t kColumn = 26, kWidth = 80;
  const std::string indent(kColumn, ' ');
  absl::StrAppend(&text, "  ", name);
  size_t used = 2 + name.size();
  if (used + 2 > kColumn) {
    absl::StrAppend(&text, "\n", indent);
  } else {
    text.append(kColumn - used, ' ');
  }
  used = kColumn;
  for (absl::string_view word : absl::StrSplit(help, ' ', absl::SkipEmpty())) {
    if (used > kColumn && used + 1 + word.size() > kWidth) {
      absl::StrAppend(&text, "\n", indent);
      used = kColumn;
    }
    if (used > kColumn) {
      text += ' ';
      ++used;
    }
    absl::StrAppend(&text, word);
    used += word.size();
  }
  text += '\n';
}

absl::Status Bad(absl::string_view message) { return absl::InvalidArgumentError(message); }

// Sets one flag from `--name[=value]` at argv[i] (advancing i past a separate
// value).
absl::Status SetFlag(const Usage& usage, int argc, char** argv, int& i,
                     std::set<std::string>& seen) {
  absl::string_view arg = argv[i];
  arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
  const size_t eq = arg.find('=');
  const bool has_value = eq != absl::string_view::npos;
  const std::string name = absl::StrReplaceAll(arg.substr(0, eq), {{"-", "_"}});
  std::string value = has_value ? std::string(arg.substr(eq + 1)) : "";
  absl::CommandLineFlag* flag = FindToolFlag(usage, name);
  if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
    flag = FindToolFlag(usage, name.substr(2));
    if (flag == nullptr || !flag->IsOfType<bool>()) flag = nullptr;
    if (flag != nullptr) value = "false";
  } else if (flag != nullptr && !has_value) {
    if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 >= argc) {
      return Bad(absl::StrCat("--", Shown(usage, name), " needs a value"));
    } else {
      value = argv[++i];
    }
  }
  if (flag == nullptr) return Bad(absl::StrCat("unknown flag ", argv[i]));
  const std::string shown = Shown(usage, flag->Name());
  // A list flag collects every occurrence: a RepeatedFlag each value whole, a
  // std::vector<std::string> the items of each comma list.
  const bool again = !seen.insert(shown).second;
  std::string text = value;
  if (flag->IsOfType<RepeatedFlag>()) {
    text = absl::StrCat(again ? flag->CurrentValue() : "", value, absl::string_view("\0", 1));
  } else if (flag->IsOfType<std::vector<std::string>>() && again) {
    text = absl::StrCat(flag->CurrentValue(), ",", value);
  }
  std::string error;
  if (!flag->ParseFrom(text, &error)) {
    return Bad(absl::StrCat("--", shown, ": \"", value, "\" is not ", KindOf(*flag).expected));
  }
  return absl::OkStatus();
}

}  // namespace

bool AbslParseFlag(absl::string_view text, RepeatedFlag* flag, std::string* /*error*/) {
  flag->values.clear();
  while (!text.empty()) {
    const size_t end = text.find('\0');
    flag->values.emplace_back(text.substr(0, end));
    text.remove_prefix(end == absl::string_view::npos ? text.size() : end + 1);
  }
  return true;
}

std::string AbslUnparseFlag(const RepeatedFlag& flag) {
  std::string text;
  for (const std::string& value : flag.values) {
    absl::StrAppend(&text, value, absl::string_view("\0", 1));
  }
  return text;
}

absl::StatusOr<ParsedArgs> ParseFlags(int argc, char** argv, const Usage& usage) {
  ParsedArgs parsed;
  std::set<std::string> seen;
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (flags_ended || arg == "-" || !absl::StartsWith(arg, "-")) {
      parsed.args.emplace_back(arg);
    } else if (arg == "--") {
      flags_ended = true;
    } else if (arg == "--help" || arg == "-help" || arg == "-h") {
      parsed.help = true;
    } else if (absl::Status s = SetFlag(usage, argc, argv, i, seen); !s.ok()) {
      return s;
    }
  }
  if (!parsed.help && parsed.args.size() > static_cast<size_t>(usage.max_args)) {
    return Bad(usage.max_args == 0
                   ? absl::StrCat("unexpected argument \"", parsed.args[0], "\"")
                   : absl::StrCat("unexpected argument \"", parsed.args[usage.max_args],
                                  "\" (at most ", usage.max_args, " expected)"));
  }
  return parsed;
}

std::string UsageText(const Usage& usage) {
  std::string text = absl::StrCat("usage: ", usage.synopsis, "\n\n", usage.description, "\n");
  absl::StrAppend(&text, "Flags:\n");
  for (const absl::CommandLineFlag* flag : ToolFlags(usage)) {
    const std::string help_text = flag->Help();
    absl::string_view help = help_text;
    std::string placeholder = KindOf(*flag).placeholder;
    // "<FILE> ..." names the value.
    if (absl::StartsWith(help, "<") && help.find("> ") != absl::string_view::npos) {
      placeholder = absl::StrCat(" ", help.substr(1, help.find("> ") - 1));
      help.remove_prefix(help.find("> ") + 2);
    }
    std::string line = std::string(help);
    const std::string fallback = flag->DefaultValue();
    if (!fallback.empty() && fallback != "false" && fallback != "0")
      absl::StrAppend(&line, " (default: ", fallback, ")");
    AppendFlagHelp(text, absl::StrCat("--", Shown(usage, flag->Name()), placeholder), line);
  }
  AppendFlagHelp(text, "--help", "this text");
  if (!usage.footer.empty()) absl::StrAppend(&text, "\n", usage.footer);
  return text;
}

std::vector<std::string> ParseFlagsOrExit(int argc, char** argv, const Usage& usage) {
  absl::StatusOr<ParsedArgs> parsed = ParseFlags(argc, argv, usage);
  if (!parsed.ok()) ExitUsageError(usage, parsed.status().message());
  if (parsed->help) {
    std::fputs(UsageText(usage).c_str(), stdout);
    std::fflush(stdout);
    std::exit(0);
  }
  return std::move(parsed->args);
}

int Fail(const Usage& usage, int code, absl::string_view message) {
  std::fprintf(stderr, "%s: %.*s\n", std::string(usage.tool).c_str(),
               static_cast<int>(message.size()), message.data());
  return code;
}

void ExitUsageError(const Usage& usage, absl::string_view message) {
  Fail(usage, kExitUsage, absl::StrCat(message, " (see --help)"));
  std::exit(kExitUsage);
}

}  // namespace leakwatch::tools
