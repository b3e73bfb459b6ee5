// The interposed functions. Each tries its operation without waiting first;
// only a call that must wait takes the slow path in capture.cc. Real functions
// are found lazily with dlsym/dlvsym(RTLD_NEXT) (and eagerly from a
// constructor); `pthread_cond_*` are pinned to GLIBC_2.3.2, the versions
// libstdc++ calls, not the old compat ones.

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

void* Lookup(const char* name, const char* version) noexcept {
  ThreadState& ts = tls_state;
  const bool was = ts.in_hook;
  ts.in_hook = true;  // dlsym may lock or allocate: never record that
  void* p = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  ts.in_hook = was;
  return p;
}

template <class Fn>
struct Real {
  const char* name;
  const char* version;
  std::atomic<Fn> fn{nullptr};

  Fn Get() noexcept {
    Fn f = fn.load(std::memory_order_acquire);
    if (__builtin_expect(f != nullptr, 1)) return f;
    f = reinterpret_cast<Fn>(Lookup(name, version));
    if (f != nullptr) fn.store(f, std::memory_order_release);
    return f;
  }
};

using MutexFn = int (*)(pthread_mutex_t*);
using MutexTimedFn = int (*)(pthread_mutex_t*, const struct timespec*);
using MutexClockFn = int (*)(pthread_mutex_t*, clockid_t, const struct timespec*);
using RwFn = int (*)(pthread_rwlock_t*);
using RwTimedFn = int (*)(pthread_rwlock_t*, const struct timespec*);
using RwClockFn = int (*)(pthread_rwlock_t*, clockid_t, const struct timespec*);
using CondWaitFn = int (*)(pthread_cond_t*, pthread_mutex_t*);
using CondTimedFn = int (*)(pthread_cond_t*, pthread_mutex_t*, const struct timespec*);
using CondClockFn = int (*)(pthread_cond_t*, pthread_mutex_t*, clockid_t, const struct timespec*);
using JoinFn = int (*)(pthread_t, void**);
using JoinTimedFn = int (*)(pthread_t, void**, const struct timespec*);
using JoinClockFn = int (*)(pthread_t, void**, clockid_t, const struct timespec*);
using SemFn = int (*)(sem_t*);
using SemTimedFn = int (*)(sem_t*, const struct timespec*);
using SemClockFn = int (*)(sem_t*, clockid_t, const struct timespec*);
using CreateFn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

Real<MutexFn> real_mutex_lock{"pthread_mutex_lock", nullptr};
Real<MutexTimedFn> real_mutex_timedlock{"pthread_mutex_timedlock", nullptr};
Real<MutexClockFn> real_mutex_clocklock{"pthread_mutex_clocklock", nullptr};
Real<RwFn> real_rdlock{"pthread_rwlock_rdlock", nullptr};
Real<RwFn> real_wrlock{"pthread_rwlock_wrlock", nullptr};
Real<RwTimedFn> real_timedrdlock{"pthread_rwlock_timedrdlock", nullptr};
Real<RwTimedFn> real_timedwrlock{"pthread_rwlock_timedwrlock", nullptr};
Real<RwClockFn> real_clockrdlock{"pthread_rwlock_clockrdlock", nullptr};
Real<RwClockFn> real_clockwrlock{"pthread_rwlock_clockwrlock", nullptr};
Real<CondWaitFn> real_cond_wait{"pthread_cond_wait", "GLIBC_2.3.2"};
Real<CondTimedFn> real_cond_timedwait{"pthread_cond_timedwait", "GLIBC_2.3.2"};
Real<CondClockFn> real_cond_clockwait{"pthread_cond_clockwait", nullptr};
Real<JoinFn> real_join{"pthread_join", nullptr};
Real<JoinTimedFn> real_timedjoin{"pthread_timedjoin_np", nullptr};
Real<JoinClockFn> real_clockjoin{"pthread_clockjoin_np", nullptr};
Real<SemFn> real_sem_wait{"sem_wait", nullptr};
Real<SemTimedFn> real_sem_timedwait{"sem_timedwait", nullptr};
Real<SemClockFn> real_sem_clockwait{"sem_clockwait", nullptr};
Real<CreateFn> real_create{"pthread_create", nullptr};

