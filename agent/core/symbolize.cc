#include "core/symbolize.h"

#include <dlfcn.h>
#include <unistd.h>
#include <unwind.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/debugging/symbolize.h"
#include "core/debuginfo.h"
#include "core/fork_locks.h"
#include "core/symbolizer_files.h"

namespace leakwatch::core {
namespace {

constinit std::mutex g_symbolize_mu;  // trivially destroyed: usable at exit
pid_t g_symbolizer_pid = 0;           // guarded by g_symbolize_mu: who symbolized last

}  // namespace

void LockSymbolizerForFork() noexcept { g_symbolize_mu.lock(); }
void UnlockSymbolizerAfterFork() noexcept { g_symbolize_mu.unlock(); }

void FrameLabel(uintptr_t ra, char* out, size_t size, char* function,
                size_t function_size) noexcept {
  if (size == 0) return;
  out[0] = '\0';
  if (function != nullptr && function_size > 0) function[0] = '\0';
  // Debug information (separate debug files, static functions, file:line),
  // from the agent's symbolizer thread when it runs (debuginfo.h).
  if (DebugLabelFromHook(ra, out, size, function, function_size)) return;
  const uintptr_t pc = ra - 1;  // inside the call instruction, not after it
  char symbol[512];
  bool found;
  {
    // absl::Symbolize is thread-safe, but it passes a cached symbolizer between
    // threads with atomics inside the uninstrumented absl library, which TSan
    // cannot see. Symbolizing is rare (results are cached by callers), so a lock
    // costs nothing and keeps TSan runs meaningful. Held across fork() too
    // (fork_locks.h): absl's symbolizer arena has a lock of its own.
    std::lock_guard<std::mutex> lock(g_symbolize_mu);
    // A fork child must not read the object files through its parent's file
    // offsets (symbolizer_files.h).
    if (const pid_t pid = getpid(); pid != g_symbolizer_pid) {
      if (g_symbolizer_pid != 0) ReopenInheritedObjectFiles();
      g_symbolizer_pid = pid;
    }
    found = absl::Symbolize(reinterpret_cast<void*>(pc), symbol, sizeof symbol);
  }
  if (found) {
    if (function != nullptr && function_size > 0) {
      std::snprintf(function, function_size, "%s", symbol);
    }
    const void* start = _Unwind_FindEnclosingFunction(reinterpret_cast<void*>(pc));
    if (start != nullptr && reinterpret_cast<uintptr_t>(start) <= ra) {
      std::snprintf(out, size, "%s+0x%lx", symbol,
                    static_cast<unsigned long>(ra - reinterpret_cast<uintptr_t>(start)));
    } else {
      std::snprintf(out, size, "%s", symbol);
    }
    return;
  }
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_fname != nullptr) {
    const char* module = std::strrchr(info.dli_fname, '/');
    module = module != nullptr ? module + 1 : info.dli_fname;
    std::snprintf(out, size, "%s+0x%lx", *module != '\0' ? module : "[unknown]",
                  static_cast<unsigned long>(ra - reinterpret_cast<uintptr_t>(info.dli_fbase)));
    return;
  }
  std::snprintf(out, size, "[unknown]");
}

std::string FrameLabel(uintptr_t ra) {
  if (std::string described = DescribeFrameForDump(ra); !described.empty()) return described;
  char label[640];
  FrameLabel(ra, label, sizeof label);
  return label;
}

}  // namespace leakwatch::core
