// The site table: every place where tasks wait gets a small integer id.
//
// Explicit sites come from std::source_location (`path:line`), interposed ones
// from a symbolized frame (`function+0x1c`). A site is the pair (label, op). The
// table is capped (sites.max_sites); past the cap a wait is counted under the
// site "other" of its op, and SitesDropped() rises once per site turned away
// (for the first 4096 turned away; after those, once per lookup).
//
// Lookups by source location are lock-free (an open-addressed table keyed by the
// location's file pointer, line and op); inserts take a mutex. Several
// locations may share one id (the same header line compiled into two
// translation units has two file pointers but one label).

#ifndef LEAKWATCH_CORE_SITES_H_
#define LEAKWATCH_CORE_SITES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "leakwatch/task.h"

namespace leakwatch::core {

inline constexpr uint32_t kMaxSitesHard = 10000;  // upper bound of sites.max_sites
// Ids [0, kNumOps) are the "other" site of each op.
inline constexpr uint32_t kFirstRealSite = kNumOps;
inline constexpr uint32_t kSiteCapacity = kFirstRealSite + kMaxSitesHard;

struct SiteInfo {
  std::string label;
  Op op;
};

inline uint32_t OtherSite(Op op) { return static_cast<uint32_t>(op); }

uint32_t SiteOfLocation(const char* file, uint32_t line, Op op) noexcept;
uint32_t SiteOfLabel(std::string_view label, Op op) noexcept;

// The site with id `id`, or nullptr if no such site exists. Valid forever.
const SiteInfo* GetSite(uint32_t id) noexcept;

// One past the highest id handed out.
uint32_t SiteIdLimit() noexcept;
// Real sites interned (excluding the "other" sites).
int64_t SitesInUse() noexcept;
uint64_t SitesDropped() noexcept;

// Sets the cap on real sites (clamped to [1, kMaxSitesHard]). Sites already
// interned keep their ids.
void SetMaxSites(int max_sites) noexcept;

// Turns a source file path into the label's path: drops "./" and the build's
// source-root prefix when the compiler left it in.
std::string NormalizeSourcePath(std::string_view file);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_SITES_H_
