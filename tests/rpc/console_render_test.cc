// leakwatch-console's frame (agent/tools/console/render.h).

#include <string>

#include "gtest/gtest.h"
#include "render.h"

namespace leakwatch::console {
namespace {

v1::Site* AddSite(v1::Snapshot& s, const std::string& name, int64_t blocked, int64_t stuck) {
  v1::Site* site = s.add_sites();
  site->set_site(name);
  site->set_op("mutex");
  site->set_blocked(blocked);
  site->set_stuck(stuck);
  return site;
}

size_t Row(const std::string& frame, const std::string& site) {
  const size_t at = frame.find("\n" + site + " ");
  return at == std::string::npos ? std::string::npos : at;
}

TEST(ConsoleRender, AgesAreShortAndHumanReadable) {
  EXPECT_EQ(FormatAge(0), "0s");
  EXPECT_EQ(FormatAge(0.42), "0.4s");
  EXPECT_EQ(FormatAge(12.9), "12s");
  EXPECT_EQ(FormatAge(302), "5m02s");
  EXPECT_EQ(FormatAge(7380), "2h03m");
  EXPECT_EQ(FormatAge(3 * 86400 + 4 * 3600 + 59), "3d04h");
}

TEST(ConsoleRender, SitesAreWorstFirstAndIdleOnesAreLeftOut) {
  v1::Snapshot s;
  s.set_taken_at_unix_nanos(1'800'000'000'000'000'000);
  s.set_process_start_time_seconds(1'800'000'000 - 60);
  s.set_tasks_total(40);
  AddSite(s, "a.cc:1", 10, 10);
  AddSite(s, "b.cc:2", 2, 1)->set_leak_suspected(true);
  AddSite(s, "c.cc:3", 2, 2)->set_deadlocked(2);
  AddSite(s, "d.cc:4", 30, 0);
  AddSite(s, "idle.cc:5", 0, 0);
  const std::string frame = Render(s, RenderOptions{"host:1", 20, 120});
  EXPECT_NE(frame.find("up 1m00s"), std::string::npos) << frame;
  EXPECT_NE(frame.find("!! leak suspected at 1 site(s), 2 task(s) deadlocked"), std::string::npos)
      << frame;
  EXPECT_LT(Row(frame, "c.cc:3"), Row(frame, "b.cc:2")) << frame;
  EXPECT_LT(Row(frame, "b.cc:2"), Row(frame, "a.cc:1")) << frame;
  EXPECT_LT(Row(frame, "a.cc:1"), Row(frame, "d.cc:4")) << frame;
  EXPECT_EQ(Row(frame, "idle.cc:5"), std::string::npos) << frame;
}

TEST(ConsoleRender, ExpectedIdleWaitsAreShownAsIdleNotStuck) {
  v1::Snapshot s;
  s.set_tasks_total(20);
  AddSite(s, "a.cc:1", 3, 3);
  AddSite(s, "handle_manager+0xe0", 12, 0)->set_idle(12);
  const std::string frame = Render(s, RenderOptions{"host:1", 20, 120});
  EXPECT_NE(frame.find("blocked 15  stuck 3 (idle 12)  os threads"), std::string::npos) << frame;
  const size_t row = Row(frame, "handle_manager+0xe0");
  ASSERT_NE(row, std::string::npos) << frame;
  const std::string line = frame.substr(row + 1, frame.find('\n', row + 1) - row - 1);
  EXPECT_TRUE(line.ends_with("idle 12")) << line;
}

TEST(ConsoleRender, TopLimitsTheRowsAndLongSitesKeepBothEnds) {
  v1::Snapshot s;
  for (int i = 0; i < 5; ++i) AddSite(s, "s" + std::to_string(i) + ".cc:1", 5 - i, 0);
  const std::string long_site =
      "very::long::namespace::Function<" + std::string(200, 'x') + ">::Run+0x1f";
  AddSite(s, long_site, 1, 0);
  const std::string frame = Render(s, RenderOptions{"host:1", 3, 80});
  EXPECT_NE(frame.find("... and 3 more site(s)"), std::string::npos) << frame;
  const std::string wide = Render(s, RenderOptions{"host:1", 20, 100});
  EXPECT_EQ(wide.find(long_site), std::string::npos);
  EXPECT_NE(wide.find("very::long"), std::string::npos) << wide;
  EXPECT_NE(wide.find("...x"), std::string::npos) << wide;
  EXPECT_NE(wide.find("::Run+0x1f"), std::string::npos) << wide;
  for (size_t start = 0, end; (end = wide.find('\n', start)) != std::string::npos;
       start = end + 1) {
    EXPECT_LE(end - start, 100u) << wide.substr(start, end - start);
  }
}

}  // namespace
}  // namespace leakwatch::console
