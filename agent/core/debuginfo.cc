#include "core/debuginfo.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include "core/adopted_threads.h"

namespace leakwatch::core {
namespace {

// --- The live process's Dwfl, for agent threads ------------------------------

struct Live {
  std::mutex mu;  // guards everything below; libdwfl is not thread-safe
  std::string search_path;
  char* search_path_ptr = nullptr;
  Dwfl* dwfl = nullptr;
  pid_t pid = 0;                 // the process `dwfl` reported
  unsigned long long loads = 0;  // LoadCount() when `dwfl` was reported
};

// How many objects the dynamic loader has loaded and unloaded so far: changes
// exactly when the process's modules do.
unsigned long long LoadCount() {
  unsigned long long count = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t size, void* out) -> int {
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
          *static_cast<unsigned long long*>(out) = info->dlpi_adds + info->dlpi_subs;
        }
        return 1;  // the counters are the same in every entry
      },
      &count);
  return count;
}

void ForgetSymbolizerInChild();

// The process's Live, never destroyed (threads use it at exit). A fork child
// gets a new one: the parent's symbolizer may have held its lock, or been
// changing its Dwfl, at the fork; the old one is kept, unused, in
// g_live_before_fork. (Holding the lock across fork instead would delay
// fork() for as long as a symbolization takes, a debuginfod download included.)
std::atomic<Live*> g_live{nullptr};
Live* g_live_before_fork = nullptr;

Live& TheLive() {
  if (Live* live = g_live.load(std::memory_order_acquire)) return *live;
  static Live* const first = [] {
    pthread_atfork(nullptr, nullptr, &ForgetSymbolizerInChild);
    return new Live;
  }();
  Live* expected = nullptr;
  g_live.compare_exchange_strong(expected, first, std::memory_order_acq_rel);
  return *g_live.load(std::memory_order_acquire);
}

// Reports the process's modules (again, after a dlopen or a fork). Holds mu.
void ReportModules(Live& live) {
  const pid_t pid = getpid();
  if (live.dwfl == nullptr || live.pid != pid) {
    live.search_path_ptr = live.search_path.data();
    live.dwfl = NewLiveDwfl(&live.search_path_ptr);
    live.pid = pid;
    if (live.dwfl == nullptr) return;
  }
  live.loads = LoadCount();
  dwfl_report_begin_add(live.dwfl);
  dwfl_linux_proc_report(live.dwfl, pid);
  dwfl_report_end(live.dwfl, nullptr, nullptr);
}

// dladdr's base of the module containing `ra` (what "module+0xOFF" counts from).
uintptr_t DlBase(uintptr_t ra) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(ra - 1), &info) != 0) {
    return reinterpret_cast<uintptr_t>(info.dli_fbase);
  }
  return 0;
}

// --- The mailbox between hooks and the symbolizer thread ---------------------

enum class State { kIdle, kRequested, kWorking, kDone };

struct Mailbox {
  std::mutex mu;
  std::condition_variable cv;
  State state = State::kIdle;
  bool abandoned = false;  // the asker gave up on the request being worked on
  // An asker gave up waiting (the symbolizer is busy: loading a large module,
  // or waiting for a lock the asker's thread holds). Askers do not wait until
  // the symbolizer is ready for a new request again, so a stall costs one
  // wait kHookWaitMillis, not one per new return address.
  bool stalled = false;
  // The posted request's number and its asker's deadline: an asker never
  // reads an answer after its deadline, so a request whose asker gave up
  // without the lock (it could not take it in time) is reclaimed by the next
  // asker instead of holding the mailbox forever.
  uint64_t seq = 0;
  std::chrono::steady_clock::time_point asker_deadline{};
  uintptr_t ra = 0;
  bool found = false;
  char label[640] = {};
  char function[512] = {};
};

// Constructed in place so that a fork child can build a fresh one (the parent
// may have held its lock at fork).
alignas(Mailbox) unsigned char g_mailbox_storage[sizeof(Mailbox)];
std::atomic<Mailbox*> g_mailbox{nullptr};
std::atomic<bool> g_running{false};  // a symbolizer thread serves this process
std::atomic<pid_t> g_running_pid{0};

