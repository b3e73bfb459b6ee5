// leakwatch/agent.h — starting and stopping the agent.
//
// Recording (task.h, sync.h) is always on and needs no agent. The agent is the
// reader: `Start()` launches the sampler thread that reads all task records every
// `sampler.interval`, feeds the growth-trend detector, and (if
// `exporter.enabled`) serves Prometheus metrics at `exporter.listen` +
// `exporter.path` and the task dump at `/debug/tasks`.
//
//   int main() {
//     if (absl::Status s = leakwatch::Start(); !s.ok()) {
//       std::cerr << "leakwatch disabled: " << s << "\n";   // the service runs on
//     }
//     ...
//   }
//
// Apps with their own prometheus-cpp exposer can set `exporter.enabled: false`
// and register `Collector()` instead:
//
//   exposer.RegisterCollectable(leakwatch::Collector());
//
// Thread-safety: Start and Stop may be called from any thread; a second Start
// while running returns FailedPreconditionError. Nothing here throws.
//
// Signals: every thread the agent starts (and every thread those start) blocks
// all asynchronous signals, so a signal sent to the process always reaches one
// of the program's threads, even when Start() runs before the program blocks
// its own; Start() leaves every signal disposition as it found it.

#ifndef LEAKWATCH_AGENT_H_
#define LEAKWATCH_AGENT_H_

#include <memory>

#include "absl/status/status.h"
#include "leakwatch/config.h"

namespace prometheus {
class Collectable;
}  // namespace prometheus

namespace leakwatch {

// Validates `config`, starts the sampler and, if enabled, the HTTP exporter and
// the gRPC introspection service (which needs libleakwatch_grpc linked in, see
// leakwatch/grpc.h). Returns OK; InvalidArgumentError for a bad config,
// including a listen address that does not parse or resolve and a password,
// certificate or key file that cannot be read or is empty;
// FailedPreconditionError if already running or if introspection is enabled
// without libleakwatch_grpc; or UnavailableError if a listen address cannot be
// bound (port in use, address not on this host). Each message names the key.
// On error nothing is left running and the host process is unaffected.
absl::Status Start(const Config& config = {});

// Stops the exporter and the sampler; waits for them to finish. Task recording
// goes on. Safe to call when not running.
void Stop();

// True between a successful Start() and Stop().
bool IsRunning();

// The port the exporter listens on (useful with `listen: 127.0.0.1:0`), or 0.
int ExporterPort();

// A prometheus-cpp Collectable producing all leakwatch metrics from the latest
// snapshot (a fresh one if the sampler is not running). Valid for the process's
// lifetime; safe to register in several registries.
std::shared_ptr<prometheus::Collectable> Collector();

}  // namespace leakwatch

#endif  // LEAKWATCH_AGENT_H_
