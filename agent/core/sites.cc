#include "core/sites.h"

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/fork_locks.h"
#include "core/site_cache.h"

namespace leakwatch::core {
namespace {

constexpr uint32_t kSlots = 32768;  // power of two; > 3 × kMaxSitesHard
constexpr uint32_t kMaxFilledSlots = kSlots * 3 / 4;
// Labels turned away at the cap that are remembered, so that each is counted
// in SitesDropped() once. Beyond this many, a turned-away label is counted on
// every lookup instead: labels can come from outside (a generic gRPC service
// sites each method name a client sends), and remembering them all would let
// a client grow the table without bound.
constexpr uint32_t kMaxRememberedDrops = 4096;

struct LocationSlot {
  std::atomic<const char*> file{nullptr};  // published last
  std::atomic<uint32_t> line_op{0};
  std::atomic<uint32_t> id{0};
};

struct SiteTable {
  LocationSlot slots[kSlots];
  std::atomic<const SiteInfo*> infos[kSiteCapacity] = {};
  std::atomic<uint32_t> id_limit{kFirstRealSite};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint32_t> max_sites{2000};

  std::mutex mu;  // guards the members below and every insert
  uint32_t filled_slots = 0;
  uint32_t remembered_drops = 0;  // entries of by_label that map to an "other" site
  absl::flat_hash_map<std::pair<std::string, uint8_t>, uint32_t> by_label;

  SiteTable() {
    for (int op = 0; op < kNumOps; ++op) {
      infos[op].store(new SiteInfo{"other", static_cast<Op>(op)}, std::memory_order_relaxed);
    }
  }
};

SiteTable& Table() {
  static SiteTable* table = new SiteTable;  // never destroyed: used at thread exit
  return *table;
}

uint32_t HashLocation(const char* file, uint32_t line_op) {
  uint64_t h = reinterpret_cast<uintptr_t>(file) * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t{line_op} + 0x7F4A7C15ull) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<uint32_t>(h >> 40);
}

// Returns the id for (label, op), creating it if the cap allows. Requires t.mu.
uint32_t InternLabelLocked(SiteTable& t, std::string label, Op op) {
  auto key = std::make_pair(std::move(label), static_cast<uint8_t>(op));
  if (auto it = t.by_label.find(key); it != t.by_label.end()) return it->second;
  uint32_t id = t.id_limit.load(std::memory_order_relaxed);
  if (id - kFirstRealSite >= t.max_sites.load(std::memory_order_relaxed)) {
    t.dropped.fetch_add(1, std::memory_order_relaxed);
    if (t.remembered_drops < kMaxRememberedDrops) {
      t.by_label.emplace(std::move(key), OtherSite(op));  // count the drop once
      ++t.remembered_drops;
    }
    return OtherSite(op);
  }
  t.infos[id].store(new SiteInfo{key.first, op}, std::memory_order_release);
  t.id_limit.store(id + 1, std::memory_order_release);
  t.by_label.emplace(std::move(key), id);
  return id;
}

using LabelCache = SiteCache<4096>;
constinit LabelCache g_label_cache;

}  // namespace

void LockSitesForFork() noexcept { Table().mu.lock(); }
void UnlockSitesAfterFork() noexcept { Table().mu.unlock(); }

std::string NormalizeSourcePath(std::string_view file) {
  while (file.substr(0, 2) == "./") file.remove_prefix(2);
#ifdef LEAKWATCH_SOURCE_ROOT
  constexpr std::string_view kRoot = LEAKWATCH_SOURCE_ROOT "/";
  if (file.substr(0, kRoot.size()) == kRoot) file.remove_prefix(kRoot.size());
#endif
  return std::string(file);
}

uint32_t SiteOfLocation(const char* file, uint32_t line, Op op) noexcept {
  SiteTable& t = Table();
  const uint32_t line_op = (line << 4) | static_cast<uint32_t>(op);
  uint32_t i = HashLocation(file, line_op) & (kSlots - 1);
  for (uint32_t probes = 0; probes < kSlots; ++probes, i = (i + 1) & (kSlots - 1)) {
    const char* f = t.slots[i].file.load(std::memory_order_acquire);
    if (f == nullptr) break;
    if (f == file && t.slots[i].line_op.load(std::memory_order_relaxed) == line_op) {
      return t.slots[i].id.load(std::memory_order_relaxed);
    }
  }
  // Slow path: first use of this location.
  try {
    std::lock_guard<std::mutex> lock(t.mu);
    uint32_t id = InternLabelLocked(t, absl::StrCat(NormalizeSourcePath(file), ":", line), op);
    if (t.filled_slots >= kMaxFilledSlots) return id;  // table full: stay on the slow path
    i = HashLocation(file, line_op) & (kSlots - 1);
    while (true) {
      const char* f = t.slots[i].file.load(std::memory_order_relaxed);
      if (f == nullptr) break;
      if (f == file && t.slots[i].line_op.load(std::memory_order_relaxed) == line_op) return id;
      i = (i + 1) & (kSlots - 1);
    }
    t.slots[i].line_op.store(line_op, std::memory_order_relaxed);
    t.slots[i].id.store(id, std::memory_order_relaxed);
    t.slots[i].file.store(file, std::memory_order_release);
    ++t.filled_slots;
    return id;
  } catch (...) {  // allocation failure: never throw into the host
    return OtherSite(op);
  }
}

uint32_t SiteOfLabel(std::string_view label, Op op) noexcept {
  // Labels seen before are found without the table's lock: a lock-free cache
  // from the label's hash to its site, checked against the site's own label
  // (a hash collision only falls back to the slow path). leakwatch::grpc sites
  // every RPC this way.
  const uint64_t key =
      (std::hash<std::string_view>{}(label)*31 + static_cast<uint64_t>(op) + 1) | 1;
  if (const uint32_t cached = g_label_cache.Find(key); cached != LabelCache::kMiss) {
    const SiteInfo* info = GetSite(cached);
    if (info != nullptr && info->op == op && info->label == label) return cached;
  }
  SiteTable& t = Table();
  uint32_t id;
  try {
    std::lock_guard<std::mutex> lock(t.mu);
    id = InternLabelLocked(t, std::string(label), op);
  } catch (...) {
    return OtherSite(op);
  }
  if (id >= kFirstRealSite) g_label_cache.Insert(key, id);
  return id;
}

const SiteInfo* GetSite(uint32_t id) noexcept {
  if (id >= kSiteCapacity) return nullptr;
  return Table().infos[id].load(std::memory_order_acquire);
}

uint32_t SiteIdLimit() noexcept { return Table().id_limit.load(std::memory_order_acquire); }

int64_t SitesInUse() noexcept { return int64_t{SiteIdLimit()} - kFirstRealSite; }

uint64_t SitesDropped() noexcept { return Table().dropped.load(std::memory_order_relaxed); }

void SetMaxSites(int max_sites) noexcept {
  if (max_sites < 1) max_sites = 1;
  if (max_sites > static_cast<int>(kMaxSitesHard)) max_sites = kMaxSitesHard;
  Table().max_sites.store(static_cast<uint32_t>(max_sites), std::memory_order_relaxed);
}

}  // namespace leakwatch::core
