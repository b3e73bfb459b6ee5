/* A static program with a thread, some output on both streams and a chosen exit
 * code. It reports whether it really is static (no PT_INTERP: the kernel starts
 * it without the dynamic loader), so the preload test cannot pass by accident
 * on a dynamic build. */

#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int HasInterpreter(struct dl_phdr_info* info, size_t size, void* out) {
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_INTERP) *(int*)out = 1;
  }
  return 1; /* the first object is the program itself */
}

static void* Worker(void* arg) {
  long* sum = arg;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  for (long i = 1; i <= 1000; ++i) {
    pthread_mutex_lock(&m);
    *sum += i;
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

int main(void) {
  int dynamic = 0;
  dl_iterate_phdr(&HasInterpreter, &dynamic);
  printf("linked statically: %s\n", dynamic ? "no" : "yes");
  long sum = 0;
  pthread_t t;
  if (pthread_create(&t, NULL, &Worker, &sum) != 0 || pthread_join(t, NULL) != 0) return 1;
  printf("sum: %ld\n", sum);
  fprintf(stderr, "leakwatch static-link test: stderr line\n");
  return 3;
}
