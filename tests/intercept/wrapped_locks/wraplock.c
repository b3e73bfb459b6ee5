// A lock wrapper in a shared library, as programs put around their primitives
// (MariaDB's inline_mysql_mutex_lock, CPython's PyThread_acquire_lock_timed):
// every wait of the program reaches pthread_mutex_lock from here.

#include "wraplock.h"

void wrap_lock(pthread_mutex_t* mutex) {
  pthread_mutex_lock(mutex);
  // Not a tail call: the wrapper's frame stays on the stack, as in the real ones.
  __asm__ volatile("" ::: "memory");
}

void wrap_unlock(pthread_mutex_t* mutex) { pthread_mutex_unlock(mutex); }
