#include "export/verdicts.h"

namespace leakwatch::exporter {

void VerdictBoard::Configure(const Config::Detector& detector) {
  std::lock_guard<std::mutex> lock(mu_);
  params_ = detector;
  kinds_.clear();
  sites_.clear();
}

void VerdictBoard::Update(const Snapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!params_.enabled) return;
  (void)snapshot;  // The growth-trend detector (agent/trend) is wired in here.
}

void VerdictBoard::Attach(Snapshot& snapshot) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (Snapshot::Kind& k : snapshot.kinds) {
    if (auto it = kinds_.find(k.kind); it != kinds_.end()) {
      k.leak_suspected = it->second.suspected;
      k.leak_growth_per_hour = it->second.growth_per_hour;
    }
  }
  for (Snapshot::Site& s : snapshot.sites) {
    if (auto it = sites_.find({s.site, static_cast<int>(s.op)}); it != sites_.end()) {
      s.leak_suspected = it->second.suspected;
      s.leak_growth_per_hour = it->second.growth_per_hour;
    }
  }
}

}  // namespace leakwatch::exporter
