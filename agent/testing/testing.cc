// leakwatch/testing.h: leak checks for GoogleTest over TakeSnapshot().

#include "leakwatch/testing.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"

namespace leakwatch::testing {
namespace {

constexpr std::string_view kThreadKind = "thread";
constexpr size_t kMaxReportedFrames = 16;
// Polling backoff between snapshots while leaks remain (goleak: 1 µs doubling
// to 100 ms). Threads usually exit within a millisecond of being released.
constexpr std::chrono::milliseconds kFirstPause{1};
constexpr std::chrono::milliseconds kLongestPause{100};

bool ContainsAny(std::string_view text, const std::vector<std::string>& needles) {
  for (const std::string& needle : needles) {
    if (text.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

// True if a kind or site rule of `options` matches `task` itself.
bool MatchesTaskRule(const Snapshot::Task& task, const Options& options) {
  const std::vector<std::string>& kinds = options.ignored_kinds();
  if (std::find(kinds.begin(), kinds.end(), task.kind) != kinds.end()) return true;
  return task.blocked && !task.site.empty() && ContainsAny(task.site, options.ignored_sites());
}

// The leaks in one snapshot (see the file comment of testing.h for the rules).
std::vector<Snapshot::Task> LeaksIn(const Snapshot& snap, const Options& options,
                                    int32_t self_tid) {
  // TakeSnapshot names every task's thread (the name it gave itself, else /proc).
  auto thread_name_ignored = [&](const Snapshot::Task& task) {
    return !options.ignored_thread_names().empty() && !task.thread_name.empty() &&
           ContainsAny(task.thread_name, options.ignored_thread_names());
  };

  // Threads hosting a task a rule matched: their own "thread" task is skipped.
  std::unordered_set<int32_t> ignored_threads;
  for (const Snapshot::Task& task : snap.tasks) {
    if (task.tid > 0 && MatchesTaskRule(task, options)) ignored_threads.insert(task.tid);
  }

  const std::vector<uint64_t>& baseline = options.ignored_task_ids();
  std::vector<Snapshot::Task> leaks;
  for (const Snapshot::Task& task : snap.tasks) {
    const bool is_thread = task.kind == kThreadKind;
    if (std::binary_search(baseline.begin(), baseline.end(), task.id)) continue;
    if (is_thread && task.tid == self_tid) continue;
    if (MatchesTaskRule(task, options)) continue;
    if (is_thread && ignored_threads.count(task.tid) != 0) continue;
    if (thread_name_ignored(task)) continue;
    leaks.push_back(task);
  }
  return leaks;
}

// FindLeaks; false if memory ran out (`*leaks` then holds what was found).
bool FindLeaksOrOutOfMemory(const Options& options, std::vector<Snapshot::Task>* leaks) noexcept {
  try {
    const int32_t self_tid = static_cast<int32_t>(gettid());
    const auto deadline = std::chrono::steady_clock::now() + options.timeout();
    std::chrono::milliseconds pause = kFirstPause;
    for (;;) {
      *leaks = LeaksIn(TakeSnapshot(), options, self_tid);
      const auto now = std::chrono::steady_clock::now();
      if (leaks->empty() || now >= deadline) return true;
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, kLongestPause);
    }
  } catch (...) {  // std::bad_alloc from the snapshot or the report
    return false;
  }
}

std::string FormatSeconds(double seconds) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2fs", seconds);
  return buf;
}

}  // namespace

Options& Options::IgnoreKind(std::string_view kind) {
  ignored_kinds_.emplace_back(kind);
  return *this;
}

Options& Options::IgnoreSite(std::string_view substring) {
  ignored_sites_.emplace_back(substring);
  return *this;
}

Options& Options::IgnoreThreadName(std::string_view substring) {
  ignored_thread_names_.emplace_back(substring);
  return *this;
}

Options& Options::IgnoreCurrent() {
  std::vector<uint64_t> ids;
  const Snapshot snap = TakeSnapshot();
  ids.reserve(snap.tasks.size());
  for (const Snapshot::Task& task : snap.tasks) ids.push_back(task.id);
  return IgnoreTasks(ids);
}

Options& Options::IgnoreTasks(const std::vector<uint64_t>& task_ids) {
  ignored_task_ids_.insert(ignored_task_ids_.end(), task_ids.begin(), task_ids.end());
  std::sort(ignored_task_ids_.begin(), ignored_task_ids_.end());
  ignored_task_ids_.erase(std::unique(ignored_task_ids_.begin(), ignored_task_ids_.end()),
                          ignored_task_ids_.end());
  return *this;
}

Options& Options::Timeout(std::chrono::milliseconds timeout) {
  timeout_ = std::max(timeout, std::chrono::milliseconds::zero());
  return *this;
}

std::vector<Snapshot::Task> FindLeaks(const Options& options) {
  std::vector<Snapshot::Task> leaks;
  FindLeaksOrOutOfMemory(options, &leaks);
  return leaks;
}

std::string FormatLeaks(const std::vector<Snapshot::Task>& leaks,
                        std::chrono::milliseconds waited) {
  std::string out = "leakwatch: " + std::to_string(leaks.size()) + " unexpected live task" +
                    (leaks.size() == 1 ? "" : "s") + ", still there after " +
                    std::to_string(waited.count()) + " ms:\n";
  // Grouped by thread, threads in the order of their oldest leaked task.
  std::vector<int32_t> tids;
  for (const Snapshot::Task& task : leaks) {
    if (std::find(tids.begin(), tids.end(), task.tid) == tids.end()) {
      tids.push_back(task.tid);
    }
  }
  for (int32_t tid : tids) {
    bool header = false;
    for (const Snapshot::Task& task : leaks) {
      if (task.tid != tid) continue;
      if (!header) {
        header = true;
        if (tid <= 0) {
          out += "not on a thread:\n";
        } else {
          out += "thread " + std::to_string(tid);
          if (!task.thread_name.empty()) out += " \"" + task.thread_name + "\"";
          out += ":\n";
        }
      }
      out += "  task " + std::to_string(task.id) + " [" + task.kind + ", age " +
             FormatSeconds(task.age_seconds) + "]";
      if (task.blocked) {
        out += std::string(" blocked in ") + OpName(task.op) + " for " +
               FormatSeconds(task.wait_seconds) + " at " +
               (task.site.empty() ? std::string("an unknown site") : task.site);
        if (task.deadlocked) out += " (deadlocked)";
      }
      out += "\n";
      const size_t frames = std::min(task.stack.size(), kMaxReportedFrames);
      for (size_t i = 0; i < frames; ++i) out += "      " + task.stack[i] + "\n";
      if (task.stack.size() > frames) {
        out += "      ... " + std::to_string(task.stack.size() - frames) + " more frames\n";
      }
    }
  }
  return out;
}

::testing::AssertionResult VerifyNone(const Options& options) {
  std::vector<Snapshot::Task> leaks;
  if (!FindLeaksOrOutOfMemory(options, &leaks)) {
    return ::testing::AssertionFailure() << "leakwatch: out of memory while checking for leaks";
  }
  if (leaks.empty()) return ::testing::AssertionSuccess();
  try {
    return ::testing::AssertionFailure() << FormatLeaks(leaks, options.timeout());
  } catch (...) {
    return ::testing::AssertionFailure() << "leakwatch: out of memory while reporting leaks";
  }
}

LeakCheckListener::LeakCheckListener(Options options)
    : options_(std::move(options)), per_test_(options_) {}

void LeakCheckListener::OnTestStart(const ::testing::TestInfo& /*test*/) {
  try {
    per_test_ = options_;
    per_test_.IgnoreCurrent();
  } catch (...) {
    per_test_ = options_;  // out of memory: check this test without a baseline
  }
}

void LeakCheckListener::OnTestEnd(const ::testing::TestInfo& test) {
  const ::testing::AssertionResult result = VerifyNone(per_test_);
  if (result) return;
  // Blamed on the test itself: gtest still attributes failures to the test
  // whose OnTestEnd is running, and the default printer (which reports the
  // test's outcome) hears OnTestEnd after listeners appended later.
  if (test.file() != nullptr) {
    ADD_FAILURE_AT(test.file(), test.line()) << "the test left tasks behind\n" << result.message();
  } else {
    ADD_FAILURE() << "the test left tasks behind\n" << result.message();
  }
}

void InstallLeakCheckListener(const Options& options) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheckListener(options));
}

}  // namespace leakwatch::testing
