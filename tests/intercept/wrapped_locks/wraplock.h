// A lock wrapper in a shared library (wraplock.c).

#ifndef LEAKWATCH_TESTS_INTERCEPT_WRAPPED_LOCKS_WRAPLOCK_H_
#define LEAKWATCH_TESTS_INTERCEPT_WRAPPED_LOCKS_WRAPLOCK_H_

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

void wrap_lock(pthread_mutex_t* mutex);
void wrap_unlock(pthread_mutex_t* mutex);

#ifdef __cplusplus
}
#endif

#endif  // LEAKWATCH_TESTS_INTERCEPT_WRAPPED_LOCKS_WRAPLOCK_H_
