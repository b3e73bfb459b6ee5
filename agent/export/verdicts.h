// The detector's verdicts per series, fed by the sampler and attached to every
// Snapshot that leaves the agent.

#ifndef LEAKWATCH_EXPORT_VERDICTS_H_
#define LEAKWATCH_EXPORT_VERDICTS_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "leakwatch/config.h"
#include "leakwatch/snapshot.h"

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
  mutable std::mutex mu_;
  Config::Detector params_;                                      // guarded by mu_
  std::map<std::string, Verdict> kinds_;                         // guarded by mu_
  std::map<std::pair<std::string, int>, Verdict> sites_;         // guarded by mu_
};

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_VERDICTS_H_
