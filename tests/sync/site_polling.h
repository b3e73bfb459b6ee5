// Test helpers: read what leakwatch reports about a site, and wait for a
// site's state with bounded polling of TakeSnapshot() (never a bare sleep).

#ifndef LEAKWATCH_TESTS_SYNC_SITE_POLLING_H_
#define LEAKWATCH_TESTS_SYNC_SITE_POLLING_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <source_location>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"

namespace leakwatch::testing_sync {

// Generous: sanitizer builds on a busy 2-core machine are slow. Polls end as
// soon as the state is reached, so passing runs never wait this long.
inline constexpr std::chrono::seconds kPollDeadline{60};

// The site label of `line` in the calling test file ("tests/sync/x_test.cc:42").
inline std::string LineSite(int line, std::source_location here = std::source_location::current()) {
  return absl::StrCat(here.file_name(), ":", line);
}

// The site (label, op) in `snap`, if it was ever interned.
inline std::optional<Snapshot::Site> FindSite(const Snapshot& snap, const std::string& label,
                                              Op op) {
  for (const Snapshot::Site& s : snap.sites) {
    if (s.site == label && s.op == op) return s;
  }
  return std::nullopt;
}

// Finished waits recorded at (label, op) so far; 0 if the site was never
// interned. Tests compare before/after, so they also pass with --gtest_repeat.
inline uint64_t FinishedWaits(const std::string& label, Op op) {
  const std::optional<Snapshot::Site> site = FindSite(TakeSnapshot(), label, op);
  return site.has_value() ? site->durations.count : 0;
}

// Polls TakeSnapshot() until some site with `op` satisfies `pred`; returns it,
// or nullopt after kPollDeadline.
inline std::optional<Snapshot::Site> PollForSite(
    Op op, const std::function<bool(const Snapshot::Site&)>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + kPollDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    const Snapshot snap = TakeSnapshot();
    for (const Snapshot::Site& s : snap.sites) {
      if (s.op == op && pred(s)) return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

// Polls until `blocked` tasks wait at (label, op). True if reached in time.
inline bool WaitUntilBlocked(const std::string& label, Op op, int64_t blocked) {
  return PollForSite(
             op, [&](const Snapshot::Site& s) { return s.site == label && s.blocked == blocked; })
      .has_value();
}

// The durations the tests wait with.
using std::chrono::hours;
using std::chrono::milliseconds;

}  // namespace leakwatch::testing_sync

#endif  // LEAKWATCH_TESTS_SYNC_SITE_POLLING_H_
