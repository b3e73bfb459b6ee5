// A short preloaded program that blocks once (short_processes_test.py): main
// holds a lock and starts a thread (the agent starts just before it) that
// waits for the lock, the process's one recorded block, whose site the hook
// symbolizes. main releases the lock once the thread sleeps on it in the
// kernel, joins it and exits. With "pause" it first prints "blocked" and waits
// for a line on stdin (the test reads the dump and the maps meanwhile).
// Exits 3, naming the mapping on stderr, if libdebuginfod or libcurl is mapped
// at the end: leakwatch loads neither unless DEBUGINFOD_URLS asks for it.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t waiter_tid;

__attribute__((noinline)) static void wait_once(void) {
  pthread_mutex_lock(&lock);  // LINE-OF-THE-WAIT
  pthread_mutex_unlock(&lock);
}

static void* waiter(void* arg) {
  (void)arg;
  __atomic_store_n(&waiter_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  wait_once();
  return NULL;
}

// Whether thread `tid` sleeps in futex(2) on `word` (/proc's syscall line:
// the number, then the arguments, the futex word's address first).
static int sleeps_on(pid_t tid, const void* word) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  long nr = -1;
  unsigned long arg0 = 0;
  const int fields = fscanf(f, "%ld %lx", &nr, &arg0);
  fclose(f);
  return fields == 2 && nr == SYS_futex && arg0 == (unsigned long)word;
}

// 0, or 3 after naming the first libdebuginfod or libcurl mapping on stderr.
static int check_maps(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (f == NULL) return 1;
  char line[4096];
  int status = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strstr(line, "libdebuginfod") != NULL || strstr(line, "libcurl") != NULL) {
      fprintf(stderr, "block_once: mapped at exit: %s", line);
      status = 3;
      break;
    }
  }
  fclose(f);
  return status;
}

int main(int argc, char** argv) {
  const int pause_after_block = argc > 1 && strcmp(argv[1], "pause") == 0;
  pthread_mutex_lock(&lock);
  pthread_t thread;
  if (pthread_create(&thread, NULL, waiter, NULL) != 0) return 1;
  pid_t tid;
  while ((tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)) == 0 || !sleeps_on(tid, &lock)) {
    const struct timespec step = {0, 200 * 1000};
    nanosleep(&step, NULL);
  }
  if (pause_after_block) {
    puts("blocked");
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
  }
  pthread_mutex_unlock(&lock);
  pthread_join(thread, NULL);
  return check_maps();
}
