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

namespace {

// Each waiter's verdict from the wait-for graph in which every waiter has at
// most one edge (to the owner of the lock it waits for): stuck when its chain
// of owners ends in a cycle or at a thread that has exited, free when it ends
// at a running thread or a free (or unreadable) lock. Every node is walked once.
std::vector<bool> ClassifyStuck(const std::vector<LockWaiter>& waiters,
                                const std::vector<int32_t>& owners,
                                const std::function<bool(int32_t)>& thread_alive) {
  absl::flat_hash_map<int32_t, size_t> waiter_of;  // tid → waiter index
  for (size_t i = 0; i < waiters.size(); ++i) waiter_of[waiters[i].tid] = i;
  enum State : uint8_t { kUnknown, kVisiting, kStuck, kFree };
  std::vector<State> state(waiters.size(), kUnknown);
  absl::flat_hash_map<int32_t, bool> alive_cache;
  auto alive = [&](int32_t tid) {
    auto [it, inserted] = alive_cache.try_emplace(tid, false);
    if (inserted) it->second = thread_alive(tid);
    return it->second;
  };
  // Where the walk from `cur` ends, with the nodes it passed in `path`.
  auto walk = [&](size_t cur, std::vector<size_t>& path) -> State {
    while (true) {
      if (state[cur] == kStuck || state[cur] == kFree) return state[cur];
      if (state[cur] == kVisiting) return kStuck;  // back on the path: a cycle
      state[cur] = kVisiting;
      path.push_back(cur);
      const int32_t owner = owners[cur];
      if (owner <= 0) return kFree;  // free (or unreadable): no edge
      auto it = waiter_of.find(owner);
      if (it == waiter_of.end()) return alive(owner) ? kFree : kStuck;  // running, or exited
      cur = it->second;
    }
  };
  std::vector<size_t> path;
  for (size_t start = 0; start < waiters.size(); ++start) {
    path.clear();
    const State verdict = walk(start, path);
    for (size_t i : path) state[i] = verdict;
  }
  std::vector<bool> stuck(waiters.size());
  for (size_t i = 0; i < waiters.size(); ++i) stuck[i] = state[i] == kStuck;
  return stuck;
}

}  // namespace

void FindDeadlocks(std::vector<LockWaiter>& waiters,
                   const std::function<int64_t(size_t)>& still_waiting,
                   const std::function<bool(int32_t)>& thread_alive) {
  if (waiters.empty()) return;
  std::vector<const int32_t*> words;
  words.reserve(waiters.size());
  for (const LockWaiter& w : waiters) words.push_back(w.owner_word);
  const std::vector<int32_t> owners = ReadOwnerWords(words);
  const std::vector<bool> is_stuck = ClassifyStuck(waiters, owners, thread_alive);

  // Confirm: the same waits, and the same owners, after the classification.
  std::vector<size_t> stuck;
  for (size_t i = 0; i < waiters.size(); ++i) {
    if (is_stuck[i]) stuck.push_back(i);
  }
  if (stuck.empty()) return;
  std::vector<const int32_t*> again;
  for (size_t i : stuck) again.push_back(waiters[i].owner_word);
  const std::vector<int32_t> owners_again = ReadOwnerWords(again);
  for (size_t k = 0; k < stuck.size(); ++k) {
    const size_t i = stuck[k];
    // Any change means some lock moved while we looked: report nothing this
    // time rather than guess which part of the picture is stale.
    if (owners_again[k] != owners[i] || still_waiting(i) != waiters[i].start_ns) return;
  }
  for (size_t i : stuck) waiters[i].deadlocked = true;
}

}  // namespace leakwatch::core
