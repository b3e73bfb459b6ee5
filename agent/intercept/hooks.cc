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

// Every interposed wait but pthread_mutex_lock (below): the family it belongs to
// (its switch, its Op, how it is tried without waiting), its symbol version
// (`pthread_cond_*` are pinned to GLIBC_2.3.2, the versions libstdc++ calls, not
// the old compat ones), `noexcept` where glibc declares it so, and its
// parameters. Each entry defines the hook and the lookup of the real function
// (real_<name>): a new primitive is one entry here, plus a family below if it
// is a new kind of wait.
#define LW_WAIT_HOOKS(X)                                                                     \
  X(pthread_mutex_timedlock, nullptr, MutexWait, noexcept,                                   \
    (pthread_mutex_t * m, const timespec* t), (m, t))                                        \
  X(pthread_mutex_clocklock, nullptr, MutexWait, noexcept,                                   \
    (pthread_mutex_t * m, clockid_t c, const timespec* t), (m, c, t))                        \
  X(pthread_rwlock_rdlock, nullptr, ReadWait, noexcept, (pthread_rwlock_t * l), (l))         \
  X(pthread_rwlock_timedrdlock, nullptr, ReadWait, noexcept,                                 \
    (pthread_rwlock_t * l, const timespec* t), (l, t))                                       \
  X(pthread_rwlock_clockrdlock, nullptr, ReadWait, noexcept,                                 \
    (pthread_rwlock_t * l, clockid_t c, const timespec* t), (l, c, t))                       \
  X(pthread_rwlock_wrlock, nullptr, WriteWait, noexcept, (pthread_rwlock_t * l), (l))        \
  X(pthread_rwlock_timedwrlock, nullptr, WriteWait, noexcept,                                \
    (pthread_rwlock_t * l, const timespec* t), (l, t))                                       \
  X(pthread_rwlock_clockwrlock, nullptr, WriteWait, noexcept,                                \
    (pthread_rwlock_t * l, clockid_t c, const timespec* t), (l, c, t))                       \
  X(pthread_cond_wait, "GLIBC_2.3.2", CondWait, , (pthread_cond_t * c, pthread_mutex_t * m), \
    (c, m))                                                                                  \
  X(pthread_cond_timedwait, "GLIBC_2.3.2", CondWait, ,                                       \
    (pthread_cond_t * c, pthread_mutex_t * m, const timespec* t), (c, m, t))                 \
  X(pthread_cond_clockwait, nullptr, CondWait, ,                                             \
    (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const timespec* t), (c, m, k, t)) \
  X(pthread_join, nullptr, JoinWait, , (pthread_t t, void** r), (t, r))                      \
  X(pthread_timedjoin_np, nullptr, JoinWait, , (pthread_t t, void** r, const timespec* a),   \
    (t, r, a))                                                                               \
  X(pthread_clockjoin_np, nullptr, JoinWait, ,                                               \
    (pthread_t t, void** r, clockid_t c, const timespec* a), (t, r, c, a))                   \
  X(sem_wait, nullptr, SemWait, , (sem_t * s), (s))                                          \
  X(sem_timedwait, nullptr, SemWait, , (sem_t * s, const timespec* t), (s, t))               \
  X(sem_clockwait, nullptr, SemWait, , (sem_t * s, clockid_t c, const timespec* t), (s, c, t))

#define LW_DEFINE_REAL(name, version, family, nothrow, params, args) \
  Real<int(*) params nothrow> real_##name{#name, version};
LW_WAIT_HOOKS(LW_DEFINE_REAL)
#undef LW_DEFINE_REAL
Real<int (*)(pthread_mutex_t*) noexcept> real_pthread_mutex_lock{"pthread_mutex_lock", nullptr};
Real<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*) noexcept>
    real_pthread_create{"pthread_create", nullptr};

__attribute__((constructor(101))) void ResolveAll() {
#define LW_RESOLVE_REAL(name, version, family, nothrow, params, args) real_##name.Get();
  LW_WAIT_HOOKS(LW_RESOLVE_REAL)
#undef LW_RESOLVE_REAL
  real_pthread_mutex_lock.Get();
  real_pthread_create.Get();
}

// The real pthread_mutex_lock, or (while dlsym itself is being resolved and
// locks) an equivalent built on trylock.
int RealMutexLock(pthread_mutex_t* m) noexcept {
  if (auto* f = real_pthread_mutex_lock.Get()) return f(m);
  int r;
  while ((r = pthread_mutex_trylock(m)) == EBUSY) sched_yield();
  return r;
}

