#include "core/deadlock.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>

#include "absl/container/flat_hash_map.h"

namespace leakwatch::core {

std::vector<int32_t> ReadOwnerWords(const std::vector<const int32_t*>& addresses) {
  std::vector<int32_t> values(addresses.size(), -1);
  constexpr size_t kBatch = 512;  // below IOV_MAX
  iovec local[kBatch];
  iovec remote[kBatch];
  const pid_t self = getpid();
  size_t i = 0;
  while (i < addresses.size()) {
    const size_t n = std::min(kBatch, addresses.size() - i);
    for (size_t j = 0; j < n; ++j) {
      local[j] = {&values[i + j], sizeof(int32_t)};
      remote[j] = {const_cast<int32_t*>(addresses[i + j]), sizeof(int32_t)};
    }
    const ssize_t got = process_vm_readv(self, local, n, remote, n, 0);
    // A short read stops at the first unreadable word: mark it and go on after it.
    const size_t complete = got > 0 ? static_cast<size_t>(got) / sizeof(int32_t) : 0;
    for (size_t j = complete; j < n; ++j) values[i + j] = -1;
    i += complete < n ? complete + 1 : n;
  }
  return values;
}

bool ThreadAlive(int32_t tid) {
  if (tid <= 0) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d", tid);
  return access(path, F_OK) == 0;
}

void FindDeadlocks(std::vector<LockWaiter>& waiters,
                   const std::function<int64_t(size_t)>& still_waiting,
                   const std::function<bool(int32_t)>& thread_alive) {
  if (waiters.empty()) return;
  std::vector<const int32_t*> words;
  words.reserve(waiters.size());
  for (const LockWaiter& w : waiters) words.push_back(w.owner_word);
  const std::vector<int32_t> owners = ReadOwnerWords(words);

  absl::flat_hash_map<int32_t, size_t> waiter_of;  // tid → waiter index
  for (size_t i = 0; i < waiters.size(); ++i) waiter_of[waiters[i].tid] = i;

  // Each waiter has at most one edge; walk it and classify every node once.
  enum State : uint8_t { kUnknown, kVisiting, kStuck, kFree };
  std::vector<State> state(waiters.size(), kUnknown);
  absl::flat_hash_map<int32_t, bool> alive_cache;
  auto alive = [&](int32_t tid) {
    auto [it, inserted] = alive_cache.try_emplace(tid, false);
    if (inserted) it->second = thread_alive(tid);
    return it->second;
  };
  for (size_t start = 0; start < waiters.size(); ++start) {
    std::vector<size_t> path;
    size_t cur = start;
    State verdict = kFree;
    while (true) {
      if (state[cur] == kStuck || state[cur] == kFree) {
        verdict = state[cur];
        break;
      }
      if (state[cur] == kVisiting) {  // back on the path: a cycle
        verdict = kStuck;
        break;
      }
      state[cur] = kVisiting;
      path.push_back(cur);
      const int32_t owner = owners[cur];
      if (owner <= 0) {  // free (or unreadable): no edge
        verdict = kFree;
        break;
      }
      auto it = waiter_of.find(owner);
      if (it != waiter_of.end()) {
        cur = it->second;
        continue;
      }
      verdict = alive(owner) ? kFree : kStuck;  // running owner, or one that exited
      break;
    }
    for (size_t i : path) state[i] = verdict;
  }

  // Confirm: the same waits, and the same owners, after the classification.
  std::vector<size_t> stuck;
  for (size_t i = 0; i < waiters.size(); ++i) {
    if (state[i] == kStuck) stuck.push_back(i);
  }
  if (stuck.empty()) return;
  std::vector<const int32_t*> again;
  for (size_t i : stuck) again.push_back(waiters[i].owner_word);
  const std::vector<int32_t> owners_again = ReadOwnerWords(again);
  bool all_same = true;
  for (size_t k = 0; k < stuck.size(); ++k) {
    const size_t i = stuck[k];
    if (owners_again[k] != owners[i] || still_waiting(i) != waiters[i].start_ns) all_same = false;
  }
  // Any change means some lock moved while we looked: report nothing this time
  // rather than guess which part of the picture is stale.
  if (!all_same) return;
  for (size_t i : stuck) waiters[i].deadlocked = true;
}

}  // namespace leakwatch::core
