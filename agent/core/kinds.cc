#include "core/kinds.h"

#include <atomic>
#include <cstring>
#include <mutex>

#include "core/fork_locks.h"

namespace leakwatch::core {
namespace {

struct KindSlot {
  char name[kMaxKindNameBytes + 1];
  uint8_t length;
};

struct KindTable {
  // Slots [0, count) are immutable once published by the release store of count.
  KindSlot slots[kMaxKinds] = {{"thread", 6}, {"other", 5}};
  std::atomic<int> count{2};
  std::mutex insert_mu;  // serializes inserts
};

KindTable& Table() {
  static KindTable* table = new KindTable;  // never destroyed: used at thread exit
  return *table;
}

int Find(const KindTable& t, std::string_view name, int count) {
  for (int i = 0; i < count; ++i) {
    if (t.slots[i].length == name.size() &&
        std::memcmp(t.slots[i].name, name.data(), name.size()) == 0) {
      return i;
    }
  }
  return -1;
}

}  // namespace

uint16_t InternKind(std::string_view name) noexcept {
  if (name.size() > kMaxKindNameBytes) name = name.substr(0, kMaxKindNameBytes);
  if (name.empty()) return kOtherKind;
  KindTable& t = Table();
  if (int i = Find(t, name, t.count.load(std::memory_order_acquire)); i >= 0) return uint16_t(i);
  std::lock_guard<std::mutex> lock(t.insert_mu);
  int count = t.count.load(std::memory_order_relaxed);
  if (int i = Find(t, name, count); i >= 0) return uint16_t(i);
  if (count == kMaxKinds) return kOtherKind;
  std::memcpy(t.slots[count].name, name.data(), name.size());
  t.slots[count].name[name.size()] = '\0';
  t.slots[count].length = uint8_t(name.size());
  t.count.store(count + 1, std::memory_order_release);
  return uint16_t(count);
}

void LockKindsForFork() noexcept { Table().insert_mu.lock(); }
void UnlockKindsAfterFork() noexcept { Table().insert_mu.unlock(); }

int KindCount() noexcept { return Table().count.load(std::memory_order_acquire); }

std::string KindName(uint16_t id) {
  KindTable& t = Table();
  if (id >= t.count.load(std::memory_order_acquire)) return "other";
  return std::string(t.slots[id].name, t.slots[id].length);
}

}  // namespace leakwatch::core
