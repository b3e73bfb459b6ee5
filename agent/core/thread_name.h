// Thread names kept in the thread's record, so a task dump of many threads does
// not open /proc/self/task/TID/comm for each one.
//
// The interposition layer stores the name whenever the program names a thread
// (pthread_setname_np on any thread, prctl(PR_SET_NAME) on itself); the sampler
// copies it while it holds the registry lock. A name is at most 15 bytes, the
// kernel's limit, kept as two 64-bit words behind a sequence counter: a writer
// makes the counter odd (compare-and-swap, so two writers of one record take
// turns), stores the words and makes it even again; a reader that sees the same
// even counter before and after its copy has a whole name. Names set any other
// way (writing /proc/.../comm) are not seen: the recorded name then stays as it
// was.

#ifndef LEAKWATCH_CORE_THREAD_NAME_H_
#define LEAKWATCH_CORE_THREAD_NAME_H_

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/thread_record.h"

namespace leakwatch::core {

inline constexpr size_t kThreadNameBytes = 16;  // the kernel's TASK_COMM_LEN, NUL included

// Records `name` (truncated to 15 bytes, as the kernel does) as rec's name.
// Safe from any thread; never allocates.
inline void StoreThreadName(ThreadRecord& rec, const char* name) noexcept {
  uint64_t words[2] = {0, 0};
  std::memcpy(words, name, strnlen(name, kThreadNameBytes - 1));
  uint32_t seq = rec.name_seq.load(std::memory_order_relaxed);
  while ((seq & 1) != 0 ||
         !rec.name_seq.compare_exchange_weak(seq, seq + 1, std::memory_order_acquire)) {
    if ((seq & 1) != 0) {
      sched_yield();  // another thread renames this one right now
      seq = rec.name_seq.load(std::memory_order_relaxed);
    }
  }
  // Release stores: a reader that sees a new word also sees the odd counter.
  rec.name_words[0].store(words[0], std::memory_order_release);
  rec.name_words[1].store(words[1], std::memory_order_release);
  rec.name_seq.store(seq + 2, std::memory_order_release);
}

// Copies rec's recorded name into `out` (kThreadNameBytes, NUL-terminated).
// Returns false, with `out` empty, when no name was recorded or writers kept
// changing it during a few attempts.
inline bool LoadThreadName(const ThreadRecord& rec, char* out) noexcept {
  out[0] = '\0';
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint32_t seq = rec.name_seq.load(std::memory_order_acquire);
    if (seq == 0) return false;
    if ((seq & 1) != 0) continue;
    const uint64_t words[2] = {rec.name_words[0].load(std::memory_order_acquire),
                               rec.name_words[1].load(std::memory_order_acquire)};
    if (rec.name_seq.load(std::memory_order_relaxed) != seq) continue;
    std::memcpy(out, words, kThreadNameBytes);
    out[kThreadNameBytes - 1] = '\0';
    return true;
  }
  return false;
}

// Records `name` as the name of thread `tid` if that thread has a record (a
// thread without one gets its name from /proc when it is dumped). Takes the
// registry lock; meant for naming another thread, which is rare.
void StoreThreadNameOfTid(int32_t tid, const char* name) noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_THREAD_NAME_H_