// Runs `call` as a recorded wait of `op` when the switch `family` is on.
// `owner` is the lock's owner-tid word for untimed exclusive waits (deadlock
// detection), else nullptr. Until the recording half is loaded (capture.h),
// the call is made unrecorded.
template <class Call>
inline int Recorded(std::atomic<bool> Switches::*family, Op op, const void* resource,
                    const int32_t* owner, void* ra, Call call) noexcept {
  const SlowPath* const slow = LoadedSlowPath();
  if (slow == nullptr) return call();
  core::ThreadRecord* const rec = slow->enter_recording(g_switches.*family);
  if (rec == nullptr) return call();
  const Wait w = slow->begin_wait(rec, op, reinterpret_cast<uintptr_t>(ra), resource, owner);
  const int result = call();
  slow->end_wait(w);
  return result;
}

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
  return Recorded(&Switches::mutex, Op::kMutex, m, &m->__data.__owner, ra,
                  [m] { return RealMutexLock(m); });
}

// The families of waits. Each names its switch and Op, and Try: the operation
// attempted without waiting first, whose result is the call's result unless it
// is kMustWait; Resource: what a wait is recorded on; Owner: the owner-tid word
// an untimed exclusive wait records (a timed wait ends by itself), else nullptr.
inline constexpr int kMustWait = -1;

// What most families share: a wait is recorded on the object waited on, with
// no owner.
struct WaitFamily {
  template <class Object>
  static const void* Resource(Object* object) noexcept {
    return object;
  }
  template <class... Args>
  static const int32_t* Owner(Args...) noexcept {
    return nullptr;
  }
};

// A family as data: its switch, its Op and its Try, a captureless lambda
// that gets the hook's arguments.
template <std::atomic<bool> Switches::*kOn, Op kOpOfFamily, auto kTry>
struct Family : WaitFamily {
  static constexpr auto kSwitch = kOn;
  static constexpr Op kOp = kOpOfFamily;
  template <class... Args>
  static int Try(Args... args) noexcept {
    return kTry(args...);
  }
};

// (The untimed pthread_mutex_lock is the fast path below.) A trylock result
// other than EBUSY is the lock's result too: 0, a recursive mutex's count, a
// robust mutex's EOWNERDEAD (acquired) or ENOTRECOVERABLE.
using MutexWait = Family<&Switches::mutex, Op::kMutex, [](pthread_mutex_t* m, auto...) noexcept {
  const int r = TryLock(m);
  return r == EBUSY ? kMustWait : r;
}>;
using ReadWait = Family<&Switches::rwlock, Op::kRwlock, [](pthread_rwlock_t* l, auto...) noexcept {
  return pthread_rwlock_tryrdlock(l) == 0 ? 0 : kMustWait;
}>;
struct WriteWait
    : Family<&Switches::rwlock, Op::kRwlock, [](pthread_rwlock_t* l, auto...) noexcept {
      return pthread_rwlock_trywrlock(l) == 0 ? 0 : kMustWait;
    }> {
  // An untimed writer waits for the current writer (__cur_writer; 0 while
  // readers hold it).
  using WaitFamily::Owner;
  static const int32_t* Owner(pthread_rwlock_t* l) noexcept { return &l->__data.__cur_writer; }
};
// A condition wait always waits.
using CondWait =
    Family<&Switches::condvar, Op::kCondvar, [](auto...) noexcept { return kMustWait; }>;
struct JoinWait : Family<&Switches::join, Op::kJoin, [](pthread_t t, void** ret, auto...) noexcept {
  return pthread_tryjoin_np(t, ret) == 0 ? 0 : kMustWait;
}> {
  static const void* Resource(pthread_t) noexcept { return nullptr; }
};
// Semaphore waits follow the `futex` switch: glibc's semaphores are futex
// words (config/leakwatch.yaml, intercept.futex).
using SemWait = Family<&Switches::futex, Op::kSemaphore, [](sem_t* s, auto...) noexcept {
  return sem_trywait(s) == 0 ? 0 : kMustWait;
}>;

// One interposed wait of `Family`: tried without waiting first, else the real
// function as a recorded wait. `ra` is the hook's return address.
template <class Family, class Fn, class Object, class... Rest>
inline int WaitHook(Real<Fn>& real, void* ra, Object object, Rest... rest) noexcept {
  if (const int r = Family::Try(object, rest...); r != kMustWait) return r;
  return Recorded(Family::kSwitch, Family::kOp, Family::Resource(object),
                  Family::Owner(object, rest...), ra, [&] { return real.Get()(object, rest...); });
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

#define LW_UNPAREN(...) __VA_ARGS__
#define LW_DEFINE_HOOK(name, version, family, nothrow, params, args)                    \
  int name params nothrow {                                                             \
    return WaitHook<family>(real_##name, __builtin_return_address(0), LW_UNPAREN args); \
  }
LW_WAIT_HOOKS(LW_DEFINE_HOOK)
#undef LW_DEFINE_HOOK
#undef LW_UNPAREN

int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*),
                   void* arg) noexcept {
  auto* const real = real_pthread_create.Get();
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
