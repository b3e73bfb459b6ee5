// Thread lifecycle outside pthread_create: fork(), and the threads that were
// already running when the hooks were loaded.
//
// fork(): every core lock (core/fork_locks.h) is held across fork so the child
// never inherits one locked by a thread that does not exist there, and the child
// keeps only its own record.
//
// Loading: the loading thread (main, or whichever thread dlopen()ed the library)
// becomes a task at once, and every other running thread is adopted as a task
// (core/adopted_threads.h) until it exits or registers itself.

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/adopted_threads.h"
#include "core/fork_locks.h"
#include "core/thread_record.h"
#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

// glibc runs the prepare handlers and then the parent or child handlers of one
// fork() under its atfork lock: forks do not interleave here.
bool g_fork_in_hook = false;

void PrepareFork() {
  g_fork_in_hook = tls_state.in_hook;
  tls_state.in_hook = true;  // our own locking is never recorded
  core::CurrentRecord();     // the forking thread's record survives in the child
  core::LockAllForFork();
}

void ParentAfterFork() {
  core::UnlockAllAfterFork();
  tls_state.in_hook = g_fork_in_hook;
}

void ChildAfterFork() {
  core::ThreadRecord* self = core::CurrentRecord();
  // Only this thread exists in the child (the registry lock is still held).
  core::ForgetOtherThreadsAfterFork(self);
  core::ForgetAdoptedThreadsInForkChildLocked();
  if (self != nullptr) self->tid = static_cast<int32_t>(syscall(SYS_gettid));
  core::UnlockAllAfterFork();
  tls_state.in_hook = g_fork_in_hook;
  tls_state.agent = false;
}

void AdoptThreadsRunningAtLoad() {
  if (tls_state.agent || !g_switches.enabled.load(std::memory_order_relaxed) ||
      !g_switches.threads.load(std::memory_order_relaxed)) {
    return;
  }
  const bool was = tls_state.in_hook;
  tls_state.in_hook = true;
  core::AdoptRunningThreads();
  tls_state.in_hook = was;
}

__attribute__((constructor(102))) void InstallLifecycleHandlers() {
  pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
  RegisterThread();  // the thread loading the hooks (main) is a task from the start
  // Before the preload library's constructor (priority 200) starts the agent's
  // threads, which must not be adopted.
  AdoptThreadsRunningAtLoad();
}

}  // namespace
}  // namespace leakwatch::intercept::internal