void Serve(Mailbox* box) {
  // Nothing is read before the first question: a process that never blocks
  // never has its modules' tables and DWARF read (debug_files.h).
  MarkAgentThread();
  std::unique_lock<std::mutex> lock(box->mu);
  for (;;) {
    box->stalled = false;  // ready for a request
    box->cv.wait(lock, [box] { return box->state == State::kRequested; });
    box->state = State::kWorking;
    const uintptr_t ra = box->ra;
    lock.unlock();
    FrameInfo info;
    bool found = false;
    std::string label;
    try {
      found = DescribeAddress(ra, &info) && !info.function.empty();
      if (found) label = FrameInfoLabel(info);
    } catch (...) {
      found = false;  // out of memory: the asker falls back
    }
    lock.lock();
    if (box->abandoned) {
      box->abandoned = false;
      box->state = State::kIdle;
    } else {
      box->found = found;
      if (found) {
        std::snprintf(box->label, sizeof box->label, "%s", label.c_str());
        std::snprintf(box->function, sizeof box->function, "%s", info.function.c_str());
      }
      box->state = State::kDone;
    }
    box->cv.notify_all();
  }
}

// In a fork child (one thread): the symbolizer thread does not exist there,
// and the locks it used may be held.
void ForgetSymbolizerInChild() {
  g_running.store(false, std::memory_order_relaxed);
  g_mailbox.store(nullptr, std::memory_order_relaxed);
  Live* old = g_live.load(std::memory_order_relaxed);
  if (old == nullptr) return;
  Live* fresh = new (std::nothrow) Live;
  if (fresh == nullptr) return;
  try {
    fresh->search_path = old->search_path;  // set only by Start, not during a fork
  } catch (...) {
  }
  g_live_before_fork = old;
  g_live.store(fresh, std::memory_order_release);
}

}  // namespace

void StartSymbolizer(const std::vector<std::string>& debug_dirs) {
  Live& live = TheLive();
  {
    std::lock_guard<std::mutex> lock(live.mu);
    const std::string path = DebugInfoSearchPath(debug_dirs);
    if (path != live.search_path || live.dwfl == nullptr) {
      if (live.dwfl != nullptr) dwfl_end(live.dwfl);
      live.dwfl = nullptr;
      live.search_path = path;
    }
  }
  if (g_running.load() && g_running_pid.load() == getpid()) return;
  auto* box = new (g_mailbox_storage) Mailbox;
  // The thread outlives Stop: it must be marked as the agent's before Start
  // returns, or a later Start that adopts running threads (intercept.threads)
  // could count it as the host's when the new thread has not yet run (seen
  // under load in AdoptedThreadsConfig.ThreadsOffAfterTheLoadDropsAdopted...).
  auto marked = std::make_shared<std::promise<void>>();
  std::future<void> marked_future = marked->get_future();
  try {
    std::thread([box, marked] {
      MarkAgentThread();
      marked->set_value();
      Serve(box);
    }).detach();
  } catch (const std::system_error&) {
    return;  // no thread: frames keep their module-table labels
  }
  marked_future.wait_for(std::chrono::seconds(5));
  g_mailbox.store(box, std::memory_order_release);
  g_running_pid.store(getpid());
  g_running.store(true, std::memory_order_release);
}

