// LoadConfigFile: missing, unreadable and odd files, and the file name in
// every error.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "config_equality.h"
#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch {
namespace {

// A scratch directory removed with its files at the end of the test.
class ConfigFileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/leakwatch-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& file : files_) std::remove(file.c_str());
    rmdir(dir_.c_str());
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigFileIoTest, MissingFileIsNotFound) {
  const std::string path = dir_ + "/missing.yaml";
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kNotFound) << config.status();
  EXPECT_EQ(config.status().message(), "config file \"" + path + "\": No such file or directory");
}

TEST_F(ConfigFileIoTest, EmptyPathIsAnError) {
  EXPECT_EQ(LoadConfigFile("").status(),
            absl::InvalidArgumentError("config file: the path is empty"));
}

TEST_F(ConfigFileIoTest, DirectoryIsNotAConfigFile) {
  absl::StatusOr<Config> config = LoadConfigFile(dir_);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  EXPECT_EQ(config.status().message(), "config file \"" + dir_ + "\": is a directory, not a file");
}

// root reads any file, so the check runs as an unprivileged user in a child.
TEST_F(ConfigFileIoTest, UnreadableFileIsPermissionDenied) {
  const std::string path = WriteFile("secret.yaml", "sampler:\n  interval: 1s\n");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  if (geteuid() != 0) {
    EXPECT_EQ(LoadConfigFile(path).status().code(), absl::StatusCode::kPermissionDenied);
    return;
  }
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    const absl::Status status = LoadConfigFile(path).status();
    const bool denied = status.code() == absl::StatusCode::kPermissionDenied &&
                        status.message() == "config file \"" + path + "\": Permission denied";
    _exit(denied ? 0 : 1);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << "1: not PermissionDenied, 2: could not drop root";
}

TEST_F(ConfigFileIoTest, EmptyFileYieldsTheDefaults) {
  absl::StatusOr<Config> config = LoadConfigFile(WriteFile("empty.yaml", ""));
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectSameConfig(*config, Config{});
}

TEST_F(ConfigFileIoTest, ParseErrorIsPrefixedWithTheFileName) {
  const std::string path = WriteFile("bad.yaml", "sampler:\n  interval: 5x\n");
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "config file \"" + path +
                "\": sampler.interval: line 2, column 13: \"5x\" is not a duration (use 500ms, "
                "15s, 2m, 1h)");
}

TEST_F(ConfigFileIoTest, OversizedFileIsRejected) {
  const std::string path = WriteFile("huge.yaml", std::string((1 << 20) + 1, '#'));
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "config file \"" + path + "\": larger than 1048576 bytes");
}

TEST_F(ConfigFileIoTest, FileOfExactlyTheLimitIsRead) {
  const std::string body = "sampler:\n  interval: 2s\n";
  const std::string path =
      WriteFile("big.yaml", body + "#" + std::string((1 << 20) - body.size() - 2, 'x') + "\n");
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sampler.interval, absl::Seconds(2));
}

TEST_F(ConfigFileIoTest, ConfigIsReadFromAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string text = "tasks:\n  stuck_after: 7s\n";
  ASSERT_EQ(write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fds[1]);
  absl::StatusOr<Config> config = LoadConfigFile("/dev/fd/" + std::to_string(fds[0]));
  close(fds[0]);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tasks.stuck_after, absl::Seconds(7));
}

}  // namespace
}  // namespace leakwatch
