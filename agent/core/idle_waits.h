// Expected idle waits: the waits of service threads, connection caches and
// pool workers that wait for work for as long as the process runs
// (sites.idle_sites, sites.idle_threads). A wait longer than
// tasks.stuck_after is counted idle instead of stuck when its site or its
// thread's name matches; the sampler asks, never the hooks, so the wait path
// pays nothing for it.
//
// A site's answer is computed once per site id (labels never change) and kept
// in a lock-free table; a thread name is matched each time it is asked (only
// for waits already longer than tasks.stuck_after).
//
// Thread safety: an IdleWaitRules is immutable after construction apart from
// its per-site cache, whose entries are set once with atomics; every member
// may be called concurrently from any number of threads.

#ifndef LEAKWATCH_CORE_IDLE_WAITS_H_
#define LEAKWATCH_CORE_IDLE_WAITS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leakwatch::core {

class IdleWaitRules {
 public:
  // Glob patterns (fnmatch(3) without flags), as validated by the config
  // layer. site_patterns match a site's label and its function part (the
  // label before its last "+0x"); thread_patterns match thread names.
  IdleWaitRules(std::vector<std::string> site_patterns, std::vector<std::string> thread_patterns);

  // True if waits at site `site` (an id of the site table) are expected idle.
  bool SiteIsIdle(uint32_t site) const noexcept;
  // True if `label` names an expected idle site (what SiteIsIdle decides).
  bool LabelIsIdle(std::string_view label) const;
  // True if a thread named `name` waits idle wherever it waits.
  bool ThreadIsIdle(std::string_view name) const;
  bool HasThreadPatterns() const { return !thread_patterns_.empty(); }

 private:
  std::vector<std::string> site_patterns_;
  std::vector<std::string> thread_patterns_;
  // Per site id: 0 = not decided yet, 1 = not idle, 2 = idle.
  std::unique_ptr<std::atomic<uint8_t>[]> site_class_;
};

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_IDLE_WAITS_H_
