// Names and source lines of code addresses from ELF symbol tables and DWARF,
// with elfutils' libdwfl: the module's own tables, or a separate debug file
// found by build-id or .gnu_debuglink under the debug directories (and through
// debuginfod only when DEBUGINFOD_URLS is set: debug_files.h). The full symbol
// table (.symtab) of the debug file names static and hidden functions too.
//
// Allocates and takes libdwfl's locks: never call it from a hook (see
// debuginfo.h for the hook-safe entry point). Shared by the agent
// (debuginfo.cc, for the live process) and leakwatch-symbolize (offline, for a
// scrape's or dump's "module+0xOFF" labels).
//
// Not thread-safe: one thread at a time per kind of Dwfl (New*Dwfl set process-wide callbacks);
// the agent calls it under debuginfo.cc's mutex. FrameInfoLabel and DebugInfoSearchPath are pure.

#ifndef LEAKWATCH_CORE_DWARF_LOOKUP_H_
#define LEAKWATCH_CORE_DWARF_LOOKUP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct Dwfl;
struct Dwfl_Module;

namespace leakwatch::core {

// What is known about one return address.
struct FrameInfo {
  std::string function;          // demangled; "" when no symbol covers the address
  uint64_t function_offset = 0;  // return address - function start
  std::string file;              // source file's last path component; "" if unknown
  int line = 0;
  std::string module;          // the module's file name (no directory)
  uint64_t module_offset = 0;  // return address - the module's load address
  std::string build_id;        // lower-case hex; "" if the module has none
};

// "function+0xOFF (file:line)", "function+0xOFF", or "module+0xOFF"; "" when
// nothing is known (no module).
std::string FrameInfoLabel(const FrameInfo& info);

// libdwfl's search path for separate debug files: the module's directory, its
// .debug subdirectory, /usr/lib/debug, then `dirs` (each searched by build-id,
// DIR/.build-id/xx/yyyy.debug, and by debuglink name).
std::string DebugInfoSearchPath(const std::vector<std::string>& dirs);

// A Dwfl over the live process (dwfl_linux_proc_*) or over files (offline),
// its separate debug files found by FindDebugFile (debug_files.h) along
// `search_path`, which must outlive the Dwfl. One Dwfl of each kind at a time:
// a new one replaces the previous one's search path.
Dwfl* NewLiveDwfl(char** search_path);
Dwfl* NewOfflineDwfl(char** search_path);

// Fills `out` for return address `ra` (looked up at ra - 1, inside the call)
// in `module`, an address in the Dwfl's address space. `module_base` is the
// address the label's "module+0xOFF" counts from (dladdr's dli_fbase for a
// live module, the file base for an offline one).
void DescribeInModule(Dwfl_Module* module, uint64_t ra, uint64_t module_base, FrameInfo* out);

// The link-time address of a module file's first loaded byte (its first
// PT_LOAD segment, page-aligned): "module+0xOFF" is at this address + OFF.
// Returns false if the module has no ELF.
bool ModuleFileBase(Dwfl_Module* module, uint64_t* base, uint64_t* bias);

// Lower-case hex build-id of `module`, "" if none.
std::string ModuleBuildId(Dwfl_Module* module);

// Replaces every "MODULE+0xHEX" in `text` with its FrameInfoLabel, looked up
// in `module` (an offline module: MODULE+0xOFF is at its file base + OFF).
// Labels whose address no symbol covers are left as they are. Returns the
// number replaced.
size_t ResolveLabels(Dwfl_Module* module, const std::string& module_name, std::string* text);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_DWARF_LOOKUP_H_
