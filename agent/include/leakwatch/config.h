// leakwatch/config.h — the agent's configuration.
//
// A `Config` holds every setting of the agent. Its defaults are the production
// defaults documented in `config/leakwatch.yaml`; a default-constructed Config is
// valid and is what `Start()` uses when given none.
//
// Configs usually come from YAML:
//
//   absl::StatusOr<leakwatch::Config> config =
//       leakwatch::LoadConfigFile("/etc/leakwatch.yaml");
//   if (!config.ok()) { LOG(ERROR) << config.status(); return; }
//   leakwatch::Start(*config);
//
// Parsing never throws. A bad document (unknown key, wrong type, bad duration,
// value out of range, unreadable file) yields an `absl::InvalidArgumentError` (or
// `absl::NotFoundError` / `absl::PermissionDeniedError` for files) whose message
// names the key path and the line:column, for example
//   `sampler.interval: line 3, column 13: "5x" is not a duration (use 500ms, 15s, 2m, 1h)`.
//
// Thread-safety: a Config is a plain value; the functions here are thread-safe.

#ifndef LEAKWATCH_CONFIG_H_
#define LEAKWATCH_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace leakwatch {

struct Config {
  struct BasicAuth {
    std::string username;       // empty = no authentication
    std::string password_file;  // file whose first line is the password
  };
  struct Tls {
    std::string cert_file;  // PEM certificate chain; empty = plain HTTP
    std::string key_file;   // PEM private key
  };
  struct Exporter {
    bool enabled = true;
    std::string listen = "127.0.0.1:9464";  // host:port; port 0 picks a free port
    std::string path = "/metrics";
    bool debug_endpoint = true;  // serve /debug/tasks?debug=1|2
    BasicAuth basic_auth;
    Tls tls;
  };
  struct Sampler {
    absl::Duration interval = absl::Seconds(5);
  };
  struct Tasks {
    absl::Duration long_lived_after = absl::Minutes(10);
    absl::Duration stuck_after = absl::Minutes(1);
  };
  struct Sites {
    int max_sites = 2000;
    int stack_depth = 16;
    // Upper bounds (seconds) of the block-duration histogram buckets, strictly
    // increasing; +Inf is implicit. A site exports its histogram only from its
    // 10th finished wait or its first wait longer than 1 s, and never at an
    // expected idle wait (idle_sites, idle_threads).
    std::vector<double> histogram_buckets = {0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600, 3600};
    // Frames that are never an interposed wait's site, as glob patterns
    // (fnmatch(3): *, ?, [...]): the site is the first frame past them (if
    // every frame is skipped, the innermost skipped one). skip_modules match
    // the file name of the frame's module ("libboost_thread.so.1.83.0");
    // skip_functions its demangled function name ("boost::mutex::lock()").
    // libc, libstdc++, libgcc_s, ld-linux, absl and leakwatch are always
    // skipped. Setting a list replaces its defaults (the common lock wrappers
    // of gRPC core, Boost.Thread, folly, TBB, libevent, Qt and
    // MariaDB, listed in config/leakwatch.yaml).
    std::vector<std::string> skip_modules = {"libboost_thread*", "libtbb.so*", "libfolly.so*",
                                             "libevent_pthreads*"};
    // Grouped as in config/leakwatch.yaml: gRPC core, Boost.Thread, folly, Qt, MariaDB.
    std::vector<std::string> skip_functions = {"gpr_mu_*",
                                               "gpr_cv_*",
                                               "gpr_event_wait*",
                                               "grpc_core::Mutex::*",
                                               "grpc_core::CondVar::*",
                                               "boost::mutex::*",
                                               "boost::recursive_mutex::*",
                                               "boost::timed_mutex::*",
                                               "boost::shared_mutex::*",
                                               "boost::condition_variable::*",
                                               "boost::condition_variable_any::*",
                                               "boost::unique_lock<*",
                                               "boost::lock_guard<*",
                                               "folly::SharedMutexImpl<*",
                                               "folly::Baton<*",
                                               "folly::detail::futexWait*",
                                               "QMutex::*",
                                               "QBasicMutex::*",
                                               "QRecursiveMutex::*",
                                               "QReadWriteLock::*",
                                               "QWaitCondition::*",
                                               "QSemaphore::*",
                                               "inline_mysql_*",
                                               "psi_mutex_*",
                                               "psi_rwlock_*",
                                               "psi_prlock_*",
                                               "psi_cond_*",
                                               "rw_pr_*"};
    // Expected idle waits: service threads, connection caches and pool
    // workers that wait for work for as long as the process runs. A wait
    // longer than tasks.stuck_after is idle, not stuck, when its site matches
    // one of idle_sites or its thread's name matches one of idle_threads (glob
    // patterns as above). idle_sites match the site label
    // ("handle_manager+0xe0", "mariadbd+0xe2d6c2", "src/pool.cc:42") and the
    // label's function part before "+0x" ("handle_manager"); idle_threads
    // the name set with pthread_setname_np or prctl ("mc-slabmaint"). Idle
    // waits still count in leakwatch_blocked_tasks and show in the task dump;
    // they count in leakwatch_idle_tasks instead of leakwatch_stuck_tasks, so
    // neither alerts nor the leak detector see them. Setting a list replaces
    // its defaults (MariaDB's and memcached's service threads, listed in
    // config/leakwatch.yaml).
    std::vector<std::string> idle_sites = {"handle_manager", "slave_deadlock_handler",
                                           "do_handle_one_connection*",
                                           "tpool::thread_pool_generic::wait_for_tasks*"};
    std::vector<std::string> idle_threads = {"mc-assocmaint", "mc-itemcrawler", "mc-log",
                                             "mc-lrumaint",   "mc-slabmaint",   "mc-idletimeout",
                                             "mc-ext-*"};
    // A site with no task blocked there and no wait finished there for this
    // long is left out of the export (its series end) until a task waits
    // there again. Zero keeps every site.
    absl::Duration drop_after = absl::Hours(1);
    // Directories searched for separate debug files (absolute paths), after
    // the module's own directory, its .debug subdirectory and /usr/lib/debug:
    // by build-id (DIR/.build-id/xx/yyyy.debug) and by .gnu_debuglink name.
    // Interposed sites and dump stacks get function names (static ones too)
    // and file:line from them; debuginfod is asked only when DEBUGINFOD_URLS
    // is set to a non-empty value.
    std::vector<std::string> debug_dirs;
  };
  struct Intercept {
    bool enabled = true;
    bool mutex = true;
    bool rwlock = true;
    bool condvar = true;
    bool join = true;
    bool futex = true;
    bool threads = true;
  };
  // The growth-trend detector's keys. Their defaults (15m, 6h, 12, 3.09, 20,
  // 0.05, as config/leakwatch.yaml lists them) and ranges are the detector's
  // own parameters', defined once inside the library; the constructor sets them.
  struct Detector {
    Detector();
    bool enabled = true;
    absl::Duration floor_window;
    absl::Duration trend_window;
    int min_floors;
    double z_threshold;
    double min_growth;
    double min_growth_ratio;
  };
  struct Introspection {
    bool enabled = false;
    std::string listen = "127.0.0.1:9465";
  };

  Exporter exporter;
  Sampler sampler;
  Tasks tasks;
  Sites sites;
  Intercept intercept;
  Detector detector;
  Introspection introspection;
};

// Parses a YAML document. Keys that are absent keep their defaults.
// Returns the config, or an error naming the key path and line:column.
absl::StatusOr<Config> ParseConfig(std::string_view yaml);

// Reads and parses a file. An empty file yields the defaults.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Checks cross-field and range constraints of a Config built in code (ParseConfig
// already applies them). Returns OK or an InvalidArgumentError naming the key.
absl::Status ValidateConfig(const Config& config);

}  // namespace leakwatch

#endif  // LEAKWATCH_CONFIG_H_
