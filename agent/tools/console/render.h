// The console's screen: one frame of text from one introspection snapshot.
//
// Thread-safety: pure functions, safe from any thread (the clock is formatted with localtime_r).

#ifndef LEAKWATCH_TOOLS_CONSOLE_RENDER_H_
#define LEAKWATCH_TOOLS_CONSOLE_RENDER_H_

#include <cstdint>
#include <string>

#include "leakwatch.pb.h"

namespace leakwatch::console {

struct RenderOptions {
  std::string target;  // shown in the header
  int top_sites = 20;  // rows of the site table
  int width = 120;     // site labels are cut (in the middle) to fit
};

// "0.4s", "12s", "5m02s", "2h03m", "3d04h".
std::string FormatAge(double seconds);

// The frame: a header (process, uptime, threads, tasks, verdict summary), the
// task kinds, and the sites where tasks wait now, worst first (deadlocked,
// suspected leaks, then by stuck, blocked and oldest wait). Sites with nothing
// blocked and no verdict are left out.
std::string Render(const v1::Snapshot& snapshot, const RenderOptions& options);

}  // namespace leakwatch::console

#endif  // LEAKWATCH_TOOLS_CONSOLE_RENDER_H_
