#include "render.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace leakwatch::console {
namespace {

// Cuts `s` to `width` characters, keeping both ends (a site's file and line,
// or a function and its offset, are at the ends).
std::string Fit(const std::string& s, size_t width) {
  if (s.size() <= width || width < 8) return s;
  const size_t tail = (width - 3) / 2 + (width - 3) % 2;
  const size_t head = width - 3 - tail;
  return absl::StrCat(s.substr(0, head), "...", s.substr(s.size() - tail));
}

// Worst first: a deadlock, then a suspected leak, then the most stuck.
bool Worse(const v1::Site* a, const v1::Site* b) {
  if ((a->deadlocked() > 0) != (b->deadlocked() > 0)) return a->deadlocked() > 0;
  if (a->leak_suspected() != b->leak_suspected()) return a->leak_suspected();
  if (a->stuck() != b->stuck()) return a->stuck() > b->stuck();
  if (a->blocked() != b->blocked()) return a->blocked() > b->blocked();
  if (a->oldest_wait_seconds() != b->oldest_wait_seconds()) {
    return a->oldest_wait_seconds() > b->oldest_wait_seconds();
  }
  return a->site() < b->site();
}

}  // namespace

std::string FormatAge(double seconds) {
  if (!(seconds > 0)) return "0s";
  if (seconds < 10) return absl::StrFormat("%.1fs", seconds);
  const int64_t s = static_cast<int64_t>(seconds);
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s % 86400 / 3600);
}

namespace {

// The header lines: process, totals, and what is suspected.
void AppendSummary(const v1::Snapshot& snap, const RenderOptions& options, std::string& out) {
  const double now = static_cast<double>(snap.taken_at_unix_nanos()) / 1e9;
  const std::time_t when = static_cast<std::time_t>(now);
  std::tm tm{};
  localtime_r(&when, &tm);
  char clock[16];
  std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  absl::StrAppendFormat(&out, "leakwatch %s  %s  pid %d  up %s  %s\n", snap.version(),
                        options.target, snap.pid(),
                        FormatAge(now - snap.process_start_time_seconds()), clock);
  int64_t blocked = 0, stuck = 0, idle = 0, deadlocked = 0;
  int leaky_sites = 0, leaky_kinds = 0;
  for (const v1::Site& s : snap.sites()) {
    blocked += s.blocked();
    stuck += s.stuck();
    idle += s.idle();
    deadlocked += s.deadlocked();
    leaky_sites += s.leak_suspected() ? 1 : 0;
  }
  for (const v1::Kind& k : snap.kinds()) leaky_kinds += k.leak_suspected() ? 1 : 0;
  absl::StrAppendFormat(
      &out, "tasks %d  blocked %d  stuck %d%s  os threads %s  sites %d (%d dropped)\n",
      snap.tasks_total(), blocked, stuck, idle > 0 ? absl::StrCat(" (idle ", idle, ")") : "",
      snap.os_threads() < 0 ? "?" : absl::StrCat(snap.os_threads()), snap.sites_in_use(),
      snap.sites_dropped_total());
  if (leaky_sites + leaky_kinds > 0 || deadlocked > 0) {
    std::vector<std::string> parts;
    if (leaky_sites > 0)
      parts.push_back(absl::StrCat("leak suspected at ", leaky_sites, " site(s)"));
    if (leaky_kinds > 0) parts.push_back(absl::StrCat("in ", leaky_kinds, " task kind(s)"));
    if (deadlocked > 0) parts.push_back(absl::StrCat(deadlocked, " task(s) deadlocked"));
    absl::StrAppend(&out, "!! ", absl::StrJoin(parts, ", "), "\n");
  }
}

// The table of task kinds.
void AppendKinds(const v1::Snapshot& snap, std::string& out) {
  absl::StrAppendFormat(&out, "\n%-24s %8s %11s %10s %10s %10s  %s\n", "KIND", "LIVE", "LONG-LIVED",
                        "OLDEST", "STARTED", "FINISHED", "LEAK");
  for (const v1::Kind& k : snap.kinds()) {
    absl::StrAppendFormat(
        &out, "%-24s %8d %11d %10s %10d %10d  %s\n", Fit(k.kind(), 24), k.live(), k.long_lived(),
        FormatAge(k.oldest_age_seconds()), k.started_total(), k.finished_total(),
        k.leak_suspected() ? absl::StrFormat("yes %+.1f/h", k.leak_growth_per_hour()) : "");
  }
}

// The table of sites with blocked, deadlocked or leaking tasks, worst first.
void AppendSites(const v1::Snapshot& snap, const RenderOptions& options, std::string& out) {
  std::vector<const v1::Site*> sites;
  for (const v1::Site& s : snap.sites()) {
    if (s.blocked() > 0 || s.deadlocked() > 0 || s.leak_suspected()) sites.push_back(&s);
  }
  std::sort(sites.begin(), sites.end(), Worse);
  // SITE takes what the other columns leave (OP to DEADLOCK, and LEAK's
  // "yes +12.3/h").
  const int fixed = 10 + 8 + 8 + 11 + 9 + 2 + 11;
  const size_t site_width = static_cast<size_t>(std::max(16, options.width - fixed));
  absl::StrAppendFormat(&out, "\n%-*s %-9s %7s %7s %10s %8s  %s\n", site_width, "SITE", "OP",
                        "BLOCKED", "STUCK", "OLDEST", "DEADLOCK", "LEAK");
  if (sites.empty()) absl::StrAppend(&out, "(no task is blocked)\n");
  const size_t shown = std::min(sites.size(), static_cast<size_t>(std::max(0, options.top_sites)));
  for (size_t i = 0; i < shown; ++i) {
    const v1::Site& s = *sites[i];
    absl::StrAppendFormat(
        &out, "%-*s %-9s %7d %7d %10s %8s  %s\n", site_width, Fit(s.site(), site_width), s.op(),
        s.blocked(), s.stuck(), FormatAge(s.oldest_wait_seconds()),
        s.deadlocked() > 0 ? absl::StrCat(s.deadlocked()) : "",
        s.leak_suspected() ? absl::StrFormat("yes %+.1f/h", s.leak_growth_per_hour())
        : s.idle() > 0     ? absl::StrCat("idle ", s.idle())
                           : "");
  }
  if (sites.size() > shown) {
    absl::StrAppendFormat(&out, "... and %d more site(s) with blocked tasks\n",
                          sites.size() - shown);
  }
}

}  // namespace

std::string Render(const v1::Snapshot& snap, const RenderOptions& options) {
  std::string out;
  AppendSummary(snap, options, out);
  AppendKinds(snap, out);
  AppendSites(snap, options, out);
  return out;
}

}  // namespace leakwatch::console
