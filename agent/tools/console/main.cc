// leakwatch-console: a live, top-like view of a process's tasks over the gRPC
// introspection API (agent/rpc/leakwatch.proto). See --help.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "leakwatch.grpc.pb.h"
#include "render.h"

namespace {

namespace v1 = ::leakwatch::v1;

constexpr char kUsage[] =
    R"(usage: leakwatch-console --target HOST:PORT [options]

Shows, refreshed every --interval, the tasks of a process running leakwatch
with `introspection.enabled: true`: live tasks per kind, and the sites where
tasks are blocked now, worst first (deadlocks, suspected leaks, most stuck).

Options:
  --target HOST:PORT   the process's introspection.listen address (required)
  --interval DURATION  refresh period, e.g. 500ms, 2s (default 1s; at least 100ms)
  --once               print one frame and exit
  --top N              rows of the site table (default 20)
  --width N            line width (default: the terminal's, else 120)
  --dump 1|2           print the process's task dump (1: by site; 2: every task
                       with its stack) and exit
  --timeout DURATION   how long to wait for the process (default 5s)
  --help               this text

Exit status: 0 on success, 2 on bad usage, 1 when the process cannot be
reached or the call fails (the message says why).
)";

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "leakwatch-console: %s\n", message.c_str());
  return code;
}

int RpcFailed(const std::string& target, const ::grpc::Status& status) {
  std::string why = status.error_message();
  if (status.error_code() == ::grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED) {
    why = absl::StrCat("cannot reach ", target,
                       " (is leakwatch running there with introspection.enabled: true?): ", why);
  }
  return Fail(1, why);
}

bool PositiveDuration(const std::string& text, absl::Duration* out) {
  return absl::ParseDuration(text, out) && *out > absl::ZeroDuration();
}

int TerminalWidth() {
  if (const char* columns = std::getenv("COLUMNS")) {
    int n = 0;
    if (absl::SimpleAtoi(columns, &n) && n >= 40) return n;
  }
  return 120;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  absl::Duration interval = absl::Seconds(1), timeout = absl::Seconds(5);
  bool once = false;
  int dump = 0;
  leakwatch::console::RenderOptions render;
  render.width = TerminalWidth();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--target") {
      if (!has_value) return Fail(2, "--target needs HOST:PORT");
      target = argv[++i];
    } else if (arg == "--interval") {
      if (!has_value || !PositiveDuration(argv[++i], &interval)) {
        return Fail(2, "--interval needs a positive duration such as 500ms or 2s");
      }
      interval = std::max(interval, absl::Milliseconds(100));
    } else if (arg == "--timeout") {
      if (!has_value || !PositiveDuration(argv[++i], &timeout)) {
        return Fail(2, "--timeout needs a positive duration such as 5s");
      }
    } else if (arg == "--once") {
      once = true;
    } else if (arg == "--top") {
      if (!has_value || !absl::SimpleAtoi(argv[++i], &render.top_sites) || render.top_sites < 0) {
        return Fail(2, "--top needs a number >= 0");
      }
    } else if (arg == "--width") {
      if (!has_value || !absl::SimpleAtoi(argv[++i], &render.width) || render.width < 40) {
        return Fail(2, "--width needs a number >= 40");
      }
    } else if (arg == "--dump") {
      if (!has_value || !absl::SimpleAtoi(argv[++i], &dump) || (dump != 1 && dump != 2)) {
        return Fail(2, "--dump needs 1 or 2");
      }
    } else {
      return Fail(2, absl::StrCat("unknown argument \"", arg, "\" (see --help)"));
    }
  }
  if (target.empty()) return Fail(2, "--target HOST:PORT is required (see --help)");
  render.target = target;

  ::grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);  // task dumps of large processes
  auto stub = v1::Introspection::NewStub(
      ::grpc::CreateCustomChannel(target, ::grpc::InsecureChannelCredentials(), args));
  auto context = [&](bool streaming) {
    auto c = std::make_unique<::grpc::ClientContext>();
    // Reaching the process is bounded by --timeout; a stream then runs until
    // interrupted.
    if (!streaming) c->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return c;
  };

  if (dump != 0) {
    v1::DumpTasksRequest request;
    request.set_debug(dump);
    v1::DumpTasksResponse reply;
    const ::grpc::Status status = stub->DumpTasks(context(false).get(), request, &reply);
    if (!status.ok()) return RpcFailed(target, status);
    std::fputs(reply.text().c_str(), stdout);
    return 0;
  }
  if (once) {
    v1::Snapshot snapshot;
    const ::grpc::Status status =
        stub->GetSnapshot(context(false).get(), v1::GetSnapshotRequest(), &snapshot);
    if (!status.ok()) return RpcFailed(target, status);
    std::fputs(leakwatch::console::Render(snapshot, render).c_str(), stdout);
    return 0;
  }

  // Live: wait for the process (bounded), then follow its stream.
  auto channel_context = context(false);
  v1::Snapshot snapshot;
  if (::grpc::Status status =
          stub->GetSnapshot(channel_context.get(), v1::GetSnapshotRequest(), &snapshot);
      !status.ok()) {
    return RpcFailed(target, status);
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  v1::WatchSnapshotsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(interval)));
  auto stream_context = context(true);
  auto reader = stub->WatchSnapshots(stream_context.get(), request);
  while (reader->Read(&snapshot)) {
    const std::string frame = leakwatch::console::Render(snapshot, render);
    // A terminal is redrawn in place; a pipe gets frames one after another.
    std::fputs(tty ? "\x1b[H\x1b[2J" : "\n", stdout);
    std::fputs(frame.c_str(), stdout);
    std::fflush(stdout);
  }
  const ::grpc::Status status = reader->Finish();
  if (!status.ok()) return RpcFailed(target, status);
  return 0;
}
