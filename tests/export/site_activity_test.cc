// sites.drop_after: a site with no blocked task and no new finished wait for
// longer than drop_after leaves the snapshots that are exported, and comes
// back when a task waits there again.

#include "export/site_activity.h"

#include <string>

#include "gtest/gtest.h"

namespace leakwatch::exporter {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

Snapshot::Site MakeSite(const std::string& label, int64_t blocked, uint64_t finished) {
  Snapshot::Site s;
  s.site = label;
  s.op = Op::kMutex;
  s.blocked = blocked;
  s.durations.count = finished;
  return s;
}

std::string Labels(const Snapshot& s) {
  std::string out;
  for (const auto& site : s.sites) out += site.site + ";";
  return out;
}

TEST(SiteActivity, QuietSiteIsDroppedAfterDropAfterAndComesBack) {
  SiteActivity activity;
  activity.Configure(absl::Seconds(60));
  Snapshot tick;
  tick.sites = {MakeSite("startup", 0, 1), MakeSite("busy", 0, 5), MakeSite("held", 1, 0)};
  activity.Observe(tick, 0);
  // Busy finishes waits at every tick; the others do nothing new.
  for (int64_t t = 10; t <= 60; t += 10) {
    tick.sites[1].durations.count += 1;
    activity.Observe(tick, t * kSecond);
  }
  Snapshot scrape = tick;
  activity.Prune(scrape, 60 * kSecond);
  EXPECT_EQ(Labels(scrape), "startup;busy;held;");  // not longer than 60 s yet
  activity.Prune(scrape, 61 * kSecond);
  EXPECT_EQ(Labels(scrape), "busy;held;");  // a blocked task keeps "held"

  // A new finished wait at "startup" brings it back, even before Observe sees it.
  scrape = tick;
  scrape.sites[0].durations.count = 2;
  activity.Prune(scrape, 120 * kSecond);
  EXPECT_EQ(Labels(scrape), "startup;busy;held;");
  // And a blocked task does too.
  scrape = tick;
  scrape.sites[0].blocked = 1;
  activity.Prune(scrape, 120 * kSecond);
  EXPECT_EQ(Labels(scrape), "startup;busy;held;");
  // Once Observe has seen the new wait, the site stays for another drop_after.
  tick.sites[0].durations.count = 2;
  activity.Observe(tick, 120 * kSecond);
  scrape = tick;
  activity.Prune(scrape, 170 * kSecond);
  EXPECT_EQ(Labels(scrape), "startup;held;");  // busy's last new wait was at 60 s
  activity.Prune(scrape, 181 * kSecond);
  EXPECT_EQ(Labels(scrape), "held;");
}

TEST(SiteActivity, SiteNotObservedYetIsKept) {
  SiteActivity activity;
  activity.Configure(absl::Seconds(1));
  Snapshot scrape;
  scrape.sites = {MakeSite("new", 0, 0)};
  activity.Prune(scrape, 1000 * kSecond);
  EXPECT_EQ(Labels(scrape), "new;");
}

TEST(SiteActivity, ZeroDropAfterKeepsEverySite) {
  SiteActivity activity;
  activity.Configure(absl::ZeroDuration());
  Snapshot tick;
  tick.sites = {MakeSite("startup", 0, 1)};
  activity.Observe(tick, 0);
  activity.Prune(tick, 365 * 86400 * kSecond);
  EXPECT_EQ(Labels(tick), "startup;");
}

TEST(SiteActivity, ConfigureForgetsWhatWasSeen) {
  SiteActivity activity;
  activity.Configure(absl::Seconds(1));
  Snapshot tick;
  tick.sites = {MakeSite("startup", 0, 1)};
  activity.Observe(tick, 0);
  activity.Configure(absl::Seconds(1));
  activity.Prune(tick, 100 * kSecond);
  EXPECT_EQ(Labels(tick), "startup;");
}

}  // namespace
}  // namespace leakwatch::exporter
