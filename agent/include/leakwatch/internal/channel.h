// leakwatch/internal/channel.h — the channel algorithm behind leakwatch::Channel.
//
// Not for users: include leakwatch/sync.h and use leakwatch::Channel<T>, whose
// comment documents the semantics. This header holds the algorithm once, as
// `BasicChannel<T, Hooks>`, so the same code can be built with leakwatch's
// recording (`CoreHooks`, what Channel<T> uses) or without it
// (`NoInstrumentation`, what the benchmarks compare against).
//
// The design is Go's hchan: one mutex per channel guards a ring buffer of
// `capacity` slots and two FIFO queues of parked waiters (senders, receivers).
// A waiter is a node on the blocked thread's own stack that holds a pointer to
// the value to hand over (a sender) or to the place to put it (a receiver), so a
// rendezvous moves the value exactly once, directly from sender to receiver,
// and no operation allocates (the ring is allocated once, by the constructor).
// Invariants, all under the mutex:
//   receivers non-empty => buffer empty and senders empty;
//   senders non-empty   => buffer full and receivers empty;
//   closed              => both queues empty.
// A peer that completes a waiter fills in its result and signals the waiter's
// own condition variable while still holding the channel mutex: the waiter
// cannot return (and destroy the node) before that signal has been delivered.
//
// Select is not built yet (Op::kSelect is reserved for it); it fits this design as in Go: a select
// waiter is parked on several channels' queues (the queues support O(1) removal from the middle
// already) and gets a shared "claimed" flag plus its own wake-up.
//
// Thread-safety: all members may run concurrently on any handles of one channel (State::mu guards
// all but `capacity`); as with shared_ptr, one handle must not be assigned while another uses it.

#ifndef LEAKWATCH_INTERNAL_CHANNEL_H_
#define LEAKWATCH_INTERNAL_CHANNEL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "leakwatch/internal/core.h"
#include "leakwatch/internal/sync_wait.h"
#include "leakwatch/task.h"

namespace leakwatch {

// The outcome of a channel operation that may fail without blocking forever
// (see Channel<T> in leakwatch/sync.h).
enum class ChannelStatus : uint8_t {
  kOk,          // the value was sent / received
  kClosed,      // the channel is closed (for receives: and drained)
  kTimeout,     // SendFor/RecvFor: the timeout expired first
  kWouldBlock,  // TrySend/TryRecv: the operation could not complete right now
};

// "ok", "closed", "timeout" or "would_block".
constexpr const char* ChannelStatusName(ChannelStatus status) noexcept {
  switch (status) {
    case ChannelStatus::kOk:
      return "ok";
    case ChannelStatus::kClosed:
      return "closed";
    case ChannelStatus::kTimeout:
      return "timeout";
    case ChannelStatus::kWouldBlock:
      return "would_block";
  }
  return "unknown";
}

// The result of TryRecv/RecvFor: `value` is engaged exactly when status == kOk.
template <class T>
struct RecvResult {
  ChannelStatus status = ChannelStatus::kClosed;
  std::optional<T> value;

  bool ok() const noexcept { return status == ChannelStatus::kOk; }
};

namespace internal {

// Hooks policy that records nothing: the bare algorithm.
struct NoInstrumentation {
  struct Wait {};
  static Wait BeginWait(Op, const std::source_location&) noexcept { return {}; }
  static void EndWait(const Wait&) noexcept {}
};

// Hooks policy of leakwatch::Channel: a wait that really blocks is a BlockScope
// at the caller's site.
struct CoreHooks {
  struct Wait {
    uint32_t site;
    int64_t start_ns;
  };
  static Wait BeginWait(Op op, const std::source_location& where) noexcept {
    const uint32_t site = SiteOf(where, op);
    return {site, BeginBlock(site)};
  }
  static void EndWait(const Wait& wait) noexcept { EndBlock(wait.site, wait.start_ns); }
};

// A Go channel of T; `Hooks` is NoInstrumentation or CoreHooks. See
// leakwatch::Channel for the contract of each member.
template <class T, class Hooks>
class BasicChannel {
 public:
  using value_type = T;
  using Clock = std::chrono::steady_clock;

  explicit BasicChannel(size_t capacity = 0) : state_(std::make_shared<State>(capacity)) {}

