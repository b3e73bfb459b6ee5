#include "http/connection_table.h"

namespace leakwatch::http {

bool ConnectionTable::Admit(const std::string& address, std::vector<int>* close) {
  auto per = per_address_.find(address);
  if (per != per_address_.end() && per->second >= limits_.max_per_address &&
      !EvictOldestIdle(&address, close)) {
    return false;
  }
  if (counted_ >= limits_.max_total && !EvictOldestIdle(nullptr, close)) return false;
  return true;
}

void ConnectionTable::Opened(int fd, const std::string& address, int64_t now_ns) {
  Closed(fd);  // a descriptor number reused before its close was seen
  order_.push_back(Entry{fd, address, now_ns});
  by_fd_[fd] = std::prev(order_.end());
  ++per_address_[address];
  ++counted_;
}

void ConnectionTable::RequestStarted(int fd) {
  auto it = by_fd_.find(fd);
  if (it != by_fd_.end()) it->second->idle = false;
}

void ConnectionTable::RequestFinished(int fd, int64_t now_ns) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  it->second->idle = true;
  it->second->idle_since_ns = now_ns;
  order_.splice(order_.end(), order_, it->second);  // now the newest idle one
}

void ConnectionTable::Closed(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  Order::iterator entry = it->second;
  if (entry->closing) {
    --closing_;
  } else {
    --counted_;
    auto per = per_address_.find(entry->address);
    if (--per->second == 0) per_address_.erase(per);
  }
  order_.erase(entry);
  by_fd_.erase(it);
}

std::optional<int64_t> ConnectionTable::Expire(int64_t now_ns, std::vector<int>* close) {
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    if (!it->idle || it->closing) continue;
    const int64_t deadline = it->idle_since_ns + limits_.header_deadline_ns;
    // Idle entries are in the order they became idle: the first one not yet
    // due is the next deadline.
    if (deadline > now_ns) return deadline;
    MarkClosing(it, close);
  }
  return std::nullopt;
}

bool ConnectionTable::EvictOldestIdle(const std::string* address, std::vector<int>* close) {
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    if (!it->idle || it->closing) continue;
    if (address != nullptr && it->address != *address) continue;
    MarkClosing(it, close);
    return true;
  }
  return false;
}

void ConnectionTable::MarkClosing(Order::iterator it, std::vector<int>* close) {
  it->closing = true;
  ++closing_;
  --counted_;
  auto per = per_address_.find(it->address);
  if (--per->second == 0) per_address_.erase(per);
  close->push_back(it->fd);
}

}  // namespace leakwatch::http
