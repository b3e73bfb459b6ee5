// A program that uses signals the way servers do, for tests/signals: built once
// plain (run with and without LD_PRELOAD=libleakwatch_preload.so) and once
// linked with leakwatch, calling leakwatch::Start() first thing in main, before
// it blocks any signal (LEAKWATCH_LINKED).
//
//   signal_host sigwait     blocks SIGTERM, SIGINT, SIGHUP and SIGQUIT in every
//                           thread (with no-op handlers, as MariaDB does), waits
//                           for them with sigwait() in one thread (whose id it
//                           prints as "sigwait-thread <tid>"), and prints
//                           "got <n>" and exits 0 when one arrives.
//   signal_host handlers    installs SIGALRM and SIGCHLD handlers that only the
//                           program's handler thread leaves unblocked; prints
//                           "ready"; then, for each line "alarm" or "child" on
//                           stdin, sends itself SIGALRM (kill) or forks a child
//                           that exits 7, and prints the thread the handler ran
//                           on ("handler-thread" or "other-thread") and, for a
//                           child, what waitpid() said.
//   signal_host disposition prints SIGPIPE's and SIGCHLD's dispositions
//                           ("SIGPIPE default", "... ignored", "... handler").
//   signal_host sigpipe     writes to a pipe whose reader is closed; dies of
//                           SIGPIPE unless it is ignored (then prints "EPIPE").
//
// Each mode prints "ready" once its threads run, so a driver waits for that line
// instead of for time.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef LEAKWATCH_LINKED
#include "leakwatch/agent.h"
#include "leakwatch/config.h"
#endif

namespace {

void NoOp(int) {}

void Print(const std::string& line) {
  std::string text = line + "\n";
  (void)!write(STDOUT_FILENO, text.data(), text.size());
}

// The agent's threads exist before the program blocks anything: the preload's
// constructor has run, or (linked) Start() is called here.
void StartAgent() {
#ifdef LEAKWATCH_LINKED
  const char* path = getenv("LEAKWATCH_CONFIG");
  absl::StatusOr<leakwatch::Config> config =
      path != nullptr ? leakwatch::LoadConfigFile(path) : leakwatch::Config{};
  if (!config.ok()) {
    fprintf(stderr, "signal_host: %s\n", config.status().ToString().c_str());
    exit(3);
  }
  if (absl::Status s = leakwatch::Start(*config); !s.ok()) {
    fprintf(stderr, "signal_host: leakwatch::Start: %s\n", s.ToString().c_str());
    exit(3);
  }
#endif
}

// Workers that sit in a condition variable until the program shuts down.
class Workers {
 public:
  explicit Workers(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return done_; });
      });
    }
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

int SigwaitServer() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) {
    sigaddset(&set, sig);
    signal(sig, &NoOp);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Workers workers(4);
  int got = 0;
  std::atomic<pid_t> waiter{0};
  std::thread signal_thread([&] {
    waiter = static_cast<pid_t>(syscall(SYS_gettid));
    sigwait(&set, &got);
  });
  while (waiter.load() == 0) usleep(1000);
  // sigwait() unblocks what it waits for while it waits: the driver exempts it.
  Print("sigwait-thread " + std::to_string(waiter.load()));
  Print("ready");
  signal_thread.join();
  Print("got " + std::to_string(got));
  return 0;
}

std::atomic<pid_t> g_handler_tid{0};
std::atomic<int> g_alarms{0};
std::atomic<int> g_children{0};
std::atomic<bool> g_on_other_thread{false};

void Record(std::atomic<int>& counter) {
  if (static_cast<pid_t>(syscall(SYS_gettid)) != g_handler_tid.load()) g_on_other_thread = true;
  counter.fetch_add(1);
}
void OnAlarm(int) { Record(g_alarms); }
void OnChild(int) { Record(g_children); }

// Waits until `counter` passes `before` (the handler ran); true if it did
// within a minute.
bool AwaitHandler(const std::atomic<int>& counter, int before) {
  for (int i = 0; i < 60000 && counter.load() == before; ++i) usleep(1000);
  return counter.load() != before;
}

int Handlers() {
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = &OnAlarm;
  sigaction(SIGALRM, &action, nullptr);
  action.sa_handler = &OnChild;
  action.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread below
  Workers workers(2);
  std::atomic<bool> stop{false};
  std::thread handler_thread([&] {
    g_handler_tid = static_cast<pid_t>(syscall(SYS_gettid));
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    while (!stop.load()) pause();
  });
  while (g_handler_tid.load() == 0) usleep(1000);
  Print("ready");
  char line[64];
  while (fgets(line, sizeof line, stdin) != nullptr) {
    std::string reply;
    if (strncmp(line, "alarm", 5) == 0) {
      const int before = g_alarms.load();
      kill(getpid(), SIGALRM);
      reply = AwaitHandler(g_alarms, before) ? "alarm handled" : "alarm lost";
    } else if (strncmp(line, "child", 5) == 0) {
      const int before = g_children.load();
      const pid_t child = fork();
      if (child == 0) _exit(7);
      int status = 0;
      const pid_t waited = waitpid(child, &status, 0);
      reply = waited == child && WIFEXITED(status)
                  ? "child exited " + std::to_string(WEXITSTATUS(status))
                  : std::string("child waitpid failed: ") + strerror(errno);
      reply += AwaitHandler(g_children, before) ? ", handled" : ", lost";
    } else {
      continue;
    }
    reply += g_on_other_thread.exchange(false) ? " on other-thread" : " on handler-thread";
    Print(reply);
  }
  stop = true;
  pthread_kill(handler_thread.native_handle(), SIGALRM);
  handler_thread.join();
  return 0;
}

const char* Disposition(int sig) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  if (now.sa_handler == SIG_DFL) return "default";
  if (now.sa_handler == SIG_IGN) return "ignored";
  return "handler";
}

int Dispositions() {
  Print(std::string("SIGPIPE ") + Disposition(SIGPIPE));
  Print(std::string("SIGCHLD ") + Disposition(SIGCHLD));
  return 0;
}

int WriteToClosedPipe() {
  int fds[2];
  if (pipe(fds) != 0) return 3;
  close(fds[0]);
  const ssize_t n = write(fds[1], "x", 1);
  if (n < 0 && errno == EPIPE) Print("EPIPE");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  // A mode that sets SIGPIPE itself before or after the agent starts.
  if (mode == "sigpipe-default-before") signal(SIGPIPE, SIG_DFL);
  StartAgent();
  if (mode == "sigpipe-default-after") signal(SIGPIPE, SIG_DFL);
  if (mode == "sigwait") return SigwaitServer();
  if (mode == "handlers") return Handlers();
  if (mode == "disposition") return Dispositions();
  if (mode == "sigpipe" || mode == "sigpipe-default-before" || mode == "sigpipe-default-after") {
    return WriteToClosedPipe();
  }
  fprintf(stderr,
          "usage: signal_host sigwait|handlers|disposition|sigpipe|sigpipe-default-before|"
          "sigpipe-default-after\n");
  return 2;
}
