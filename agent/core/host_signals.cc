#include "core/host_signals.h"

#include <pthread.h>
#include <string.h>

#include <initializer_list>

namespace leakwatch::core {
namespace {

bool SameAction(const struct sigaction& a, const struct sigaction& b) {
  // sa_handler and sa_sigaction share storage; compare the flags that select
  // between them and the mask delivered with the handler too.
  return a.sa_handler == b.sa_handler && a.sa_flags == b.sa_flags &&
         memcmp(&a.sa_mask, &b.sa_mask, sizeof a.sa_mask) == 0;
}

}  // namespace

sigset_t AgentThreadSignalMask() {
  sigset_t set;
  sigfillset(&set);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&set, sync);
  return set;
}

AgentThreadSignals::AgentThreadSignals() {
  const sigset_t block = AgentThreadSignalMask();
  pthread_sigmask(SIG_BLOCK, &block, &saved_);
}

AgentThreadSignals::~AgentThreadSignals() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

HostSignalDispositions::HostSignalDispositions() {
  for (int sig = 1; sig < NSIG; ++sig) {
    // SIGKILL, SIGSTOP and the C library's internal signals fail: not ours to keep.
    valid_[sig] = sigaction(sig, nullptr, &saved_[sig]) == 0;
  }
  valid_[0] = false;
}

HostSignalDispositions::~HostSignalDispositions() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (!valid_[sig]) continue;
    struct sigaction now;
    if (sigaction(sig, nullptr, &now) == 0 && !SameAction(now, saved_[sig])) {
      sigaction(sig, &saved_[sig], nullptr);
    }
  }
}

}  // namespace leakwatch::core
