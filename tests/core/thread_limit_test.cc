// core/thread_limit.h: each source of the thread limit on its own, the smallest
// winning, and sources that are missing, unreadable or malformed skipped.

#include "core/thread_limit.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace leakwatch::core {
namespace {

namespace fs = std::filesystem;

// A fake /proc and /sys/fs/cgroup under a temporary directory.
class ThreadLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/leakwatch-thread-limit-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    sources_.proc_root = root_ + "/proc";
    sources_.cgroup_root = root_ + "/cgroup";
    sources_.nproc_rlimit = -2;  // unlimited unless a test sets one
    fs::create_directories(sources_.proc_root + "/self");
    fs::create_directories(sources_.proc_root + "/sys/kernel");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  void ThreadsMax(const std::string& text) {
    Write(sources_.proc_root + "/sys/kernel/threads-max", text);
  }
  void Cgroup(const std::string& text) { Write(sources_.proc_root + "/self/cgroup", text); }

  std::string root_;
  ThreadLimitSources sources_;
};

TEST_F(ThreadLimitTest, NoSourceMeansNoLimit) { EXPECT_EQ(OsThreadsLimit(sources_), -1); }

TEST_F(ThreadLimitTest, ThreadsMaxAlone) {
  ThreadsMax("192739\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 192739);
}

TEST_F(ThreadLimitTest, PidMaxAlone) {
  Write(sources_.proc_root + "/sys/kernel/pid_max", "32768\n");
  ThreadsMax("192739\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 32768);
}

TEST_F(ThreadLimitTest, NprocRlimitAlone) {
  sources_.nproc_rlimit = 512;
  EXPECT_EQ(OsThreadsLimit(sources_), 512);
}

TEST_F(ThreadLimitTest, CgroupV2PidsMaxOfTheProcessesCgroup) {
  Cgroup("0::/kubepods/pod1/c1\n");
  Write(sources_.cgroup_root + "/kubepods/pod1/c1/pids.max", "4096\n");
  ThreadsMax("192739\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 4096);
}

TEST_F(ThreadLimitTest, CgroupV2AncestorsLimitToo) {
  Cgroup("0::/system.slice/app.service\n");
  Write(sources_.cgroup_root + "/system.slice/app.service/pids.max", "max\n");
  Write(sources_.cgroup_root + "/system.slice/pids.max", "4915\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 4915);
}

TEST_F(ThreadLimitTest, CgroupNamespaceRootHasItsOwnPidsMax) {
  Cgroup("0::/\n");
  Write(sources_.cgroup_root + "/pids.max", "1000\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 1000);
}

TEST_F(ThreadLimitTest, CgroupV1PidsController) {
  Cgroup("9:name=systemd:/\n8:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  Write(sources_.cgroup_root + "/pids/docker/abc/pids.max", "300\n");
  Write(sources_.cgroup_root + "/pids.max", "5\n");  // the v2 file is not the one that counts
  EXPECT_EQ(OsThreadsLimit(sources_), 300);
}

TEST_F(ThreadLimitTest, CgroupV1PidsSharedWithOtherControllers) {
  Cgroup("3:cpu,pids,cpuacct:/job\n");
  Write(sources_.cgroup_root + "/pids/job/pids.max", "77\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 77);
}

TEST_F(ThreadLimitTest, MaxMeansNone) {
  Cgroup("0::/a\n");
  Write(sources_.cgroup_root + "/a/pids.max", "max\n");
  ThreadsMax("100000\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 100000);
}

TEST_F(ThreadLimitTest, TheSmallestSourceWins) {
  Cgroup("0::/a\n");
  Write(sources_.cgroup_root + "/a/pids.max", "2000\n");
  ThreadsMax("100000\n");
  sources_.nproc_rlimit = 1500;
  EXPECT_EQ(OsThreadsLimit(sources_), 1500);
  sources_.nproc_rlimit = 3000;
  EXPECT_EQ(OsThreadsLimit(sources_), 2000);
}

TEST_F(ThreadLimitTest, UnreadableAndMalformedSourcesAreSkipped) {
  // A directory where a file should be cannot be read (root reads any file
  // whatever its mode, so permissions would not make one unreadable).
  fs::create_directories(sources_.proc_root + "/sys/kernel/threads-max");
  Cgroup("0::/a\n");
  Write(sources_.cgroup_root + "/a/pids.max", "lots\n");
  EXPECT_EQ(OsThreadsLimit(sources_), -1);
  Write(sources_.cgroup_root + "/a/pids.max", "-5\n");
  EXPECT_EQ(OsThreadsLimit(sources_), -1);
  Write(sources_.cgroup_root + "/a/pids.max", "12abc\n");
  EXPECT_EQ(OsThreadsLimit(sources_), -1);
  sources_.nproc_rlimit = 64;
  EXPECT_EQ(OsThreadsLimit(sources_), 64);
}

TEST_F(ThreadLimitTest, MissingOrGarbledCgroupFileIsSkipped) {
  ThreadsMax("5000\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 5000);
  Cgroup("garbage without colons\n\n::\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 5000);
}

TEST_F(ThreadLimitTest, APathThatClimbsOutOfTheHierarchyIsRefused) {
  Cgroup("0::/../../etc\n");
  Write(root_ + "/etc/pids.max", "3\n");
  ThreadsMax("5000\n");
  EXPECT_EQ(OsThreadsLimit(sources_), 5000);
}

TEST(ThreadLimit, ThisProcessHasTheLimitsTheKernelReports) {
  // The real sources: the result is no larger than any of them.
  const int64_t limit = OsThreadsLimit();
  std::ifstream max_file("/proc/sys/kernel/threads-max");
  int64_t threads_max = -1;
  if (max_file >> threads_max) {
    ASSERT_GT(limit, 0);
    EXPECT_LE(limit, threads_max);
  }
  rlimit nproc{};
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY) {
    EXPECT_LE(limit, static_cast<int64_t>(nproc.rlim_cur));
  }
}

}  // namespace
}  // namespace leakwatch::core
