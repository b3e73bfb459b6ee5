// Capturing an interposed wait: stack walk, site lookup through a per-thread
// front and a lock-free cache keyed by return address (core/site_cache.h),
// symbolization on a cache miss only. Frames of configured lock wrappers
// (sites.skip_*, frame_skip.h) are classified as such once per return
// address, and the wait is sited past them.

#include "intercept/capture.h"

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#include <unwind.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/site_cache.h"
#include "core/sites.h"
#include "core/symbolize.h"
#include "core/thread_name.h"
#include "core/thread_record.h"
#include "intercept/frame_skip.h"
#include "intercept/intercept.h"
#include "leakwatch/config.h"
#include "leakwatch/internal/core.h"

namespace leakwatch::intercept {
namespace internal {

namespace {

// --- Caches ---------------------------------------------------------------
//
// What each return address taught us, in one process-wide core::SiteCache:
// (return address, op) -> the site of a wait of that op sited there, and
// (return address, class tag) -> the frame's class. In front of it, each thread
// keeps its last few sites (ThreadState::recent_sites).

// kSkipped: a frame of a configured wrapper (sites.skip_*): not a site, unless
// no frame past it is one.
enum FrameClass : uint32_t { kUser, kSystem, kFutureMachinery, kSkipped };

// Zero-initialized: usable before any constructor runs.
constinit core::SiteCache<16384> g_frames;

// The skip rules in force, and their generation. Rules are published by
// Configure (immutable once published; the ones replaced are kept, as a hook
// may still read them) and classes are cached under a tag that carries the
// generation, so a change of rules reclassifies every frame (ops are tagged
// op + 1, 1..16; class tags are 0x80 + generation % 128). Null before the
// recording half's constructor runs: no frame is skipped.
constinit std::atomic<const FrameSkipRules*> g_skip_rules{nullptr};
constinit std::atomic<uint32_t> g_skip_generation{0};

uint8_t ClassTag() {
  return static_cast<uint8_t>(0x80 | (g_skip_generation.load(std::memory_order_acquire) & 0x7f));
}

uint64_t Key(uintptr_t ra, Op op) {
  return core::SiteCacheKey(ra, static_cast<uint8_t>(static_cast<uint8_t>(op) + 1));
}

// The slot of a (return address, op) key in ThreadState::recent_sites.
uint32_t RecentSlot(uint64_t key) {
  return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 61) % ThreadState::kRecentSites;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsSystemModule(const char* path) {
  if (path == nullptr) return false;
  const char* slash = std::strrchr(path, '/');
  const std::string_view base = slash != nullptr ? slash + 1 : path;
  for (std::string_view prefix : {"libc.so", "libpthread", "libstdc++", "libgcc_s", "ld-linux",
                                  "libleakwatch", "libabsl", "libc++"}) {
    if (StartsWith(base, prefix)) return true;
  }
  return false;
}

// Standard-library code instantiated into the program (lock wrappers, atomic
// waits, semaphores) is not the wait's site; std::thread's trampoline and
// std::function's invoker are, since user code is inlined there.
bool IsStandardPlumbing(std::string_view function) {
  if (!StartsWith(function, "std::") && !StartsWith(function, "__gnu_cxx::")) return false;
  for (std::string_view user : {"_State_impl", "_Function_handler", "__invoke", "_Invoker"}) {
    if (function.find(user) != std::string_view::npos) return false;
  }
  return true;
}

// The class of the frame at `ra` (slow on a cache miss: symbolizes it).
uint32_t Classify(uintptr_t ra) noexcept {
  return g_frames.FindOrCompute(core::SiteCacheKey(ra, ClassTag()), [ra]() -> uint32_t {
    char label[8];
    char function[512];
    core::FrameLabel(ra, label, sizeof label, function, sizeof function);
    const std::string_view name = function;
    if (name.find("__atomic_futex_unsigned_base") != std::string_view::npos ||
        name.find("__future_base") != std::string_view::npos) {
      return kFutureMachinery;
    }
    if (IsStandardPlumbing(name)) return kSystem;
    Dl_info info;
    const char* module = nullptr;
    if (dladdr(reinterpret_cast<void*>(ra - 1), &info) != 0) module = info.dli_fname;
    if (IsSystemModule(module)) return kSystem;
    const FrameSkipRules* rules = g_skip_rules.load(std::memory_order_acquire);
    if (rules != nullptr && rules->Skips(module, function)) return kSkipped;
    return kUser;
  });
}

// The site of an `op` wait at the frame at `ra` (slow on a cache miss:
// symbolizes it and interns the label).
uint32_t SiteAt(uintptr_t ra, Op op) noexcept {
  return g_frames.FindOrCompute(Key(ra, op), [ra, op] {
    char label[640];
    core::FrameLabel(ra, label, sizeof label);
    return leakwatch::internal::SiteOfLabel(label, op);
  });
}

// --- Stack capture --------------------------------------------------------

void LearnStackBounds(ThreadState& ts) noexcept {
  ts.bounds_known = true;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    ts.stack_lo = reinterpret_cast<uintptr_t>(addr);
    ts.stack_hi = ts.stack_lo + size;
  }
  pthread_attr_destroy(&attr);
}

// Frame-pointer walk that never leaves the thread's stack, from the frame of its
// caller (it is inlined). Skips the hooks' own frames (at most kSkipMax) up to
// the one that returns to `ra0`, then stores up to `max` return addresses, `ra0`
// first, straight into `out`. Returns the count; 1 (`ra0` alone) if `ra0` is not
// found, e.g. when the program was built without frame pointers.
constexpr int kSkipMax = 8;

__attribute__((always_inline)) inline int WalkFramePointers(const ThreadState& ts, uintptr_t ra0,
                                                            std::atomic<uintptr_t>* out, int max) {
  auto* fp = static_cast<const uintptr_t*>(__builtin_frame_address(0));
  int skipped = 0;
  int n = 0;
  while (n < max) {
    const auto at = reinterpret_cast<uintptr_t>(fp);
    if (at < ts.stack_lo || at + 2 * sizeof(uintptr_t) > ts.stack_hi || (at & 7) != 0) break;
    const uintptr_t ra = fp[1];
    if (ra < 4096) break;
    if (n == 0 && ra != ra0) {
      if (++skipped > kSkipMax) break;
    } else {
      out[n++].store(ra, std::memory_order_relaxed);
    }
    const auto* next = reinterpret_cast<const uintptr_t*>(fp[0]);
    if (next <= fp) break;
    fp = next;
  }
  if (n == 0) out[n++].store(ra0, std::memory_order_relaxed);
  return n;
}

struct UnwindState {
  uintptr_t* out;
  int max;
  int n;
};

_Unwind_Reason_Code UnwindOne(struct _Unwind_Context* ctx, void* arg) {
  auto* s = static_cast<UnwindState*>(arg);
  if (s->n >= s->max) return _URC_END_OF_STACK;
  const uintptr_t ip = _Unwind_GetIP(ctx);
  if (ip == 0) return _URC_END_OF_STACK;
  s->out[s->n++] = ip;
  return _URC_NO_REASON;
}

// Drops the frames before `ra0` (the hooks' own). Returns the new count.
int TrimTo(uintptr_t ra0, uintptr_t* frames, int n) {
  for (int i = 0; i < n && i < 8; ++i) {
    if (frames[i] != ra0) continue;
    std::memmove(frames, frames + i, (n - i) * sizeof frames[0]);
    return n - i;
  }
  frames[0] = ra0;
  return 1;
}

// Tag of the "does the code at this return address keep a frame pointer"
// entries in g_frames (ops are 1..16, frame classes 0x80 and up).
constexpr uint8_t kFramePointerTag = 0x40;
enum FramePointer : uint32_t { kHasFramePointer = 1, kNoFramePointer = 2 };

// Whether the function containing `ra` sets up a frame pointer: its first
// instructions are `push %rbp; mov %rsp,%rbp` (after an endbr64). Code built
// without frame pointers (Debian's memcached, most distribution binaries)
// leaves %rbp to the register allocator, and a frame-pointer walk from it
// stops at once or wanders. Decided once per return address (g_frames).
bool HasFramePointer(uintptr_t ra) noexcept {
#if defined(__x86_64__)
  return g_frames.FindOrCompute(core::SiteCacheKey(ra, kFramePointerTag), [ra]() -> uint32_t {
    const void* start = _Unwind_FindEnclosingFunction(reinterpret_cast<void*>(ra - 1));
    // No CFI for it either: the frame-pointer walk is all there is.
    if (start == nullptr) return kHasFramePointer;
    const auto* p = static_cast<const unsigned char*>(start);
    if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) p += 4;  // endbr64
    const bool fp = p[0] == 0x55 && p[1] == 0x48 && p[2] == 0x89 && p[3] == 0xe5;
    return fp ? kHasFramePointer : kNoFramePointer;
  }) == kHasFramePointer;
#else
  (void)ra;
  return true;
#endif
}

// The stack of a wait at `ra0` in code without frame pointers, unwound with
// the CFI tables (libgcc's unwinder, as for waits inside the standard
// library), into `out` (at most `max`). Reuses the thread's last unwind at the
// same `ra0` and `frame` (the capturing frame's address, which fixes the
// stack's depth), so a thread that waits at the same place again costs a copy.
int UnwindWithCfi(ThreadState& ts, uintptr_t ra0, uintptr_t frame, std::atomic<uintptr_t>* out,
                  int max) noexcept {
  ThreadState::CfiStack& cached =
      ts.cfi_stacks[(ra0 >> 4) % static_cast<uintptr_t>(ThreadState::kCfiStacks)];
  if (cached.ra0 == ra0 && cached.frame == frame && max <= ThreadState::kCfiFrames) {
    const int n = std::min(cached.n, max);
    for (int i = 0; i < n; ++i) out[i].store(cached.frames[i], std::memory_order_relaxed);
    return n;
  }
  constexpr int kExtra = 16;  // the hooks' own frames
  uintptr_t frames[core::kMaxStackFrames + kExtra];
  UnwindState s{frames, max + kExtra, 0};
  _Unwind_Backtrace(&UnwindOne, &s);
  const int n = std::min(TrimTo(ra0, frames, s.n), max);
  for (int i = 0; i < n; ++i) out[i].store(frames[i], std::memory_order_relaxed);
  if (n <= ThreadState::kCfiFrames) {
    cached.ra0 = ra0;
    cached.frame = frame;
    cached.n = n;
    std::copy(frames, frames + n, cached.frames);
  }
  return n;
}

}  // namespace

