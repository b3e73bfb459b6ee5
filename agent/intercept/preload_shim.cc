// libleakwatch_preload.so: what LD_PRELOAD puts into every process that
// inherits it, the wrapper shells, `true` and `sed` of a start script as much
// as the server they start. It holds the hooks and needs only the C library.
// The agent (config, recording, sampler, exporter) is the separate
// libleakwatch_preload_agent.so beside it, loaded into a process only when
//
//   - its executable matches LEAKWATCH_PROCESSES, a comma-separated list of
//     glob patterns (fnmatch(3)) matched against the executable's base name,
//     or against its full path for a pattern that holds a '/' (unset: every
//     executable), and
//   - it is about to create its first thread (LEAKWATCH_START=thread, the
//     default), or at once when the library loads (LEAKWATCH_START=load, and
//     always when the library is dlopen()ed late rather than preloaded).
//
// So a wrapper (sh -c, mysqld_safe, an entrypoint script) neither takes the
// exporter's port nor pays for an agent: a process that never starts one pays
// for the loading of this library and one fstat(). The environment and
// stderr's identity are read at load; the program may change both later.
//
// Starting the agent before the first thread (the pthread_create hook calls
// StartBeforeFirstThread once): the process has no thread of its own yet, so
// nothing can race the agent's start (signal dispositions, fork, exit). It
// runs in the creating thread, with every asynchronous signal blocked, holding
// no lock of its own while the host's thread is created after it. It is put
// off to a later pthread_create when the calling thread's stack has less than
// kStackNeeded left. pthread_create is not async-signal-safe, so it never runs
// from a signal handler of a correct program.
//
// When the agent cannot start (the exporter's address is taken, a bad
// LEAKWATCH_CONFIG), the process says so once on stderr, if stderr is still
// the file it started with or a terminal, pipe or socket (never a file the
// program opened on descriptor 2 since), and runs on: the hooks stay, and
// record nothing.

#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intercept/capture.h"

namespace leakwatch::intercept::internal {
namespace {

// What starting the agent may take of the calling thread's stack, with room
// to spare (the YAML parser and civetweb's start are the deepest parts).
constexpr size_t kStackNeeded = 256 * 1024;

constexpr char kAgentLibrary[] = "libleakwatch_preload_agent.so";

// Read from the environment at load.
char g_config_path[PATH_MAX];  // empty: the defaults
char g_processes[4096];        // empty: every executable
bool g_stderr_known = false;
dev_t g_stderr_dev = 0;
ino_t g_stderr_ino = 0;

bool CopyEnv(const char* name, char* out, size_t size) {
  const char* value = getenv(name);
  if (value == nullptr) value = "";
  if (strlen(value) >= size) return false;
  strcpy(out, value);
  return true;
}

// Whether a line written to descriptor 2 reaches the program's stderr, not a
// file the program opened there since.
bool StderrIsOurs() {
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  if (g_stderr_known && st.st_dev == g_stderr_dev && st.st_ino == g_stderr_ino) return true;
  return S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

void Say(const char* exe, const char* what) {
  if (!StderrIsOurs()) return;
  char line[1536];
  const int n = snprintf(line, sizeof line,
                         "leakwatch: %.300s (pid %d): %.1000s; it runs on without the agent\n", exe,
                         static_cast<int>(getpid()), what);
  if (n <= 0) return;
  const size_t len =
      static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1;
  ssize_t w;
  do {
    w = write(STDERR_FILENO, line, len);
  } while (w < 0 && errno == EINTR);
}

// The executable's path in `exe`; whether it matches LEAKWATCH_PROCESSES.
bool ExecutableMatches(char* exe, size_t size) {
  const ssize_t n = readlink("/proc/self/exe", exe, size - 1);
  exe[n > 0 ? n : 0] = '\0';
  if (n <= 0) strcpy(exe, "?");
  if (g_processes[0] == '\0') return true;
  const char* slash = strrchr(exe, '/');
  const char* base = slash != nullptr ? slash + 1 : exe;
  char pattern[sizeof g_processes];
  for (const char* p = g_processes; *p != '\0';) {
    const char* end = strchr(p, ',');
    const size_t len = end != nullptr ? static_cast<size_t>(end - p) : strlen(p);
    memcpy(pattern, p, len);
    pattern[len] = '\0';
    if (len > 0) {
      const bool path = memchr(pattern, '/', len) != nullptr;
      if (fnmatch(pattern, path ? exe : base, 0) == 0) return true;
    }
    p += len;
    if (*p == ',') ++p;
  }
  return false;
}

// libleakwatch_preload_agent.so in this library's directory.
bool AgentLibraryPath(char* out, size_t size) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&AgentLibraryPath), &info) == 0 || info.dli_fname == nullptr) {
    return false;
  }
  const char* slash = strrchr(info.dli_fname, '/');
  const size_t dir = slash != nullptr ? static_cast<size_t>(slash - info.dli_fname + 1) : 0;
  if (dir + sizeof kAgentLibrary > size) return false;
  memcpy(out, info.dli_fname, dir);
  memcpy(out + dir, kAgentLibrary, sizeof kAgentLibrary);
  return true;
}

