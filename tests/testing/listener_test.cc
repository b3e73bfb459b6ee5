// Pins leakwatch::testing::LeakCheckListener (installed by
// leakwatch::testing_main): it fails exactly the test that leaked a task, at
// that test's line, naming where the task waits; it waits for tasks that end
// soon after their test. Runs listener_child.cc as a subprocess, since a
// listener's verdicts are only visible in a whole gtest run.

#include <stdio.h>
#include <sys/wait.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct ChildRun {
  std::string output;  // stdout and stderr
  int exit_code = -1;  // -1 unless the child exited normally
};

ChildRun RunChild() {
  ChildRun run;
  FILE* pipe = popen(LISTENER_CHILD " 2>&1", "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  const int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

// What the child printed for `test`, from its RUN line to its verdict line.
std::string Section(const std::string& output, const std::string& test) {
  const size_t begin = output.find("[ RUN      ] " + test + "\n");
  if (begin == std::string::npos) return "";
  size_t end = output.find("] " + test + " (", begin);  // "[       OK ] X (3 ms)"
  if (end == std::string::npos) return output.substr(begin);
  return output.substr(begin, output.find('\n', end) - begin);
}

TEST(LeakCheckListenerTest, FailsExactlyTheTestThatLeakedAThread) {
  const ChildRun run = RunChild();
  SCOPED_TRACE(run.output);

  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("[  PASSED  ] 3 tests."));
  EXPECT_THAT(run.output, HasSubstr("1 FAILED TEST"));
  EXPECT_THAT(Section(run.output, "ListenerChild.JoinsItsThreadBefore"),
              AllOf(HasSubstr("[       OK ]"), Not(HasSubstr("Failure"))));
  EXPECT_THAT(Section(run.output, "ListenerChild.DetachesAThreadThatExitsSoonAfter"),
              AllOf(HasSubstr("[       OK ]"), Not(HasSubstr("Failure"))));
  EXPECT_THAT(Section(run.output, "ListenerChild.JoinsItsThreadAfter"),
              AllOf(HasSubstr("[       OK ]"), Not(HasSubstr("Failure"))));
}

TEST(LeakCheckListenerTest, ReportsTheLeakAtTheTestsLineWithTheWaitSite) {
  const ChildRun run = RunChild();
  SCOPED_TRACE(run.output);

  const std::string leaking = Section(run.output, "ListenerChild.LeaksABlockedThread");
  EXPECT_THAT(leaking, HasSubstr("[  FAILED  ]"));
  EXPECT_THAT(leaking, HasSubstr("tests/testing/listener_child.cc:34: Failure"));
  EXPECT_THAT(leaking, HasSubstr("the test left tasks behind"));
  EXPECT_THAT(leaking, HasSubstr("[leaked-by-child, age "));
  EXPECT_THAT(leaking, HasSubstr("blocked in chan_recv"));
  EXPECT_THAT(leaking, HasSubstr("at tests/testing/listener_child.cc:35"));
}

}  // namespace
