// Cost of interposition (issue 3's speed budgets), raw and interposed in the
// same run.
//
// "Raw" calls glibc's own functions through pointers taken from libc.so.6's
// handle, which the hooks cannot intercept; "Interposed" makes the same call the
// way a program does (std::mutex, pthread_mutex_timedlock, sem_timedwait), which
// resolves to the hooks when they are in the process. The benchmarks:
//
//   BM_MutexUncontended/{Raw,Interposed}    std::mutex lock + unlock, one thread
//       (budget: Interposed <= 1.15x Raw). The label says whether the process
//       was still single-threaded (glibc then locks without atomics) or had
//       started threads, like any service; both are registered, in that order.
//   BM_MutexContended/{Raw,Interposed}      2 threads lock one mutex around ~50
//       ns of work each, so many locks really wait (futex sleep and wake).
//   BM_ExpiredWait{Mutex,Semaphore}/{Raw,Interposed}  pthread_mutex_timedlock
//       on a mutex another thread holds / sem_timedwait on an empty semaphore,
//       with a deadline already past: each call is a real wait that takes the
//       recorded slow path (stack walk, site lookup, block state, histogram)
//       and one futex syscall that returns ETIMEDOUT at once. Interposed - Raw
//       is the per-wait instrumentation cost (budget: <= 150 ns).
//   BM_ExpiredWaitMutex/InterposedNoFramePointer[Unwound]  the interposed wait
//       called from a function built without a frame pointer: its stack is
//       unwound with the CFI tables (issue 21 part 7). Without "Unwound" the
//       thread waits at the same place each time and reuses its last unwind;
//       with it, each wait comes from a new stack depth and is unwound anew.
//       Compare with BM_ExpiredWaitMutex/Interposed (frame-pointer walk).
//   .../Paired    the same pair again, raw and interposed timed in turns inside
//       one benchmark (blocks of 1000 lock/unlock, or single waits), which
//       holds up on a loaded machine: the counters raw_ns and interposed_ns are
//       medians, extra_ns the median of the per-pair differences, ratio
//       interposed_ns / raw_ns. These are the numbers to quote.
//
// The hooks are in the process only in intercept_bench (this file linked with
// leakwatch::intercept, tests/intercept/CMakeLists.txt) or under LD_PRELOAD of
// libleakwatch_preload.so. leakwatch_bench also compiles this file; there
// nothing is interposed, so it registers nothing.

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/single_threaded.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// glibc's own entry points, looked up in libc.so.6 itself (not through the
// global scope, where the hooks come first).
struct Glibc {
  int (*mutex_lock)(pthread_mutex_t*) = nullptr;
  int (*mutex_timedlock)(pthread_mutex_t*, const timespec*) = nullptr;
  int (*sem_timedwait)(sem_t*, const timespec*) = nullptr;
  bool interposed = false;  // pthread_mutex_lock in the global scope is not glibc's
};

template <class Fn>
void Resolve(void* libc, const char* name, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(libc, name));
  if (*out == nullptr) {
    std::fprintf(stderr, "bench_intercept: %s not found in libc.so.6: %s\n", name, dlerror());
    std::abort();
  }
}

const Glibc& Real() {
  static const Glibc g = [] {
    Glibc r;
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc == nullptr) {
      std::fprintf(stderr, "bench_intercept: libc.so.6 is not loaded: %s\n", dlerror());
      std::abort();
    }
    Resolve(libc, "pthread_mutex_lock", &r.mutex_lock);
    Resolve(libc, "pthread_mutex_timedlock", &r.mutex_timedlock);
    Resolve(libc, "sem_timedwait", &r.sem_timedwait);
    r.interposed =
        dlsym(RTLD_DEFAULT, "pthread_mutex_lock") != reinterpret_cast<void*>(r.mutex_lock);
    return r;
  }();
  return g;
}

