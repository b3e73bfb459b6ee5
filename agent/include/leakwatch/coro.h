// leakwatch/coro.h — C++20 coroutines as leakwatch tasks.
//
// A coroutine whose promise type derives from `leakwatch::coro::TaskTracker` is a
// *coroutine task*. It is live (leakwatch_tasks{kind}) from the creation of its
// frame to the frame's destruction, whichever threads run it in between, and it
// is of a kind ("coroutine" unless you name one). Every `co_await` in its body
// goes through the tracker's `await_transform`: while the coroutine is suspended
// there it is blocked with Op::kAwait at the line of that co_await
// (leakwatch_blocked_tasks{site="src/fetch.cc:42",op="await"}, and
// leakwatch_stuck_tasks once it has waited longer than tasks.stuck_after),
// DumpTasks(2) lists it (with the thread that last ran it), and when it is resumed
// the wait's duration goes into the site's histogram. An await that did not
// really suspend (await_ready() was true, await_suspend() returned false or the
// coroutine's own handle, or threw) records nothing. A coroutine destroyed while
// suspended — cancelled, or freed by an owner that gave up on it — stops counting
// at that moment; one that is never resumed and never destroyed is exactly the
// leak leakwatch reports.
//
// Two ways in. Users without a coroutine type of their own take `Task<T>`, a lazy
// task (it starts when awaited or started) with symmetric transfer:
//
//   leakwatch::coro::Task<std::string, "fetch"> Fetch(Client& c, Key k) {
//     Reply r = co_await c.Get(k);              // blocked here while suspended
//     co_return r.body;
//   }
//   leakwatch::coro::Task<> Handle(Client& c) {  // kind "coroutine"
//     std::string body = co_await Fetch(c, "a");
//     ...
//   }
//   Handle(client).Detach();  // runs until its first suspension; frees itself
//
// Users with their own promise type derive it from TaskTracker (the base
// registers the coroutine in its constructor and unregisters it in its
// destructor, both run by the compiler with the frame):
//
//   struct MyTask::promise_type : leakwatch::coro::TaskTracker {
//     promise_type() : TaskTracker(kRpcKind) {}  // a static leakwatch::TaskKind
//     ...
//   };
//
// Any awaitable works: an awaiter (await_ready / await_suspend returning void,
// bool or a coroutine handle / await_resume), or a type with a member or free
// `operator co_await`. Awaiters are never copied: an lvalue awaiter is used in
// place, a temporary one is moved into the wrapper (or used in place if it cannot
// be moved), and one returned by operator co_await is built in place. A promise type
// that defines its own await_transform hides TaskTracker's; make it return
// `TaskTracker::await_transform(transformed, where)` with a defaulted
// `std::source_location where` parameter of its own to keep the sites. Only
// co_await is tracked: initial and final suspension, and co_yield, are not
// waits.
//
// Sites: with GCC the site is the line on which the awaited expression ends —
// the co_await's own line unless the expression spans lines — relative to the
// source root like every explicit site (see leakwatch/task.h).
//
// Cost and thread-safety: the tracking record lives in the promise, so a tracked
// coroutine allocates nothing beyond its own frame (the record and the wrapped
// awaiters make the frame larger; measured in tests/bench/bench_coro.cc).
// Creating and destroying one takes one uncontended per-shard lock each (shards
// are picked by the creating thread; the sampler takes one shard at a time), and
// a suspension writes a few words of the coroutine's own record. A coroutine may
// be created, resumed and destroyed on any threads, as long as the usual
// coroutine rules hold (one thread resumes it at a time; it is not destroyed
// while running). None of this throws; exceptions thrown by user awaiters and
// coroutine bodies pass through unchanged. Tracking works before
// leakwatch::Start() and after Stop().

#ifndef LEAKWATCH_CORO_H_
#define LEAKWATCH_CORO_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <source_location>
#include <string_view>
#include <type_traits>
#include <utility>

#include "leakwatch/task.h"

