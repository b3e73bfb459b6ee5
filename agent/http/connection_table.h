// http/connection_table.h — which connections the HTTP server keeps.
//
// Slow, idle and half-open connections must never delay a scrape. The server
// is event-driven, so a waiting connection costs no thread, only a descriptor
// and a little memory; this table bounds those and tells the server which
// connections to close:
//   * at most `max_total` connections, and at most `max_per_address` from one
//     client address; a new connection over either cap closes the oldest idle
//     connection (of that address for the per-address cap) instead of being
//     refused, so a flood of idle connections only ever evicts its own kind;
//     a new connection is refused only when every connection in its way is
//     being served;
//   * a connection is idle from its accept, or from the end of its last reply,
//     until its next request's headers are complete: it must finish them within
//     `header_deadline` (counted from the moment it became idle, whatever it
//     sends meanwhile), or it is closed.
// Connections being served (headers complete, reply not yet sent) are never
// evicted; the HTTP library's inactivity timeout bounds a client that stops
// reading its reply.
//
// Thread-safety: not thread-safe; the server calls it from its one thread.

#ifndef LEAKWATCH_HTTP_CONNECTION_TABLE_H_
#define LEAKWATCH_HTTP_CONNECTION_TABLE_H_

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace leakwatch::http {

class ConnectionTable {
 public:
  struct Limits {
    int max_total = 128;
    int max_per_address = 64;
    int64_t header_deadline_ns = 5'000'000'000;
  };
  explicit ConnectionTable(Limits limits) : limits_(limits) {}

  // A connection from `address` is about to be accepted. Returns false to
  // refuse it; appends to `close` the descriptors to close to make room.
  bool Admit(const std::string& address, std::vector<int>* close);

  // Lifecycle of an accepted connection, keyed by its descriptor.
  void Opened(int fd, const std::string& address, int64_t now_ns);
  void RequestStarted(int fd);                   // headers complete: being served
  void RequestFinished(int fd, int64_t now_ns);  // reply sent: idle again
  void Closed(int fd);

  // Appends the idle connections past their header deadline to `close` and
  // marks them closing. Returns the time of the next deadline, if any.
  std::optional<int64_t> Expire(int64_t now_ns, std::vector<int>* close);

  int open() const { return static_cast<int>(by_fd_.size()); }
  int closing() const { return closing_; }

 private:
  struct Entry {
    int fd;
    std::string address;
    int64_t idle_since_ns;
    bool idle = true;
    bool closing = false;  // asked to close; not counted against the caps
  };
  using Order = std::list<Entry>;  // oldest idle first among the idle ones

  // Closes the oldest idle connection (of `address` if not null). False if none.
  bool EvictOldestIdle(const std::string* address, std::vector<int>* close);
  void MarkClosing(Order::iterator it, std::vector<int>* close);

  Limits limits_;
  Order order_;  // idle entries in the order they became idle; served ones after
  std::unordered_map<int, Order::iterator> by_fd_;
  std::unordered_map<std::string, int> per_address_;  // counted (not closing) connections
  int counted_ = 0;
  int closing_ = 0;
};

}  // namespace leakwatch::http

#endif  // LEAKWATCH_HTTP_CONNECTION_TABLE_H_
