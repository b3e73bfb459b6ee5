// Thread names: pthread_setname_np and prctl(PR_SET_NAME) are interposed so the
// named thread's record keeps its name (core/thread_name.h) and a task dump
// need not read /proc for it. Each hook calls the real function first and
// records the name only when that succeeded, so what is recorded is what the
// kernel holds. The real functions are found lazily with dlsym(RTLD_NEXT) (the
// next definition: libc, or a sanitizer's interceptor in front of it). C library
// only (the preload shim); the recording is capture.cc's RecordThreadName.

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

using SetNameFn = int (*)(pthread_t, const char*);
using PrctlFn = int (*)(int, unsigned long, unsigned long, unsigned long, unsigned long);

Real<SetNameFn> real_setname{"pthread_setname_np", nullptr};
Real<PrctlFn> real_prctl{"prctl", nullptr};

// The kernel's thread id of `thread`, decoded from its CPU-time clock id
// (clockid = ~tid << 3 | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED, a stable
// kernel ABI), or 0 if unknown.
int32_t TidOf(pthread_t thread) noexcept {
  clockid_t clock;
  if (pthread_getcpuclockid(thread, &clock) != 0 || (clock & 4) == 0) return 0;
  return static_cast<int32_t>(~(clock >> 3));
}

// Records `name` for `thread` through the recording half, once it is loaded.
void RecordName(pthread_t thread, const char* name) noexcept {
  const SlowPath* slow = LoadedSlowPath();
  if (slow == nullptr || tls_state.in_hook) return;
  if (pthread_equal(thread, pthread_self())) {
    slow->record_thread_name(0, name);
    return;
  }
  const int32_t tid = TidOf(thread);
  if (tid > 0) slow->record_thread_name(tid, name);
}

}  // namespace
}  // namespace leakwatch::intercept::internal

using namespace leakwatch::intercept::internal;  // NOLINT: the hooks are C symbols

extern "C" {

int pthread_setname_np(pthread_t thread, const char* name) noexcept {
  SetNameFn real = real_setname.Get();
  if (real == nullptr) return ENOSYS;
  const int r = real(thread, name);
  if (r == 0) RecordName(thread, name);
  return r;
}

// Variadic like glibc's: the four optional arguments are forwarded whatever the
// option (reading an argument the caller did not pass is harmless on the ABIs
// glibc's own prctl relies on the same way).
int prctl(int option, ...) noexcept {
  va_list ap;
  va_start(ap, option);
  const unsigned long a2 = va_arg(ap, unsigned long);
  const unsigned long a3 = va_arg(ap, unsigned long);
  const unsigned long a4 = va_arg(ap, unsigned long);
  const unsigned long a5 = va_arg(ap, unsigned long);
  va_end(ap);
  PrctlFn real = real_prctl.Get();
  const int r = real != nullptr ? real(option, a2, a3, a4, a5)
                                : static_cast<int>(syscall(SYS_prctl, option, a2, a3, a4, a5));
  if (r == 0 && option == PR_SET_NAME && a2 != 0) {
    RecordName(pthread_self(), reinterpret_cast<const char*>(a2));
  }
  return r;
}

}  // extern "C"