namespace leakwatch {
namespace internal {

// The tracking record of one coroutine task, embedded in its promise. Not for
// users. Identity fields are written before the record is linked into its
// registry shard and read by the sampler under that shard's lock; the block
// state is a seqlock like a thread's (core/thread_record.h): `block_start_ns` > 0
// means "suspended at block_site since then"; <= 0 means "not suspended" and
// keeps the negated start of the last wait, so start times stay strictly
// increasing per record.
struct CoroutineRecord {
  CoroutineRecord* prev = nullptr;  // shard list, guarded by the shard's lock
  CoroutineRecord* next = nullptr;
  uint64_t id = 0;
  int64_t start_ns = 0;
  std::atomic<int64_t> block_start_ns{0};
  std::atomic<uint32_t> block_site{0};
  std::atomic<int32_t> tid{0};  // the thread that last ran the coroutine
  uint16_t kind = 0;
  uint8_t shard = 0;
};

// Registry entry points (agent/core/coro_registry.cc). `kind` null means
// "coroutine".
void RegisterCoroutine(CoroutineRecord* record, const TaskKind* kind) noexcept;
void UnregisterCoroutine(CoroutineRecord* record) noexcept;
// Marks the coroutine suspended at `where`; called before the awaiter's
// await_suspend hands the coroutine to anyone else.
void BeginAwait(CoroutineRecord* record, const std::source_location& where) noexcept;
// The same for a wait that is not a co_await: blocked with `op` at the site
// named `label` (leakwatch::grpc's in-flight RPCs, sited at their method).
void BeginWaitAt(CoroutineRecord* record, std::string_view label, Op op) noexcept;
// The awaiter did not suspend after all: clears the state, records nothing.
void CancelAwait(CoroutineRecord* record) noexcept;
// Resumed: clears the state and records the wait into the site's histogram.
void EndAwait(CoroutineRecord* record) noexcept;

// The awaiter of `a`, found as the compiler would: a member operator co_await,
// else a free one, else `a` itself (returned as a reference, not copied).
template <class A>
decltype(auto) GetAwaiter(A&& a) {
  if constexpr (requires { static_cast<A&&>(a).operator co_await(); }) {
    return static_cast<A&&>(a).operator co_await();
  } else if constexpr (requires { operator co_await(static_cast<A&&>(a)); }) {
    return operator co_await(static_cast<A&&>(a));
  } else {
    return static_cast<A&&>(a);
  }
}

// How TrackedAwaiter holds the awaiter of an `A&&`: an lvalue by reference; a
// temporary by value (moved in, so a wrapper built by a user's own
// await_transform outlives the temporary), or, if it cannot be moved, by
// reference (the compiler keeps it alive across the co_await); a prvalue from
// operator co_await by value, built in place.
template <class A>
using AwaiterStorage = std::conditional_t<
    std::is_rvalue_reference_v<decltype(GetAwaiter(std::declval<A>()))> &&
        std::is_constructible_v<std::remove_cvref_t<decltype(GetAwaiter(std::declval<A>()))>,
                                decltype(GetAwaiter(std::declval<A>()))>,
    std::remove_cvref_t<decltype(GetAwaiter(std::declval<A>()))>,
    decltype(GetAwaiter(std::declval<A>()))>;

// Wraps the awaiter of one co_await of a tracked coroutine; `Inner` is an
// AwaiterStorage.
template <class Inner>
class TrackedAwaiter {
 public:
  template <class A>
  TrackedAwaiter(CoroutineRecord* record, const std::source_location& where, A&& a)
      : inner_(GetAwaiter(static_cast<A&&>(a))), record_(record), where_(where) {}

  TrackedAwaiter(const TrackedAwaiter&) = delete;
  TrackedAwaiter& operator=(const TrackedAwaiter&) = delete;

  decltype(auto) await_ready() { return inner_.await_ready(); }

  template <class Promise>
  auto await_suspend(std::coroutine_handle<Promise> h) {
    using Result = decltype(inner_.await_suspend(h));
    // Once the inner await_suspend has handed the coroutine over, another thread
    // may resume and even destroy it (and this awaiter with it) before the call
    // returns: after it, only locals are touched unless the coroutine is known
    // not to have suspended.
    CoroutineRecord* const record = record_;
    BeginAwait(record, where_);
#if defined(__cpp_exceptions)
    try {
#endif
      if constexpr (std::is_void_v<Result>) {
        inner_.await_suspend(h);
      } else if constexpr (std::is_same_v<Result, bool>) {
        const bool suspended = inner_.await_suspend(h);
        if (!suspended) CancelAwait(record);
        return suspended;
      } else {
        Result next = inner_.await_suspend(h);
        if (next.address() == h.address()) CancelAwait(record);  // resumes itself at once
        return next;
      }
#if defined(__cpp_exceptions)
    } catch (...) {
      CancelAwait(record);  // a throwing await_suspend resumes the coroutine
      throw;
    }
#endif
  }

  decltype(auto) await_resume() {
    if (record_->block_start_ns.load(std::memory_order_relaxed) > 0) EndAwait(record_);
    return inner_.await_resume();
  }

 private:
  Inner inner_;
  CoroutineRecord* const record_;
  const std::source_location where_;
};

}  // namespace internal

namespace coro {

// Base class for a coroutine's promise type that makes the coroutine a tracked
// task (see the file comment). Construct it with the task's kind, or default
// for kind "coroutine". Not copyable or movable (promises never are).
class TaskTracker {
 public:
  TaskTracker() noexcept { internal::RegisterCoroutine(&record_, nullptr); }
  explicit TaskTracker(const TaskKind& kind) noexcept {
    internal::RegisterCoroutine(&record_, &kind);
  }
  ~TaskTracker() { internal::UnregisterCoroutine(&record_); }

  TaskTracker(const TaskTracker&) = delete;
  TaskTracker& operator=(const TaskTracker&) = delete;

