// When each site last saw a wait, so sites that went quiet leave the export
// (sites.drop_after): a site interned for a start-up wait would otherwise
// export its 26 or so series for the life of the process.
//
// The sampler calls Observe with every snapshot it reads; Prune then removes
// from any snapshot (a scrape's, the dump's) the sites that had no task
// blocked there and no new finished wait for longer than drop_after, as seen
// by Observe. A pruned site comes back in the first snapshot where a task is
// blocked there or its count of finished waits has changed: its histogram
// continues from its running totals, so rates over the gap stay right. A site
// that Observe has not seen yet is always kept.
//
// Thread safety: every member may be called concurrently (one mutex, held for
// one pass over a snapshot's sites; never on the application's wait path).

#ifndef LEAKWATCH_EXPORT_SITE_ACTIVITY_H_
#define LEAKWATCH_EXPORT_SITE_ACTIVITY_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "leakwatch/snapshot.h"

namespace leakwatch::exporter {

class SiteActivity {
 public:
  // Forgets every site; zero drop_after keeps every site.
  void Configure(absl::Duration drop_after);

  // Records which sites of `snapshot` are active, as of monotonic time now_ns.
  void Observe(const Snapshot& snapshot, int64_t now_ns);

  // Removes the sites that have been quiet for longer than drop_after at now_ns.
  void Prune(Snapshot& snapshot, int64_t now_ns) const;

 private:
  using SiteKey = std::pair<std::string, int>;  // (site, op)
  struct Seen {
    uint64_t finished_waits = 0;  // the site's histogram count when last active
    int64_t active_ns = 0;        // when a task was last blocked there or a wait finished
  };

  static bool Active(const Snapshot::Site& site, const Seen& seen) {
    return site.blocked > 0 || site.durations.count != seen.finished_waits;
  }

  mutable std::mutex mu_;
  int64_t drop_after_ns_ = 0;      // guarded by mu_; 0 = never drop
  std::map<SiteKey, Seen> sites_;  // guarded by mu_
};

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_SITE_ACTIVITY_H_
