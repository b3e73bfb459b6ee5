// leakwatch/task.h — tasks and the places where they block.
//
// A *task* is a unit of work that leakwatch counts while it is alive: every thread
// that touches leakwatch is a task of kind "thread", and a `TaskScope` adds a
// logical task (a pool job, an RPC handler, a request) of a named kind to the
// current thread for as long as the scope lives. Scopes nest; the innermost one is
// the thread's *current task*.
//
// A `BlockScope` says "the current task is blocked here": it marks the task as
// blocked with an `Op` at the caller's source line (the *site*) and, when it ends,
// records how long the wait took into the site's histogram. leakwatch's own
// primitives (leakwatch/sync.h) open BlockScopes themselves, only when they really
// have to wait; wrap any other blocking call the same way:
//
//   void Worker::Run() {
//     leakwatch::TaskScope task(kJobKind);          // counted as a live "job"
//     ...
//     {
//       leakwatch::BlockScope blocked(leakwatch::Op::kIo);  // sited at this line
//       n = read(fd, buf, sizeof buf);
//     }
//   }
//
// Cost and thread-safety: both scopes write only to the calling thread's own
// record, take no lock and allocate nothing after the thread's first use of a site
// (measured in tests/bench). They must be destroyed on the thread that created
// them, in reverse order (they are RAII objects: keep them on the stack). Neither
// ever throws. All of this works before `leakwatch::Start()` and after `Stop()`:
// recording is always on, and the agent only reads what threads wrote.

#ifndef LEAKWATCH_TASK_H_
#define LEAKWATCH_TASK_H_

#include <cstdint>
#include <source_location>
#include <string_view>

namespace leakwatch {

// What a blocked task waits on. The `op` label of the metrics is `OpName(op)`.
enum class Op : uint8_t {
  kMutex,      // "mutex"
  kRwlock,     // "rwlock"
  kCondvar,    // "condvar"
  kJoin,       // "join"
  kFuture,     // "future"
  kSemaphore,  // "semaphore"
  kFutex,      // "futex"
  kChanSend,   // "chan_send"
  kChanRecv,   // "chan_recv"
  kSelect,     // "select"
  kWaitGroup,  // "waitgroup"
  kSleep,      // "sleep"
  kIo,         // "io"
  kRpc,        // "rpc"
  kAwait,      // "await"
  kOther,      // "other"
};
inline constexpr int kNumOps = 16;

// The label text of `op` ("mutex", "chan_send", ...). Never null.
const char* OpName(Op op) noexcept;

// An interned task kind. Creating one interns `name` once; keep it in a static
// and pass it to TaskScope so entering a scope costs no string hashing:
//
//   static const leakwatch::TaskKind kJobKind("job");
//
// Names are label values: at most 64 bytes are kept. At most 64 distinct kinds
// exist; further kinds are counted as kind "other". Thread-safe.
class TaskKind {
 public:
  explicit TaskKind(std::string_view name) noexcept;
  uint16_t id() const noexcept { return id_; }

 private:
  uint16_t id_;
};

// RAII: while alive, a task of `kind` runs on this thread (see the file comment).
class TaskScope {
 public:
  explicit TaskScope(const TaskKind& kind) noexcept;
  // Interns `kind` on each call (a hash lookup); prefer the TaskKind overload on
  // hot paths.
  explicit TaskScope(std::string_view kind) noexcept;
  ~TaskScope();

  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;

 private:
  void Enter(uint16_t kind) noexcept;
  int32_t kind_ = -1;  // -1: nothing recorded (thread exiting)
};

// RAII: while alive, the current task is blocked with `op` at `where`. The wait's
// duration is recorded when the scope ends. Nested BlockScopes on one thread are
// counted once, at the outermost site.
class BlockScope {
 public:
  explicit BlockScope(Op op,
                      std::source_location where = std::source_location::current()) noexcept;
  ~BlockScope();

  BlockScope(const BlockScope&) = delete;
  BlockScope& operator=(const BlockScope&) = delete;

 private:
  int64_t start_ns_ = 0;  // 0: this scope recorded nothing (nested or disabled)
  uint32_t site_ = 0;
};

}  // namespace leakwatch

#endif  // LEAKWATCH_TASK_H_
