// prom/families.h — builders of prometheus-cpp's plain metric values
// (MetricFamily, ClientMetric), shared by the agent's exporter (export/) and
// leakwatch-judge's own metrics (judge/), so that each writes only its names,
// help texts and values.
//
// A layer of its own below export and judge: it owns these builders and
// includes only the standard library and prometheus-cpp's core headers (its
// include root holds prom/ alone, see CMakeLists.txt). Pure functions;
// thread-safe.

#ifndef LEAKWATCH_PROM_FAMILIES_H_
#define LEAKWATCH_PROM_FAMILIES_H_

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace leakwatch::prom {

// An empty family: its name, help text and type.
inline prometheus::MetricFamily Family(std::string name, std::string help,
                                       prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

inline prometheus::ClientMetric::Label Label(std::string name, std::string value) {
  prometheus::ClientMetric::Label l;
  l.name = std::move(name);
  l.value = std::move(value);
  return l;
}

// One sample of a gauge family, with its labels.
inline prometheus::ClientMetric Gauge(double value,
                                      std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

// One sample of a counter family, with its labels.
inline prometheus::ClientMetric Counter(double value,
                                        std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

// Moves the families that have at least one sample onto *out, in the order
// given; a family without samples is left out of the exposition.
inline void AppendNonEmpty(std::initializer_list<prometheus::MetricFamily*> families,
                           std::vector<prometheus::MetricFamily>* out) {
  for (prometheus::MetricFamily* f : families) {
    if (!f->metric.empty()) out->push_back(std::move(*f));
  }
}

}  // namespace leakwatch::prom

#endif  // LEAKWATCH_PROM_FAMILIES_H_
