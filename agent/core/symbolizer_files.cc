#include "core/symbolizer_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace leakwatch::core {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// The (device, inode) of every file mapped into the process.
bool MappedFiles(absl::flat_hash_set<FileId>& out) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string maps;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) maps.append(buf, n);
  close(fd);
  // "start-end perms offset major:minor inode path"
  for (size_t pos = 0; pos < maps.size();) {
    size_t end = maps.find('\n', pos);
    if (end == std::string::npos) end = maps.size();
    const std::string line = maps.substr(pos, end - pos);
    pos = end + 1;
    unsigned major_id = 0, minor_id = 0;
    unsigned long long inode = 0;
    if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu", &major_id, &minor_id, &inode) == 3 &&
        inode != 0) {
      out.insert({makedev(major_id, minor_id), static_cast<ino_t>(inode)});
    }
  }
  return true;
}

}  // namespace

int ReopenInheritedObjectFiles() noexcept {
  try {
    absl::flat_hash_set<FileId> mapped;
    if (!MappedFiles(mapped)) return -1;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    const int dir_fd = dirfd(dir);
    int reopened = 0;
    while (const dirent* e = readdir(dir)) {
      char* end = nullptr;
      const long fd = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end != '\0' || fd == dir_fd) continue;
      struct stat st;
      if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (!mapped.contains(FileId{st.st_dev, st.st_ino})) continue;
      const int status = fcntl(static_cast<int>(fd), F_GETFL);
      if (status < 0 || (status & O_ACCMODE) != O_RDONLY) continue;
      // Opening the /proc link makes a new open file description of the same
      // file, even if it was deleted or replaced on disk since.
      char path[64];
      std::snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
      const int fresh = open(path, O_RDONLY | O_CLOEXEC | (status & O_NONBLOCK));
      if (fresh < 0) continue;
      const off_t offset = lseek(static_cast<int>(fd), 0, SEEK_CUR);
      if (offset >= 0) lseek(fresh, offset, SEEK_SET);
      const int fd_flags = fcntl(static_cast<int>(fd), F_GETFD);
      const int dup_flags = fd_flags >= 0 && (fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
      if (dup3(fresh, static_cast<int>(fd), dup_flags) >= 0) ++reopened;
      close(fresh);
    }
    closedir(dir);
    return reopened;
  } catch (...) {  // out of memory: keep the descriptors, never throw into the host
    return -1;
  }
}

}  // namespace leakwatch::core
