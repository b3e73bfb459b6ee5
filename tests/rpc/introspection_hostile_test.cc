// The gRPC introspection port against hostile clients (issue 18): idle TCP
// connections do not keep a real client out and are closed at the handshake
// deadline, an oversize request is refused, and gRPC's own log lines stay off
// the host's stderr unless the host asks for them (LEAKWATCH_GRPC_LOG=1).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "introspection_client.h"
#include "leakwatch.grpc.pb.h"
#include "leakwatch/agent.h"
#include "leakwatch/grpc.h"

namespace leakwatch {
namespace {

using Clock = std::chrono::steady_clock;

using rpctest::Connect;
using rpctest::IntrospectionConfig;

::grpc::Status GetSnapshot(v1::Introspection::Stub& stub, const v1::GetSnapshotRequest& request,
                           int seconds = 10) {
  v1::Snapshot reply;
  return stub.GetSnapshot(rpctest::WithDeadline(seconds).get(), request, &reply);
}

// A TCP connection to 127.0.0.1:port that sends nothing; -1 on failure.
int ConnectIdle(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True once the server has closed `fd` (EOF or reset) within `timeout`.
bool ClosedByServer(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    if (recv(fd, buf, sizeof buf, 0) <= 0) return true;  // what the server sent is skipped
  }
}

using IntrospectionHostile = rpctest::IntrospectionFixture;

TEST_F(IntrospectionHostile, IdleConnectionsDoNotKeepAClientOutAndAreClosed) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const int idle = static_cast<int>(std::min<rlim_t>(300, nofile.rlim_cur / 3));
  std::vector<int> fds;
  for (int i = 0; i < idle; ++i) {
    const int fd = ConnectIdle(port_);
    ASSERT_GE(fd, 0) << "connect " << i;
    fds.push_back(fd);
  }
  // A real client's calls succeed while every idle connection is held.
  auto stub = Connect(port_);
  const auto start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    const ::grpc::Status status = GetSnapshot(*stub, v1::GetSnapshotRequest());
    EXPECT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  std::printf("[figures] %d idle TCP connections held: 20 GetSnapshot calls in %.1f ms\n", idle,
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  // Each is closed by the handshake deadline (5 s), not kept.
  int closed = 0;
  for (int fd : fds) {
    if (ClosedByServer(fd, std::chrono::seconds(30))) ++closed;
    close(fd);
  }
  EXPECT_EQ(closed, idle) << "idle connections the server had not closed after 30 s";
  EXPECT_TRUE(GetSnapshot(*stub, v1::GetSnapshotRequest()).ok());
}

TEST_F(IntrospectionHostile, AnOversizeRequestIsRefused) {
  auto stub = Connect(port_);
  v1::GetSnapshotRequest request;
  // 8 kB in a field the service does not know: over its 4 kB request limit.
  request.GetReflection()->MutableUnknownFields(&request)->AddLengthDelimited(
      1000, std::string(8192, 'x'));
  const ::grpc::Status status = GetSnapshot(*stub, request);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  // The next call on the same channel is served.
  EXPECT_TRUE(GetSnapshot(*stub, v1::GetSnapshotRequest()).ok());
}

// The child process of the GrpcLog tests (run with LEAKWATCH_GRPC_LOG_CHILD
// set; left out of ctest's list, see CMakeLists.txt): starts introspection on
// a busy port, which makes gRPC log an error line, then on a free port.
TEST(GrpcLogChild, StartOnABusyPort) {
  if (std::getenv("LEAKWATCH_GRPC_LOG_CHILD") == nullptr) GTEST_SKIP() << "run by GrpcLog tests";
  rpctest::PortHolder holder;
  ASSERT_TRUE(holder.ok());
  const absl::Status busy = Start(IntrospectionConfig(holder.address()));
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  ASSERT_TRUE(Start(IntrospectionConfig()).ok());
  auto stub = Connect(grpc::IntrospectionPort());
  EXPECT_TRUE(GetSnapshot(*stub, v1::GetSnapshotRequest()).ok());
  Stop();
  holder.Shutdown();
}

// The child's stderr, with `env` ("NAME=value") added to its environment.
std::string ChildStderr(const std::vector<std::string>& env) {
  char path[] = "/tmp/leakwatch-grpc-log-XXXXXX";
  const int out = mkstemp(path);
  if (out < 0) return "";
  unlink(path);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out, STDERR_FILENO);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    unsetenv("GRPC_VERBOSITY");
    unsetenv("LEAKWATCH_GRPC_LOG");
    setenv("LEAKWATCH_GRPC_LOG_CHILD", "1", 1);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    execl("/proc/self/exe", "introspection_hostile_test",
          "--gtest_filter=GrpcLogChild.StartOnABusyPort", nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child failed";
  std::string text;
  char buf[4096];
  ssize_t n;
  lseek(out, 0, SEEK_SET);
  while ((n = read(out, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out);
  return text;
}

// gRPC's log line format: severity letter, MMDD, time (gpr_default_log).
bool HasGrpcLogLine(const std::string& text) {
  static const std::regex line(R"((^|\n)[DIE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^ ]+:\d+\])");
  return std::regex_search(text, line);
}

TEST(GrpcLog, NeverOnTheHostsStderrByDefault) {
  const std::string text = ChildStderr({});
  EXPECT_FALSE(HasGrpcLogLine(text)) << text;
}

TEST(GrpcLog, OnStderrWhenTheHostAsks) {
  // The same child with LEAKWATCH_GRPC_LOG=1: gRPC's error line is there, so
  // the test above would see one if it leaked.
  const std::string asked = ChildStderr({"LEAKWATCH_GRPC_LOG=1"});
  EXPECT_TRUE(HasGrpcLogLine(asked)) << asked;
  const std::string verbosity = ChildStderr({"GRPC_VERBOSITY=ERROR"});
  EXPECT_TRUE(HasGrpcLogLine(verbosity)) << verbosity;
}

}  // namespace
}  // namespace leakwatch