  // Wraps every co_await of the coroutine; `where` defaults to the co_await.
  template <class Awaitable>
  auto await_transform(Awaitable&& awaitable,
                       std::source_location where = std::source_location::current()) {
    return internal::TrackedAwaiter<internal::AwaiterStorage<Awaitable&&>>(
        &record_, where, static_cast<Awaitable&&>(awaitable));
  }

  // The task id shown by DumpTasks(2) and Snapshot::Task::id. Never 0.
  uint64_t task_id() const noexcept { return record_.id; }

 private:
  internal::CoroutineRecord record_;
};

// A task kind as a template argument: Task<int, "fetch">. At most 64 bytes.
template <std::size_t N>
struct KindLiteral {
  static_assert(N >= 2 && N <= 65, "a task kind is 1 to 64 characters long");
  consteval KindLiteral(const char (&s)[N]) noexcept {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < N; ++i) name[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {name, N - 1}; }
  char name[N];
};

namespace internal_task {

template <KindLiteral Kind>
const TaskKind& KindOf() noexcept {
  static const TaskKind kind(Kind.view());
  return kind;
}

[[noreturn]] inline void Misuse(const char* what) noexcept {
  std::fprintf(stderr, "leakwatch::coro::Task: %s\n", what);
  std::abort();
}

// Result storage of a Task's promise: a value or an exception.
template <class T>
struct Result {
  std::optional<T> value;
  std::exception_ptr exception;

  template <class U>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value.emplace(static_cast<U&&>(v));
  }
  T Take() {
    if (exception) std::rethrow_exception(exception);
    if (!value) Misuse("the result of a task that has not finished, or was already taken");
    T out = std::move(*value);
    value.reset();
    return out;
  }
};

template <>
struct Result<void> {
  std::exception_ptr exception;

  void return_void() noexcept {}
  void Take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace internal_task

// A lazy coroutine task of kind `Kind` returning T (see the file comment). The
// coroutine starts when the Task is awaited (`co_await task` runs it on the
// awaiting thread by symmetric transfer and resumes the awaiter when it
// finishes, returning its value or rethrowing its exception), started with
// Start(), or detached with Detach(). Destroying a Task destroys its coroutine
// if it is suspended (cancelling it); a Task must not be destroyed while its
// coroutine runs. A Task is a move-only handle; it is not thread-safe itself.
template <class T = void, KindLiteral Kind = "coroutine">
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>,
                "Task<T&> is not supported: return a pointer or std::reference_wrapper");

 public:
  struct promise_type : coro::TaskTracker, internal_task::Result<T> {
    promise_type() noexcept : TaskTracker(internal_task::KindOf<Kind>()) {}

    Task get_return_object() noexcept {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct Final {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          promise_type& p = h.promise();
          if (p.continuation) return p.continuation;
          if (p.detached) h.destroy();
          return std::noop_coroutine();
        }
        void await_resume() noexcept {}
      };
      return Final{};
    }
    void unhandled_exception() noexcept { this->exception = std::current_exception(); }

    std::coroutine_handle<> continuation;
    bool detached = false;
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // Awaiting runs the task to completion and yields its result (or rethrows).
  // Await a task once; awaiting a moved-from task aborts with a message.
  auto operator co_await() & noexcept { return Awaiter{handle_}; }
  auto operator co_await() && noexcept { return Awaiter{handle_}; }

  // Runs the task on the calling thread until its first suspension or its end.
  // Call at most once, and only on a task that nobody awaits.
  void Start() {
    if (!handle_) internal_task::Misuse("Start() on a moved-from task");
    if (handle_.done()) return;
    handle_.resume();
  }

  // Starts the task and gives up the handle: the coroutine frees itself when it
  // finishes (its result and any exception are dropped). A detached task that is
  // never resumed stays live: that is a leak leakwatch reports.
  void Detach() && {
    if (!handle_) internal_task::Misuse("Detach() on a moved-from task");
    Handle h = std::exchange(handle_, {});
    h.promise().detached = true;
    if (!h.done()) {
      h.resume();
    } else {
      h.destroy();
    }
  }

  // True once the coroutine has finished (returned or thrown).
  bool done() const noexcept { return !handle_ || handle_.done(); }

  // The finished task's result (moved out), or its exception rethrown. Aborts
  // with a message if the task has not finished.
  T Result() {
    if (!handle_ || !handle_.done()) internal_task::Misuse("Result() before the task finished");
    return handle_.promise().Take();
  }

  // The task's id (as in DumpTasks(2)), or 0 for a moved-from task.
  uint64_t id() const noexcept { return handle_ ? handle_.promise().task_id() : 0; }

 private:
  struct Awaiter {
    Handle handle;
    bool await_ready() const noexcept {
      if (!handle) internal_task::Misuse("co_await on a moved-from task");
      return handle.done();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      handle.promise().continuation = awaiting;
      return handle;
    }
    T await_resume() { return handle.promise().Take(); }
  };

  explicit Task(Handle h) noexcept : handle_(h) {}

  Handle handle_;
};

}  // namespace coro
}  // namespace leakwatch

#endif  // LEAKWATCH_CORO_H_