core::ThreadRecord* EnterRecording(const std::atomic<bool>& family) noexcept {
  ThreadState& ts = tls_state;
  if (ts.in_hook || ts.agent) return nullptr;
  if (!g_switches.enabled.load(std::memory_order_relaxed) ||
      !family.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  ts.in_hook = true;
  // A leakwatch primitive's own inner wait is already recorded.
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr || rec->block_start_ns.load(std::memory_order_relaxed) != 0) {
    ts.in_hook = false;
    return nullptr;
  }
  return rec;
}

Wait BeginWait(core::ThreadRecord* rec, Op op, uintptr_t ra0, const void* resource,
               const int32_t* owner_tid_word) noexcept {
  ThreadState& ts = tls_state;
  Wait w;
  if (!ts.bounds_known) LearnStackBounds(ts);
  const int depth =
      std::clamp(g_switches.stack_depth.load(std::memory_order_relaxed), 1, core::kMaxStackFrames);
  const uint64_t key = Key(ra0, op);
  const auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  ThreadState::RecentSite& recent = ts.recent_sites[RecentSlot(key)];
  uint32_t site;
  int n;
  if (__builtin_expect(recent.key == key, 1)) {
    // The common case: this thread waited here before, and the program called
    // the hook itself (std::mutex::lock is inline). The site is known from ra0
    // alone; the rest of the stack is for the dump.
    site = recent.site;
    n = __builtin_expect(recent.cfi, 0) ? UnwindWithCfi(ts, ra0, frame, rec->stack, depth)
                                        : WalkFramePointers(ts, ra0, rec->stack, depth);
  } else if (Classify(ra0) == kUser) {
    site = SiteAt(ra0, op);
    recent.key = key;
    recent.site = site;
    recent.cfi = depth > 1 && !HasFramePointer(ra0);
    n = recent.cfi ? UnwindWithCfi(ts, ra0, frame, rec->stack, depth)
                   : WalkFramePointers(ts, ra0, rec->stack, depth);
  } else {
    // Called from inside the standard library, which has no frame pointers,
    // or from a configured wrapper, whose callers decide the site: unwind with
    // the CFI tables and site at the first frame of the program past them.
    constexpr int kExtra = 16;  // the hooks' and the library's own frames
    uintptr_t frames[core::kMaxStackFrames + kExtra];
    UnwindState s{frames, depth + kExtra, 0};
    _Unwind_Backtrace(&UnwindOne, &s);
    n = TrimTo(ra0, frames, s.n);
    Op effective = op;
    uintptr_t site_ra = 0;
    uintptr_t first_skipped = 0;
    for (int i = 0; i < n; ++i) {
      const uint32_t c = Classify(frames[i]);
      if (c == kFutureMachinery && op == Op::kFutex) effective = Op::kFuture;
      if (c == kSkipped && first_skipped == 0) first_skipped = frames[i];
      if (c == kUser) {
        site_ra = frames[i];
        break;
      }
    }
    // Wrappers all the way down (a wrapper library's own worker thread): the
    // innermost wrapper frame, as if nothing were skipped.
    if (site_ra == 0) site_ra = first_skipped;
    site = site_ra != 0 ? SiteAt(site_ra, effective) : core::OtherSite(effective);
    n = std::min(n, depth);
    for (int i = 0; i < n; ++i) rec->stack[i].store(frames[i], std::memory_order_relaxed);
  }
  rec->stack_depth.store(n, std::memory_order_release);
  w.site = site;
  w.start_ns = leakwatch::internal::BeginBlock(site, resource, owner_tid_word);
  ts.in_hook = false;
  return w;
}

