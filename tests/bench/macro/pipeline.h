// The macro-benchmark's workload: a small service pipeline written once against
// a bundle of primitives (macro/primitives.h), so it can be built uninstrumented
// and with leakwatch's primitives and the two timed against each other.
//
//   2 producers --requests (Channel, 64 slots)--> 2 handlers
//   handlers: hash the request, update a Mutex-guarded map, submit a job to
//   a worker pool (a Mutex + two CondVars over a bounded queue of 64 jobs)
//   2 pool workers --results (Channel, 64 slots)--> the calling thread
//
// Every stage runs 2 threads; the calling thread drains the results. The work is
// fixed (`items` requests, `work_rounds` rounds of mixing per job) and the
// checksum it returns is independent of scheduling, so both builds can be
// checked to have done the same work.
//
// Thread-safety: RunPipeline may be called from any thread; it starts and joins
// its own threads.

#ifndef LEAKWATCH_TESTS_BENCH_MACRO_PIPELINE_H_
#define LEAKWATCH_TESTS_BENCH_MACRO_PIPELINE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace leakwatch_bench {

struct PipelineOptions {
  int64_t items = 200000;
  int work_rounds = 200;  // mixing rounds per job in the worker pool
};

namespace pipeline_internal {

struct Request {
  uint64_t key = 0;
  std::array<uint8_t, 64> payload{};
};

struct Job {
  uint64_t key = 0;
  uint64_t digest = 0;
};

inline uint64_t Fnv1a(const std::array<uint8_t, 64>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

inline uint64_t Mix(uint64_t x, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
  }
  return x;
}

// A bounded job queue served by a pool of worker threads.
template <class Prims>
class WorkerPool {
 public:
  void Submit(const Job& job) {
    std::unique_lock<typename Prims::Mutex> lock(mu_);
    not_full_.Wait(lock, [this] { return jobs_.size() < kCapacity; });
    jobs_.push_back(job);
    not_empty_.Signal();
  }

  // Returns false once Shutdown() was called and the queue is drained.
  bool Take(Job* job) {
    std::unique_lock<typename Prims::Mutex> lock(mu_);
    not_empty_.Wait(lock, [this] { return !jobs_.empty() || shut_down_; });
    if (jobs_.empty()) return false;
    *job = jobs_.front();
    jobs_.pop_front();
    not_full_.Signal();
    return true;
  }

  void Shutdown() {
    std::unique_lock<typename Prims::Mutex> lock(mu_);
    shut_down_ = true;
    not_empty_.SignalAll();
  }

 private:
  static constexpr size_t kCapacity = 64;
  typename Prims::Mutex mu_;
  typename Prims::CondVar not_empty_;
  typename Prims::CondVar not_full_;
  std::deque<Job> jobs_;    // guarded by mu_
  bool shut_down_ = false;  // guarded by mu_
};

}  // namespace pipeline_internal

// Runs the pipeline once; returns its checksum.
template <class Prims>
uint64_t RunPipeline(const PipelineOptions& options) {
  using pipeline_internal::Job;
  using pipeline_internal::Request;
  constexpr int kPerStage = 2;

  typename Prims::template Channel<Request> requests(64);
  typename Prims::template Channel<uint64_t> results(64);
  pipeline_internal::WorkerPool<Prims> pool;
  typename Prims::Mutex totals_mu;
  std::unordered_map<uint64_t, uint64_t> totals;  // guarded by totals_mu
  std::atomic<int> producers_left{kPerStage};
  std::atomic<int> handlers_left{kPerStage};
  std::atomic<int> workers_left{kPerStage};

  std::vector<std::thread> threads;
  for (int p = 0; p < kPerStage; ++p) {
    threads.emplace_back([&, p]() {
      for (int64_t i = p; i < options.items; i += kPerStage) {
        Request r;
        r.key = static_cast<uint64_t>(i);
        for (size_t b = 0; b < r.payload.size(); ++b) r.payload[b] = static_cast<uint8_t>(i + b);
        requests.Send(r);
      }
      if (producers_left.fetch_sub(1) == 1) requests.Close();
    });
  }
  for (int h = 0; h < kPerStage; ++h) {
    threads.emplace_back([&]() {
      while (std::optional<Request> r = requests.Recv()) {
        const uint64_t digest = pipeline_internal::Fnv1a(r->payload);
        {
          std::lock_guard<typename Prims::Mutex> lock(totals_mu);
          totals[r->key % 4096] += digest;
        }
        pool.Submit(Job{r->key, digest});
      }
      if (handlers_left.fetch_sub(1) == 1) pool.Shutdown();
    });
  }
  for (int w = 0; w < kPerStage; ++w) {
    threads.emplace_back([&]() {
      Job job;
      while (pool.Take(&job)) {
        results.Send(pipeline_internal::Mix(job.digest ^ job.key, options.work_rounds));
      }
      if (workers_left.fetch_sub(1) == 1) results.Close();
    });
  }

  uint64_t checksum = 0;
  while (std::optional<uint64_t> v = results.Recv()) checksum += *v;
  for (std::thread& t : threads) t.join();
  for (const auto& [key, total] : totals) checksum += key * total;
  return checksum;
}

}  // namespace leakwatch_bench

#endif  // LEAKWATCH_TESTS_BENCH_MACRO_PIPELINE_H_
