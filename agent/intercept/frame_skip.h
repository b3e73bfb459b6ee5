// Which frames are never a wait's site: the frames of the lock wrappers a
// program or its libraries put around pthread primitives (CPython's
// PyThread_acquire_lock_timed, MariaDB's inline_mysql_mutex_lock, Qt's
// QMutex::lock), configured as sites.skip_modules and sites.skip_functions.
// Without it, every wait through such a wrapper is sited at the wrapper.
//
// The decision is made once per return address, where a frame is classified
// (capture.cc caches the class with the address), never per wait.
//
// Thread safety: a FrameSkipRules is immutable after construction; Skips may be
// called concurrently from any number of threads. Skips allocates nothing (it
// runs inside the hooks).

#ifndef LEAKWATCH_INTERCEPT_FRAME_SKIP_H_
#define LEAKWATCH_INTERCEPT_FRAME_SKIP_H_

#include <string>
#include <vector>

namespace leakwatch::intercept::internal {

class FrameSkipRules {
 public:
  // Glob patterns (fnmatch(3) without flags: '*' also matches '/' and ':'),
  // as validated by the config layer (sites.skip_*).
  FrameSkipRules(std::vector<std::string> module_patterns,
                 std::vector<std::string> function_patterns);

  // True if the frame is never a site: the file name (last path component) of
  // `module_path` matches a module pattern, or the demangled `function`
  // matches a function pattern. Either may be null or "" (unknown), which
  // matches nothing.
  bool Skips(const char* module_path, const char* function) const noexcept;

  bool SameAs(const std::vector<std::string>& module_patterns,
              const std::vector<std::string>& function_patterns) const {
    return module_patterns == modules_ && function_patterns == functions_;
  }

 private:
  std::vector<std::string> modules_;
  std::vector<std::string> functions_;
};

}  // namespace leakwatch::intercept::internal

#endif  // LEAKWATCH_INTERCEPT_FRAME_SKIP_H_
