#include "export/verdicts.h"

#include "config/detector_params.h"

namespace leakwatch::exporter {

void VerdictBoard::Configure(const Config::Detector& detector) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = detector.enabled;
  params_ = config::ParamsFromConfig(detector);
  kind_series_.clear();
  site_series_.clear();
  kinds_.clear();
  sites_.clear();
}

void VerdictBoard::Update(const Snapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!enabled_) return;
  const double t = snapshot.taken_at_unix_nanos / 1e9;
  const double start = snapshot.process_start_time_seconds;
  auto feed = [&](auto& series, auto& verdicts, const auto& key, double value) {
    auto it = series.find(key);
    if (it == series.end()) it = series.emplace(key, trend::SeriesDetector(params_)).first;
    const trend::Verdict v = it->second.Add(t, value, start);
    verdicts[key] = Verdict{v.suspected, v.growth_per_hour};
  };
  for (const Snapshot::Kind& k : snapshot.kinds) {
    feed(kind_series_, kinds_, k.kind, static_cast<double>(k.long_lived));
  }
  for (const Snapshot::Site& s : snapshot.sites) {
    feed(site_series_, sites_, SiteKey{s.site, static_cast<int>(s.op)},
         static_cast<double>(s.stuck));
  }
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
