// Turns a Snapshot into Prometheus metric families (the names of DESIGN.md).
//
// agent/export owns what the running agent shows and does: the sampler and the
// public Start/Stop (agent.cc), the Prometheus families of a Snapshot (here),
// the verdicts, the HTTP server with /metrics and /debug/tasks, and the dump.
// It may include the standard library, abseil, prometheus-cpp, civetweb, the
// public leakwatch/ headers, and core/, trend/, config/, prom/ and export/.
//
// Pure: knows the metric model, not HTTP.
// SnapshotToFamilies is a pure function, safe from any thread (scrapes run it on HTTP workers).

#ifndef LEAKWATCH_EXPORT_METRICS_H_
#define LEAKWATCH_EXPORT_METRICS_H_

#include <vector>

#include "leakwatch/snapshot.h"
#include "prometheus/metric_family.h"

namespace leakwatch::exporter {

std::vector<prometheus::MetricFamily> SnapshotToFamilies(const Snapshot& snapshot);

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_METRICS_H_
