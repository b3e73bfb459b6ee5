// After fork(), ReopenInheritedObjectFiles() gives the child its own open files
// for the object files it has open (what absl's symbolizer reads with lseek and
// read), so the child's reads no longer move its parent's offsets; other
// descriptors keep sharing their offsets as fork() defines.

#include "core/symbolizer_files.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "gtest/gtest.h"

namespace {

// In a child: reopens, then moves both descriptors' offsets. Exit code 0 on success.
int MoveOffsetsInChild(int object_fd, int plain_fd) {
  if (leakwatch::core::ReopenInheritedObjectFiles() < 1) return 10;
  if (lseek(object_fd, 4096, SEEK_SET) != 4096) return 11;
  if (lseek(plain_fd, 3, SEEK_SET) != 3) return 12;
  return 0;
}

TEST(SymbolizerFiles, ForkChildGetsItsOwnOffsetsForObjectFilesOnly) {
  // The test binary itself is mapped: an object file, as the symbolizer opens it.
  const int object_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(object_fd, 0);
  ASSERT_EQ(lseek(object_fd, 128, SEEK_SET), 128);
  // A plain file nobody maps.
  FILE* plain = tmpfile();
  ASSERT_NE(plain, nullptr);
  ASSERT_EQ(fwrite("0123456789", 1, 10, plain), 10u);
  fflush(plain);
  const int plain_fd = fileno(plain);
  ASSERT_EQ(lseek(plain_fd, 0, SEEK_SET), 0);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(MoveOffsetsInChild(object_fd, plain_fd));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  EXPECT_EQ(lseek(object_fd, 0, SEEK_CUR), 128);  // the child's move stayed in the child
  EXPECT_EQ(lseek(plain_fd, 0, SEEK_CUR), 3);     // still shared, as fork() defines
  close(object_fd);
  fclose(plain);
}

TEST(SymbolizerFiles, ReopenKeepsOffsetAndCloseOnExec) {
  const int fd = open("/proc/self/exe", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 77, SEEK_SET), 77);
  EXPECT_GE(leakwatch::core::ReopenInheritedObjectFiles(), 1);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 77);
  EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  close(fd);
}

}  // namespace
