// core/proc.cc: the process's start time, read from /proc, is this process's
// own, also in a fork child after the parent read (and cached) its own.

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/read_snapshot.h"
#include "gtest/gtest.h"

namespace leakwatch::core {
namespace {

// Field 22 of /proc/PID/stat: the start in clock ticks after boot; -1 when
// unreadable. Counted from the command name's ')', which may hold spaces.
long long StartTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::atoll(field.c_str());
  }
  return -1;
}

double SecondsSinceBoot() {
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

TEST(ProcessStartTime, IsTheProcessStartFromProc) {
  const double start = ProcessStartTimeSeconds();
  EXPECT_GT(start, 1.5e9);  // after 2017
  EXPECT_LE(start, static_cast<double>(time(nullptr)) + 1);
  EXPECT_EQ(ProcessStartTimeSeconds(), start);
}

TEST(ProcessStartTime, AForkChildReadsItsOwnStartNotItsParents) {
  const double parent = ProcessStartTimeSeconds();  // read and cached here
  const long long parent_ticks = StartTicks(getpid());
  const long hz = sysconf(_SC_CLK_TCK);
  ASSERT_GT(parent_ticks, 0);
  ASSERT_GT(hz, 0);
  // A child forked now must start at least two ticks after this process, or
  // the two start times could not differ.
  while (SecondsSinceBoot() * static_cast<double>(hz) < static_cast<double>(parent_ticks + 3)) {
    usleep(1000);
  }
  int answer[2], release[2];
  ASSERT_EQ(pipe(answer), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(release[1]);  // so that the parent's close is the end of the pipe
    const double own = ProcessStartTimeSeconds();
    char byte;
    const bool ok = write(answer[1], &own, sizeof own) == sizeof own &&
                    read(release[0], &byte, 1) >= 0;  // alive until the parent read its stat
    _exit(ok ? 0 : 1);
  }
  double reported = 0;
  ASSERT_EQ(read(answer[0], &reported, sizeof reported), static_cast<ssize_t>(sizeof reported));
  const long long child_ticks = StartTicks(child);
  close(release[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int fd : {answer[0], answer[1], release[0]}) close(fd);
  ASSERT_GT(child_ticks, parent_ticks);
  EXPECT_NEAR(reported - parent, static_cast<double>(child_ticks - parent_ticks) / hz, 1e-6);
  EXPECT_EQ(ProcessStartTimeSeconds(), parent);  // the parent's own is unchanged
}

}  // namespace
}  // namespace leakwatch::core
