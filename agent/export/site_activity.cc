#include "export/site_activity.h"

#include <algorithm>

namespace leakwatch::exporter {

uint64_t WaitsLongerThan(const Snapshot::Histogram& h, double seconds) {
  uint64_t longer = 0;
  for (size_t i = 0; i < h.bucket_counts.size(); ++i) {
    // Bucket i holds waits in (upper_bounds[i-1], upper_bounds[i]].
    const bool above = i > 0 && i - 1 < h.upper_bounds.size() && h.upper_bounds[i - 1] >= seconds;
    if (above) longer += h.bucket_counts[i];
  }
  return longer;
}

void SiteActivity::Configure(absl::Duration drop_after) {
  std::lock_guard<std::mutex> lock(mu_);
  drop_after_ns_ = absl::ToInt64Nanoseconds(std::max(drop_after, absl::ZeroDuration()));
  sites_.clear();
}

void SiteActivity::Decide(const Snapshot::Site& site, Seen& seen) {
  // An idle wait withholds the histogram from then on, even one already
  // exported (a thread named in sites.idle_threads is known idle only once it
  // has waited there for tasks.stuck_after).
  if (site.idle_site) seen.durations = Durations::kWithheld;
  if (seen.durations != Durations::kUndecided) return;
  const bool qualifies = site.durations.count >= kDurationsAfterWaits ||
                         WaitsLongerThan(site.durations, kDurationsAfterLongWait) > 0;
  if (!qualifies) return;
  seen.durations = Durations::kExported;
}

void SiteActivity::Observe(const Snapshot& snapshot, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Snapshot::Site& s : snapshot.sites) {
    auto [it, inserted] = sites_.try_emplace(SiteKey{s.site, static_cast<int>(s.op)});
    Seen& seen = it->second;
    if (inserted || Active(s, seen)) {
      seen.finished_waits = s.durations.count;
      seen.active_ns = now_ns;
    }
    Decide(s, seen);
  }
}

void SiteActivity::Prune(Snapshot& snapshot, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(snapshot.sites, [&](Snapshot::Site& s) {
    const auto it = sites_.find(SiteKey{s.site, static_cast<int>(s.op)});
    if (it == sites_.end()) {
      // Not observed yet: decided from this snapshot alone.
      Seen fresh;
      Decide(s, fresh);
      s.export_durations = fresh.durations == Durations::kExported;
      return false;
    }
    Seen& seen = it->second;
    if (drop_after_ns_ != 0 && !Active(s, seen) && now_ns - seen.active_ns > drop_after_ns_) {
      // Dropped: decided again when the site comes back.
      seen.durations = Durations::kUndecided;
      return true;
    }
    Decide(s, seen);
    s.export_durations = seen.durations == Durations::kExported;
    return false;
  });
}

}  // namespace leakwatch::exporter
