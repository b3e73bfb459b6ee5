// What the debug-information test programs share: main holds `lock`, starts
// one thread running `worker` (which blocks on `lock`) and releases the lock
// when a line arrives on stdin, then joins the thread.
#ifndef LEAKWATCH_TESTS_INTERCEPT_DEBUGINFO_HOLD_LOCK_H_
#define LEAKWATCH_TESTS_INTERCEPT_DEBUGINFO_HOLD_LOCK_H_

#include <pthread.h>
#include <stdio.h>

// 0 once the thread has been released and joined, 1 if it could not start or
// stdin closed first.
static inline int hold_lock_until_a_line(pthread_mutex_t* lock, void* (*worker)(void*)) {
  pthread_mutex_lock(lock);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) return 1;
  pthread_mutex_unlock(lock);
  pthread_join(t, NULL);
  return 0;
}

#endif  // LEAKWATCH_TESTS_INTERCEPT_DEBUGINFO_HOLD_LOCK_H_
