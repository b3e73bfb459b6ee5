// core/host_signals.h — the host's signals stay the host's.
//
// The kernel hands a signal sent to the process (kill, Ctrl-C, systemd's
// SIGTERM) to any thread that does not block it. A server that blocks SIGTERM
// in all of its threads and waits for it with sigwait() in one of them (MariaDB,
// many daemons) never sees it if one agent thread leaves it unblocked: the
// kernel picks the agent thread and the host's disposition (often "ignore" or a
// no-op handler installed for sigwait's sake) swallows it. So every thread the
// agent creates, or makes a library create, starts with every asynchronous
// signal blocked:
//
//   {
//     leakwatch::core::AgentThreadSignals blocked;  // this thread, for now
//     leakwatch::core::HostSignalDispositions kept;  // restored on exit
//     StartThirdPartyServer();                       // its threads inherit the mask
//   }
//
// Threads inherit their creator's mask, so blocking in the creating thread for
// the duration of the call covers threads that a library starts internally and
// the threads those threads start later. Synchronous faults (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: blocking them would not stop
// a fault, it would only make the kernel kill the process without the host's
// crash handler. A SIGPIPE raised by a write on a closed socket in an agent
// thread stays pending on that thread and the write fails with EPIPE.
//
// Some libraries change dispositions as a side effect (civetweb's threads set
// SIGPIPE to ignored as they start; gRPC's may): HostSignalDispositions
// restores every disposition that changed during its scope, so the host keeps
// its own. Whoever starts such threads must wait until they have started before
// the scope ends. (The exporter, http/http_server.cc, runs libmicrohttpd on
// one thread of its own that changes no disposition.)
// Both classes act on the calling thread and the process only in their
// constructor and destructor; neither allocates.

#ifndef LEAKWATCH_CORE_HOST_SIGNALS_H_
#define LEAKWATCH_CORE_HOST_SIGNALS_H_

#include <signal.h>

namespace leakwatch::core {

// The signals an agent thread blocks: all but the synchronous faults.
sigset_t AgentThreadSignalMask();

// Blocks AgentThreadSignalMask() in the calling thread for the scope's lifetime
// and restores the caller's mask after.
class AgentThreadSignals {
 public:
  AgentThreadSignals();
  ~AgentThreadSignals();
  AgentThreadSignals(const AgentThreadSignals&) = delete;
  AgentThreadSignals& operator=(const AgentThreadSignals&) = delete;

 private:
  sigset_t saved_;
};

// Saves the disposition of every signal at construction; at destruction, puts
// back each one that changed meanwhile.
class HostSignalDispositions {
 public:
  HostSignalDispositions();
  ~HostSignalDispositions();
  HostSignalDispositions(const HostSignalDispositions&) = delete;
  HostSignalDispositions& operator=(const HostSignalDispositions&) = delete;

 private:
  struct sigaction saved_[NSIG];
  bool valid_[NSIG];
};

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_HOST_SIGNALS_H_
