#include "core/thread_limit.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace leakwatch::core {
namespace {

// Reads a small file whole (at most 64 KiB); false when it cannot be read.
bool ReadFile(const std::string& path, std::string& out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && out.size() < 65536) out.append(buf, n);
  close(fd);
  return n == 0;
}

// A limit file holds a positive integer or "max"; -1 for "max" or anything else.
int64_t ReadLimit(const std::string& path) {
  std::string text;
  if (!ReadFile(path, text)) return -1;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text == "max") return -1;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || value <= 0) return -1;
  return value;
}

// The smaller of two limits, where -1 means none.
int64_t Smaller(int64_t a, int64_t b) {
  if (a < 0) return b;
  if (b < 0) return a;
  return a < b ? a : b;
}

// The cgroup path of the process for the pids limit and the directory it is
// under: v2's "0::/path" (mounted at cgroup_root), or v1's
// "N:...pids...:/path" (mounted at cgroup_root/pids). False when neither.
bool PidsCgroup(const ThreadLimitSources& s, std::string& dir, std::string& path) {
  std::string text;
  if (!ReadFile(s.proc_root + "/self/cgroup", text)) return false;
  bool found = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // hierarchy-id:controllers:path (the path may itself hold colons)
    const std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    if (absl::c_linear_search(controllers, "pids")) {
      // v1 wins: where it is mounted, v2 has no pids controller
      dir = s.cgroup_root + "/pids";
      path = std::string(fields[2]);
      return true;
    }
    if (fields[0] == "0" && fields[1].empty()) {
      dir = s.cgroup_root;
      path = std::string(fields[2]);
      found = true;
    }
  }
  return found;
}

// The smallest pids.max from the process's cgroup up to the root.
int64_t CgroupPidsMax(const ThreadLimitSources& s) {
  std::string dir, path;
  if (!PidsCgroup(s, dir, path)) return -1;
  if (path.find("/..") != std::string::npos) return -1;  // never leave the hierarchy
  int64_t limit = -1;
  while (true) {
    limit = Smaller(limit, ReadLimit(dir + path + "/pids.max"));
    if (path.empty() || path == "/") break;
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos ? std::string() : path.substr(0, slash);
  }
  return limit;
}

int64_t NprocLimit(const ThreadLimitSources& s) {
  if (s.nproc_rlimit == -2) return -1;
  if (s.nproc_rlimit >= 0) return s.nproc_rlimit;
  rlimit limit{};
  if (getrlimit(RLIMIT_NPROC, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<int64_t>(limit.rlim_cur);
}

}  // namespace

int64_t OsThreadsLimit(const ThreadLimitSources& sources) noexcept {
  try {
    int64_t limit = NprocLimit(sources);
    limit = Smaller(limit, ReadLimit(sources.proc_root + "/sys/kernel/threads-max"));
    limit = Smaller(limit, ReadLimit(sources.proc_root + "/sys/kernel/pid_max"));
    return Smaller(limit, CgroupPidsMax(sources));
  } catch (...) {
    return -1;  // out of memory for a path: no limit known this time
  }
}

}  // namespace leakwatch::core
