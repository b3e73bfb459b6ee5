// Which sites, and which of their series, /metrics shows: bounded series.
//
// Quiet sites leave the export (sites.drop_after): a site interned for a
// start-up wait would otherwise export its series for the life of the
// process. The sampler calls Observe with every snapshot it reads; Prune then
// removes from any snapshot (a scrape's, the dump's) the sites that had no
// task blocked there and no new finished wait for longer than drop_after, as
// seen by Observe. A pruned site comes back in the first snapshot where a task
// is blocked there or its count of finished waits has changed: its histogram
// continues from its running totals, so rates over the gap stay right. A site
// that Observe has not seen yet is always kept.
//
// A site's wait-duration histogram (Snapshot::Site::export_durations) is
// shown only once the site has kDurationsAfterWaits finished waits or one
// wait longer than kDurationsAfterLongWait (whichever comes first), and never
// at an expected idle wait (Snapshot::Site::idle_site): most sites of a real
// server see a handful of waits, and a histogram is most of a site's series.
// The choice is made once per site - when it first qualifies - and kept while
// the site is exported, so a series never flaps; a site pruned by drop_after
// is decided again when it comes back. A site seen as an idle wait in any
// snapshot loses the histogram for good (until dropped): with
// sites.idle_threads that is known only once a wait there is longer than
// tasks.stuck_after, so such a site's histogram can end once.
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

// The histogram of a site is exported from its 10th finished wait...
inline constexpr uint64_t kDurationsAfterWaits = 10;
// ...or from its first finished wait longer than 1 s.
inline constexpr double kDurationsAfterLongWait = 1.0;

// Finished waits of `h` known to be longer than `seconds`: the counts of the
// buckets whose lower bound is at least `seconds` (with a bound at exactly
// `seconds`, every wait longer than it).
uint64_t WaitsLongerThan(const Snapshot::Histogram& h, double seconds);

class SiteActivity {
 public:
  // Forgets every site; zero drop_after keeps every site.
  void Configure(absl::Duration drop_after);

  // Records which sites of `snapshot` are active, as of monotonic time now_ns,
  // and decides the histograms of the sites that qualify.
  void Observe(const Snapshot& snapshot, int64_t now_ns);

  // Removes the sites that have been quiet for longer than drop_after at
  // now_ns, and sets export_durations of the others.
  void Prune(Snapshot& snapshot, int64_t now_ns);

 private:
  using SiteKey = std::pair<std::string, int>;  // (site, op)
  enum class Durations : uint8_t { kUndecided, kExported, kWithheld };
  struct Seen {
    uint64_t finished_waits = 0;  // the site's histogram count when last active
    int64_t active_ns = 0;        // when a task was last blocked there or a wait finished
    Durations durations = Durations::kUndecided;
  };

  static bool Active(const Snapshot::Site& site, const Seen& seen) {
    return site.blocked > 0 || site.durations.count != seen.finished_waits;
  }
  // Records what `site` shows now into `seen`'s histogram decision.
  static void Decide(const Snapshot::Site& site, Seen& seen);

  std::mutex mu_;
  int64_t drop_after_ns_ = 0;      // guarded by mu_; 0 = never drop
  std::map<SiteKey, Seen> sites_;  // guarded by mu_
};

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_SITE_ACTIVITY_H_
