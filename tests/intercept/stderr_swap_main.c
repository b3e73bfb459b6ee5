/* For preload_wrappers_test.py: a program that, unless its argument is "-",
   puts a regular file of its own on descriptor 2 (as a daemon that closed its
   stderr and then opened a data file might), then starts and joins a thread
   and prints "done". A preloaded agent that cannot start then must not write
   its message into that file. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void* Run(void* arg) { return arg; }

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (strcmp(argv[1], "-") != 0) {
    const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) return 3;
    close(fd);
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, Run, NULL) != 0) return 4;
  pthread_join(thread, NULL);
  puts("done");
  return 0;
}
