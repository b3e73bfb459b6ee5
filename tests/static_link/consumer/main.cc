// Uses the library for real, so a dynamic link must resolve it.
#include <cstdio>

#include "leakwatch/leakwatch.h"

int main() {
  const leakwatch::Snapshot snap = leakwatch::TakeSnapshot();
  std::printf("os threads: %lld\n", static_cast<long long>(snap.os_threads));
  return snap.os_threads > 0 ? 0 : 1;
}
