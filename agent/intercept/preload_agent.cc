// libleakwatch_preload_agent.so: the agent of a preloaded process (config,
// recording, sampler, exporter). libleakwatch_preload.so loads it into the
// processes that should have an agent, just before their first thread
// (preload_shim.cc), and calls leakwatch_preload_start once. The host's exit
// code is never changed; a destructor stops the agent at exit.

#include <stdio.h>
#include <unistd.h>

#include <exception>
#include <string>

#include "intercept/capture.h"
#include "intercept/intercept.h"
#include "leakwatch/agent.h"
#include "leakwatch/config.h"

namespace leakwatch::intercept {
namespace {

pid_t g_started_in = 0;

// The hooks stay in place, but record nothing when no agent reads the records.
void StopRecording() {
  Config off;
  off.intercept.enabled = false;
  Configure(off);
}

int Fail(char* message, size_t size, const std::string& what) {
  snprintf(message, size, "%s", what.c_str());
  StopRecording();
  return 1;
}

__attribute__((destructor)) void StopAtExit() {
  // In a fork child the agent's threads do not exist: nothing to stop.
  if (g_started_in == 0 || g_started_in != getpid()) return;
  AgentThreadScope agent;
  Stop();
}

}  // namespace
}  // namespace leakwatch::intercept

// Reads the config file `config_path` (nullptr: the defaults), applies it to
// the hooks and starts the agent in the calling thread. Returns 0, or nonzero
// with what went wrong in `message` (the recording is then switched off).
extern "C" int leakwatch_preload_start(const char* config_path, char* message,
                                       size_t size) noexcept {
  using namespace leakwatch;
  using namespace leakwatch::intercept;
  try {
    Config config;
    if (config_path != nullptr) {
      absl::StatusOr<Config> loaded = LoadConfigFile(config_path);
      if (!loaded.ok()) {
        return Fail(message, size,
                    std::string("LEAKWATCH_CONFIG: ") + std::string(loaded.status().message()));
      }
      config = *std::move(loaded);
    }
    Configure(config);
    AgentThreadScope agent;  // the sampler and the server's threads are ours
    if (absl::Status s = Start(config); !s.ok())
      return Fail(message, size, std::string(s.message()));
    g_started_in = getpid();
    return 0;
  } catch (const std::exception& e) {
    return Fail(message, size, std::string("cannot start: ") + e.what());
  }
}
