// The return-address cache: hits, misses, a full probe sequence, first value
// wins, and concurrent use (run under TSan by the sanitizer build).

#include "core/site_cache.h"

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"

namespace leakwatch::core {
namespace {

// Compiles only if the cache is constant-initialized: usable before any
// constructor runs, as the interposed hooks need.
constinit SiteCache<64> g_static_cache;
static_assert(std::is_trivially_destructible_v<SiteCache<16384>>,
              "a cache in static storage must stay usable while statics are destroyed");

uintptr_t ReturnAddress(int i) { return 0x7f1234560000u + 16u * static_cast<uintptr_t>(i); }

// The value a slow path would compute for `key`.
uint32_t ValueOf(uint64_t key) { return static_cast<uint32_t>(key % 100003); }

TEST(SiteCache, FindAfterInsertReturnsTheValue) {
  const uint64_t key = SiteCacheKey(ReturnAddress(1), 3);
  EXPECT_TRUE(g_static_cache.Insert(key, 42));
  EXPECT_EQ(g_static_cache.Find(key), 42u);
}

TEST(SiteCache, ZeroIsAStorableValue) {
  auto cache = std::make_unique<SiteCache<64>>();
  const uint64_t key = SiteCacheKey(ReturnAddress(2), 0);
  EXPECT_TRUE(cache->Insert(key, 0));
  EXPECT_EQ(cache->Find(key), 0u);
}

TEST(SiteCache, UnknownKeyIsAMiss) {
  auto cache = std::make_unique<SiteCache<64>>();
  EXPECT_EQ(cache->Find(SiteCacheKey(ReturnAddress(3), 1)), SiteCache<64>::kMiss);
  ASSERT_TRUE(cache->Insert(SiteCacheKey(ReturnAddress(3), 1), 7));
  EXPECT_EQ(cache->Find(SiteCacheKey(ReturnAddress(4), 1)), SiteCache<64>::kMiss);
}

TEST(SiteCache, OneAddressWithTwoTagsHasTwoEntries) {
  auto cache = std::make_unique<SiteCache<64>>();
  const uintptr_t ra = ReturnAddress(5);
  ASSERT_NE(SiteCacheKey(ra, 0), SiteCacheKey(ra, 1));
  ASSERT_TRUE(cache->Insert(SiteCacheKey(ra, 0), 10));
  ASSERT_TRUE(cache->Insert(SiteCacheKey(ra, 1), 11));
  EXPECT_EQ(cache->Find(SiteCacheKey(ra, 0)), 10u);
  EXPECT_EQ(cache->Find(SiteCacheKey(ra, 1)), 11u);
}

TEST(SiteCache, KeyZeroAndValueMissAreNeverCached) {
  auto cache = std::make_unique<SiteCache<64>>();
  EXPECT_FALSE(cache->Insert(0, 5));
  EXPECT_EQ(cache->Find(0), SiteCache<64>::kMiss);
  const uint64_t key = SiteCacheKey(ReturnAddress(6), 0);
  EXPECT_FALSE(cache->Insert(key, SiteCache<64>::kMiss));
  EXPECT_EQ(cache->Find(key), SiteCache<64>::kMiss);
}

TEST(SiteCache, FirstValueStoredWins) {
  auto cache = std::make_unique<SiteCache<64>>();
  const uint64_t key = SiteCacheKey(ReturnAddress(7), 0);
  ASSERT_TRUE(cache->Insert(key, 1));
  EXPECT_TRUE(cache->Insert(key, 2));  // the key has a value: the first one
  EXPECT_EQ(cache->Find(key), 1u);
  EXPECT_EQ(cache->FindOrCompute(key, [] { return 3u; }), 1u);
}

TEST(SiteCache, FindOrComputeComputesOnceThenHits) {
  auto cache = std::make_unique<SiteCache<64>>();
  const uint64_t key = SiteCacheKey(ReturnAddress(8), 2);
  int computed = 0;
  auto slow_path = [&] {
    ++computed;
    return ValueOf(key);
  };
  EXPECT_EQ(cache->FindOrCompute(key, slow_path), ValueOf(key));
  EXPECT_EQ(cache->FindOrCompute(key, slow_path), ValueOf(key));
  EXPECT_EQ(computed, 1);
}

TEST(SiteCache, WhenFullKeysAreNotCachedButStillAnsweredByTheSlowPath) {
  using Cache = SiteCache<64>;
  auto cache = std::make_unique<Cache>();
  std::vector<uint64_t> cached;
  uint64_t turned_away = 0;
  for (int i = 0; i < 1000 && (turned_away == 0 || cached.size() < 64); ++i) {
    const uint64_t key = SiteCacheKey(ReturnAddress(i), 1);
    if (cache->Insert(key, ValueOf(key))) {
      cached.push_back(key);
    } else if (turned_away == 0) {
      turned_away = key;
    }
  }
  ASSERT_NE(turned_away, 0u) << "no insert was turned away";
  EXPECT_LE(cached.size(), 64u);  // bounded: never more entries than slots
  for (uint64_t key : cached) EXPECT_EQ(cache->Find(key), ValueOf(key));

  EXPECT_EQ(cache->Find(turned_away), Cache::kMiss);
  int computed = 0;
  auto slow_path = [&] {
    ++computed;
    return ValueOf(turned_away);
  };
  EXPECT_EQ(cache->FindOrCompute(turned_away, slow_path), ValueOf(turned_away));
  EXPECT_EQ(cache->FindOrCompute(turned_away, slow_path), ValueOf(turned_away));
  EXPECT_EQ(computed, 2);  // not cached: the slow path answers every time
}

TEST(SiteCache, ConcurrentLookupsAndInsertsSeeOnlyCorrectValues) {
  using Cache = SiteCache<4096>;
  auto cache = std::make_unique<Cache>();
  constexpr int kThreads = 4;
  constexpr int kKeys = 3000;
  std::latch start(kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int n = 0; n < kKeys; ++n) {
        // Each thread walks the keys in its own order, so threads race on
        // both claiming slots and storing values.
        constexpr int kStrides[kThreads] = {1, 7, 11, 13};  // coprime to kKeys
        const int i = (n * kStrides[t] + t * 977) % kKeys;
        const uint64_t key = SiteCacheKey(ReturnAddress(i), static_cast<uint8_t>(i % 3));
        const uint32_t found = cache->Find(key);
        if (found != Cache::kMiss && found != ValueOf(key)) wrong.fetch_add(1);
        if (cache->FindOrCompute(key, [key] { return ValueOf(key); }) != ValueOf(key)) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  int cached = 0;
  for (int i = 0; i < kKeys; ++i) {
    const uint64_t key = SiteCacheKey(ReturnAddress(i), static_cast<uint8_t>(i % 3));
    const uint32_t found = cache->Find(key);
    if (found == Cache::kMiss) continue;
    ++cached;
    EXPECT_EQ(found, ValueOf(key));
  }
  EXPECT_GT(cached, kKeys / 2);
}

TEST(SiteCache, ThreadsRacingOnOneKeyAllGetTheFirstValueStored) {
  using Cache = SiteCache<64>;
  auto cache = std::make_unique<Cache>();
  const uint64_t key = SiteCacheKey(ReturnAddress(9), 4);
  constexpr int kThreads = 4;
  std::latch start(kThreads);
  std::vector<uint32_t> got(kThreads, Cache::kMiss);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Each thread's slow path answers differently: one answer must win.
      got[t] = cache->FindOrCompute(key, [t] { return static_cast<uint32_t>(100 + t); });
    });
  }
  for (std::thread& thread : threads) thread.join();
  const uint32_t winner = cache->Find(key);
  ASSERT_NE(winner, Cache::kMiss);
  for (uint32_t v : got) EXPECT_EQ(v, winner);
}

}  // namespace
}  // namespace leakwatch::core
