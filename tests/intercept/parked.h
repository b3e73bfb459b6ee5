// Helpers for the interposition tests: read the snapshot of whichever agent is
// in the process (preloaded or linked) and wait for tasks to park at a site.

#ifndef LEAKWATCH_TESTS_INTERCEPT_PARKED_H_
#define LEAKWATCH_TESTS_INTERCEPT_PARKED_H_

#include <dlfcn.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include "leakwatch/snapshot.h"

// In preload mode the test binary does not link leakwatch: the functions come
// from libleakwatch_preload_agent.so, which libleakwatch_preload.so loads when
// the agent starts (these tests run with LEAKWATCH_START=load).
namespace leakwatch {
Snapshot TakeSnapshot() __attribute__((weak));
const char* OpName(Op op) noexcept __attribute__((weak));
}  // namespace leakwatch

namespace parked {

// `linked` when the binary links leakwatch, else `name` in the preloaded agent.
template <class Fn>
Fn AgentFunction(Fn linked, const char* name) {
  if (linked != nullptr) return linked;
  void* agent = dlopen("libleakwatch_preload_agent.so", RTLD_NOW | RTLD_NOLOAD);
  return agent != nullptr ? reinterpret_cast<Fn>(dlsym(agent, name)) : nullptr;
}

using TakeSnapshotFn = leakwatch::Snapshot (*)();
inline TakeSnapshotFn AgentTakeSnapshot() {
  return AgentFunction<TakeSnapshotFn>(&leakwatch::TakeSnapshot, "_ZN9leakwatch12TakeSnapshotEv");
}
inline leakwatch::Snapshot TakeSnapshot() { return AgentTakeSnapshot()(); }
inline const char* OpName(leakwatch::Op op) {
  using OpNameFn = const char* (*)(leakwatch::Op) noexcept;
  return AgentFunction<OpNameFn>(&leakwatch::OpName, "_ZN9leakwatch6OpNameENS_2OpE")(op);
}

struct SiteCount {
  int64_t blocked = 0;
  uint64_t finished = 0;  // waits recorded in the histogram
  std::string label;      // one matching label
};

// Sums the sites labelled `function` + "()+0xOFFSET" (the symbolizer's demangled
// name) whose op is `op`.
inline SiteCount CountAt(std::string_view function, leakwatch::Op op) {
  SiteCount c;
  const std::string prefix = std::string(function) + "()+0x";
  for (const auto& s : TakeSnapshot().sites) {
    if (s.op != op || s.site.compare(0, prefix.size(), prefix) != 0) continue;
    c.blocked += s.blocked;
    c.finished += s.durations.count;
    c.label = s.site;
  }
  return c;
}

// Waits until `n` tasks are blocked at `function` with `op` (or a minute has
// passed, which means they never will be: the test then fails on the count).
inline SiteCount WaitForBlocked(std::string_view function, leakwatch::Op op, int64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  SiteCount c;
  while ((c = CountAt(function, op)).blocked < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return c;
}

}  // namespace parked

#endif  // LEAKWATCH_TESTS_INTERCEPT_PARKED_H_