using StartFn = int (*)(const char* config_path, char* message, size_t size);

// Loads and starts the agent in the calling thread, if this process is one to
// have it. Runs at most once per process (and once more in a fork child that
// had none).
void StartAgent() {
  const int saved_errno = errno;
  sigset_t block;
  sigset_t saved_mask;
  sigfillset(&block);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&block, sync);
  pthread_sigmask(SIG_BLOCK, &block, &saved_mask);

  char exe[PATH_MAX];
  if (ExecutableMatches(exe, sizeof exe)) {
    char path[PATH_MAX];
    if (!AgentLibraryPath(path, sizeof path)) {
      Say(exe, "cannot find the directory of libleakwatch_preload.so");
    } else {
      ThreadState& ts = tls_state;
      ts.in_hook = true;  // the loader's own locking is not the program's
      void* agent = dlopen(path, RTLD_NOW | RTLD_LOCAL);
      const char* load_error = agent == nullptr ? dlerror() : nullptr;
      auto start = agent != nullptr
                       ? reinterpret_cast<StartFn>(dlsym(agent, "leakwatch_preload_start"))
                       : nullptr;
      ts.in_hook = false;
      char message[1024] = {};
      if (agent == nullptr) {
        snprintf(message, sizeof message, "cannot load the agent: %.900s",
                 load_error != nullptr ? load_error : path);
        Say(exe, message);
      } else if (start == nullptr) {
        Say(exe, "the agent library has no leakwatch_preload_start");
      } else if (start(g_config_path[0] != '\0' ? g_config_path : nullptr, message,
                       sizeof message) != 0) {
        Say(exe, message);
      }
    }
  }

  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  errno = saved_errno;
}

// Whether the calling thread's stack has room for StartAgent.
bool EnoughStack() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return true;  // unknown: the main thread's
  void* low = nullptr;
  size_t size = 0;
  const int r = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (r != 0) return true;
  const char here = 0;
  const uintptr_t sp = reinterpret_cast<uintptr_t>(&here);
  return sp > reinterpret_cast<uintptr_t>(low) &&
         sp - reinterpret_cast<uintptr_t>(low) >= kStackNeeded;
}

void StartBeforeFirstThread() {
  if (!EnoughStack()) return;  // a later thread creation, from a deeper stack, tries
  void (*expected)() = &StartBeforeFirstThread;
  if (!g_before_first_thread.compare_exchange_strong(expected, nullptr,
                                                     std::memory_order_acq_rel)) {
    return;  // another thread is starting it
  }
  StartAgent();
}

// Whether this library's hooks are the process's pthread_create: preloaded,
// not dlopen()ed late (a late dlopen() puts the library after libc in the
// lookup scope, so the program's calls never reach it and nothing would ever
// start the agent before a thread: it starts at load then).
bool HooksInterposed() {
  void* global = dlsym(RTLD_DEFAULT, "pthread_create");
  Dl_info theirs;
  Dl_info ours;
  return global != nullptr && dladdr(global, &theirs) != 0 &&
         dladdr(reinterpret_cast<void*>(&HooksInterposed), &ours) != 0 &&
         theirs.dli_fbase == ours.dli_fbase;
}

// After ResolveAll and the fork handlers of hooks.cc (101).
__attribute__((constructor(200))) void DecideAtLoad() {
  struct stat st;
  if (fstat(STDERR_FILENO, &st) == 0) {
    g_stderr_known = true;
    g_stderr_dev = st.st_dev;
    g_stderr_ino = st.st_ino;
  }
  char start_mode[16];
  char exe[PATH_MAX];
  if (!CopyEnv("LEAKWATCH_START", start_mode, sizeof start_mode) ||
      (start_mode[0] != '\0' && strcmp(start_mode, "thread") != 0 &&
       strcmp(start_mode, "load") != 0)) {
    ExecutableMatches(exe, sizeof exe);
    Say(exe, "LEAKWATCH_START must be \"thread\" (the default) or \"load\"");
    return;
  }
  if (!CopyEnv("LEAKWATCH_CONFIG", g_config_path, sizeof g_config_path)) {
    ExecutableMatches(exe, sizeof exe);
    Say(exe, "LEAKWATCH_CONFIG: the path is too long");
    return;
  }
  if (!CopyEnv("LEAKWATCH_PROCESSES", g_processes, sizeof g_processes)) {
    ExecutableMatches(exe, sizeof exe);
    Say(exe, "LEAKWATCH_PROCESSES: longer than 4095 characters");
    return;
  }
  if (strcmp(start_mode, "load") == 0 || !HooksInterposed()) {
    StartAgent();
  } else {
    g_before_first_thread.store(&StartBeforeFirstThread, std::memory_order_release);
  }
}

}  // namespace
}  // namespace leakwatch::intercept::internal
