// Benchmarks of coroutine tasks (leakwatch/coro.h; issue 6):
//   BM_CoroutineTask/{untracked,tracked}
//       create a lazy coroutine, run it to its one co_await (it suspends),
//       resume it to its end and destroy it; `tracked` has a promise derived
//       from leakwatch::coro::TaskTracker (registration, one tracked
//       suspension with its histogram record, unregistration), `untracked` the
//       same coroutine with a plain promise.
//   BM_CoroutineCreateDestroy/{untracked,tracked}
//       create and destroy a lazy coroutine that never runs: the registration
//       and unregistration alone, plus the frame's allocation.
//   BM_Snapshot/{sampler,with_tasks}/N
//       one snapshot with N coroutine tasks suspended at tracked co_awaits:
//       `sampler` reads what the sampler and /metrics read (per-kind and
//       per-site counts), `with_tasks` is TakeSnapshot() (also every task, as
//       for DumpTasks(2)). Budget context: issue 6 asks for 100,000 coroutine
//       tasks; the report is the time per snapshot in ms.
//   BM_MemoryPerCoroutineTask
//       10,000 suspended coroutines, tracked and untracked; counters:
//         frame_bytes_{tracked,untracked}  the frame size the compiler asks for
//                                          (counted in the promise's operator new)
//         heap_per_task_{tracked,untracked} mallinfo2().uordblks growth / 10,000
//         leakwatch_bytes_per_task         heap_per_task_tracked - _untracked:
//                                          what tracking costs per task (budget
//                                          <= 128 B); the record lives in the
//                                          frame, leakwatch allocates nothing else.

#include <malloc.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/read_snapshot.h"
#include "leakwatch/coro.h"
#include "leakwatch/snapshot.h"

namespace {

// Frame bytes requested by the last coroutine of each flavour (benchmarks run
// on one thread).
size_t g_frame_bytes[2] = {0, 0};

struct NoTracker {};

// A lazy coroutine whose promise is tracked or not; the same shape otherwise.
template <bool kTracked>
class BenchTask {
 public:
  struct promise_type : std::conditional_t<kTracked, leakwatch::coro::TaskTracker, NoTracker> {
    static void* operator new(size_t bytes) {
      g_frame_bytes[kTracked] = bytes;
      return ::operator new(bytes);
    }
    static void operator delete(void* p, size_t bytes) { ::operator delete(p, bytes); }

    BenchTask get_return_object() noexcept {
      return BenchTask(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };

  BenchTask(BenchTask&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  BenchTask& operator=(BenchTask&&) = delete;
  ~BenchTask() {
    if (handle_) handle_.destroy();
  }
  void Resume() { handle_.resume(); }

 private:
  explicit BenchTask(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

// Parks the coroutine in `*slot`.
struct Park {
  std::coroutine_handle<>* slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
  void await_resume() const noexcept {}
};

template <bool kTracked>
BenchTask<kTracked> ParkOnce(std::coroutine_handle<>* slot) {
  co_await Park{slot};
}

template <bool kTracked>
void BM_CoroutineTask(benchmark::State& state) {
  std::coroutine_handle<> parked;
  for (auto _ : state) {
    BenchTask<kTracked> task = ParkOnce<kTracked>(&parked);
    task.Resume();    // runs to the co_await and suspends
    parked.resume();  // finishes (suspended at final_suspend)
    benchmark::DoNotOptimize(parked);
  }
}
BENCHMARK(BM_CoroutineTask<false>)->Name("BM_CoroutineTask/untracked");
BENCHMARK(BM_CoroutineTask<true>)->Name("BM_CoroutineTask/tracked");

template <bool kTracked>
void BM_CoroutineCreateDestroy(benchmark::State& state) {
  std::coroutine_handle<> parked;
  for (auto _ : state) {
    BenchTask<kTracked> task = ParkOnce<kTracked>(&parked);
    benchmark::DoNotOptimize(task);
  }
}
BENCHMARK(BM_CoroutineCreateDestroy<false>)->Name("BM_CoroutineCreateDestroy/untracked");
BENCHMARK(BM_CoroutineCreateDestroy<true>)->Name("BM_CoroutineCreateDestroy/tracked");

// `count` tracked coroutines suspended at a co_await, spread over four sites.
struct SuspendedTasks {
  std::vector<BenchTask<true>> tasks;
  std::vector<std::coroutine_handle<>> parked;
};

BenchTask<true> ParkAt(int which, std::coroutine_handle<>* slot) {
  switch (which & 3) {
    case 0:
      co_await Park{slot};
      break;
    case 1:
      co_await Park{slot};
      break;
    case 2:
      co_await Park{slot};
      break;
    default:
      co_await Park{slot};
      break;
  }
}

void Suspend(int count, SuspendedTasks* out) {
  out->parked.resize(count);
  out->tasks.reserve(count);
  for (int i = 0; i < count; ++i) {
    out->tasks.push_back(ParkAt(i, &out->parked[i]));
    out->tasks.back().Resume();
  }
}

void BM_SnapshotSampler(benchmark::State& state) {
  SuspendedTasks suspended;
  Suspend(static_cast<int>(state.range(0)), &suspended);
  leakwatch::core::ReadOptions options;  // what the sampler and /metrics read
  for (auto _ : state) {
    leakwatch::Snapshot s = leakwatch::core::ReadSnapshot(options);
    benchmark::DoNotOptimize(s);
  }
  state.counters["coroutine_tasks"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SnapshotSampler)
    ->Name("BM_Snapshot/sampler")
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);

void BM_SnapshotWithTasks(benchmark::State& state) {
  SuspendedTasks suspended;
  Suspend(static_cast<int>(state.range(0)), &suspended);
  for (auto _ : state) {
    leakwatch::Snapshot s = leakwatch::TakeSnapshot();
    benchmark::DoNotOptimize(s);
  }
  state.counters["coroutine_tasks"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SnapshotWithTasks)
    ->Name("BM_Snapshot/with_tasks")
    ->Arg(0)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond);

template <bool kTracked>
double HeapPerSuspendedTask(int count) {
  std::vector<BenchTask<kTracked>> tasks;
  std::vector<std::coroutine_handle<>> parked(count);
  tasks.reserve(count);
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < count; ++i) {
    tasks.push_back(ParkOnce<kTracked>(&parked[i]));
    tasks.back().Resume();
  }
  const size_t after = mallinfo2().uordblks;
  return static_cast<double>(after - before) / count;
}

void BM_MemoryPerCoroutineTask(benchmark::State& state) {
  constexpr int kTasks = 10000;
  double untracked = 0;
  double tracked = 0;
  for (auto _ : state) {
    untracked = HeapPerSuspendedTask<false>(kTasks);
    tracked = HeapPerSuspendedTask<true>(kTasks);
  }
  state.counters["frame_bytes_untracked"] = static_cast<double>(g_frame_bytes[0]);
  state.counters["frame_bytes_tracked"] = static_cast<double>(g_frame_bytes[1]);
  state.counters["heap_per_task_untracked"] = untracked;
  state.counters["heap_per_task_tracked"] = tracked;
  state.counters["leakwatch_bytes_per_task"] = tracked - untracked;
}
BENCHMARK(BM_MemoryPerCoroutineTask)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
