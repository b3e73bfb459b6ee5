// libleakwatch_preload.so: the whole agent plus the hooks. A constructor starts
// the agent from the file named by LEAKWATCH_CONFIG (or the defaults); nothing
// is ever printed and the host's exit code is never changed. If the config
// cannot be read or the agent cannot start (port in use), recording goes on
// silently and nothing is served.

#include <stdlib.h>
#include <unistd.h>

#include "intercept/capture.h"
#include "intercept/intercept.h"
#include "leakwatch/agent.h"
#include "leakwatch/config.h"

namespace leakwatch::intercept {
namespace {

pid_t g_started_in = 0;

__attribute__((constructor(200))) void StartFromPreload() {
  internal::RegisterThread();  // the main thread is a task from the start
  Config config;
  if (const char* path = getenv("LEAKWATCH_CONFIG"); path != nullptr && *path != '\0') {
    absl::StatusOr<Config> loaded = LoadConfigFile(path);
    if (!loaded.ok()) return;  // keep the defaults for recording, serve nothing
    config = *std::move(loaded);
  }
  Configure(config);
  AgentThreadScope agent;  // the sampler and the server's threads are ours
  if (Start(config).ok()) g_started_in = getpid();
}

__attribute__((destructor)) void StopAtExit() {
  // In a fork child the agent's threads do not exist: nothing to stop.
  if (g_started_in == 0 || g_started_in != getpid()) return;
  AgentThreadScope agent;
  Stop();
}

}  // namespace
}  // namespace leakwatch::intercept
