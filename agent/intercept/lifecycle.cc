// Thread lifecycle around fork(): the registry lock is held across fork so the
// child never inherits it locked, and the child keeps only its own record (the
// other threads do not exist there).

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

#include "core/thread_record.h"
#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

bool g_fork_in_hook = false;

void PrepareFork() {
  g_fork_in_hook = tls_state.in_hook;
  tls_state.in_hook = true;
  core::CurrentRecord();  // the forking thread's record survives in the child
  core::GetRegistry().mu.lock();
}

void ParentAfterFork() {
  core::GetRegistry().mu.unlock();
  tls_state.in_hook = g_fork_in_hook;
}

void ChildAfterFork() {
  core::Registry& r = core::GetRegistry();
  core::ThreadRecord* self = core::CurrentRecord();
  // Only this thread exists in the child: drop the others' records. They are
  // not freed (their owners' destructors never run here); fork children
  // usually exec soon.
  core::ThreadRecord* kept = nullptr;
  int64_t live = 0;
  for (core::ThreadRecord* rec = r.head; rec != nullptr;) {
    core::ThreadRecord* next = rec->next;
    if (rec == self) {
      rec->prev = nullptr;
      rec->next = nullptr;
      kept = rec;
      live = 1;
    }
    rec = next;
  }
  r.head = kept;
  r.live = live;
  if (self != nullptr) self->tid = static_cast<int32_t>(syscall(SYS_gettid));
  r.mu.unlock();
  tls_state.in_hook = g_fork_in_hook;
  tls_state.agent = false;
}

__attribute__((constructor(102))) void InstallForkHandlers() {
  pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
  RegisterThread();  // the thread loading the hooks (main) is a task from the start
}

}  // namespace
}  // namespace leakwatch::intercept::internal
