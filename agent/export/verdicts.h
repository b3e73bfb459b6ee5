// The detector's verdicts per series, fed by the sampler and attached to every
// Snapshot that leaves the agent.
//
// Thread-safety: all members may run concurrently; mu_ guards all state and is held through a whole
// Update (the sampler's tick), so an Attach (scrapes, dumps) waits for the tick to end.

#ifndef LEAKWATCH_EXPORT_VERDICTS_H_
#define LEAKWATCH_EXPORT_VERDICTS_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "leakwatch/config.h"
#include "leakwatch/snapshot.h"
#include "trend/detector.h"

namespace leakwatch::exporter {

class VerdictBoard {
 public:
  struct Verdict {
    bool suspected = false;
    double growth_per_hour = 0;
  };

  // Sets detector parameters; forgets all series (a new Start is a new run).
  void Configure(const Config::Detector& detector);

  // Feeds one sampler tick (series: long-lived tasks per kind, stuck tasks per site).
  void Update(const Snapshot& snapshot);

  // Copies the latest verdicts into `snapshot`.
  void Attach(Snapshot& snapshot) const;

 private:
  using SiteKey = std::pair<std::string, int>;  // (site, op)

  mutable std::mutex mu_;
  bool enabled_ = true;                                       // guarded by mu_
  trend::Params params_;                                      // guarded by mu_
  std::map<std::string, trend::SeriesDetector> kind_series_;  // guarded by mu_
  std::map<SiteKey, trend::SeriesDetector> site_series_;      // guarded by mu_
  std::map<std::string, Verdict> kinds_;                      // guarded by mu_
  std::map<SiteKey, Verdict> sites_;                          // guarded by mu_
};

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_VERDICTS_H_