std::string ProcessLabel() {
  return __libc_single_threaded ? "single-threaded process" : "threaded process";
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Per-call times of a paired benchmark: raw and interposed measured in turns
// (which one goes first alternates), so load on the machine and frequency drift
// hit both alike. Reported as counters: the medians and their difference/ratio.
class Pairs {
 public:
  static constexpr size_t kMaxSamples = size_t{1} << 20;

  explicit Pairs(benchmark::State& state) : state_(state) {}
  ~Pairs() {
    const double raw = Median(raw_);
    const double hooked = Median(hooked_);
    state_.counters["raw_ns"] = raw;
    state_.counters["interposed_ns"] = hooked;
    state_.counters["extra_ns"] = Median(diff_);  // median of per-pair differences
    state_.counters["ratio"] = raw > 0 ? hooked / raw : 0;
  }

  // True when the raw call goes first in pair `i`.
  static bool RawFirst(int64_t i) { return i % 2 == 0; }

  // Times one pair: `run(true)` (raw) and `run(false)` (interposed), in this
  // pair's order, each divided by `calls` (the calls one run makes).
  template <typename Run>
  void Time(Run run, int calls = 1) {
    double ns[2];  // raw, interposed
    for (int k = 0; k < 2; ++k) {
      const bool raw_turn = (k == 0) == RawFirst(pairs_);
      const int64_t start = NowNs();
      run(raw_turn);
      ns[raw_turn ? 0 : 1] = static_cast<double>(NowNs() - start) / calls;
    }
    Add(ns[0], ns[1]);
    ++pairs_;
  }

  void Add(double raw_ns, double hooked_ns) {
    if (raw_.size() >= kMaxSamples) return;
    raw_.push_back(raw_ns);
    hooked_.push_back(hooked_ns);
    diff_.push_back(hooked_ns - raw_ns);
  }

 private:
  benchmark::State& state_;
  int64_t pairs_ = 0;
  std::vector<double> raw_, hooked_, diff_;
};

void EnsureThreadedProcess() {
  if (__libc_single_threaded) std::thread([] {}).join();
}

// --- Uncontended ------------------------------------------------------------

void BM_MutexUncontendedRaw(benchmark::State& state) {
  auto* lock = Real().mutex_lock;
  std::mutex m;
  for (auto _ : state) {
    lock(m.native_handle());
    m.unlock();  // not interposed
  }
  state.SetLabel(ProcessLabel());
}

void BM_MutexUncontendedInterposed(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    m.unlock();
  }
  state.SetLabel(ProcessLabel());
}

// Runs `fn` in a process that has started a thread (a no-op once it has).
template <void (*fn)(benchmark::State&)>
void InThreadedProcess(benchmark::State& state) {
  EnsureThreadedProcess();
  fn(state);
}

// The same pair timed in alternating blocks of kBlock lock/unlock each.
template <bool kThreaded>
void BM_MutexUncontendedPaired(benchmark::State& state) {
  constexpr int kBlock = 1000;
  if (kThreaded) EnsureThreadedProcess();
  auto* lock = Real().mutex_lock;
  std::mutex m;
  Pairs pairs(state);
  for (auto _ : state) {
    pairs.Time(
        [&](bool raw) {
          if (raw) {
            for (int j = 0; j < kBlock; ++j) {
              lock(m.native_handle());
              m.unlock();  // not interposed
            }
          } else {
            for (int j = 0; j < kBlock; ++j) {
              m.lock();
              m.unlock();
            }
          }
        },
        kBlock);
  }
  state.SetLabel(ProcessLabel());
}

// --- Contended --------------------------------------------------------------

// ~50 ns of work that the compiler cannot remove.
void Work(uint64_t* x) {
  for (int i = 0; i < 16; ++i) {
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    benchmark::DoNotOptimize(*x);
  }
}

template <bool kInterposed>
void BM_MutexContended(benchmark::State& state) {
  static std::mutex m;
  auto* lock = Real().mutex_lock;
  uint64_t x = static_cast<uint64_t>(state.thread_index());
  for (auto _ : state) {
    if constexpr (kInterposed) {
      m.lock();
    } else {
      lock(m.native_handle());
    }
    Work(&x);
    m.unlock();
    Work(&x);
  }
}

// --- One recorded wait --------------------------------------------------------

const timespec kExpired = {0, 1};  // CLOCK_REALTIME 1970: long past

// A mutex that another thread holds until Release().
class HeldMutex {
 public:
  HeldMutex() : holder_([this] { Hold(); }) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return held_; });
  }
  ~HeldMutex() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      release_ = true;
    }
    cv_.notify_all();
    holder_.join();
    pthread_mutex_destroy(&m_);
  }
  pthread_mutex_t* get() { return &m_; }

 private:
  void Hold() {
    pthread_mutex_lock(&m_);
    std::unique_lock<std::mutex> lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return release_; });
    pthread_mutex_unlock(&m_);
  }

  pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool release_ = false;
  std::thread holder_;
};

template <bool kInterposed>
void BM_ExpiredWaitMutex(benchmark::State& state) {
  HeldMutex held;
  auto* timedlock = Real().mutex_timedlock;
  for (auto _ : state) {
    const int r = kInterposed ? pthread_mutex_timedlock(held.get(), &kExpired)
                              : timedlock(held.get(), &kExpired);
    if (r != ETIMEDOUT) {
      state.SkipWithError("pthread_mutex_timedlock did not time out");
      break;
    }
  }
}

// The interposed wait made from code without a frame pointer (as in Debian's
// memcached): the hooks unwind its stack with the CFI tables. `depth_bytes`
// moves the call down the stack: the same depth every time reuses the
// thread's last unwind (a copy); a new depth every time unwinds every wait.
__attribute__((noinline, optimize("omit-frame-pointer"))) int TimedLockWithoutFramePointer(
    pthread_mutex_t* m, size_t depth_bytes) {
  volatile char* pad = static_cast<volatile char*>(__builtin_alloca(depth_bytes + 1));
  pad[0] = 0;
  const int r = pthread_mutex_timedlock(m, &kExpired);
  pad[0] = 1;  // keeps the frame (and the call) where it is
  return r;
}

