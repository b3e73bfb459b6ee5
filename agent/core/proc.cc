// Facts about the process read from /proc.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/read_snapshot.h"

namespace leakwatch::core {
namespace {

// Reads a small /proc file into buf (NUL-terminated); returns bytes or -1.
ssize_t ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t total = 0;
  while (static_cast<size_t>(total) < size - 1) {
    ssize_t n = read(fd, buf + total, size - 1 - total);
    if (n <= 0) break;
    total += n;
  }
  close(fd);
  buf[total] = '\0';
  return total;
}

}  // namespace

int64_t OsThreadCount() noexcept {
  char buf[4096];
  if (ReadSmallFile("/proc/self/status", buf, sizeof buf) <= 0) return -1;
  const char* p = std::strstr(buf, "\nThreads:");
  if (p == nullptr) return -1;
  return std::strtoll(p + 9, nullptr, 10);
}

namespace {

// Field 22 of /proc/self/stat (the start in clock ticks after boot) and
// /proc/stat's btime, in seconds since the epoch; 0 when unreadable.
double ReadProcessStartTimeSeconds() noexcept {
  char buf[4096];
  // The command name (field 2) may contain spaces, so count from its ')'.
  if (ReadSmallFile("/proc/self/stat", buf, sizeof buf) <= 0) return 0.0;
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0.0;
  int field = 2;
  while (*p != '\0' && field < 22) {
    if (*p++ == ' ') ++field;
  }
  const double ticks = std::strtod(p, nullptr);
  char stat[16384];
  if (ReadSmallFile("/proc/stat", stat, sizeof stat) <= 0) return 0.0;
  const char* b = std::strstr(stat, "\nbtime ");
  if (b == nullptr) return 0.0;
  const double boot = std::strtod(b + 7, nullptr);
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? boot + ticks / hz : 0.0;
}

}  // namespace

// Cached per process: a fork child that runs its own agent (a pre-fork
// server's workers) starts later than its parent, and a judge that saw the
// parent's start time would not see the child's restarts.
double ProcessStartTimeSeconds() noexcept {
  static std::atomic<pid_t> cached_pid{0};
  static std::atomic<double> cached{0};
  const pid_t pid = getpid();
  if (cached_pid.load(std::memory_order_acquire) == pid) {
    return cached.load(std::memory_order_relaxed);
  }
  const double start = ReadProcessStartTimeSeconds();
  cached.store(start, std::memory_order_relaxed);
  cached_pid.store(pid, std::memory_order_release);
  return start;
}

}  // namespace leakwatch::core
