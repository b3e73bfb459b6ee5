// Holding the core's locks across fork().
//
// fork() copies only the calling thread. A lock another thread held at that
// moment stays held forever in the child, and the child deadlocks the first time
// it needs it (interning a site, a kind, symbolizing a frame, registering a
// thread). The interposition layer (intercept/lifecycle.cc) registers
// pthread_atfork handlers that call LockAllForFork() before fork and
// UnlockAllAfterFork() after it, in the parent and in the child, so the child
// starts with every lock free and every table consistent.
//
// The order is fixed: coroutine shards, histogram layout, symbolizer, site
// table, kind table, registry. No code path holds two of these locks at once,
// so the order only has to be the same on every fork. The return-address
// caches in front of the symbolizer (core/site_cache.h) are lock-free and need
// no entry.

#ifndef LEAKWATCH_CORE_FORK_LOCKS_H_
#define LEAKWATCH_CORE_FORK_LOCKS_H_

namespace leakwatch::core {

// Takes every core lock, in the order above. Blocks while another thread holds
// one (a symbolization in progress can take milliseconds).
void LockAllForFork() noexcept;

// Releases what LockAllForFork() took, in the reverse order. Call once in the
// parent and once in the child; in the child the registry lock is still held on
// entry, so fix the registry (drop the threads that do not exist there) first.
void UnlockAllAfterFork() noexcept;

// The pieces, defined next to each table (coroutine shards: coro_registry.h).
void LockLayoutForFork() noexcept;  // histogram.cc
void UnlockLayoutAfterFork() noexcept;
void LockSymbolizerForFork() noexcept;  // symbolize.cc
void UnlockSymbolizerAfterFork() noexcept;
void LockSitesForFork() noexcept;  // sites.cc
void UnlockSitesAfterFork() noexcept;
void LockKindsForFork() noexcept;  // kinds.cc
void UnlockKindsAfterFork() noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_FORK_LOCKS_H_
