// A program whose thread blocks in a static (file-local) function, for the
// debug-information test (debuginfo_test.py): built with -g and a build-id,
// then stripped and its debug information split into a separate file.
// main holds the lock until a line arrives on stdin.
#include <pthread.h>

#include "hold_lock.h"

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

int main(void) { return hold_lock_until_a_line(&lock, worker); }