__attribute__((constructor(101))) void ResolveAll() {
  real_mutex_lock.Get();
  real_mutex_timedlock.Get();
  real_mutex_clocklock.Get();
  real_rdlock.Get();
  real_wrlock.Get();
  real_timedrdlock.Get();
  real_timedwrlock.Get();
  real_clockrdlock.Get();
  real_clockwrlock.Get();
  real_cond_wait.Get();
  real_cond_timedwait.Get();
  real_cond_clockwait.Get();
  real_join.Get();
  real_timedjoin.Get();
  real_clockjoin.Get();
  real_sem_wait.Get();
  real_sem_timedwait.Get();
  real_sem_clockwait.Get();
  real_create.Get();
}

// The real pthread_mutex_lock, or (while dlsym itself is being resolved and
// locks) an equivalent built on trylock.
int RealMutexLock(pthread_mutex_t* m) noexcept {
  if (MutexFn f = real_mutex_lock.Get()) return f(m);
  int r;
  while ((r = pthread_mutex_trylock(m)) == EBUSY) sched_yield();
  return r;
}

// Runs `call` as a recorded wait of `op` when `family` is on. `owner` is the
// lock's owner-tid word for untimed exclusive waits (deadlock detection), else
// nullptr.
#define LW_RECORDED_OWNED(family, op, resource, owner, call)                        \
  do {                                                                              \
    if (!EnterRecording(g_switches.family)) return call;                            \
    const Wait w = BeginWait(op, reinterpret_cast<uintptr_t>(ra), resource, owner); \
    const int saved_errno_result = call;                                            \
    EndWait(w);                                                                     \
    return saved_errno_result;                                                      \
  } while (0)
#define LW_RECORDED(family, op, resource, call) \
  LW_RECORDED_OWNED(family, op, resource, nullptr, call)

__attribute__((noinline)) int SlowMutexLock(pthread_mutex_t* m, void* ra) noexcept {
  // glibc keeps the owner's tid in __data.__owner (research B, addendum).
  LW_RECORDED_OWNED(mutex, Op::kMutex, m, &m->__data.__owner, RealMutexLock(m));
}

struct StartArgs {
  void* (*fn)(void*);
  void* arg;
  bool agent;
};

void* ThreadTrampoline(void* p) {
  const StartArgs a = *static_cast<StartArgs*>(p);
  free(p);
  tls_state.agent = a.agent;
  RegisterThread();
  return a.fn(a.arg);
}

#if defined(__x86_64__)
long RawSyscall6(long n, long a0, long a1, long a2, long a3, long a4, long a5) noexcept {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

long SyscallResult(long ret) noexcept {
  if (ret < 0 && ret > -4096) {
    errno = static_cast<int>(-ret);
    return -1;
  }
  return ret;
}

__attribute__((noinline)) long SlowFutex(long a0, long a1, long a2, long a3, long a4, long a5,
                                         void* ra) noexcept {
  if (!EnterRecording(g_switches.futex)) {
    return SyscallResult(RawSyscall6(SYS_futex, a0, a1, a2, a3, a4, a5));
  }
  const Wait w =
      BeginWait(Op::kFutex, reinterpret_cast<uintptr_t>(ra), reinterpret_cast<const void*>(a0));
  const long ret = RawSyscall6(SYS_futex, a0, a1, a2, a3, a4, a5);
  if (ret == -EAGAIN || ret == -EINTR) {
    CancelWait(w);  // the word had changed (or a signal came): it did not sleep
  } else {
    EndWait(w);
  }
  return SyscallResult(ret);
}
#endif

}  // namespace
}  // namespace leakwatch::intercept::internal

using namespace leakwatch::intercept::internal;  // NOLINT: the hooks are C symbols
using leakwatch::Op;

extern "C" {

int pthread_mutex_lock(pthread_mutex_t* m) noexcept {
  const int r = pthread_mutex_trylock(m);
  if (__builtin_expect(r != EBUSY, 1)) return r;
  return SlowMutexLock(m, __builtin_return_address(0));
}

int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_mutex_trylock(m) == 0) return 0;
  LW_RECORDED(mutex, Op::kMutex, m, real_mutex_timedlock.Get()(m, t));
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t c, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_mutex_trylock(m) == 0) return 0;
  LW_RECORDED(mutex, Op::kMutex, m, real_mutex_clocklock.Get()(m, c, t));
}

int pthread_rwlock_rdlock(pthread_rwlock_t* l) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_tryrdlock(l) == 0) return 0;
  LW_RECORDED(rwlock, Op::kRwlock, l, real_rdlock.Get()(l));
}

