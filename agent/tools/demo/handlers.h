// The demo service's handlers: one healthy, four that leak tasks the way
// goroutines leak in real services. Each leaky wait is on its own line, marked
// with a `demo-site:` comment so tests can find the exact site label.
//
// Thread-safety: handlers run concurrently on the server's threads, sharing only State's leakwatch
// Channel and Mutex. Register before listening; stop the server before ~Service (/work would hang).

#ifndef LEAKWATCH_TOOLS_DEMO_HANDLERS_H_
#define LEAKWATCH_TOOLS_DEMO_HANDLERS_H_

#include <memory>

namespace httplib {
class Server;
}

namespace leakwatch::demo {

class Service {
 public:
  Service();
  ~Service();  // stops the worker pool; leaked tasks stay leaked

  // Registers /work, /leak/timeout, /leak/recv, /leak/lock, /leak/waitgroup and /.
  void Register(httplib::Server& server);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace leakwatch::demo

#endif  // LEAKWATCH_TOOLS_DEMO_HANDLERS_H_
