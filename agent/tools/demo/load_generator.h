// The demo's built-in load generator: requests to the demo's own handlers at a
// fixed rate, mostly healthy, some leaky.
//
// Thread-safety: a LoadGenerator runs one thread of its own and has no public members to share;
// its destructor sets stop_ (atomic) and joins, waiting out the request in flight.

#ifndef LEAKWATCH_TOOLS_DEMO_LOAD_GENERATOR_H_
#define LEAKWATCH_TOOLS_DEMO_LOAD_GENERATOR_H_

#include <atomic>
#include <string>
#include <thread>

namespace leakwatch::demo {

struct LoadMix {
  double work = 0.85;       // /work
  double timeout = 0.10;    // /leak/timeout
  double recv = 0.02;       // /leak/recv
  double lock = 0.02;       // /leak/lock
  double waitgroup = 0.01;  // /leak/waitgroup
};

class LoadGenerator {
 public:
  // Sends `rate` requests per second to http://host:port, picking paths by `mix`.
  LoadGenerator(std::string host, int port, double rate, LoadMix mix);
  ~LoadGenerator();  // stops and joins

  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

 private:
  void Run();

  std::string host_;
  int port_;
  double rate_;
  LoadMix mix_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace leakwatch::demo

#endif  // LEAKWATCH_TOOLS_DEMO_LOAD_GENERATOR_H_
