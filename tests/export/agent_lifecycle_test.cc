// Start/Stop of the agent and its HTTP endpoint: errors leave the host running,
// Basic auth, and the endpoints' answers.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "httplib.h"
#include "leakwatch/agent.h"
#include "leakwatch/task.h"

namespace leakwatch {
namespace {

Config LoopbackConfig() {
  Config c;
  c.exporter.listen = "127.0.0.1:0";
  c.sampler.interval = absl::Milliseconds(100);
  return c;
}

// A listening socket on a free loopback port; closes on destruction.
class BusyPort {
 public:
  BusyPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 1);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  int port_;
};

TEST(AgentLifecycle, PortInUseIsAnErrorAndNothingIsLeftRunning) {
  BusyPort busy;
  Config c = LoopbackConfig();
  c.exporter.listen = "127.0.0.1:" + std::to_string(busy.port());
  absl::Status s = Start(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("exporter.listen"), std::string::npos) << s;
  EXPECT_FALSE(IsRunning());
  // The host can try again with another port.
  ASSERT_TRUE(Start(LoopbackConfig()).ok());
  EXPECT_TRUE(IsRunning());
  Stop();
}

// Stop() wakes civetweb by shutting its listening sockets down; the host's own
// listening sockets, including one opened while the agent ran, stay usable.
TEST(AgentLifecycle, StopLeavesTheHostsListeningSocketsAlone) {
  BusyPort before;
  ASSERT_TRUE(Start(LoopbackConfig()).ok());
  BusyPort during;
  const int agent_port = ExporterPort();
  Stop();
  for (const BusyPort* host : {&before, &during}) {
    int listening = 0;
    socklen_t len = sizeof listening;
    ASSERT_EQ(getsockopt(host->fd(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
    EXPECT_EQ(listening, 1) << "port " << host->port();
    // Still accepts: a connection completes against the backlog.
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(host->port()));
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << "port " << host->port();
    close(client);
  }
  // The agent's port is free again and a new agent can serve.
  Config c = LoopbackConfig();
  c.exporter.listen = "127.0.0.1:" + std::to_string(agent_port);
  ASSERT_TRUE(Start(c).ok());
  EXPECT_TRUE(httplib::Client("127.0.0.1", agent_port).Get("/metrics"));
  Stop();
}

TEST(AgentLifecycle, InvalidConfigIsRejectedWithTheKeyNamed) {
  Config c = LoopbackConfig();
  c.sampler.interval = absl::ZeroDuration();
  absl::Status s = Start(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("sampler.interval"), std::string::npos) << s;
  EXPECT_FALSE(IsRunning());
}

// This test binary does not link libleakwatch_grpc.
TEST(AgentLifecycle, IntrospectionWithoutTheGrpcLibraryIsAnErrorNamingIt) {
  Config c = LoopbackConfig();
  c.introspection.enabled = true;
  c.introspection.listen = "127.0.0.1:0";
  absl::Status s = Start(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("leakwatch::grpc"), std::string::npos) << s;
  EXPECT_FALSE(IsRunning());
  EXPECT_EQ(ExporterPort(), 0);
  ASSERT_TRUE(Start(LoopbackConfig()).ok());  // and nothing was left behind
  Stop();
}

TEST(AgentLifecycle, SecondStartFailsAndStopIsIdempotent) {
  ASSERT_TRUE(Start(LoopbackConfig()).ok());
  EXPECT_EQ(Start(LoopbackConfig()).code(), absl::StatusCode::kFailedPrecondition);
  Stop();
  Stop();
  EXPECT_FALSE(IsRunning());
  ASSERT_TRUE(Start(LoopbackConfig()).ok());  // restartable
  Stop();
}

TEST(AgentLifecycle, ServesMetricsAndDumpAndRejectsOtherRequests) {
  ASSERT_TRUE(Start(LoopbackConfig()).ok());
  const int port = ExporterPort();
  ASSERT_GT(port, 0);
  TaskScope task("lifecycle-test");
  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("leakwatch_tasks{kind=\"lifecycle-test\"} 1"), std::string::npos);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain; version=0.0.4"),
            std::string::npos);
  auto dump = client.Get("/debug/tasks?debug=2");
  ASSERT_TRUE(dump);
  EXPECT_EQ(dump->status, 200);
  EXPECT_NE(dump->body.find("kind lifecycle-test"), std::string::npos) << dump->body;
  EXPECT_EQ(client.Get("/debug/tasks?debug=3")->status, 400);
  EXPECT_EQ(client.Get("/metricsx")->status, 404);
  EXPECT_EQ(client.Post("/metrics", "x", "text/plain")->status, 405);
  EXPECT_EQ(client.Get(std::string("/") + std::string(4000, 'a'))->status, 404);
  Stop();
  EXPECT_FALSE(httplib::Client("127.0.0.1", port).Get("/metrics"));  // really stopped
}

TEST(AgentLifecycle, DebugEndpointCanBeTurnedOff) {
  Config c = LoopbackConfig();
  c.exporter.debug_endpoint = false;
  c.exporter.path = "/custom/metrics";
  ASSERT_TRUE(Start(c).ok());
  httplib::Client client("127.0.0.1", ExporterPort());
  EXPECT_EQ(client.Get("/debug/tasks")->status, 404);
  EXPECT_EQ(client.Get("/custom/metrics")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 404);
  Stop();
}

TEST(AgentLifecycle, BasicAuthGuardsEveryEndpoint) {
  char path[] = "/tmp/leakwatch-password-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "s3cret\n", 7), 7);
  close(fd);
  Config c = LoopbackConfig();
  c.exporter.basic_auth.username = "prometheus";
  c.exporter.basic_auth.password_file = path;
  ASSERT_TRUE(Start(c).ok());
  httplib::Client client("127.0.0.1", ExporterPort());
  EXPECT_EQ(client.Get("/metrics")->status, 401);
  EXPECT_EQ(client.Get("/debug/tasks")->status, 401);
  client.set_basic_auth("prometheus", "wrong");
  EXPECT_EQ(client.Get("/metrics")->status, 401);
  client.set_basic_auth("prometheus", "s3cret");
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/debug/tasks")->status, 200);
  Stop();
  unlink(path);
}

TEST(AgentLifecycle, UnreadablePasswordFileIsAnError) {
  Config c = LoopbackConfig();
  c.exporter.basic_auth.username = "prometheus";
  c.exporter.basic_auth.password_file = "/nonexistent/password";
  absl::Status s = Start(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;  // as leakwatch/agent.h says
  EXPECT_NE(s.message().find("password_file"), std::string::npos) << s;
  EXPECT_FALSE(IsRunning());
}

}  // namespace
}  // namespace leakwatch
