// A wait at a new return address made while the thread holds a lock the
// agent's symbolizer needs: a library constructor, run by dlopen() under the
// dynamic loader's lock, waits for a mutex; symbolizing that address calls
// dladdr() on the symbolizer thread, which waits for the same loader lock.
// The hook must give up waiting for the symbolizer (bounded) and let the
// program run on: it prints "through" and exits 0 (debuginfo_test.py runs it
// under a deadline). Usage: loader_lock_main LIBRARY
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t loader_lock_test_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready = 0;

// Holds the mutex until the constructor really sleeps on it (glibc marks a
// mutex with waiters 2): past the hook, so the hook did not wait forever.
static void* holder(void* arg) {
  (void)arg;
  pthread_mutex_lock(&loader_lock_test_mutex);
  pthread_mutex_lock(&ready_mu);
  ready = 1;
  pthread_cond_signal(&ready_cv);
  pthread_mutex_unlock(&ready_mu);
  const struct timespec step = {0, 1000 * 1000};
  while (__atomic_load_n(&loader_lock_test_mutex.__data.__lock, __ATOMIC_ACQUIRE) != 2) {
    nanosleep(&step, NULL);
  }
  pthread_mutex_unlock(&loader_lock_test_mutex);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  pthread_t t;
  if (pthread_create(&t, NULL, holder, NULL) != 0) return 1;
  pthread_mutex_lock(&ready_mu);
  while (!ready) pthread_cond_wait(&ready_cv, &ready_mu);
  pthread_mutex_unlock(&ready_mu);
  if (dlopen(argv[1], RTLD_NOW) == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  pthread_join(t, NULL);
  puts("through");
  return 0;
}
