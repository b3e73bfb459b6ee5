/* A process that does nothing, like true(1), but prints its own peak resident
   memory (VmHWM of /proc/self/status, in kB) before it exits: ru_maxrss of a
   spawned process also counts the spawning process's memory (the kernel keeps
   the high-water mark of the address space an exec replaces). */
#include <stdio.h>
#include <string.h>

int main(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return 1;
  char line[256];
  long hwm = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmHWM:", 6) == 0) sscanf(line + 6, "%ld", &hwm);
  }
  fclose(f);
  printf("%ld\n", hwm);
  return hwm < 0;
}
