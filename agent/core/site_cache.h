// A fixed-size, lock-free cache in front of the slow work of siting a wait at
// a return address: symbolizing the frame (microseconds, under the
// symbolizer's lock) and interning its label in the site table. It maps a key
// (a return address and a tag that says what is cached about it, see
// SiteCacheKey) to a 32-bit value: a site id, or how the frame was classified.
// Mutex::lock() through a standard wrapper (sync.cc) and the interposed pthread
// hooks (intercept/capture.cc) each keep one in static storage:
//
//   constinit SiteCache<4096> g_cache;
//   const uint32_t site = g_cache.FindOrCompute(SiteCacheKey(ra, kTag),
//                                               [&] { return SlowSiteOf(ra); });
//
// Open addressing with linear probing over an array of kSlots slots, all in
// the object: no allocation, ever, and memory bounded by kSlots. A key claims
// its slot with a CAS, and its value is published after it with a second CAS
// from "none": the first value stored wins and never changes, so every thread
// sees the same answer for a key, and per-thread caches in front of this one
// never go stale. Nothing locks or waits. When the probe sequence of a key is
// full (kMaxProbes slots) the key is simply not cached: FindOrCompute computes
// it again on every call, slow but still correct.
//
// Every member is a zero-initialized atomic, so a SiteCache with static storage
// duration is constant-initialized (usable before any constructor runs, from a
// preloaded library's hooks) and has a trivial destructor (usable at thread
// exit and while static objects are destroyed).
//
// fork(): there is no lock to hold across it. The child may inherit a slot
// whose key was claimed by a thread that does not exist there and whose value
// was never stored; lookups read it as a miss and the next insert of that key
// stores the value, so the table needs no repair.
//
// Memory ordering: a value is stored with release and read with acquire, so a
// thread that finds a value also sees whatever its inserter wrote before
// inserting it (the site table's entry for a cached site id, for instance).
//
// Thread safety: every member function may be called concurrently from any
// number of threads.

#ifndef LEAKWATCH_CORE_SITE_CACHE_H_
#define LEAKWATCH_CORE_SITE_CACHE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <limits>

namespace leakwatch::core {

// The key for what is cached under `tag` about return address `ra` (one
// address can have several entries, e.g. its frame class and its site per op).
// Never 0 when `ra` or `tag` is not. User-space addresses fit in 56 bits
// (x86-64: 47, or 56 with 5-level paging; AArch64: at most 52), so the tag
// takes the top byte.
inline constexpr uint64_t SiteCacheKey(uintptr_t ra, uint8_t tag) noexcept {
  return uint64_t{ra} | uint64_t{tag} << 56;
}

template <uint32_t kSlots>
class SiteCache {
  static_assert(kSlots >= 2 && std::has_single_bit(kSlots), "kSlots must be a power of two");

 public:
  // What Find returns for a key with no value cached. Not a storable value.
  static constexpr uint32_t kMiss = std::numeric_limits<uint32_t>::max();
  // How many slots a key may be placed in, starting at its hash.
  static constexpr uint32_t kMaxProbes = std::min<uint32_t>(kSlots, 32);

  constexpr SiteCache() noexcept = default;
  SiteCache(const SiteCache&) = delete;
  SiteCache& operator=(const SiteCache&) = delete;

  // The value cached for `key`, or kMiss. Key 0 is never cached.
  uint32_t Find(uint64_t key) const noexcept {
    uint32_t slot = Home(key);
    for (uint32_t i = 0; i < kMaxProbes; ++i, slot = (slot + 1) & kMask) {
      const uint64_t k = slots_[slot].key.load(std::memory_order_relaxed);
      // A slot with no value yet (claimed by a key still being inserted, or
      // empty: the case of key 0) reads 0 - 1 == kMiss.
      if (k == key) return slots_[slot].value_plus_one.load(std::memory_order_acquire) - 1;
      if (k == 0) break;
    }
    return kMiss;
  }

  // Caches `value` (anything but kMiss) for `key` (not 0). Returns true if
  // `key` now has a value cached: this one, or the one another thread stored
  // first. Returns false when the key's probe sequence is full (or on a bad
  // argument): nothing is cached.
  bool Insert(uint64_t key, uint32_t value) noexcept { return Publish(key, value) != kMiss; }

  // The value cached for `key`; on a miss, `compute()` (the slow path; never
  // kMiss), cached if there is room. If two threads compute a key at once, the
  // value stored first is what both return.
  template <class Compute>
  uint32_t FindOrCompute(uint64_t key, Compute&& compute) noexcept {
    if (const uint32_t v = Find(key); v != kMiss) return v;
    const uint32_t v = compute();
    const uint32_t cached = Publish(key, v);
    return cached != kMiss ? cached : v;
  }

 private:
  static constexpr uint32_t kMask = kSlots - 1;

  // Fibonacci hashing: the top bits of the product depend on every key bit,
  // the tag included.
  static uint32_t Home(uint64_t key) noexcept {
    return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> (64 - std::countr_zero(kSlots)));
  }

  // Stores `value` for `key` unless a value is there already. Returns the
  // value now cached for `key`, or kMiss if nothing is.
  uint32_t Publish(uint64_t key, uint32_t value) noexcept {
    if (key == 0 || value == kMiss) return kMiss;
    uint32_t slot = Home(key);
    for (uint32_t i = 0; i < kMaxProbes; ++i, slot = (slot + 1) & kMask) {
      Slot& s = slots_[slot];
      uint64_t k = s.key.load(std::memory_order_relaxed);
      if (k == 0 && s.key.compare_exchange_strong(k, key, std::memory_order_relaxed)) k = key;
      if (k != key) continue;
      uint32_t stored = 0;  // on failure: the value another thread stored first
      if (s.value_plus_one.compare_exchange_strong(stored, value + 1, std::memory_order_release,
                                                   std::memory_order_acquire)) {
        return value;
      }
      return stored - 1;
    }
    return kMiss;
  }

  struct Slot {
    std::atomic<uint64_t> key{0};             // 0 = empty; set once
    std::atomic<uint32_t> value_plus_one{0};  // 0 = not stored yet; set once
  };
  Slot slots_[kSlots];
};

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_SITE_CACHE_H_
