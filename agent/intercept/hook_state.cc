// The hooks' shared state: per-thread state, the switches, the recording
// half's entry points and the lookup of real functions. C library only: this
// file is part of the preload shim (see capture.h).

#include <dlfcn.h>

#include "intercept/capture.h"

namespace leakwatch::intercept::internal {

Switches g_switches;
constinit thread_local ThreadState tls_state __attribute__((tls_model("initial-exec")));
std::atomic<const SlowPath*> g_slow_path{nullptr};
std::atomic<void (*)()> g_before_first_thread{nullptr};

void* LookupReal(const char* name, const char* version) noexcept {
  ThreadState& ts = tls_state;
  const bool was = ts.in_hook;
  ts.in_hook = true;  // dlsym may lock or allocate: never record that
  void* p = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  ts.in_hook = was;
  return p;
}

}  // namespace leakwatch::intercept::internal