// Waits at a known place (the same stack depth): the per-thread copy of the
// last CFI unwind (ThreadState::cfi_stacks).
void BM_ExpiredWaitMutexNoFramePointer(benchmark::State& state) {
  HeldMutex held;
  for (auto _ : state) {
    if (TimedLockWithoutFramePointer(held.get(), 16) != ETIMEDOUT) {
      state.SkipWithError("pthread_mutex_timedlock did not time out");
      break;
    }
  }
}

// A new stack depth every wait: a full CFI unwind per wait (the slow path).
void BM_ExpiredWaitMutexNoFramePointerUnwound(benchmark::State& state) {
  HeldMutex held;
  size_t i = 0;
  for (auto _ : state) {
    if (TimedLockWithoutFramePointer(held.get(), 16 + 16 * (i++ % 64)) != ETIMEDOUT) {
      state.SkipWithError("pthread_mutex_timedlock did not time out");
      break;
    }
  }
}

// The same two calls timed one by one in alternating order.
void BM_ExpiredWaitMutexPaired(benchmark::State& state) {
  HeldMutex held;
  auto* timedlock = Real().mutex_timedlock;
  Pairs pairs(state);
  for (auto _ : state) {
    pairs.Time([&](bool raw) {
      const int r =
          raw ? timedlock(held.get(), &kExpired) : pthread_mutex_timedlock(held.get(), &kExpired);
      if (r != ETIMEDOUT) state.SkipWithError("pthread_mutex_timedlock did not time out");
    });
  }
}

void BM_ExpiredWaitSemaphorePaired(benchmark::State& state) {
  sem_t s;
  sem_init(&s, 0, 0);
  auto* timedwait = Real().sem_timedwait;
  Pairs pairs(state);
  for (auto _ : state) {
    pairs.Time([&](bool raw) {
      const int r = raw ? timedwait(&s, &kExpired) : sem_timedwait(&s, &kExpired);
      if (r != -1) state.SkipWithError("sem_timedwait did not time out");
    });
  }
  sem_destroy(&s);
}

template <bool kInterposed>
void BM_ExpiredWaitSemaphore(benchmark::State& state) {
  sem_t s;
  sem_init(&s, 0, 0);
  auto* timedwait = Real().sem_timedwait;
  for (auto _ : state) {
    const int r = kInterposed ? sem_timedwait(&s, &kExpired) : timedwait(&s, &kExpired);
    if (r != -1 || errno != ETIMEDOUT) {
      state.SkipWithError("sem_timedwait did not time out");
      break;
    }
  }
  sem_destroy(&s);
}

// Registered only where the hooks are in the process. The order matters: the
// single-threaded uncontended pair runs before anything starts a thread.
[[maybe_unused]] const bool registered = [] {
  if (!Real().interposed) return false;
  benchmark::RegisterBenchmark("BM_MutexUncontended/Raw", BM_MutexUncontendedRaw);
  benchmark::RegisterBenchmark("BM_MutexUncontended/Interposed", BM_MutexUncontendedInterposed);
  benchmark::RegisterBenchmark("BM_MutexUncontended/Paired", BM_MutexUncontendedPaired<false>);
  benchmark::RegisterBenchmark("BM_MutexUncontended/Raw/threaded",
                               InThreadedProcess<BM_MutexUncontendedRaw>);
  benchmark::RegisterBenchmark("BM_MutexUncontended/Interposed/threaded",
                               InThreadedProcess<BM_MutexUncontendedInterposed>);
  benchmark::RegisterBenchmark("BM_MutexUncontended/Paired/threaded",
                               BM_MutexUncontendedPaired<true>);
  benchmark::RegisterBenchmark("BM_MutexContended/Raw", BM_MutexContended<false>)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_MutexContended/Interposed", BM_MutexContended<true>)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_ExpiredWaitMutex/Raw", BM_ExpiredWaitMutex<false>);
  benchmark::RegisterBenchmark("BM_ExpiredWaitMutex/Interposed", BM_ExpiredWaitMutex<true>);
  benchmark::RegisterBenchmark("BM_ExpiredWaitMutex/Paired", BM_ExpiredWaitMutexPaired);
  benchmark::RegisterBenchmark("BM_ExpiredWaitMutex/InterposedNoFramePointer",
                               BM_ExpiredWaitMutexNoFramePointer);
  benchmark::RegisterBenchmark("BM_ExpiredWaitMutex/InterposedNoFramePointerUnwound",
                               BM_ExpiredWaitMutexNoFramePointerUnwound);
  benchmark::RegisterBenchmark("BM_ExpiredWaitSemaphore/Raw", BM_ExpiredWaitSemaphore<false>);
  benchmark::RegisterBenchmark("BM_ExpiredWaitSemaphore/Interposed", BM_ExpiredWaitSemaphore<true>);
  benchmark::RegisterBenchmark("BM_ExpiredWaitSemaphore/Paired", BM_ExpiredWaitSemaphorePaired);
  return true;
}();

}  // namespace
