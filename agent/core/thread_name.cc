#include "core/thread_name.h"

#include <mutex>

namespace leakwatch::core {

void StoreThreadNameOfTid(int32_t tid, const char* name) noexcept {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (ThreadRecord* rec : r.records) {
    if (rec->tid != tid) continue;
    StoreThreadName(*rec, name);
    return;
  }
}

}  // namespace leakwatch::core
