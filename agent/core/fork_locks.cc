#include "core/fork_locks.h"

#include "core/coro_registry.h"
#include "core/thread_record.h"

namespace leakwatch::core {

void LockAllForFork() noexcept {
  LockCoroutinesForFork();
  LockLayoutForFork();
  LockSymbolizerForFork();
  LockSitesForFork();
  LockKindsForFork();
  GetRegistry().mu.lock();
}

void UnlockAllAfterFork() noexcept {
  GetRegistry().mu.unlock();
  UnlockKindsAfterFork();
  UnlockSitesAfterFork();
  UnlockSymbolizerAfterFork();
  UnlockLayoutAfterFork();
  UnlockCoroutinesAfterFork();
}

}  // namespace leakwatch::core
