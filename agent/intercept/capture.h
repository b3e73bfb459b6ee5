// The slow path shared by all hooks: per-thread hook state, the switches, and
// capturing a wait (stack, site, block state) around the real call.
//
// Two halves. The hooks' half (hooks.cc, hooks_names.cc, hook_state.cc) needs
// only the C library: the interposed symbols, the per-thread state and the
// switches. The recording half (capture.cc, lifecycle.cc) needs core and absl;
// it publishes its entry points in g_slow_path when it loads. Linked
// (leakwatch::intercept) both halves load together. Preloaded, the hooks' half
// is libleakwatch_preload.so and the recording half comes with the agent
// (libleakwatch_preload_agent.so), loaded only when the agent starts
// (preload_shim.cc): until then every hook calls the real function directly.

#ifndef LEAKWATCH_INTERCEPT_CAPTURE_H_
#define LEAKWATCH_INTERCEPT_CAPTURE_H_

#include <atomic>
#include <cstdint>

#include "leakwatch/task.h"

namespace leakwatch::core {
struct ThreadRecord;
}  // namespace leakwatch::core

namespace leakwatch::intercept::internal {

struct Switches {
  std::atomic<bool> enabled{true};
  std::atomic<bool> mutex{true};
  std::atomic<bool> rwlock{true};
  std::atomic<bool> condvar{true};
  std::atomic<bool> join{true};
  std::atomic<bool> futex{true};  // also sem_* waits
  std::atomic<bool> threads{true};
  std::atomic<int> stack_depth{16};
};
extern Switches g_switches;

struct ThreadState {
  bool in_hook = false;  // inside leakwatch code called from a hook: no recording
  bool agent = false;    // one of leakwatch's own threads
  bool bounds_known = false;
  int32_t tid = 0;  // gettid(), cached by the mutex fast path (hooks.cc); 0 = unknown
  // Sites this thread waited at recently whose first frame is the program's:
  // a direct-mapped cache in front of capture.cc's process-wide
  // core::SiteCache, whose values never change once stored: one load
  // instead of two probes there (the frame's class, then its site).
  static constexpr int kRecentSites = 8;
  struct RecentSite {
    uint64_t key = 0;  // (return address, op); 0 = empty
    uint32_t site = 0;
    bool cfi = false;  // the frame's code has no frame pointer: unwind with CFI
  };
  RecentSite recent_sites[kRecentSites];
  // Stacks unwound with the CFI tables (code without frame pointers), reused
  // while this thread waits again at the same return address from the same
  // stack depth: unwinding costs microseconds, a wait at a known place a copy.
  static constexpr int kCfiStacks = 2;
  static constexpr int kCfiFrames = 16;
  struct CfiStack {
    uintptr_t ra0 = 0;    // 0 = empty
    uintptr_t frame = 0;  // the capturing frame's address: the stack's depth
    int n = 0;
    uintptr_t frames[kCfiFrames] = {};
  };
  CfiStack cfi_stacks[kCfiStacks];
  uintptr_t stack_lo = 0;
  uintptr_t stack_hi = 0;
};
// constinit: no TLS wrapper call on the hooks' fast path.
extern constinit thread_local ThreadState tls_state __attribute__((tls_model("initial-exec")));

// A wait in progress; start_ns == 0 means nothing is recorded.
struct Wait {
  uint32_t site = 0;
  int64_t start_ns = 0;
};

// The calling thread's record when a wait of a family with switch `family`
// should be recorded now, else nullptr. On non-null, tls_state.in_hook is set
// and the caller must call BeginWait next with the record.
core::ThreadRecord* EnterRecording(const std::atomic<bool>& family) noexcept;

// Captures the stack of the wait whose hook was called from `ra0`, sites it
// (`op`, or kFuture for a futex wait made by std::future's machinery when `op`
// is kFutex) and marks the thread (`rec`, from EnterRecording) blocked. Clears
// tls_state.in_hook.
// `owner_tid_word`: see internal::BeginBlock (untimed exclusive lock waits only).
Wait BeginWait(core::ThreadRecord* rec, Op op, uintptr_t ra0, const void* resource,
               const int32_t* owner_tid_word = nullptr) noexcept;

// Ends a wait (records its duration), or cancels it when the call did not sleep.
void EndWait(const Wait& wait) noexcept;
void CancelWait(const Wait& wait) noexcept;

// The next definition of an interposed function (libc's, or a sanitizer's
// interceptor in front of it): dlvsym/dlsym(RTLD_NEXT) with recording off, as
// dlsym may lock or allocate. `version` may be null.
void* LookupReal(const char* name, const char* version) noexcept;

// A real function, looked up on first use and cached.
template <class Fn>
struct Real {
  const char* name;
  const char* version;
  std::atomic<Fn> fn{nullptr};

  Fn Get() noexcept {
    Fn f = fn.load(std::memory_order_acquire);
    if (__builtin_expect(f != nullptr, 1)) return f;
    f = reinterpret_cast<Fn>(LookupReal(name, version));
    if (f != nullptr) fn.store(f, std::memory_order_release);
    return f;
  }
};

// Registers the calling thread as a task (thread lifecycle).
void RegisterThread() noexcept;

// Records a thread name set with pthread_setname_np or prctl: the calling
// thread's own (`tid` 0) or another thread's.
void RecordThreadName(int32_t tid, const char* name) noexcept;

// The recording half's entry points (above), published once it is loaded.
struct SlowPath {
  core::ThreadRecord* (*enter_recording)(const std::atomic<bool>& family) noexcept;
  Wait (*begin_wait)(core::ThreadRecord* rec, Op op, uintptr_t ra0, const void* resource,
                     const int32_t* owner_tid_word) noexcept;
  void (*end_wait)(const Wait& wait) noexcept;
  void (*cancel_wait)(const Wait& wait) noexcept;
  void (*register_thread)() noexcept;
  void (*record_thread_name)(int32_t tid, const char* name) noexcept;
};
// nullptr until the recording half is loaded; never changes after.
extern std::atomic<const SlowPath*> g_slow_path;

inline const SlowPath* LoadedSlowPath() noexcept {
  return g_slow_path.load(std::memory_order_acquire);
}

// Set by the preload shim to start the agent before the process's first
// thread is created (preload_shim.cc); the pthread_create hook calls it once
// and it clears itself. nullptr when linked.
extern std::atomic<void (*)()> g_before_first_thread;

}  // namespace leakwatch::intercept::internal

#endif  // LEAKWATCH_INTERCEPT_CAPTURE_H_
