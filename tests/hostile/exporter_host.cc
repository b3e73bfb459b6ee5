// A host process for the hostile-client suite: starts leakwatch with the
// config file named by argv[1], keeps a few application threads (one of them
// blocked on a leakwatch::Mutex, so the scrapes have tasks and a site to
// report), prints "port <n>" and "ready", then answers each "ping" line on
// stdin with "pong" from an application thread: a reply proves the host's
// threads are not blocked by whatever the clients did to the exporter. EOF on
// stdin stops the agent and exits 0.

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

namespace {

void Print(const std::string& line) {
  const std::string text = line + "\n";
  (void)!write(STDOUT_FILENO, text.data(), text.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: exporter_host CONFIG.yaml\n");
    return 2;
  }
  absl::StatusOr<leakwatch::Config> config = leakwatch::LoadConfigFile(argv[1]);
  if (!config.ok()) {
    std::fprintf(stderr, "exporter_host: %s\n", config.status().ToString().c_str());
    return 3;
  }
  if (absl::Status s = leakwatch::Start(*config); !s.ok()) {
    std::fprintf(stderr, "exporter_host: leakwatch::Start: %s\n", s.ToString().c_str());
    return 3;
  }
  leakwatch::Mutex held;
  held.Lock();
  // "ready" is printed only once this task is live: the tests read it in the
  // first scrape (GzipWhenAsked failed 1 in a make test under load when the
  // thread had not yet entered its scope).
  std::promise<void> blocked_started;
  std::thread blocked([&held, &blocked_started] {
    leakwatch::TaskScope task("hostile-blocked");
    blocked_started.set_value();
    held.Lock();  // until main unlocks at exit
    held.Unlock();
  });
  blocked_started.get_future().wait();
  // Application work: answers pings handed over by main.
  std::mutex mu;
  std::condition_variable cv;
  int pings = 0;
  bool done = false;
  std::thread worker([&] {
    leakwatch::TaskScope task("hostile-worker");
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [&] { return pings > 0 || done; });
      if (done) return;
      --pings;
      Print("pong");
    }
  });
  Print("port " + std::to_string(leakwatch::ExporterPort()));
  Print("ready");
  char line[64];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    if (std::string(line) != "ping\n") continue;
    std::lock_guard<std::mutex> lock(mu);
    ++pings;
    cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_one();
  worker.join();
  held.Unlock();
  blocked.join();
  leakwatch::Stop();
  return 0;
}
