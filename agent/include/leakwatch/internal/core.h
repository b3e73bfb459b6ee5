// leakwatch/internal/core.h — entry points of the core used by leakwatch's own
// headers (sync.h templates) and layers (intercept, export). Not for users: names
// and signatures here may change at any time.

#ifndef LEAKWATCH_INTERNAL_CORE_H_
#define LEAKWATCH_INTERNAL_CORE_H_

#include <cstdint>
#include <source_location>
#include <string_view>

#include "leakwatch/task.h"

namespace leakwatch::internal {

// Kernel thread id of the calling thread (cached per thread).
int32_t CurrentTid() noexcept;

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC).
int64_t MonotonicNanos() noexcept;

// Site id of a source location; interned on first use (lock-free after that).
// Returns the id of site "other" when the site table is full.
uint32_t SiteOf(const std::source_location& where, Op op) noexcept;

// Site id of a label ("function+0x1c"); interned on first use (takes a lock).
uint32_t SiteOfLabel(std::string_view label, Op op) noexcept;

// Marks the current task blocked at `site` and returns the start time, or 0 if
// the thread is already blocked (nested waits count once) or recording is
// impossible (thread exiting). `resource` identifies what is waited on (for
// dumps); may be null. `owner_tid_word`, for the deadlock detector, is the
// address of the 32-bit word in which the awaited lock keeps its owner's kernel
// thread id (0 when free): pass it only for untimed waits for an exclusive
// lock (leakwatch::Mutex, pthread_mutex_lock, an rwlock's writer wait) — timed
// waits are never called deadlocked. The word is read with process_vm_readv,
// so a lock freed meanwhile cannot crash the reader.
int64_t BeginBlock(uint32_t site, const void* resource = nullptr,
                   const int32_t* owner_tid_word = nullptr) noexcept;

// Ends a wait that BeginBlock started at `start_ns` (a no-op for 0) and records
// its duration into the site's histogram.
void EndBlock(uint32_t site, int64_t start_ns) noexcept;

// True while the calling thread is inside a BeginBlock/EndBlock pair. The
// interposition layer uses it so a leakwatch primitive's own inner wait is not
// counted twice.
bool CurrentThreadBlocked() noexcept;

}  // namespace leakwatch::internal

#endif  // LEAKWATCH_INTERNAL_CORE_H_
