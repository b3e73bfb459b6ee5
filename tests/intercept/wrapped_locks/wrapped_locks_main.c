// 20 threads block on 5 distinct mutexes, 4 on each, every one through the
// same wrapper (wrap_lock, in libwraplock_for_tests.so), each lock from
// its own function (wait_on_lock_0 .. wait_on_lock_4). Main holds the five
// locks, prints "ready" once the threads are started, and releases them when a
// line (or EOF) arrives on stdin; then it joins the threads and exits 0.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "wraplock.h"

enum { kLocks = 5, kThreadsPerLock = 4 };

static pthread_mutex_t g_locks[kLocks];

#define WAIT_ON_LOCK(i)                                         \
  __attribute__((noinline)) void* wait_on_lock_##i(void* arg) { \
    (void)arg;                                                  \
    wrap_lock(&g_locks[i]);                                     \
    __asm__ volatile("" ::: "memory");                          \
    wrap_unlock(&g_locks[i]);                                   \
    return NULL;                                                \
  }

WAIT_ON_LOCK(0)
WAIT_ON_LOCK(1)
WAIT_ON_LOCK(2)
WAIT_ON_LOCK(3)
WAIT_ON_LOCK(4)

int main(void) {
  void* (*const bodies[kLocks])(void*) = {wait_on_lock_0, wait_on_lock_1, wait_on_lock_2,
                                          wait_on_lock_3, wait_on_lock_4};
  for (int i = 0; i < kLocks; ++i) {
    pthread_mutex_init(&g_locks[i], NULL);
    pthread_mutex_lock(&g_locks[i]);
  }
  pthread_t threads[kLocks * kThreadsPerLock];
  for (int i = 0; i < kLocks * kThreadsPerLock; ++i) {
    if (pthread_create(&threads[i], NULL, bodies[i % kLocks], NULL) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  printf("ready\n");
  fflush(stdout);
  char line[64];
  (void)fgets(line, sizeof line, stdin);
  for (int i = 0; i < kLocks; ++i) pthread_mutex_unlock(&g_locks[i]);
  for (int i = 0; i < kLocks * kThreadsPerLock; ++i) pthread_join(threads[i], NULL);
  return 0;
}
