// The pprof-like text dump of a Snapshot (DumpTasks, /debug/tasks).
//
// Thread-safety: pure functions, safe from any thread.

#ifndef LEAKWATCH_EXPORT_DUMP_H_
#define LEAKWATCH_EXPORT_DUMP_H_

#include <string>

#include "leakwatch/snapshot.h"

namespace leakwatch::exporter {

// debug=1: grouped by site; debug=2: every task. See leakwatch/snapshot.h.
std::string FormatDump(const Snapshot& snapshot, int debug);

// "1.5s", "3m20s", "2h5m" — short human durations for dumps and consoles.
std::string HumanDuration(double seconds);

}  // namespace leakwatch::exporter

#endif  // LEAKWATCH_EXPORT_DUMP_H_
