// Separate debug files for elfutils' libdwfl, found on the local disk: the
// find_debuginfo callback of every Dwfl that dwarf_lookup.h makes.
//
// libdwfl's own dwfl_standard_find_debuginfo ends, for every module without a
// local debug file (libc, a stripped program), in its debuginfod client: it
// dlopens libdebuginfod, which loads libcurl and GnuTLS and runs their
// initializers and exit handlers inside the host process, even when no server
// is configured. In a short-lived preloaded process that raced its exit. So
// the search here is leakwatch's own, gdb's layouts on disk only, and
// debuginfod is asked (through dwfl_standard_find_debuginfo) only when the
// process's environment sets DEBUGINFOD_URLS to a non-empty value.
//
// Thread-compatible: libdwfl calls it with the Dwfl's lock held (debuginfo.cc)
// or from the single thread of leakwatch-symbolize.

#ifndef LEAKWATCH_CORE_DEBUG_FILES_H_
#define LEAKWATCH_CORE_DEBUG_FILES_H_

#include <elfutils/libdwfl.h>

namespace leakwatch::core {

// Finds the debug file of `mod` and returns an open descriptor (and its path
// in *debuginfo_file_name, malloc'd, for libdwfl to free), or -1. Two kinds of
// call, as libdwfl makes them:
//  - the module's debug file (`file_name` is the module's file,
//    `debuglink_file`/`debuglink_crc` its .gnu_debuglink): by build-id,
//    DIR/.build-id/xx/yyyy.debug for each absolute DIR of `search_path`; then
//    by debuglink name: next to the module, in its .debug/ subdirectory, and
//    for each absolute DIR, DIR/<the module's directory>/NAME and DIR/NAME. A
//    candidate is taken if its build-id is the module's, or, when either has
//    none, if its CRC is the debuglink's; never the module's own file.
//  - a dwz alternate file (`file_name` has a .gnu_debugaltlink naming
//    `debuglink_file`, `debuglink_crc` is 0): by the alternate build-id under
//    each absolute DIR, then the name itself (absolute, or relative to
//    `file_name`'s directory); taken only if its build-id is the one the link
//    names.
// `search_path` is libdwfl's syntax, entries separated by ':': "" the
// module's directory, a relative entry a subdirectory of it, an absolute one a
// debug directory (DebugInfoSearchPath in dwarf_lookup.h). When nothing is
// found and DEBUGINFOD_URLS is non-empty, returns what
// dwfl_standard_find_debuginfo finds (local again, then debuginfod).
int FindDebugFile(const char* search_path, Dwfl_Module* mod, void** userdata, const char* modname,
                  Dwarf_Addr base, const char* file_name, const char* debuglink_file,
                  GElf_Word debuglink_crc, char** debuginfo_file_name);

// Whether the process asked for debuginfod: DEBUGINFOD_URLS set and not empty.
bool DebuginfodRequested();

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_DEBUG_FILES_H_
