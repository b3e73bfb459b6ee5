// Helpers shared by the core tests: finding a site or kind in a Snapshot, and
// waiting (bounded) until a snapshot satisfies a condition.

#ifndef LEAKWATCH_TESTS_CORE_TEST_UTIL_H_
#define LEAKWATCH_TESTS_CORE_TEST_UTIL_H_

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "leakwatch/snapshot.h"

namespace leakwatch::testutil {

inline const Snapshot::Site* FindSite(const Snapshot& s, const std::string& site, Op op) {
  for (const auto& x : s.sites) {
    if (x.site == site && x.op == op) return &x;
  }
  return nullptr;
}

inline const Snapshot::Kind* FindKind(const Snapshot& s, const std::string& kind) {
  for (const auto& k : s.kinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

inline int64_t BlockedAt(const Snapshot& s, const std::string& site, Op op) {
  const Snapshot::Site* x = FindSite(s, site, op);
  return x ? x->blocked : 0;
}

// Polls TakeSnapshot() until `done` holds or 10 s pass; returns the last snapshot.
inline Snapshot WaitForSnapshot(const std::function<bool(const Snapshot&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Snapshot s = TakeSnapshot();
  while (!done(s) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    s = TakeSnapshot();
  }
  return s;
}

}  // namespace leakwatch::testutil

#endif  // LEAKWATCH_TESTS_CORE_TEST_UTIL_H_
