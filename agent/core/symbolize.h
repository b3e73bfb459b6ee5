// Stable labels for code addresses: "function+0xOFFSET" (demangled function
// name, offset from the function's start) or "module+0xOFFSET" (offset from the
// module's load address) when the function has no symbol. Never a raw address,
// so labels survive restarts and ASLR.
//
// Thread-safety: both overloads may run concurrently (absl's lookup under a mutex, debug
// information under debuginfo.h's locks); a lookup can stall a hook, so callers cache labels.

#ifndef LEAKWATCH_CORE_SYMBOLIZE_H_
#define LEAKWATCH_CORE_SYMBOLIZE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace leakwatch::core {

// Writes the label of return address `ra` into `out` (NUL-terminated, truncated
// to `size`): from debug information when the agent's symbolizer thread
// answers (debuginfo.h: "function+0xOFF (file.c:42)", static functions and
// separate debug files included), else from the modules' own symbol tables. Also stores the bare
// function name (or "" if unknown) into `function` when non-null. Slow (reads symbol tables);
// allocates nothing with malloc, so it is safe inside a hook.
void FrameLabel(uintptr_t ra, char* out, size_t size, char* function = nullptr,
                size_t function_size = 0) noexcept;

// FrameLabel as a string, for dumps, from debug information read here (it
// allocates: agent threads only); a frame without a name carries its module's
// build-id: "mariadbd+0xd5b024 (build-id 3f2a...)". See debuginfo.h.
std::string FrameLabel(uintptr_t ra);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_SYMBOLIZE_H_
