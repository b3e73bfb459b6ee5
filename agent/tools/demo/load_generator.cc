#include "load_generator.h"

#include <chrono>
#include <random>

#include "httplib.h"

namespace leakwatch::demo {

LoadGenerator::LoadGenerator(std::string host, int port, double rate, LoadMix mix)
    : host_(std::move(host)), port_(port), rate_(rate), mix_(mix), thread_([this] { Run(); }) {}

LoadGenerator::~LoadGenerator() {
  stop_ = true;
  thread_.join();
}

void LoadGenerator::Run() {
  httplib::Client client(host_, port_);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> pick(0, 1);
  const auto period = std::chrono::duration<double>(1.0 / rate_);
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    const std::pair<double, const char*> paths[] = {{mix_.work, "/work"},
                                                    {mix_.timeout, "/leak/timeout"},
                                                    {mix_.recv, "/leak/recv"},
                                                    {mix_.lock, "/leak/lock"},
                                                    {mix_.waitgroup, "/leak/waitgroup"}};
    double total = 0;
    for (const auto& [weight, p] : paths) total += weight;
    double r = pick(rng) * total;
    const char* path = "/work";
    for (const auto& [weight, p] : paths) {
      if (r < weight) {
        path = p;
        break;
      }
      r -= weight;
    }
    (void)client.Get(path);
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    const auto now = std::chrono::steady_clock::now();
    if (next > now) {
      std::this_thread::sleep_until(next);
    } else {
      next = now;  // fell behind (a slow request): do not burst to catch up
    }
  }
}

}  // namespace leakwatch::demo
