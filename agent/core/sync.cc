// The non-template parts of leakwatch/sync.h: the contended Mutex path (and how
// it sites waits that arrive through std::lock_guard and friends), CondVar's
// wait, and WaitGroup.

#include "leakwatch/sync.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>

#include "absl/debugging/stacktrace.h"
#include "core/site_cache.h"
#include "core/sites.h"
#include "core/symbolize.h"
#include "leakwatch/internal/core.h"

namespace leakwatch {
namespace {

// --- Siting waits that reach Mutex::lock() through a standard wrapper --------
//
// std::lock_guard & co. call lock() from a standard header, so the defaulted
// source_location names that header. We then walk the stack and site the wait
// at the first frame that is neither leakwatch's nor a standard lock wrapper's,
// labelled "function+0xOFFSET". Classifying a frame needs its symbol (~10 µs),
// so every return address is classified once and cached: a later wait through
// the same call path costs the stack walk (~40 ns for a few frames) and one
// lock-free table probe per frame.

// True for a location inside a standard library header.
bool IsStandardHeader(const char* file) {
  if (file == nullptr) return false;
  constexpr std::string_view kSystemInclude = "/usr/include/";
  return std::string_view(file).substr(0, kSystemInclude.size()) == kSystemInclude ||
         std::strstr(file, "/include/c++/") != nullptr;  // libstdc++ or libc++ elsewhere
}

// True for a symbolized frame that is lock plumbing rather than user code:
// leakwatch's Mutex itself, or a standard wrapper that locks (lock_guard,
// unique_lock, scoped_lock, std::lock, std::try_lock, condition_variable_any).
// Other std:: frames (std::thread's trampoline, std::function's invoker) are
// where user code was inlined, so they end the search.
bool IsLockPlumbing(std::string_view name) {
  auto starts_with = [name](std::string_view prefix) {
    return name.substr(0, prefix.size()) == prefix;
  };
  // Only leakwatch's own lock path: users' code may live in namespace
  // leakwatch too (the demo and the tests do).
  if (starts_with("leakwatch::Mutex::") || starts_with("leakwatch::internal::")) return true;
  if (starts_with("std::") || starts_with("__gnu_cxx::")) {
    return name.find("lock") != std::string_view::npos ||
           name.find("condition_variable") != std::string_view::npos;
  }
  return false;
}

// Return address -> site id of the mutex wait sited there, or kPlumbingFrame
// (not a site id). Zero-initialized (no constructor to wait for, nothing
// destroyed at exit) and lock-free, so there is nothing to hold across fork().
constexpr uint32_t kPlumbingFrame = core::kSiteCapacity;
constexpr uint8_t kFrameTag = 0;  // one entry per address, so one tag
constinit core::SiteCache<4096> g_wrapper_sites;

// Classifies the frame at return address `ra` (slow: symbolizes it).
uint32_t ClassifyFrame(uintptr_t ra) {
  char label[1024];
  char symbol[1024];
  core::FrameLabel(ra, label, sizeof label, symbol, sizeof symbol);  // slow; result cached
  if (symbol[0] != '\0' && IsLockPlumbing(symbol)) return kPlumbingFrame;
  return internal::SiteOfLabel(label, Op::kMutex);
}

// The site of a contended lock() called by a standard wrapper.
uint32_t StandardWrapperCallerSite() {
  constexpr int kMaxFrames = 16;
  void* frames[kMaxFrames];
  const int depth = absl::GetStackTrace(frames, kMaxFrames, /*skip_count=*/0);
  for (int i = 0; i < depth; ++i) {
    const auto ra = reinterpret_cast<uintptr_t>(frames[i]);
    if (ra == 0) break;
    const uint32_t site = g_wrapper_sites.FindOrCompute(core::SiteCacheKey(ra, kFrameTag),
                                                        [ra] { return ClassifyFrame(ra); });
    if (site != kPlumbingFrame) return site;
  }
  // No user frame within reach (a very deep wrapper chain, or no frame
  // pointers to walk): still not a standard header line.
  return internal::SiteOfLabel("[unknown caller of a standard lock wrapper]", Op::kMutex);
}

std::atomic<uint64_t> g_waitgroup_misuse{0};

}  // namespace

// --- Mutex --------------------------------------------------------------------

void Mutex::LockSlow(const std::source_location& where) noexcept {
  // A wait inside another recorded wait (a nested BlockScope) counts once, at
  // the outer site: skip the site work.
  if (internal::CurrentThreadBlocked()) {
    mu_.lock();
    return;
  }
  const uint32_t site = IsStandardHeader(where.file_name()) ? StandardWrapperCallerSite()
                                                            : internal::SiteOf(where, Op::kMutex);
  // Finding the site may have taken a while the first time; retry before
  // recording a wait.
  if (mu_.try_lock()) return;
  // An untimed exclusive wait: the deadlock detector may follow owner_.
  static_assert(sizeof(std::atomic<int32_t>) == sizeof(int32_t));
  const int64_t start_ns =
      internal::BeginBlock(site, this, reinterpret_cast<const int32_t*>(&owner_));
  mu_.lock();
  internal::EndBlock(site, start_ns);
}

// --- CondVar ------------------------------------------------------------------

void CondVar::WaitOnce(std::unique_lock<Mutex>& lock) noexcept {
  Mutex& mu = *lock.mutex();
  mu.owner_.store(0, std::memory_order_relaxed);
  std::unique_lock<std::mutex> inner(mu.mu_, std::adopt_lock);
  cv_.wait(inner);
  inner.release();
  mu.owner_.store(internal::CurrentTid(), std::memory_order_relaxed);
}

// --- WaitGroup ----------------------------------------------------------------

bool WaitGroup::Add(int64_t delta) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t next;
  bool ok = true;
  if (__builtin_add_overflow(count_, delta, &next)) {
    next = delta > 0 ? std::numeric_limits<int64_t>::max() : 0;
    ok = false;
  } else if (next < 0) {
    next = 0;
    ok = false;
  }
  if (!ok) g_waitgroup_misuse.fetch_add(1, std::memory_order_relaxed);
  count_ = next;
  // Notified under mu_: a released waiter cannot return (and destroy *this)
  // before this call is done with it.
  if (next == 0) zero_.notify_all();
  return ok;
}

bool WaitGroup::WaitImpl(const std::chrono::steady_clock::time_point* deadline,
                         const std::source_location& where) noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  if (count_ == 0) return true;
  if (deadline != nullptr && std::chrono::steady_clock::now() >= *deadline) return false;
  const internal::ScopedWait wait(Op::kWaitGroup, where);
  auto released = [this] { return count_ == 0; };
  if (deadline == nullptr) {
    zero_.wait(lock, released);
    return true;
  }
  return zero_.wait_until(lock, *deadline, released);
}

uint64_t WaitGroup::MisuseCount() noexcept {
  return g_waitgroup_misuse.load(std::memory_order_relaxed);
}

}  // namespace leakwatch
