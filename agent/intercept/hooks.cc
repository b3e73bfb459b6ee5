// The interposed functions. Each tries its operation without waiting first;
// only a call that must wait takes the slow path in capture.cc. A default mutex
// (the kind std::mutex uses) is tried inline, the way glibc's own
// pthread_mutex_lock takes it (TryLockDefaultMutex), so an uncontended
// interposed lock costs what the real one does (tests/bench/bench_intercept.cc).
// Real functions are found lazily with dlsym/dlvsym(RTLD_NEXT) (and eagerly
// from a constructor); `pthread_cond_*` are pinned to GLIBC_2.3.2, the versions
// libstdc++ calls, not the old compat ones.

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

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
// Until the recording half is loaded (capture.h), the call is made unrecorded.
#define LW_RECORDED_OWNED(family, op, resource, owner, call)                                    \
  do {                                                                                          \
    const SlowPath* const slow = LoadedSlowPath();                                              \
    if (slow == nullptr) return call;                                                           \
    leakwatch::core::ThreadRecord* const rec = slow->enter_recording(g_switches.family);        \
    if (rec == nullptr) return call;                                                            \
    const Wait w = slow->begin_wait(rec, op, reinterpret_cast<uintptr_t>(ra), resource, owner); \
    const int saved_errno_result = call;                                                        \
    slow->end_wait(w);                                                                          \
    return saved_errno_result;                                                                  \
  } while (0)
#define LW_RECORDED(family, op, resource, call) \
  LW_RECORDED_OWNED(family, op, resource, nullptr, call)

// The owner tid glibc records in a mutex, cached per thread (gettid() is a
// syscall). A fork child's thread has a new tid: the fork handler forgets it.
int32_t CachedTid() noexcept {
  ThreadState& ts = tls_state;
  if (__builtin_expect(ts.tid == 0, 0)) ts.tid = static_cast<int32_t>(gettid());
  return ts.tid;
}

void ForgetTidAfterFork() { tls_state.tid = 0; }

__attribute__((constructor(101))) void InstallTidForkHandler() {
  pthread_atfork(nullptr, nullptr, &ForgetTidAfterFork);
}

// pthread_mutex_trylock of a default mutex (__kind == 0: PTHREAD_MUTEX_NORMAL or
// DEFAULT, process-private, no elision, not robust, PI or PP), inline: what
// glibc's pthread_mutex_lock does on its fast path for this type, step for step
// (nptl/pthread_mutex_lock.c as of glibc 2.36: lll_mutex_lock_optimized, then
// __owner = tid, ++__nusers), without the glibc call and its type dispatch. The
// word's protocol (0 free, 1 locked, 2 locked with waiters) and the fields are
// those pthread_mutex_unlock and the real lock use, so the mutex stays fully
// glibc's. Every other kind of mutex, and a default mutex that is taken, goes
// through glibc's own trylock/lock, which keep the semantics of recursive,
// error-checking, robust, PI and PP mutexes. Returns false if the mutex is taken.
inline bool TryLockDefaultMutex(pthread_mutex_t* m) noexcept {
  int* word = &m->__data.__lock;
  if (__libc_single_threaded) {
    // No other thread can race: glibc takes a private mutex with a plain store
    // here too (SINGLE_THREAD_P).
    if (*word != 0) return false;
    *word = 1;
  } else {
    int expected = 0;
    if (!__atomic_compare_exchange_n(word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
      return false;
    }
  }
  m->__data.__owner = CachedTid();
  ++m->__data.__nusers;
  return true;
}

// Whether default mutexes may be taken inline: not when glibc's lock elision is
// on (GLIBC_TUNABLES=glibc.elision.enable=1), which turns a default mutex into
// an elided one on its first glibc lock, and glibc's elided unlock leaves
// __owner and __nusers alone. 0 = not known yet, 1 = inline, 2 = glibc's.
std::atomic<int> g_default_mutex_inline{0};

__attribute__((noinline)) bool ResolveDefaultMutexInline() noexcept {
  const char* tunables = getenv("GLIBC_TUNABLES");  // neither locks nor allocates
  const bool elision = tunables != nullptr && strstr(tunables, "glibc.elision.enable=1") != nullptr;
  g_default_mutex_inline.store(elision ? 2 : 1, std::memory_order_relaxed);
  return !elision;
}

inline bool DefaultMutexInline() noexcept {
  const int state = g_default_mutex_inline.load(std::memory_order_relaxed);
  if (__builtin_expect(state == 1, 1)) return true;
  return state == 0 && ResolveDefaultMutexInline();
}

// pthread_mutex_trylock: inline for a default mutex, glibc's for the others.
inline int TryLock(pthread_mutex_t* m) noexcept {
  if (__builtin_expect(__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) == 0, 1) &&
      DefaultMutexInline()) {
    return TryLockDefaultMutex(m) ? 0 : EBUSY;
  }
  return pthread_mutex_trylock(m);
}

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
  if (const SlowPath* slow = LoadedSlowPath()) slow->register_thread();
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
  const SlowPath* const slow = LoadedSlowPath();
  core::ThreadRecord* const rec =
      slow != nullptr ? slow->enter_recording(g_switches.futex) : nullptr;
  if (rec == nullptr) {
    return SyscallResult(RawSyscall6(SYS_futex, a0, a1, a2, a3, a4, a5));
  }
  const Wait w = slow->begin_wait(rec, Op::kFutex, reinterpret_cast<uintptr_t>(ra),
                                  reinterpret_cast<const void*>(a0), nullptr);
  const long ret = RawSyscall6(SYS_futex, a0, a1, a2, a3, a4, a5);
  if (ret == -EAGAIN || ret == -EINTR) {
    slow->cancel_wait(w);  // the word had changed (or a signal came): it did not sleep
  } else {
    slow->end_wait(w);
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
  const int r = TryLock(m);
  if (__builtin_expect(r != EBUSY, 1)) return r;
  return SlowMutexLock(m, __builtin_return_address(0));
}

// A trylock result other than EBUSY is the lock's result too: 0, a recursive
// mutex's count, a robust mutex's EOWNERDEAD (acquired) or ENOTRECOVERABLE.
int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (const int r = TryLock(m); r != EBUSY) return r;
  LW_RECORDED(mutex, Op::kMutex, m, real_mutex_timedlock.Get()(m, t));
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t c, const struct timespec* t) noexcept {
  void* ra = __builtin_return_address(0);
  if (const int r = TryLock(m); r != EBUSY) return r;
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
  // Preloaded: the agent starts before the process's first thread, in this
  // thread (preload_shim.cc). Its own threads come back here as agent threads.
  if (void (*before)() = g_before_first_thread.load(std::memory_order_acquire);
      __builtin_expect(before != nullptr, 0) && !tls_state.agent) {
    before();
  }
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
