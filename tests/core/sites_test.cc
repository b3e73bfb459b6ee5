// The site table: interning, labels, and the cap.

#include "core/sites.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

TEST(Sites, LabelSitesAreFoundAgainPerOp) {
  const uint32_t a = SiteOfLabel("/pkg.Svc/Get", Op::kRpc);
  ASSERT_GE(a, kFirstRealSite);
  EXPECT_EQ(SiteOfLabel("/pkg.Svc/Get", Op::kRpc), a);  // from the cache
  const uint32_t b = SiteOfLabel("/pkg.Svc/Get", Op::kMutex);
  EXPECT_NE(a, b);
  EXPECT_NE(SiteOfLabel("/pkg.Svc/Gets", Op::kRpc), a);
  EXPECT_EQ(GetSite(a)->label, "/pkg.Svc/Get");
  EXPECT_EQ(GetSite(a)->op, Op::kRpc);
  EXPECT_EQ(GetSite(b)->op, Op::kMutex);
}

TEST(Sites, ThreadsSitingTheSameLabelsAgreeOnEveryId) {
  constexpr int kThreads = 4, kLabels = 300, kRounds = 5;
  std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kLabels));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kLabels; ++i) {
          const int label = (i + t * 37) % kLabels;  // each thread in its own order
          const uint32_t id = SiteOfLabel(absl::StrCat("/race.Svc/M", label), Op::kRpc);
          if (round > 0) {
            EXPECT_EQ(id, ids[t][label]);
          }
          ids[t][label] = id;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ids[t], ids[0]);
  std::vector<uint32_t> sorted = ids[0];
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  for (int i = 0; i < kLabels; ++i) {
    EXPECT_EQ(GetSite(ids[0][i])->label, absl::StrCat("/race.Svc/M", i));
  }
}

TEST(Sites, TurnedAwayLabelsAreCountedOnceUpToABoundThenOnEveryLookup) {
  SiteOfLabel("/first.Svc/M", Op::kRpc);  // the cap is at least 1
  SetMaxSites(static_cast<int>(SitesInUse()));
  const uint64_t dropped0 = SitesDropped();
  EXPECT_EQ(SiteOfLabel("/late.Svc/M", Op::kRpc), OtherSite(Op::kRpc));
  EXPECT_EQ(SiteOfLabel("/late.Svc/M", Op::kRpc), OtherSite(Op::kRpc));
  EXPECT_EQ(SitesDropped() - dropped0, 1u);
  // A client naming ever new methods cannot grow the table without bound:
  // past the remembered ones, a label is not kept and counts on each lookup.
  for (int i = 0; i < 5000; ++i) SiteOfLabel(absl::StrCat("/junk.Svc/M", i), Op::kRpc);
  EXPECT_EQ(SitesDropped() - dropped0, 5001u);
  const uint64_t dropped1 = SitesDropped();
  SiteOfLabel("/junk.Svc/M1", Op::kRpc);     // remembered: not counted again
  SiteOfLabel("/junk.Svc/M4999", Op::kRpc);  // not remembered: counted again
  EXPECT_EQ(SitesDropped() - dropped1, 1u);
  EXPECT_EQ(SiteOfLabel("/junk.Svc/M4999", Op::kRpc), OtherSite(Op::kRpc));
}

}  // namespace
}  // namespace leakwatch::core
