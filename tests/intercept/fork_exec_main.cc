// Forks while other threads lock and unlock and intern new wait sites (taking
// leakwatch's symbolizer and site-table locks), uses locks, threads and a new
// site in each child, then execs itself; under the preload library every child
// must exit with the code it chose and the parent must finish. A child that
// inherited one of leakwatch's locks held would deadlock at its new site: an
// alarm turns that into a failed exit status. Run by ctest with
// LD_PRELOAD=libleakwatch_preload.so (see CMakeLists.txt).

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr int kChildren = 20;
constexpr int kExecExitCode = 7;
constexpr int kQuickExitCode = 5;
constexpr int kMaxQuickChildren = 2000;
constexpr int kSitesPerThread = 400;  // sites the busy threads intern during the forks
constexpr int kInternThreads = 2;

volatile int g_site_sink;

// A wait site of its own per N: a condition wait whose deadline has passed, so
// it returns at once, but the hook records it and interns its site the first
// time (symbolizing the caller). N in the body keeps the copies distinct. The
// mutex is the caller's own: a child never inherits it held.
template <int N>
__attribute__((noinline)) void WaitAtNewSite() {
  g_site_sink = N;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  const timespec past = {0, 0};
  pthread_mutex_lock(&mu);
  pthread_cond_timedwait(&cv, &mu, &past);
  pthread_mutex_unlock(&mu);
}

template <int... N>
constexpr std::array<void (*)(), sizeof...(N)> SiteTable(std::integer_sequence<int, N...>) {
  return {&WaitAtNewSite<N>...};
}

// Sites [0, kInternThreads * kSitesPerThread) for the busy threads, then one
// that only the children wait at (so each child interns it anew).
constexpr auto kSites =
    SiteTable(std::make_integer_sequence<int, kInternThreads * kSitesPerThread + 1>());
constexpr int kChildSite = kInternThreads * kSitesPerThread;

// Waits at a site the parent never waited at: interning it takes the site
// table's and the symbolizer's locks, which must not have been inherited held.
// A deadlock there ends the child with SIGALRM, which the parent reports.
void WaitAtChildOnlySite() {
  alarm(60);
  kSites[kChildSite]();
  alarm(0);
}

// Forks one child that runs `child` and checks that it exits with `want`.
bool ForkAndCheck(const char* what, int i, int want, const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid == 0) _exit(child());
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != want) {
    std::fprintf(stderr, "%s child %d: status %#x, want exit %d\n", what, i, status, want);
    return false;
  }
  return true;
}

int ChildAfterFork(const char* self) {
  WaitAtChildOnlySite();
  // Locks and threads work in the child (the agent's own locks were taken
  // across fork and released by its atfork handlers).
  std::mutex m;
  std::thread t([&m] {
    for (int i = 0; i < 1000; ++i) std::lock_guard<std::mutex> lock(m);
  });
  for (int i = 0; i < 1000; ++i) std::lock_guard<std::mutex> lock(m);
  t.join();
  execl(self, self, "exec-child", static_cast<char*>(nullptr));
  std::perror("execl");
  return 99;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "exec-child") == 0) return kExecExitCode;

  std::mutex shared;
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      while (!stop) std::lock_guard<std::mutex> lock(shared);
    });
  }
  std::atomic<int> interning{kInternThreads};
  for (int i = 0; i < kInternThreads; ++i) {
    busy.emplace_back([&, i] {
      for (int s = 0; s < kSitesPerThread && !stop; ++s) kSites[i * kSitesPerThread + s]();
      --interning;
    });
  }
  // While the busy threads intern their sites: quick children that only wait
  // at the child-only site.
  int failures = 0;
  int quick = 0;
  for (; interning.load() > 0 && quick < kMaxQuickChildren; ++quick) {
    if (!ForkAndCheck("quick", quick, kQuickExitCode, [] {
          WaitAtChildOnlySite();
          return kQuickExitCode;
        })) {
      ++failures;
    }
  }
  // Children that also lock, start a thread and exec.
  for (int i = 0; i < kChildren; ++i) {
    if (!ForkAndCheck("exec", i, kExecExitCode, [&] { return ChildAfterFork(argv[0]); })) {
      ++failures;
    }
  }
  stop = true;
  for (std::thread& t : busy) t.join();
  if (failures != 0) return 1;
  std::printf(
      "%d children forked while other threads interned sites, %d more exec'd and exited with %d\n",
      quick, kChildren, kExecExitCode);
  return 0;
}