  // Copies share the channel. There is deliberately no move constructor: a
  // "moved-from" handle is a copy, so a handle never becomes empty.
  BasicChannel(const BasicChannel&) = default;
  BasicChannel& operator=(const BasicChannel&) = default;
  ~BasicChannel() = default;

  bool Send(const T& value, const std::source_location& where) {
    return Put(nullptr, &value, Mode::kBlock, {}, where) == ChannelStatus::kOk;
  }
  bool Send(T&& value, const std::source_location& where) {
    return Put(&value, nullptr, Mode::kBlock, {}, where) == ChannelStatus::kOk;
  }
  ChannelStatus TrySend(const T& value) { return Put(nullptr, &value, Mode::kTry, {}, {}); }
  ChannelStatus TrySend(T&& value) { return Put(&value, nullptr, Mode::kTry, {}, {}); }
  ChannelStatus SendFor(const T& value, Clock::duration timeout,
                        const std::source_location& where) {
    return Put(nullptr, &value, Mode::kTimed, timeout, where);
  }
  ChannelStatus SendFor(T&& value, Clock::duration timeout, const std::source_location& where) {
    return Put(&value, nullptr, Mode::kTimed, timeout, where);
  }

  std::optional<T> Recv(const std::source_location& where) {
    return Get(Mode::kBlock, {}, where).value;
  }
  RecvResult<T> TryRecv() { return Get(Mode::kTry, {}, {}); }
  RecvResult<T> RecvFor(Clock::duration timeout, const std::source_location& where) {
    return Get(Mode::kTimed, timeout, where);
  }

  bool Close() {
    State& s = *state_;
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.closed) return false;
    s.closed = true;
    while (Waiter* w = s.receivers.PopFront()) Complete(*w, /*ok=*/false);
    while (Waiter* w = s.senders.PopFront()) Complete(*w, /*ok=*/false);
    return true;
  }

  size_t Len() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->count;
  }
  size_t Cap() const noexcept { return state_->capacity; }

