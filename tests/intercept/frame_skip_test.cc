// The skip decision of sites.skip_modules / sites.skip_functions
// (intercept/frame_skip.h): which frames are never a wait's site.

#include "intercept/frame_skip.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "leakwatch/config.h"

namespace leakwatch::intercept::internal {
namespace {

FrameSkipRules Defaults() {
  const Config::Sites sites;
  return FrameSkipRules(sites.skip_modules, sites.skip_functions);
}

TEST(FrameSkipTest, FunctionPatternMatchesTheWholeDemangledName) {
  const FrameSkipRules rules({}, {"wrap_lock", "Ns::Lock::*"});
  EXPECT_TRUE(rules.Skips("/usr/bin/app", "wrap_lock"));
  EXPECT_FALSE(rules.Skips("/usr/bin/app", "wrap_lock_all"));
  EXPECT_FALSE(rules.Skips("/usr/bin/app", "my_wrap_lock"));
  EXPECT_TRUE(rules.Skips("/usr/bin/app", "Ns::Lock::lock()"));
  EXPECT_FALSE(rules.Skips("/usr/bin/app", "Ns::LockGuard::LockGuard()"));
}

TEST(FrameSkipTest, ModulePatternMatchesTheFileNameOnly) {
  const FrameSkipRules rules({"libwrap.so*"}, {});
  EXPECT_TRUE(rules.Skips("/opt/x/lib/libwrap.so.1.2", "anything"));
  EXPECT_TRUE(rules.Skips("libwrap.so", nullptr));
  EXPECT_FALSE(rules.Skips("/opt/libwrap.so/bin/app", "main"));
  EXPECT_FALSE(rules.Skips("/usr/lib/libwrapper.so", "main"));
}

TEST(FrameSkipTest, UnknownModuleOrFunctionMatchesNothing) {
  const FrameSkipRules rules({"*.so"}, {"*_lock"});
  EXPECT_FALSE(rules.Skips(nullptr, nullptr));
  EXPECT_FALSE(rules.Skips("", ""));
  EXPECT_TRUE(rules.Skips(nullptr, "wrap_lock"));
}

TEST(FrameSkipTest, EscapedBracketMatchesALiteralBracket) {
  const FrameSkipRules rules({}, {"Queue<int>::operator\\[\\](int)"});
  EXPECT_TRUE(rules.Skips(nullptr, "Queue<int>::operator[](int)"));
  EXPECT_FALSE(rules.Skips(nullptr, "Queue<int>::operator()(int)"));
}

TEST(FrameSkipTest, DefaultsSkipTheCommonWrappers) {
  const FrameSkipRules rules = Defaults();
  for (const char* wrapper : {"gpr_mu_lock", "gpr_cv_wait", "gpr_event_wait",
                              "grpc_core::Mutex::Lock()", "boost::mutex::lock()",
                              "boost::condition_variable::wait(boost::unique_lock<boost::mutex>&)",
                              "boost::unique_lock<boost::mutex>::lock()",
                              "folly::SharedMutexImpl<false, void, "
                              "std::atomic, folly::SharedMutexPolicyDefault>::lockExclusiveImpl()",
                              "QMutex::lock()", "QBasicMutex::lockInternal()",
                              "QWaitCondition::wait(QMutex*, "
                              "QDeadlineTimer)",
                              "inline_mysql_mutex_lock", "psi_cond_wait", "rw_pr_wrlock"}) {
    EXPECT_TRUE(rules.Skips("/usr/bin/server", wrapper)) << wrapper;
  }
  for (const char* module : {"/usr/lib/x86_64-linux-gnu/libboost_thread.so.1.83.0",
                             "/usr/lib/x86_64-linux-gnu/libtbb.so.12",
                             "/usr/lib/x86_64-linux-gnu/libevent_pthreads-2.1.so.7"}) {
    EXPECT_TRUE(rules.Skips(module, "")) << module;
  }
}

TEST(FrameSkipTest, DefaultsKeepTheProgramsOwnFunctions) {
  const FrameSkipRules rules = Defaults();
  for (const char* user :
       {"main", "PyThread_acquire_lock_timed", "Server::HandleRequest()", "lock", "mutex_lock",
        "std::thread::_State_impl<>::_M_run()", "boost::asio::detail::scheduler::run()",
        "do_handle_one_connection()", "tpool::thread_pool_generic::wait_for_tasks()",
        "PyEval_EvalCode", "QThread::run()"}) {
    EXPECT_FALSE(rules.Skips("/usr/bin/server", user)) << user;
  }
  EXPECT_FALSE(rules.Skips("/usr/lib/x86_64-linux-gnu/libtbbmalloc.so.2", "scalable_malloc"));
}

TEST(FrameSkipTest, SameAsComparesBothLists) {
  const FrameSkipRules rules({"a"}, {"b"});
  EXPECT_TRUE(rules.SameAs({"a"}, {"b"}));
  EXPECT_FALSE(rules.SameAs({"a"}, {}));
  EXPECT_FALSE(rules.SameAs({"b"}, {"a"}));
}

}  // namespace
}  // namespace leakwatch::intercept::internal
