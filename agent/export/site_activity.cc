#include "export/site_activity.h"

#include <algorithm>

namespace leakwatch::exporter {

void SiteActivity::Configure(absl::Duration drop_after) {
  std::lock_guard<std::mutex> lock(mu_);
  drop_after_ns_ = absl::ToInt64Nanoseconds(std::max(drop_after, absl::ZeroDuration()));
  sites_.clear();
}

void SiteActivity::Observe(const Snapshot& snapshot, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (drop_after_ns_ == 0) return;
  for (const Snapshot::Site& s : snapshot.sites) {
    auto [it, inserted] = sites_.try_emplace(SiteKey{s.site, static_cast<int>(s.op)});
    Seen& seen = it->second;
    if (inserted || Active(s, seen)) {
      seen.finished_waits = s.durations.count;
      seen.active_ns = now_ns;
    }
  }
}

void SiteActivity::Prune(Snapshot& snapshot, int64_t now_ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (drop_after_ns_ == 0 || sites_.empty()) return;
  std::erase_if(snapshot.sites, [&](const Snapshot::Site& s) {
    const auto it = sites_.find(SiteKey{s.site, static_cast<int>(s.op)});
    if (it == sites_.end() || Active(s, it->second)) return false;
    return now_ns - it->second.active_ns > drop_after_ns_;
  });
}

}  // namespace leakwatch::exporter
