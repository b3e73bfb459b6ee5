#include "handlers.h"

#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "httplib.h"
#include "leakwatch/sync.h"
#include "leakwatch/task.h"

namespace leakwatch::demo {
namespace {

const TaskKind kRequestKind("request");
const TaskKind kJobKind("job");
const TaskKind kWorkerKind("worker");

// A backend call: blocks the calling task for `ms` (recorded as an io wait).
void CallBackend(int ms) {
  BlockScope blocked(Op::kIo);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Starts a detached worker thread running `fn` as a task of kind "worker".
void Go(std::function<void()> fn) {
  std::thread([fn = std::move(fn)] {
    TaskScope task(kWorkerKind);
    fn();
  }).detach();
}

}  // namespace

struct Service::State {
  // A small worker pool fed through a buffered channel, as many services have.
  Channel<std::function<void()>> jobs{64};
  std::vector<std::thread> pool;

  // The cache lock that /leak/lock's error path forgets to release.
  Mutex cache_mu;
};

Service::Service() : state_(std::make_shared<State>()) {
  for (int i = 0; i < 4; ++i) {
    state_->pool.emplace_back([jobs = state_->jobs]() mutable {
      while (std::optional<std::function<void()>> job = jobs.Recv()) {  // demo-site: pool-idle
        TaskScope task(kJobKind);
        (*job)();
      }
    });
  }
}

Service::~Service() {
  state_->jobs.Close();
  for (std::thread& t : state_->pool) t.join();
}

namespace {

// Healthy: hand a small job to the pool and wait for its answer.
void Work(Service::State& state, httplib::Response& res) {
  TaskScope task(kRequestKind);
  Channel<int> reply;  // unbuffered
  state.jobs.Send([reply]() mutable {
    CallBackend(2);
    reply.Send(42);
  });
  std::optional<int> answer = reply.Recv();  // demo-site: work-recv
  res.set_content(answer ? "ok\n" : "failed\n", "text/plain");
}

// The timeout-handler leak: the worker sends its result on an unbuffered
// channel; the handler gives up after a timeout, so nobody ever receives and
// the worker blocks on its send forever.
void LeakTimeout(httplib::Response& res) {
  TaskScope task(kRequestKind);
  Channel<int> result;  // unbuffered: the bug (a buffer of 1 would fix it)
  Go([result]() mutable {
    CallBackend(30);
    result.Send(42);  // demo-site: timeout-send
  });
  RecvResult<int> r = result.RecvFor(std::chrono::milliseconds(5));
  if (!r.ok()) {
    res.status = 504;
    res.set_content("backend timed out\n", "text/plain");
    return;
  }
  res.set_content("ok\n", "text/plain");
}

// A worker waits for a message nobody will ever send.
void LeakRecv(httplib::Response& res) {
  TaskScope task(kRequestKind);
  Channel<int> cancel;  // the handler forgets to close it
  Go([cancel]() mutable {
    (void)cancel.Recv();  // demo-site: recv-forever
  });
  res.set_content("started a watcher\n", "text/plain");
}

// An error path returns without unlocking: the first worker keeps the lock
// forever (its thread exits holding it) and every later worker blocks on it.
void LeakLock(std::shared_ptr<Service::State> state, httplib::Response& res) {
  TaskScope task(kRequestKind);
  Go([state] {
    state->cache_mu.Lock();  // demo-site: lock-forever
    const bool refresh_failed = true;
    if (refresh_failed) return;  // the bug: no Unlock on this path
    state->cache_mu.Unlock();
  });
  res.set_content("refreshing the cache\n", "text/plain");
}

// Add(2) with only one Done: the waiter never returns.
void LeakWaitGroup(httplib::Response& res) {
  TaskScope task(kRequestKind);
  Go([] {
    auto wg = std::make_shared<WaitGroup>();
    wg->Add(2);
    Go([wg] { wg->Done(); });  // the second part was removed; Add(2) was not
    wg->Wait();                // demo-site: waitgroup-wait
  });
  res.set_content("fan-out started\n", "text/plain");
}

constexpr char kIndex[] =
    "leakwatch-demo\n"
    "  /work             healthy: a pooled job, answered\n"
    "  /leak/timeout     handler times out; its worker blocks on send forever\n"
    "  /leak/recv        a worker waits on a channel nobody sends on\n"
    "  /leak/lock        an error path keeps a mutex locked; later workers block\n"
    "  /leak/waitgroup   Add(2) with one Done; the waiter never returns\n";

}  // namespace

void Service::Register(httplib::Server& server) {
  std::shared_ptr<State> state = state_;
  using Request = httplib::Request;
  using Response = httplib::Response;
  server.Get("/work", [state](const Request&, Response& res) { Work(*state, res); });
  server.Get("/leak/timeout", [](const Request&, Response& res) { LeakTimeout(res); });
  server.Get("/leak/recv", [](const Request&, Response& res) { LeakRecv(res); });
  server.Get("/leak/lock", [state](const Request&, Response& res) { LeakLock(state, res); });
  server.Get("/leak/waitgroup", [](const Request&, Response& res) { LeakWaitGroup(res); });
  server.Get("/", [](const Request&, Response& res) { res.set_content(kIndex, "text/plain"); });
}

}  // namespace leakwatch::demo
