// The thread-name seqlock of core/thread_name.h on its own (no hooks), so
// sanitizer builds check its memory ordering: concurrent writers and readers of
// one record never produce a mix of two names.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_name.h"
#include "core/thread_record.h"
#include "gtest/gtest.h"

namespace {

using leakwatch::core::kThreadNameBytes;
using leakwatch::core::LoadThreadName;
using leakwatch::core::StoreThreadName;
using leakwatch::core::ThreadRecord;

TEST(ThreadNameSeqlock, RecordWithoutNameLoadsNothing) {
  auto rec = std::make_unique<ThreadRecord>();
  char name[kThreadNameBytes] = "x";
  EXPECT_FALSE(LoadThreadName(*rec, name));
  EXPECT_STREQ(name, "");
}

TEST(ThreadNameSeqlock, StoreTruncatesToFifteenBytes) {
  auto rec = std::make_unique<ThreadRecord>();
  StoreThreadName(*rec, "0123456789abcdefghij");
  char name[kThreadNameBytes];
  ASSERT_TRUE(LoadThreadName(*rec, name));
  EXPECT_STREQ(name, "0123456789abcde");
  StoreThreadName(*rec, "short");
  ASSERT_TRUE(LoadThreadName(*rec, name));
  EXPECT_STREQ(name, "short");
}

TEST(ThreadNameSeqlock, ConcurrentWritersAndReadersNeverTear) {
  auto rec = std::make_unique<ThreadRecord>();
  const char* names[2] = {"aaaaaaaaaaaaaaa", "bbbbbbb"};
  StoreThreadName(*rec, names[0]);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (const char* n : names) {
    writers.emplace_back([&, n] {
      while (!stop.load(std::memory_order_relaxed)) {
        StoreThreadName(*rec, n);
        std::this_thread::yield();  // renames are rare: let the reader in
      }
    });
  }
  // Reads until 5000 whole names were checked (or a minute passed, which means
  // the writers kept every read out: the count below then fails).
  int loaded = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (loaded < 5000 && std::chrono::steady_clock::now() < deadline) {
    char name[kThreadNameBytes];
    if (!LoadThreadName(*rec, name)) continue;  // writers kept it busy: allowed
    const std::string got = name;
    if (got != names[0] && got != names[1]) {
      ADD_FAILURE() << "torn name: " << got;
      break;
    }
    ++loaded;
  }
  stop = true;
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(loaded, 5000);
}

}  // namespace
