// A thread blocked 10 calls deep in code built without frame pointers
// (-O2 -fomit-frame-pointer, as distributions build), for the CFI-unwinding
// test (debuginfo_test.py). main holds the lock until a line arrives on stdin.
#include <pthread.h>

#include "hold_lock.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int sink;

// Each level calls the next and then writes `sink`: no tail call, so every
// level keeps a frame on the stack.
#define LEVEL(n, next)                                     \
  __attribute__((noinline)) static void level_##n(int x) { \
    next(x + 1);                                           \
    sink = x;                                              \
  }

__attribute__((noinline)) static void level_10(int x) {
  pthread_mutex_lock(&lock);
  pthread_mutex_unlock(&lock);
  sink = x;
}
LEVEL(9, level_10)
LEVEL(8, level_9)
LEVEL(7, level_8)
LEVEL(6, level_7)
LEVEL(5, level_6)
LEVEL(4, level_5)
LEVEL(3, level_4)
LEVEL(2, level_3)
LEVEL(1, level_2)

static void* worker(void* arg) {
  (void)arg;
  level_1(0);
  return NULL;
}

int main(void) { return hold_lock_until_a_line(&lock, worker); }