void EndWait(const Wait& wait) noexcept {
  if (wait.start_ns == 0) return;
  ThreadState& ts = tls_state;
  const bool was = ts.in_hook;
  ts.in_hook = true;
  leakwatch::internal::EndBlock(wait.site, wait.start_ns);
  ts.in_hook = was;
}

void CancelWait(const Wait& wait) noexcept {
  if (wait.start_ns == 0) return;
  core::ThreadRecord* rec = core::CurrentRecord();
  if (rec == nullptr) return;
  rec->block_start_ns.store(0, std::memory_order_release);
  rec->stack_depth.store(0, std::memory_order_relaxed);
}

void RegisterThread() noexcept {
  ThreadState& ts = tls_state;
  // The stack's bounds, learnt here, as the thread starts, holding no lock of
  // the program: pthread_getattr_np allocates, and a first wait may come while
  // the thread holds its allocator's lock (threads the hooks did not start
  // learn them at their first recorded wait).
  if (!ts.agent && !ts.bounds_known) LearnStackBounds(ts);
  if (ts.agent || !g_switches.enabled.load(std::memory_order_relaxed) ||
      !g_switches.threads.load(std::memory_order_relaxed)) {
    return;
  }
  const bool was = ts.in_hook;
  ts.in_hook = true;
  core::CurrentRecord();
  ts.in_hook = was;
}

