// The exporter's /metrics and /debug/tasks show suspended coroutine tasks: a
// real agent on a loopback port, scraped over HTTP.

#include <coroutine>
#include <string>
#include <thread>

#include "coro/awaitables.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "leakwatch/agent.h"
#include "leakwatch/coro.h"

namespace leakwatch {
namespace {

using testing_coro::Park;

coro::Task<> Suspended(std::coroutine_handle<>* slot) { co_await Park{slot}; }
constexpr int kSuspendedLine = __LINE__ - 1;

TEST(CoroutineMetrics, MetricsCountSuspendedCoroutinesPerKindAndAwaitSite) {
  Config config;
  config.exporter.listen = "127.0.0.1:0";
  config.sampler.interval = absl::Milliseconds(100);
  config.tasks.stuck_after = absl::Milliseconds(1);
  ASSERT_TRUE(Start(config).ok());
  std::coroutine_handle<> first;
  std::coroutine_handle<> second;
  coro::Task<> a = Suspended(&first);
  coro::Task<> b = Suspended(&second);
  a.Start();
  b.Start();
  // Both have waited longer than stuck_after (1 ms) by the scrape.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));

  httplib::Client client("127.0.0.1", ExporterPort());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  const std::string labels =
      "{op=\"await\",site=\"tests/coro/coro_metrics_test.cc:" + std::to_string(kSuspendedLine) +
      "\"}";
  EXPECT_NE(metrics->body.find("leakwatch_tasks{kind=\"coroutine\"} 2\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_blocked_tasks" + labels + " 2\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_stuck_tasks" + labels + " 2\n"), std::string::npos)
      << metrics->body;

  first.resume();  // one finished wait; the other coroutine is cancelled
  b = coro::Task<>(std::move(a));
  metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("leakwatch_tasks{kind=\"coroutine\"} 1\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_blocked_tasks" + labels + " 0\n"), std::string::npos)
      << metrics->body;
  // One finished wait: no histogram yet (bounded series: from the 10th).
  EXPECT_EQ(metrics->body.find("leakwatch_block_duration_seconds_count" + labels),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_tasks_finished_total{kind=\"coroutine\"} 1\n"),
            std::string::npos)
      << metrics->body;

  auto dump = client.Get("/debug/tasks?debug=2");
  ASSERT_TRUE(dump);
  EXPECT_NE(dump->body.find("kind coroutine"), std::string::npos) << dump->body;

  // Nine more finished waits: the histogram is there from the 10th, with all 10.
  for (int i = 0; i < 9; ++i) {
    std::coroutine_handle<> slot;
    coro::Task<> t = Suspended(&slot);
    t.Start();
    slot.resume();
  }
  metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("leakwatch_block_duration_seconds_count" + labels + " 10\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_block_duration_seconds_bucket" +
                               labels.substr(0, labels.size() - 1) + ",le=\"0.0001\"}"),
            std::string::npos)
      << metrics->body;
  Stop();
}

coro::Task<> SuspendedLong(std::coroutine_handle<>* slot) { co_await Park{slot}; }
constexpr int kLongLine = __LINE__ - 1;

// A site's first wait longer than 1 s brings its histogram, before 10 waits.
TEST(CoroutineMetrics, HistogramFromTheFirstWaitLongerThanOneSecond) {
  Config config;
  config.exporter.listen = "127.0.0.1:0";
  config.sampler.interval = absl::Milliseconds(100);
  ASSERT_TRUE(Start(config).ok());
  const std::string labels =
      "{op=\"await\",site=\"tests/coro/coro_metrics_test.cc:" + std::to_string(kLongLine) + "\"}";
  httplib::Client client("127.0.0.1", ExporterPort());
  std::coroutine_handle<> slot;
  coro::Task<> t = SuspendedLong(&slot);
  t.Start();
  const auto suspended = std::chrono::steady_clock::now();
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("leakwatch_blocked_tasks" + labels + " 1\n"), std::string::npos)
      << metrics->body;
  EXPECT_EQ(metrics->body.find("leakwatch_block_duration_seconds_count" + labels),
            std::string::npos)
      << metrics->body;
  // A wait longer than 1 s by the coroutine's own clock.
  std::this_thread::sleep_until(suspended + std::chrono::milliseconds(1200));
  slot.resume();
  metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("leakwatch_block_duration_seconds_count" + labels + " 1\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("leakwatch_block_duration_seconds_bucket" +
                               labels.substr(0, labels.size() - 1) + ",le=\"10\"} 1\n"),
            std::string::npos)
      << metrics->body;
  Stop();
}

}  // namespace
}  // namespace leakwatch