  friend bool operator==(const BasicChannel& a, const BasicChannel& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  enum class Mode : uint8_t { kBlock, kTry, kTimed };

  // A thread parked on a queue; lives on that thread's stack.
  struct Waiter {
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    T* move_from = nullptr;            // sender: the value, moved out on success
    const T* copy_from = nullptr;      // sender: the value, copied on success
    std::optional<T>* into = nullptr;  // receiver: where the value goes
    bool done = false;                 // a peer or Close completed this waiter
    bool ok = false;                   // done with a value transferred
    std::condition_variable wake;      // signalled under the channel mutex
  };

  // An intrusive FIFO of waiters; O(1) push, pop and removal.
  struct WaitQueue {
    Waiter* head = nullptr;
    Waiter* tail = nullptr;

    Waiter* Front() const noexcept { return head; }
    void PushBack(Waiter* w) noexcept {
      w->prev = tail;
      w->next = nullptr;
      (tail != nullptr ? tail->next : head) = w;
      tail = w;
    }
    void Remove(Waiter* w) noexcept {
      (w->prev != nullptr ? w->prev->next : head) = w->next;
      (w->next != nullptr ? w->next->prev : tail) = w->prev;
      w->prev = w->next = nullptr;
    }
    Waiter* PopFront() noexcept {
      Waiter* w = head;
      if (w != nullptr) Remove(w);
      return w;
    }
  };

  struct State {
    explicit State(size_t cap)
        : capacity(cap), ring(cap > 0 ? std::make_unique<std::optional<T>[]>(cap) : nullptr) {}

    const size_t capacity;
    std::mutex mu;
    // Guarded by mu. The buffered values are ring[(head + i) % capacity] for
    // i in [0, count).
    std::unique_ptr<std::optional<T>[]> ring;
    size_t head = 0;
    size_t count = 0;
    bool closed = false;
    WaitQueue senders;
    WaitQueue receivers;
  };

  static void Transfer(std::optional<T>& into, T* move_from, const T* copy_from) {
    if (move_from != nullptr) {
      into.emplace(std::move(*move_from));
    } else if constexpr (std::is_copy_constructible_v<T>) {
      into.emplace(*copy_from);  // only the const T& sends set copy_from
    }
  }

  // Requires the channel mutex; `w` has been removed from its queue.
  static void Complete(Waiter& w, bool ok) noexcept {
    w.ok = ok;
    w.done = true;
    w.wake.notify_one();
  }

  // Queues `w` on `queue` and parks it, a wait at `op` as the hooks see it,
  // until a peer completes it, the timeout expires or the channel closes; a
  // wait that ends uncompleted leaves the queue. Requires `lock` held; returns
  // with it released (the hooks' end of the wait runs unlocked). Returns w.done.
  static bool QueueAndPark(std::unique_lock<std::mutex>& lock, WaitQueue& queue, Waiter& w, Op op,
                           Mode mode, Clock::duration timeout, const std::source_location& where) {
    queue.PushBack(&w);
    const typename Hooks::Wait wait = Hooks::BeginWait(op, where);
    bool done = true;
    if (mode == Mode::kBlock) {
      w.wake.wait(lock, [&w] { return w.done; });
    } else {
      done = w.wake.wait_until(lock, Clock::now() + timeout, [&w] { return w.done; });
    }
    if (!done) queue.Remove(&w);
    lock.unlock();
    Hooks::EndWait(wait);
    return done;
  }

  ChannelStatus Put(T* move_from, const T* copy_from, Mode mode, Clock::duration timeout,
                    const std::source_location& where) {
    State& s = *state_;
    std::unique_lock<std::mutex> lock(s.mu);
    if (s.closed) return ChannelStatus::kClosed;
    if (Waiter* receiver = s.receivers.Front()) {  // hand over directly
      Transfer(*receiver->into, move_from, copy_from);
      s.receivers.Remove(receiver);
      Complete(*receiver, /*ok=*/true);
      return ChannelStatus::kOk;
    }
    if (s.count < s.capacity) {  // room in the buffer
      Transfer(s.ring[(s.head + s.count) % s.capacity], move_from, copy_from);
      ++s.count;
      return ChannelStatus::kOk;
    }
    if (mode == Mode::kTry) return ChannelStatus::kWouldBlock;
    if (mode == Mode::kTimed && timeout <= Clock::duration::zero()) return ChannelStatus::kTimeout;

    Waiter self;
    self.move_from = move_from;
    self.copy_from = copy_from;
    if (!QueueAndPark(lock, s.senders, self, Op::kChanSend, mode, timeout, where)) {
      return ChannelStatus::kTimeout;
    }
    return self.ok ? ChannelStatus::kOk : ChannelStatus::kClosed;
  }

  RecvResult<T> Get(Mode mode, Clock::duration timeout, const std::source_location& where) {
    State& s = *state_;
    RecvResult<T> result;
    std::unique_lock<std::mutex> lock(s.mu);
    if (s.count > 0) {  // oldest buffered value first
      std::optional<T>& slot = s.ring[s.head];
      result.value.emplace(std::move(*slot));
      slot.reset();
      s.head = (s.head + 1) % s.capacity;
      --s.count;
      result.status = ChannelStatus::kOk;
      if (Waiter* sender = s.senders.Front()) {  // the freed slot goes to the first sender
        Transfer(s.ring[(s.head + s.count) % s.capacity], sender->move_from, sender->copy_from);
        ++s.count;
        s.senders.Remove(sender);
        Complete(*sender, /*ok=*/true);
      }
      return result;
    }
    if (Waiter* sender = s.senders.Front()) {  // unbuffered: take from a parked sender
      Transfer(result.value, sender->move_from, sender->copy_from);
      s.senders.Remove(sender);
      Complete(*sender, /*ok=*/true);
      result.status = ChannelStatus::kOk;
      return result;
    }
    if (s.closed) {
      result.status = ChannelStatus::kClosed;
      return result;
    }
    if (mode == Mode::kTry) {
      result.status = ChannelStatus::kWouldBlock;
      return result;
    }
    if (mode == Mode::kTimed && timeout <= Clock::duration::zero()) {
      result.status = ChannelStatus::kTimeout;
      return result;
    }

    Waiter self;
    self.into = &result.value;
    if (!QueueAndPark(lock, s.receivers, self, Op::kChanRecv, mode, timeout, where)) {
      result.status = ChannelStatus::kTimeout;
    } else {
      result.status = self.ok ? ChannelStatus::kOk : ChannelStatus::kClosed;
    }
    return result;
  }

  std::shared_ptr<State> state_;
};

}  // namespace internal
}  // namespace leakwatch

#endif  // LEAKWATCH_INTERNAL_CHANNEL_H_