bool DescribeAddress(uintptr_t ra, FrameInfo* out) {
  Live& live = TheLive();
  std::lock_guard<std::mutex> lock(live.mu);
  if (live.dwfl == nullptr || live.pid != getpid()) ReportModules(live);
  if (live.dwfl == nullptr) return false;
  Dwfl_Module* module = dwfl_addrmodule(live.dwfl, ra - 1);
  if (module == nullptr) {
    // Loaded since the last report? (Addresses in no module, JIT code for
    // instance, do not read /proc/self/maps again each time.)
    if (LoadCount() == live.loads) return false;
    ReportModules(live);
    module = dwfl_addrmodule(live.dwfl, ra - 1);
    if (module == nullptr) return false;
  }
  uintptr_t base = DlBase(ra);
  if (base == 0) {
    Dwarf_Addr start = 0;
    dwfl_module_info(module, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
    base = start;
  }
  DescribeInModule(module, ra, base, out);
  return true;
}

namespace {

// The hook's side waits without a blocking call the hooks record (a contended
// mutex, a condition variable): try_lock and short sleeps, until `deadline`.
using Clock = std::chrono::steady_clock;

void Nap() {
  const timespec step = {0, 50 * 1000};  // 50 us
  nanosleep(&step, nullptr);
}

bool LockUntil(std::mutex& mu, Clock::time_point deadline) {
  while (!mu.try_lock()) {
    if (Clock::now() >= deadline) return false;
    Nap();
  }
  return true;
}

// With box.mu held: a request whose asker's deadline has passed has no reader.
// Never picked up or answered: back to idle (an answer means the symbolizer is
// ready again); being worked on: the symbolizer drops the answer.
void ReclaimLeftRequest(Mailbox& box) {
  if (box.state == State::kIdle || Clock::now() < box.asker_deadline) return;
  if (box.state == State::kWorking) {
    box.abandoned = true;
    return;
  }
  if (box.state == State::kDone) box.stalled = false;
  box.state = State::kIdle;
}

std::atomic<void (*)(std::mutex&)> g_after_post_for_testing{nullptr};

}  // namespace

bool DebugLabelFromHook(uintptr_t ra, char* label, size_t label_size, char* function,
                        size_t function_size) noexcept {
  if (!g_running.load(std::memory_order_acquire)) return false;
  Mailbox* box = g_mailbox.load(std::memory_order_acquire);
  if (box == nullptr || g_running_pid.load(std::memory_order_relaxed) != getpid()) return false;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kHookWaitMillis);
  // Post the request once the mailbox is free.
  for (;;) {
    if (!LockUntil(box->mu, deadline)) return false;
    ReclaimLeftRequest(*box);
    if (box->stalled) {
      box->mu.unlock();
      return false;
    }
    if (box->state == State::kIdle) break;
    if (Clock::now() >= deadline) {
      box->stalled = true;
      box->mu.unlock();
      return false;
    }
    box->mu.unlock();
    Nap();
  }
  box->state = State::kRequested;
  box->ra = ra;
  const uint64_t seq = ++box->seq;
  box->asker_deadline = deadline;
  box->mu.unlock();
  box->cv.notify_all();
  if (auto* hook = g_after_post_for_testing.load(std::memory_order_acquire)) hook(box->mu);
  // Wait for the answer.
  for (;;) {
    Nap();
    if (!LockUntil(box->mu, deadline)) return false;  // reclaimed by the next asker
    // Reclaimed (a newer request, or ours dropped back to idle after the
    // next asker marked it abandoned): not ours to touch.
    if (box->seq != seq || box->state == State::kIdle) {
      box->mu.unlock();
      return false;
    }
    if (box->state == State::kDone) break;
    if (Clock::now() >= deadline) {
      box->stalled = true;
      if (box->state == State::kRequested) {
        box->state = State::kIdle;  // never picked up: withdrawn
      } else {
        box->abandoned = true;  // the symbolizer drops the answer when it comes
      }
      box->mu.unlock();
      return false;
    }
    box->mu.unlock();
  }
  const bool found = box->found;
  if (found) {
    std::snprintf(label, label_size, "%s", box->label);
    if (function != nullptr && function_size > 0) {
      std::snprintf(function, function_size, "%s", box->function);
    }
  }
  box->state = State::kIdle;
  box->stalled = false;  // it answered
  box->mu.unlock();
  return found;
}

void SetAfterPostHookForTesting(void (*hook)(std::mutex& mailbox_lock)) {
  g_after_post_for_testing.store(hook, std::memory_order_release);
}

std::string DescribeFrameForDump(uintptr_t ra) {
  FrameInfo info;
  if (!DescribeAddress(ra, &info)) return "";
  std::string label = FrameInfoLabel(info);
  if (info.function.empty() && !info.build_id.empty()) {
    label += " (build-id " + info.build_id + ")";
  }
  return label;
}

}  // namespace leakwatch::core
