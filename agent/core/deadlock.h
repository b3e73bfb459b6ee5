// Sound deadlock verdicts from the wait-for graph of lock waits.
//
// Each thread blocked in an untimed wait for an exclusive lock names the word
// where the lock keeps its owner's thread id. That gives a graph with at most
// one edge per waiter: waiter → owner. A waiter is deadlocked when following
// the edges from it reaches
//   - a cycle (A waits for B, B waits for A; or A waits for a lock A holds), or
//   - an owner thread that has exited (the lock can never be released),
// because every thread on such a chain waits for a lock that nobody able to run
// holds. The graph is read twice: a verdict stands only if every waiter on the
// chain was in the same wait (same start time) and every owner word held the
// same owner from before the first read to after the last, so the cycle existed
// at every instant in between; untimed lock waits never end by themselves, so it
// exists still. Timed waits, condition variables, channels and futexes never get
// a verdict: only proofs are reported.
//
// Thread-safety: no state of its own; the owner words, which lock holders change meanwhile, are
// read only through process_vm_readv: no data race, no fault. Called with the registry lock held.

#ifndef LEAKWATCH_CORE_DEADLOCK_H_
#define LEAKWATCH_CORE_DEADLOCK_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace leakwatch::core {

struct LockWaiter {
  int32_t tid = 0;
  int64_t start_ns = 0;  // the wait's start time (its identity)
  const int32_t* owner_word = nullptr;
  uint32_t site = 0;
  bool deadlocked = false;  // output
};

// Marks the deadlocked waiters. `still_waiting(i)` re-reads waiter i's wait and
// returns its current start time (0 if it no longer waits); `thread_alive(tid)`
// says whether a thread of this process has that id.
void FindDeadlocks(std::vector<LockWaiter>& waiters,
                   const std::function<int64_t(size_t)>& still_waiting,
                   const std::function<bool(int32_t)>& thread_alive);

// Reads the 32-bit words at `addresses` without trusting them to be mapped:
// unreadable ones come back as -1.
std::vector<int32_t> ReadOwnerWords(const std::vector<const int32_t*>& addresses);

// True if a thread with kernel id `tid` exists in this process.
bool ThreadAlive(int32_t tid);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_DEADLOCK_H_
