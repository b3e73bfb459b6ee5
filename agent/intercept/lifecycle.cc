// Thread lifecycle outside pthread_create: fork(), and the threads that were
// already running when the hooks were loaded.
//
// fork(): every core lock (core/fork_locks.h) is held across fork so the child
// never inherits one locked by a thread that does not exist there, and the child
// keeps only its own record.
//
// Loading: the loading thread (main, or whichever thread dlopen()ed the library)
// becomes a task at once, and every other running thread but leakwatch's own is
// adopted as a task (core/adopted_threads.h) until it exits or registers
// itself. A config with thread tracking off (intercept.threads or
// intercept.enabled false) drops the adopted threads when leakwatch::Start
// applies it, or prevents their adoption if it was applied before the load.

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

// The loading thread is a task from the start, unless a config applied before
// the load (leakwatch::Start, then a late dlopen) turned thread tracking off.
// In a preload the config is read only after this, so the loading thread keeps
// its record then: a record cannot be taken back from a running thread, and
// its waits need one anyway.
void RegisterLoadingThread() {
  if (core::ThreadAdoptionOn()) RegisterThread();
}

// Adopts the other running threads (core/adopted_threads.h decides, from the
// config's thread tracking, and skips leakwatch's own threads). Runs even when
// tracking is off, so that a later Start turning it on adopts.
void AdoptThreadsRunningAtLoad() {
  if (tls_state.agent) return;
  const bool was = tls_state.in_hook;
  tls_state.in_hook = true;  // our own locking is never recorded
  core::AdoptRunningThreads();
  tls_state.in_hook = was;
}

__attribute__((constructor(102))) void InstallLifecycleHandlers() {
  pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
  RegisterLoadingThread();
  // Before the preload library's constructor (priority 200) starts the agent's
  // threads; an agent started before a late dlopen() marked its threads
  // (core::MarkAgentThread), which the scan skips.
  AdoptThreadsRunningAtLoad();
}

}  // namespace
}  // namespace leakwatch::intercept::internal
