// Two interchangeable bundles of synchronization primitives for the benchmarks:
// `Uninstrumented` (std::mutex, std::condition_variable and leakwatch's channel
// algorithm built with NoInstrumentation) and `Instrumented` (leakwatch::Mutex,
// leakwatch::CondVar, leakwatch::Channel). Code written against a bundle runs
// the same algorithms both ways, so the difference between the two builds is
// exactly what leakwatch's recording costs.
//
// Each bundle has:
//   Mutex                       Lockable (use with std::unique_lock / lock_guard)
//   CondVar                     Wait(std::unique_lock<Mutex>&, pred), Signal(), SignalAll()
//   Channel<T>                  Channel(capacity), Send(T), Recv() -> optional<T>, Close()
//
// Thread-safety: that of the underlying primitives (all are safe for concurrent
// use).

#ifndef LEAKWATCH_TESTS_BENCH_MACRO_PRIMITIVES_H_
#define LEAKWATCH_TESTS_BENCH_MACRO_PRIMITIVES_H_

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <source_location>
#include <utility>

#include "leakwatch/internal/channel.h"
#include "leakwatch/sync.h"

namespace leakwatch_bench {

// leakwatch's channel algorithm without any recording, with Channel<T>'s calls.
template <class T>
class UninstrumentedChannel {
 public:
  explicit UninstrumentedChannel(size_t capacity = 0) : impl_(capacity) {}

  bool Send(T value, std::source_location where = std::source_location::current()) {
    return impl_.Send(std::move(value), where);
  }
  std::optional<T> Recv(std::source_location where = std::source_location::current()) {
    return impl_.Recv(where);
  }
  bool Close() { return impl_.Close(); }

 private:
  leakwatch::internal::BasicChannel<T, leakwatch::internal::NoInstrumentation> impl_;
};

// std::condition_variable with leakwatch::CondVar's calls.
class StdCondVar {
 public:
  template <class Predicate>
  void Wait(std::unique_lock<std::mutex>& lock, Predicate stop_waiting) {
    cv_.wait(lock, std::move(stop_waiting));
  }
  void Signal() noexcept { cv_.notify_one(); }
  void SignalAll() noexcept { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

struct Uninstrumented {
  static constexpr const char* kName = "uninstrumented";
  using Mutex = std::mutex;
  using CondVar = StdCondVar;
  template <class T>
  using Channel = UninstrumentedChannel<T>;
};

struct Instrumented {
  static constexpr const char* kName = "leakwatch";
  using Mutex = leakwatch::Mutex;
  using CondVar = leakwatch::CondVar;
  template <class T>
  using Channel = leakwatch::Channel<T>;
};

}  // namespace leakwatch_bench

#endif  // LEAKWATCH_TESTS_BENCH_MACRO_PRIMITIVES_H_
