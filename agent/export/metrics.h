// Turns a Snapshot into Prometheus metric families (the names of DESIGN.md).
// Pure: knows the metric model, not HTTP.

#ifndef LEAKWATCH_EXPORT_METRICS_H_
#define LEAKWATCH_EXPORT_METRICS_H_

#include <vector>

#include "leakwatch/snapshot.h"
#include "prometheus/metric_family.h"

namespace leakwatch::exporter {

std::vector<prometheus::MetricFamily> SnapshotToFamilies(const Snapshot& snapshot);

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_METRICS_H_