int pthread_rwlock_wrlock(pthread_rwlock_t* l) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_trywrlock(l) == 0) return 0;
  // A writer waits for the current writer (__cur_writer; 0 while readers hold it).
  LW_RECORDED_OWNED(rwlock, Op::kRwlock, l, &l->__data.__cur_writer, real_wrlock.Get()(l));
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_tryrdlock(l) == 0) return 0;
  LW_RECORDED(rwlock, Op::kRwlock, l, real_timedrdlock.Get()(l, t));
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_trywrlock(l) == 0) return 0;
  LW_RECORDED(rwlock, Op::kRwlock, l, real_timedwrlock.Get()(l, t));
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t c,
                               const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_tryrdlock(l) == 0) return 0;
  LW_RECORDED(rwlock, Op::kRwlock, l, real_clockrdlock.Get()(l, c, t));
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t c,
                               const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (pthread_rwlock_trywrlock(l) == 0) return 0;
  LW_RECORDED(rwlock, Op::kRwlock, l, real_clockwrlock.Get()(l, c, t));
}

int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  void* ra = __builtin_return_address(0);
  LW_RECORDED(condvar, Op::kCondvar, c, real_cond_wait.Get()(c, m));
}

int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* t) {
  void* ra = __builtin_return_address(0);
  LW_RECORDED(condvar, Op::kCondvar, c, real_cond_timedwait.Get()(c, m, t));
}

int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock,
                           const struct timespec* t) {
  void* ra = __builtin_return_address(0);
  LW_RECORDED(condvar, Op::kCondvar, c, real_cond_clockwait.Get()(c, m, clock, t));
}

int pthread_join(pthread_t t, void** ret) {
  void* ra = __builtin_return_address(0);
  if (pthread_tryjoin_np(t, ret) == 0) return 0;
  LW_RECORDED(join, Op::kJoin, nullptr, real_join.Get()(t, ret));
}

int pthread_timedjoin_np(pthread_t t, void** ret, const struct timespec* abstime) {
  void* ra = __builtin_return_address(0);
  if (pthread_tryjoin_np(t, ret) == 0) return 0;
  LW_RECORDED(join, Op::kJoin, nullptr, real_timedjoin.Get()(t, ret, abstime));
}

int pthread_clockjoin_np(pthread_t t, void** ret, clockid_t c, const struct timespec* abstime) {
  void* ra = __builtin_return_address(0);
  if (pthread_tryjoin_np(t, ret) == 0) return 0;
  LW_RECORDED(join, Op::kJoin, nullptr, real_clockjoin.Get()(t, ret, c, abstime));
}

int sem_wait(sem_t* s) {
  void* ra = __builtin_return_address(0);
  if (sem_trywait(s) == 0) return 0;
  LW_RECORDED(futex, Op::kSemaphore, s, real_sem_wait.Get()(s));
}

int sem_timedwait(sem_t* s, const struct timespec* t) {
  void* ra = __builtin_return_address(0);
  if (sem_trywait(s) == 0) return 0;
  LW_RECORDED(futex, Op::kSemaphore, s, real_sem_timedwait.Get()(s, t));
}

int sem_clockwait(sem_t* s, clockid_t c, const struct timespec* t) {
  void* ra = __builtin_return_address(0);
  if (sem_trywait(s) == 0) return 0;
  LW_RECORDED(futex, Op::kSemaphore, s, real_sem_clockwait.Get()(s, c, t));
}

int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*),
                   void* arg) noexcept {
  CreateFn real = real_create.Get();
  if (real == nullptr) return EAGAIN;
  if (tls_state.in_hook) return real(t, attr, fn, arg);
  auto* a = static_cast<StartArgs*>(malloc(sizeof(StartArgs)));
  if (a == nullptr) return real(t, attr, fn, arg);
  *a = StartArgs{fn, arg, tls_state.agent};
  const int r = real(t, attr, &ThreadTrampoline, a);
  if (r != 0) free(a);
  return r;
}

#if defined(__x86_64__)
long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  const long a0 = va_arg(ap, long);
  const long a1 = va_arg(ap, long);
  const long a2 = va_arg(ap, long);
  const long a3 = va_arg(ap, long);
  const long a4 = va_arg(ap, long);
  const long a5 = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_futex) {
    const long cmd = a1 & FUTEX_CMD_MASK;
    if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && a0 != 0 &&
        __atomic_load_n(reinterpret_cast<const int*>(a0), __ATOMIC_RELAXED) ==
            static_cast<int>(a2)) {
      return SlowFutex(a0, a1, a2, a3, a4, a5, __builtin_return_address(0));
    }
  }
  return SyscallResult(RawSyscall6(number, a0, a1, a2, a3, a4, a5));
}
#endif

}  // extern "C"