void RecordThreadName(int32_t tid, const char* name) noexcept {
  ThreadState& ts = tls_state;
  if (ts.in_hook || (tid == 0 && ts.agent)) return;
  ts.in_hook = true;
  if (tid != 0) {
    core::StoreThreadNameOfTid(tid, name);
  } else if (g_switches.enabled.load(std::memory_order_relaxed) &&
             g_switches.threads.load(std::memory_order_relaxed)) {
    // A thread that would be a task (the same test as RegisterThread) gets its
    // record now if it had none.
    if (core::ThreadRecord* rec = core::CurrentRecord()) core::StoreThreadName(*rec, name);
  } else {
    core::StoreThreadNameOfTid(static_cast<int32_t>(gettid()), name);
  }
  ts.in_hook = false;
}

namespace {

constexpr SlowPath kSlowPath = {&EnterRecording, &BeginWait,      &EndWait,
                                &CancelWait,     &RegisterThread, &RecordThreadName};

// Before lifecycle.cc's constructor (102) registers the loading thread. The
// default skip rules apply until Start configures others.
__attribute__((constructor(101))) void PublishSlowPath() {
  const Config::Sites defaults;
  g_skip_rules.store(new FrameSkipRules(defaults.skip_modules, defaults.skip_functions),
                     std::memory_order_release);
  g_slow_path.store(&kSlowPath, std::memory_order_release);
}

// Publishes new skip rules if they differ from those in force. Configure runs
// at Start and Stop, not concurrently with itself (the agent's lifecycle
// lock). Rules replaced are never freed: a hook may be reading them.
void ConfigureSkipRules(const Config::Sites& sites) noexcept {
  const FrameSkipRules* current = g_skip_rules.load(std::memory_order_acquire);
  if (current != nullptr && current->SameAs(sites.skip_modules, sites.skip_functions)) return;
  const bool was = tls_state.in_hook;
  tls_state.in_hook = true;  // allocation below may lock: not a wait of the program
  try {
    g_skip_rules.store(new FrameSkipRules(sites.skip_modules, sites.skip_functions),
                       std::memory_order_release);
    g_skip_generation.fetch_add(1, std::memory_order_acq_rel);
  } catch (...) {
    // Out of memory: keep the rules in force.
  }
  tls_state.in_hook = was;
}

}  // namespace
}  // namespace internal

