// LoadConfigFile: reads a file (at most kMaxConfigBytes) and parses it.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config_limits.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

absl::Status FileError(int error, const std::string& path) {
  const std::string message = absl::StrCat("config file \"", path, "\": ", strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::Status(absl::ErrnoToStatusCode(error), message);
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("config file: the path is empty");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, path);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return FileError(error, path);
  }
  if (S_ISDIR(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("config file \"", path, "\": is a directory, not a file"));
  }
  // Read one byte past the limit to tell "at the limit" from "over it"; pipes
  // and other non-regular files have no size to check up front.
  std::string text;
  char buffer[16384];
  while (text.size() <= config::kMaxConfigBytes) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return FileError(error, path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  if (text.size() > config::kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat("config file \"", path, "\": larger than ",
                                                   config::kMaxConfigBytes, " bytes"));
  }
  return text;
}

}  // namespace

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Config> config = ParseConfig(*text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat("config file \"", path, "\": ", config.status().message()));
  }
  return config;
}

}  // namespace leakwatch
