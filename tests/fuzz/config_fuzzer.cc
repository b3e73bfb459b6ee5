// libFuzzer target over the YAML config loader (agent/config): ParseConfig on
// any text must return a Config or an error, never crash, hang or throw; an
// accepted config must pass ValidateConfig (the check for configs built in
// code) too, and an error must say what is wrong.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "leakwatch/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<leakwatch::Config> config = leakwatch::ParseConfig(yaml);
  if (!config.ok() && config.status().message().empty()) std::abort();  // an error says what
  if (config.ok() && !leakwatch::ValidateConfig(*config).ok()) std::abort();
  return 0;
}