void Configure(const Config& config) noexcept {
  internal::Switches& s = internal::g_switches;
  // The thread that starts the agent (usually main): its stack bounds now,
  // outside any wait (LearnStackBounds allocates).
  if (internal::ThreadState& ts = internal::tls_state; !ts.bounds_known) {
    const bool was = ts.in_hook;
    ts.in_hook = true;
    internal::LearnStackBounds(ts);
    ts.in_hook = was;
  }
  const Config::Intercept& c = config.intercept;
  s.mutex.store(c.mutex, std::memory_order_relaxed);
  s.rwlock.store(c.rwlock, std::memory_order_relaxed);
  s.condvar.store(c.condvar, std::memory_order_relaxed);
  s.join.store(c.join, std::memory_order_relaxed);
  s.futex.store(c.futex, std::memory_order_relaxed);
  s.threads.store(c.threads, std::memory_order_relaxed);
  s.stack_depth.store(config.sites.stack_depth, std::memory_order_relaxed);
  internal::ConfigureSkipRules(config.sites);
  s.enabled.store(c.enabled, std::memory_order_relaxed);
}

void SetAgentThread(bool agent) noexcept { internal::tls_state.agent = agent; }

bool IsAgentThread() noexcept { return internal::tls_state.agent; }

}  // namespace leakwatch::intercept

extern "C" void leakwatch_intercept_set_agent_thread(int agent) {
  leakwatch::intercept::SetAgentThread(agent != 0);
}

extern "C" void leakwatch_intercept_configure(const leakwatch::Config* config) {
  if (config != nullptr) leakwatch::intercept::Configure(*config);
}
