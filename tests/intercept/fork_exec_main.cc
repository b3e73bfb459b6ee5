// Forks while other threads lock and unlock, uses locks and threads in each
// child, then execs itself; under the preload library every child must exit
// with the code it chose and the parent must finish. Run by ctest with
// LD_PRELOAD=libleakwatch_preload.so (see CMakeLists.txt).

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr int kChildren = 20;
constexpr int kExecExitCode = 7;

int ChildAfterFork(const char* self) {
  // Locks and threads work in the child (the agent's own locks were taken
  // across fork and released, or re-initialised, by its atfork handlers).
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
  int failures = 0;
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) _exit(ChildAfterFork(argv[0]));
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != kExecExitCode) {
      std::fprintf(stderr, "child %d: status %#x, want exit %d\n", i, status, kExecExitCode);
      ++failures;
    }
  }
  stop = true;
  for (std::thread& t : busy) t.join();
  if (failures != 0) return 1;
  std::printf("%d children forked, exec'd and exited with %d\n", kChildren, kExecExitCode);
  return 0;
}
