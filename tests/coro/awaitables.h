// Awaitables for the coroutine tests: a one-shot event that coroutines wait on
// and that any thread can set, and awaiters of every await_suspend shape.

#ifndef LEAKWATCH_TESTS_CORO_AWAITABLES_H_
#define LEAKWATCH_TESTS_CORO_AWAITABLES_H_

#include <coroutine>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace leakwatch::testing_coro {

// A one-shot event. `co_await event` suspends until Set(); Set() resumes every
// waiter on the calling thread. Awaited through a member operator co_await.
class Event {
 public:
  struct Awaiter {
    Event& event;
    bool await_ready() {
      std::lock_guard<std::mutex> lock(event.mu_);
      return event.set_;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard<std::mutex> lock(event.mu_);
      if (event.set_) return false;
      event.waiters_.push_back(h);
      return true;
    }
    void await_resume() noexcept {}
  };
  Awaiter operator co_await() noexcept { return Awaiter{*this}; }

  void Set() {
    std::vector<std::coroutine_handle<>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      set_ = true;
      waiters.swap(waiters_);
    }
    for (std::coroutine_handle<> h : waiters) h.resume();
  }

  // Waiters not yet resumed (for destroying them from a test).
  size_t Waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiters_.size();
  }

 private:
  std::mutex mu_;
  bool set_ = false;
  std::vector<std::coroutine_handle<>> waiters_;
};

// Parks the coroutine in `*slot` (await_suspend returning void); the test
// resumes or destroys it through the slot.
struct Park {
  std::coroutine_handle<>* slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
  void await_resume() const noexcept {}
};

// Never suspends although it could: await_ready() is false, await_suspend()
// returns false.
struct DeclineToSuspend {
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }
  int await_resume() const noexcept { return 7; }
};

// Suspends and resumes itself at once by returning its own handle.
struct ResumeSelf {
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) const noexcept { return h; }
  int await_resume() const noexcept { return 8; }
};

// await_suspend throws: the coroutine is resumed with the exception.
struct ThrowOnSuspend {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const { throw std::runtime_error("suspend failed"); }
  void await_resume() const noexcept {}
};

// Neither copyable nor movable; awaited as an lvalue, in place.
class Pinned {
 public:
  Pinned() = default;
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  const Pinned* await_resume() const noexcept { return this; }
};

// Awaitable through a free operator co_await found by argument-dependent lookup.
struct Ticket {
  int value;
};
inline DeclineToSuspend operator co_await(Ticket) noexcept { return {}; }

}  // namespace leakwatch::testing_coro

#endif  // LEAKWATCH_TESTS_CORO_AWAITABLES_H_
