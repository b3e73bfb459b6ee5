// A program whose thread blocks in a static (file-local) function, for the
// debug-information test (debuginfo_test.py): built with -g and a build-id,
// then stripped and its debug information split into a separate file.
// main holds the lock until a line arrives on stdin.
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void wait_in_static_function(void) {
  pthread_mutex_lock(&lock);  // LINE-OF-THE-WAIT
  pthread_mutex_unlock(&lock);
}

static void* worker(void* arg) {
  (void)arg;
  wait_in_static_function();
  return NULL;
}

int main(void) {
  pthread_mutex_lock(&lock);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) return 1;
  pthread_mutex_unlock(&lock);
  pthread_join(t, NULL);
  return 0;
}
