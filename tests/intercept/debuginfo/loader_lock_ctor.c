// The library loader_lock_main.c dlopen()s: its constructor runs holding the
// dynamic loader's lock and waits for a mutex at a return address never seen
// before (see loader_lock_main.c).
#include <pthread.h>

extern pthread_mutex_t loader_lock_test_mutex;

__attribute__((noinline)) static void wait_in_constructor(void) {
  pthread_mutex_lock(&loader_lock_test_mutex);
  pthread_mutex_unlock(&loader_lock_test_mutex);
}

__attribute__((constructor)) static void init(void) { wait_in_constructor(); }
