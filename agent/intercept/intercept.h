// Interposition of pthread, semaphore and futex waits and of thread creation.
//
// agent/intercept owns the interposed functions (hooks.cc: the hooks' half,
// on libc alone, in libleakwatch_preload.so) and their recording half
// (capture.cc, frame_skip.cc: stack capture, sites, thread lifecycle, in
// libleakwatch_preload_agent.so with the whole agent). The hooks' half may
// include only libc, the standard library's header-only parts and intercept/;
// the recording half also core/, abseil and the public leakwatch/ headers.
//
// The hooks (hooks.cc) replace pthread_mutex_lock & co. in the process, either
// because libleakwatch_preload.so is in LD_PRELOAD or because the program links
// leakwatch::intercept. A hook first tries the operation without waiting
// (trylock, tryjoin, sem_trywait); only when that fails does it capture the
// stack, find the wait's site and mark the thread blocked around the real call.
//
// These functions configure the hooks and mark leakwatch's own threads, whose
// waits are never recorded. All of them are safe to call at any time, from any
// thread; none allocates or locks.

#ifndef LEAKWATCH_INTERCEPT_INTERCEPT_H_
#define LEAKWATCH_INTERCEPT_INTERCEPT_H_

#include "leakwatch/config.h"

namespace leakwatch::intercept {

// Applies `intercept.*` and `sites.stack_depth` of a config. Until called, every
// switch is on and the stack depth is 16.
void Configure(const Config& config) noexcept;

// Marks the calling thread as one of leakwatch's own (true) or not (false).
// Waits of an agent thread are not recorded, and threads it creates are agent
// threads too (the sampler, the HTTP server's workers).
void SetAgentThread(bool agent) noexcept;
bool IsAgentThread() noexcept;

// RAII: the calling thread is an agent thread while the scope lives.
class AgentThreadScope {
 public:
  AgentThreadScope() noexcept : was_(IsAgentThread()) { SetAgentThread(true); }
  ~AgentThreadScope() { SetAgentThread(was_); }
  AgentThreadScope(const AgentThreadScope&) = delete;
  AgentThreadScope& operator=(const AgentThreadScope&) = delete;

 private:
  bool was_;
};

}  // namespace leakwatch::intercept

// The same as C entry points, so code that must not depend on this layer (the
// exporter) can call them through a weak declaration.
extern "C" void leakwatch_intercept_set_agent_thread(int agent);
extern "C" void leakwatch_intercept_configure(const leakwatch::Config* config);

#endif  // LEAKWATCH_INTERCEPT_INTERCEPT_H_
