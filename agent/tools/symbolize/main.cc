// leakwatch-symbolize: names for the "module+0xOFF" labels a preloaded
// process shows when its module had no debug information at hand (a stripped
// binary without its debug file), given that debug file later.
//
//   curl -s host:9464/metrics | leakwatch-symbolize --debug-file=mariadbd.debug
//   leakwatch-symbolize --module=mariadbd --build-id=3f2a... dump.txt
//
// Every "MODULE+0xOFF" in the text becomes "function+0xOFF (file:line)"
// (file:line when the debug file has line tables); the rest of the text is
// copied unchanged.

#include <elfutils/libdwfl.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/dwarf_lookup.h"
#include "tools/common/flags.h"

ABSL_FLAG(std::string, debug_file, "",
          "FILE the module's debug file (objcopy --only-keep-debug output, a -dbgsym package's "
          "/usr/lib/debug/.build-id/xx/yyyy.debug) or the unstripped module");
ABSL_FLAG(std::string, module, "",
          "NAME the module as labels name it (\"mariadbd\", \"libfoo.so.1\"); default: the debug "
          "file's name without .debug");
ABSL_FLAG(std::string, build_id, "",
          "HEX find the debug file by build-id (as /debug/tasks?debug=2 shows it) under "
          "--debug-dir, instead of --debug-file; needs --module");
ABSL_FLAG(std::string, debug_dir, "/usr/lib/debug",
          "DIR where --build-id looks: DIR/.build-id/xx/yyyy.debug");

namespace {

constexpr leakwatch::tools::Usage kUsage = {
    .tool = "leakwatch-symbolize",
    .synopsis =
        "leakwatch-symbolize --debug-file=FILE [--module=NAME] [TEXT_FILE...]\n"
        "       leakwatch-symbolize --module=NAME --build-id=HEX [--debug-dir=DIR] "
        "[TEXT_FILE...]",
    .description =
        "Reads a scrape (/metrics), a task dump (/debug/tasks, leakwatch-console --dump) or "
        "labels one a line from the files or standard input, and writes it with every "
        "NAME+0xOFF label replaced by function+0xOFF (file:line) from the module's debug file.",
    .flags_file = "tools/symbolize/main.cc",
    .footer =
        "Exit status: 0 done (the count of labels resolved goes to stderr), 1 the debug "
        "file or a text file cannot be read, 2 bad usage.",
    .max_args = 1 << 20,
};

std::string ReadAll(std::istream& in) {
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The debug file to read (--debug-file, or --build-id under --debug-dir) and
// the module name its labels carry (--module, else the file's name without
// ".debug"); exits with a usage error when the flags do not say one.
struct Target {
  std::string path;
  std::string module;
};

Target TargetFromFlags() {
  Target t{absl::GetFlag(FLAGS_debug_file), absl::GetFlag(FLAGS_module)};
  const std::string build_id = absl::AsciiStrToLower(absl::GetFlag(FLAGS_build_id));
  if (!build_id.empty()) {
    if (!t.path.empty())
      leakwatch::tools::ExitUsageError(kUsage, "give --debug-file or --build-id, not both");
    if (t.module.empty()) leakwatch::tools::ExitUsageError(kUsage, "--build-id needs --module");
    if (build_id.size() < 4 ||
        build_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
      leakwatch::tools::ExitUsageError(
          kUsage, absl::StrCat("--build-id must be hexadecimal digits, got \"", build_id, "\""));
    }
    t.path = absl::StrCat(absl::GetFlag(FLAGS_debug_dir), "/.build-id/", build_id.substr(0, 2), "/",
                          build_id.substr(2), ".debug");
  }
  if (t.path.empty())
    leakwatch::tools::ExitUsageError(kUsage, "--debug-file or --build-id is required");
  if (t.module.empty()) {
    t.module = t.path.substr(t.path.rfind('/') + 1);
    if (absl::EndsWith(t.module, ".debug")) t.module.resize(t.module.size() - 6);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args = leakwatch::tools::ParseFlagsOrExit(argc, argv, kUsage);
  const Target target = TargetFromFlags();
  const std::string& path = target.path;
  const std::string& module = target.module;

  std::string search_path = leakwatch::core::DebugInfoSearchPath({});
  char* search_path_ptr = search_path.data();
  Dwfl* dwfl = leakwatch::core::NewOfflineDwfl(&search_path_ptr);
  Dwfl_Module* mod =
      dwfl != nullptr ? dwfl_report_offline(dwfl, module.c_str(), path.c_str(), -1) : nullptr;
  if (dwfl != nullptr) dwfl_report_end(dwfl, nullptr, nullptr);
  uint64_t base = 0;
  uint64_t bias = 0;
  if (mod == nullptr || !leakwatch::core::ModuleFileBase(mod, &base, &bias)) {
    std::fprintf(stderr, "leakwatch-symbolize: cannot read %s as an ELF file: %s\n", path.c_str(),
                 dwfl_errmsg(-1));
    return leakwatch::tools::kExitFailure;
  }

  std::vector<std::string> texts;
  if (args.empty() || (args.size() == 1 && args[0] == "-")) {
    texts.push_back(ReadAll(std::cin));
  } else {
    for (const std::string& file : args) {
      std::ifstream in(file);
      if (!in) {
        std::fprintf(stderr, "leakwatch-symbolize: cannot read %s\n", file.c_str());
        return leakwatch::tools::kExitFailure;
      }
      texts.push_back(ReadAll(in));
    }
  }
  size_t resolved = 0;
  for (std::string& text : texts) {
    resolved += leakwatch::core::ResolveLabels(mod, module, &text);
    std::cout << text;
  }
  std::cout.flush();
  std::fprintf(stderr, "leakwatch-symbolize: %zu %s+0x... label%s resolved (build-id %s)\n",
               resolved, module.c_str(), resolved == 1 ? "" : "s",
               leakwatch::core::ModuleBuildId(mod).c_str());
  dwfl_end(dwfl);
  return 0;
}
