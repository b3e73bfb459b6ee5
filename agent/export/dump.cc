#include "export/dump.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace leakwatch::exporter {

std::string HumanDuration(double seconds) {
  if (!(seconds > 0)) return "0s";
  if (seconds < 1) return absl::StrFormat("%.0fms", seconds * 1000);
  if (seconds < 60) return absl::StrFormat("%.1fs", seconds);
  const int64_t s = static_cast<int64_t>(seconds);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

namespace {

std::string GroupedBySite(const Snapshot& snap) {
  int64_t live = 0;
  for (const auto& k : snap.kinds) live += k.live;
  int64_t blocked = 0;
  for (const auto& s : snap.sites) blocked += s.blocked;
  std::string out = absl::StrCat("leakwatch task profile: total ", live, " tasks, ", blocked,
                                 " blocked, ", snap.os_threads, " OS threads\n\n");
  std::vector<const Snapshot::Site*> sites;
  for (const auto& s : snap.sites) {
    if (s.blocked > 0 || s.deadlocked > 0 || s.leak_suspected) sites.push_back(&s);
  }
  std::sort(sites.begin(), sites.end(), [](const auto* a, const auto* b) {
    return a->blocked != b->blocked ? a->blocked > b->blocked : a->site < b->site;
  });
  for (const Snapshot::Site* s : sites) {
    absl::StrAppend(&out, s->blocked, " blocked @ ", s->site, " [", OpName(s->op), "]");
    absl::StrAppend(&out, "  stuck ", s->stuck);
    if (s->idle > 0) absl::StrAppend(&out, ", idle ", s->idle, " (expected idle wait)");
    absl::StrAppend(&out, ", oldest wait ", HumanDuration(s->oldest_wait_seconds));
    if (s->deadlocked > 0) absl::StrAppend(&out, ", DEADLOCKED ", s->deadlocked);
    if (s->leak_suspected) {
      absl::StrAppend(&out, ", LEAK SUSPECTED (+", absl::StrFormat("%.1f", s->leak_growth_per_hour),
                      "/h)");
    }
    absl::StrAppend(&out, "\n");
  }
  if (sites.empty()) absl::StrAppend(&out, "no task is blocked\n");
  absl::StrAppend(&out, "\ntasks by kind:\n");
  for (const auto& k : snap.kinds) {
    absl::StrAppend(&out, "  ", k.kind, ": ", k.live, " live, ", k.long_lived,
                    " long-lived, oldest ", HumanDuration(k.oldest_age_seconds), ", started ",
                    k.started_total, ", finished ", k.finished_total);
    if (k.leak_suspected) {
      absl::StrAppend(&out, ", LEAK SUSPECTED (+", absl::StrFormat("%.1f", k.leak_growth_per_hour),
                      "/h)");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string EveryTask(const Snapshot& snap) {
  std::string out = absl::StrCat("leakwatch tasks: ", snap.tasks.size(), " live\n\n");
  for (const Snapshot::Task& t : snap.tasks) {
    absl::StrAppend(&out, "task ", t.id, " [");
    if (t.blocked) {
      absl::StrAppend(&out, OpName(t.op), ", ", HumanDuration(t.wait_seconds));
      if (t.deadlocked) absl::StrAppend(&out, ", deadlocked");
      if (t.idle) absl::StrAppend(&out, ", idle");
    } else {
      absl::StrAppend(&out, "running");
    }
    absl::StrAppend(&out, "]: kind ", t.kind, ", age ", HumanDuration(t.age_seconds), ", thread ",
                    t.tid);
    if (!t.thread_name.empty()) absl::StrAppend(&out, " \"", t.thread_name, "\"");
    absl::StrAppend(&out, "\n");
    if (t.blocked) absl::StrAppend(&out, "    blocked at ", t.site, "\n");
    for (const std::string& frame : t.stack) absl::StrAppend(&out, "    ", frame, "\n");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace

std::string FormatDump(const Snapshot& snapshot, int debug) {
  return debug == 2 ? EveryTask(snapshot) : GroupedBySite(snapshot);
}

}  // namespace leakwatch::exporter
