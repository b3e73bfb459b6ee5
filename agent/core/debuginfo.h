// Debug information for the live process: names (static and hidden functions
// included) and source lines for return addresses, from the modules' own
// tables or separate debug files (dwarf_lookup.h), for site labels and dumps.
//
// libdwfl allocates and locks, so a hook never calls it: the hooks' slow path
// (a new return address) hands the address to one agent thread, the
// symbolizer, and waits for its answer for at most kHookWaitMillis, polling
// (try_lock and 50 us sleeps: nothing the hooks would record as a wait). A symbolizer that
// does not answer in time (it may be waiting for a lock the hooked thread
// holds, inside malloc for instance) is not asked again until it has
// answered; the caller labels the frame without debug files then
// (symbolize.h). Before StartSymbolizer, and in a fork child until the agent
// starts there, nothing is asked.
//
// Thread-safety: all but StartSymbolizer (leakwatch::Start serializes it) may run concurrently:
// lookups hold the live Dwfl's mutex for their whole duration; hooks take turns at one mailbox.

#ifndef LEAKWATCH_CORE_DEBUGINFO_H_
#define LEAKWATCH_CORE_DEBUGINFO_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/dwarf_lookup.h"

namespace leakwatch::core {

// Longest a hook waits for the symbolizer's answer.
inline constexpr int kHookWaitMillis = 2000;

// Sets the extra debug directories (sites.debug_dirs) and starts the
// symbolizer thread if it is not running. Call with the host's signals
// blocked and the calling thread marked as an agent thread (export/agent.cc).
void StartSymbolizer(const std::vector<std::string>& debug_dirs);

// Describes the return address `ra` of the live process. Allocates: agent
// threads only. False if no loaded module contains `ra`.
bool DescribeAddress(uintptr_t ra, FrameInfo* out);

// The label of `ra` from debug information (FrameInfoLabel), written into
// `label`; `function` gets the bare function name. Safe in a hook: asks the
// symbolizer thread. False if it is not running, did not answer in time, or
// knows no function at `ra` (the caller falls back to symbolize.h's tables).
bool DebugLabelFromHook(uintptr_t ra, char* label, size_t label_size, char* function,
                        size_t function_size) noexcept;

// Tests only: `hook` runs in DebugLabelFromHook right after a request is
// posted, before the wait for its answer, and is given the mailbox's lock
// (nullptr: none).
void SetAfterPostHookForTesting(void (*hook)(std::mutex& mailbox_lock));

// For dumps: the frame's label, and for a frame without a name, its module's
// build-id: "mariadbd+0xd5b024 (build-id 3f2a...)".
std::string DescribeFrameForDump(uintptr_t ra);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_DEBUGINFO_H_
