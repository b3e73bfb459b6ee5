// The site table: interning, labels, and the cap.

#include "core/sites.h"

#include "gtest/gtest.h"
#include "leakwatch/snapshot.h"
#include "leakwatch/task.h"

namespace leakwatch::core {
namespace {

TEST(Sites, SameLocationGetsSameIdAndOpsAreSeparateSites) {
  const uint32_t a = SiteOfLocation("x.cc", 10, Op::kMutex);
  EXPECT_EQ(SiteOfLocation("x.cc", 10, Op::kMutex), a);
  const uint32_t b = SiteOfLocation("x.cc", 10, Op::kCondvar);
  EXPECT_NE(a, b);
  EXPECT_EQ(GetSite(a)->label, "x.cc:10");
  EXPECT_EQ(GetSite(a)->op, Op::kMutex);
}

TEST(Sites, OneLabelFromTwoFilePointersIsOneSite) {
  static const char kFile1[] = "dup.h";
  static char file2[] = "dup.h";  // distinct pointer, same text
  EXPECT_EQ(SiteOfLocation(kFile1, 7, Op::kIo), SiteOfLocation(file2, 7, Op::kIo));
}

TEST(Sites, LabelsDropDotSlash) { EXPECT_EQ(NormalizeSourcePath("./a/b.cc"), "a/b.cc"); }

TEST(Sites, BeyondTheCapWaitsCountUnderOtherAndDropsAreCounted) {
  const int64_t in_use = SitesInUse();
  SetMaxSites(static_cast<int>(in_use) + 3);
  const uint64_t dropped0 = SitesDropped();
  for (int line = 1; line <= 10; ++line) SiteOfLocation("capped.cc", line, Op::kMutex);
  EXPECT_EQ(SitesInUse(), in_use + 3);
  EXPECT_EQ(SitesDropped() - dropped0, 7u);
  EXPECT_EQ(SiteOfLocation("capped.cc", 10, Op::kMutex), OtherSite(Op::kMutex));
  // Asking again does not count the same site twice.
  SiteOfLocation("capped.cc", 10, Op::kMutex);
  EXPECT_EQ(SitesDropped() - dropped0, 7u);
  {
    BlockScope b(Op::kMutex);  // a new site: over the cap
    Snapshot s = TakeSnapshot();
    bool other_blocked = false;
    for (const auto& site : s.sites) {
      if (site.site == "other" && site.op == Op::kMutex && site.blocked == 1) other_blocked = true;
    }
    EXPECT_TRUE(other_blocked);
  }
}

}  // namespace
}  // namespace leakwatch::core
