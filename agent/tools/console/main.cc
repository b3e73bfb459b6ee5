// leakwatch-console: a live, top-like view of a process's tasks over the gRPC
// introspection API (agent/rpc/leakwatch.proto). See --help.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "grpcpp/grpcpp.h"
#include "leakwatch.grpc.pb.h"
#include "render.h"

ABSL_FLAG(std::string, target, "",
          "<HOST:PORT> the process's introspection.listen address (required)");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "refresh period, e.g. 500ms or 2s (at least 100ms)");
ABSL_FLAG(bool, once, false, "print one frame and exit");
ABSL_FLAG(int, top, 20, "rows of the site table");
ABSL_FLAG(int, width, 0, "line width, at least 40 (default: $COLUMNS, else 120)");
ABSL_FLAG(int, dump, 0,
          "<1|2> print the process's task dump (1: by site; 2: every task with its stack) "
          "and exit");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "how long to wait for the process");

namespace {

namespace v1 = ::leakwatch::v1;
using leakwatch::tools::Fail;

constexpr leakwatch::tools::Usage kUsage = {
    .tool = "leakwatch-console",
    .synopsis = "leakwatch-console --target HOST:PORT [flags]",
    .description =
        "Shows, refreshed every --interval, the tasks of a process running leakwatch\n"
        "with `introspection.enabled: true`: live tasks per kind, and the sites where\n"
        "tasks are blocked now, worst first (deadlocks, suspected leaks, most stuck).\n",
    .flags_file = "tools/console/main.cc",
    .footer =
        "Exit status: 0 on success, 2 on bad usage, 1 when the process cannot be\n"
        "reached or the call fails (the message says why).\n",
};

int RpcFailed(const std::string& target, const ::grpc::Status& status) {
  std::string why = status.error_message();
  if (status.error_code() == ::grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED) {
    why = absl::StrCat("cannot reach ", target,
                       " (is leakwatch running there with introspection.enabled: true?): ", why);
  }
  return Fail(kUsage, leakwatch::tools::kExitFailure, why);
}

int TerminalWidth() {
  if (const char* columns = std::getenv("COLUMNS")) {
    int n = 0;
    if (absl::SimpleAtoi(columns, &n) && n >= 40) return n;
  }
  return 120;
}

struct Options {
  std::string target;
  absl::Duration interval, timeout;
  bool once;
  int dump;
  leakwatch::console::RenderOptions render;
};

// The flags, checked; exits 2 on bad usage.
Options OptionsFromFlags() {
  auto bad = [](absl::string_view message) { leakwatch::tools::ExitUsageError(kUsage, message); };
  Options o;
  o.target = absl::GetFlag(FLAGS_target);
  if (o.target.empty()) bad("--target HOST:PORT is required");
  o.interval = absl::GetFlag(FLAGS_interval);
  if (o.interval <= absl::ZeroDuration()) {
    bad("--interval needs a positive duration such as 500ms or 2s");
  }
  o.interval = std::max(o.interval, absl::Milliseconds(100));
  o.timeout = absl::GetFlag(FLAGS_timeout);
  if (o.timeout <= absl::ZeroDuration()) bad("--timeout needs a positive duration such as 5s");
  o.once = absl::GetFlag(FLAGS_once);
  o.dump = absl::GetFlag(FLAGS_dump);
  if (o.dump != 0 && o.dump != 1 && o.dump != 2) bad("--dump needs 1 or 2");
  o.render.top_sites = absl::GetFlag(FLAGS_top);
  if (o.render.top_sites < 0) bad("--top needs a number >= 0");
  o.render.width = absl::GetFlag(FLAGS_width);
  if (o.render.width == 0) o.render.width = TerminalWidth();
  if (o.render.width < 40) bad("--width needs a number >= 40");
  o.render.target = o.target;
  return o;
}

// A context for one call: reaching the process is bounded by --timeout; a
// stream then runs until interrupted.
std::unique_ptr<::grpc::ClientContext> CallContext(const Options& o, bool streaming) {
  auto c = std::make_unique<::grpc::ClientContext>();
  if (!streaming) c->set_deadline(absl::ToChronoTime(absl::Now() + o.timeout));
  return c;
}

int PrintDump(v1::Introspection::Stub& stub, const Options& o) {
  v1::DumpTasksRequest request;
  request.set_debug(o.dump);
  v1::DumpTasksResponse reply;
  const ::grpc::Status status = stub.DumpTasks(CallContext(o, false).get(), request, &reply);
  if (!status.ok()) return RpcFailed(o.target, status);
  std::fputs(reply.text().c_str(), stdout);
  return 0;
}

int PrintOneFrame(v1::Introspection::Stub& stub, const Options& o) {
  v1::Snapshot snapshot;
  const ::grpc::Status status =
      stub.GetSnapshot(CallContext(o, false).get(), v1::GetSnapshotRequest(), &snapshot);
  if (!status.ok()) return RpcFailed(o.target, status);
  std::fputs(leakwatch::console::Render(snapshot, o.render).c_str(), stdout);
  return 0;
}

// Live: waits for the process (bounded), then follows its stream.
int FollowLive(v1::Introspection::Stub& stub, const Options& o) {
  auto channel_context = CallContext(o, false);
  v1::Snapshot snapshot;
  if (::grpc::Status status =
          stub.GetSnapshot(channel_context.get(), v1::GetSnapshotRequest(), &snapshot);
      !status.ok()) {
    return RpcFailed(o.target, status);
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  v1::WatchSnapshotsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(o.interval)));
  auto stream_context = CallContext(o, true);
  auto reader = stub.WatchSnapshots(stream_context.get(), request);
  while (reader->Read(&snapshot)) {
    const std::string frame = leakwatch::console::Render(snapshot, o.render);
    // A terminal is redrawn in place; a pipe gets frames one after another.
    std::fputs(tty ? "\x1b[H\x1b[2J" : "\n", stdout);
    std::fputs(frame.c_str(), stdout);
    std::fflush(stdout);
  }
  const ::grpc::Status status = reader->Finish();
  if (!status.ok()) return RpcFailed(o.target, status);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  leakwatch::tools::ParseFlagsOrExit(argc, argv, kUsage);
  const Options options = OptionsFromFlags();
  ::grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);  // task dumps of large processes
  auto stub = v1::Introspection::NewStub(
      ::grpc::CreateCustomChannel(options.target, ::grpc::InsecureChannelCredentials(), args));
  if (options.dump != 0) return PrintDump(*stub, options);
  if (options.once) return PrintOneFrame(*stub, options);
  return FollowLive(*stub, options);
}
