#include "http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "config/listen_address.h"
#include "http/connection_table.h"
#include "http/http_request.h"

namespace leakwatch::http {
namespace {

// A client that stops reading its reply (or sending its headers) for this
// long is closed by libmicrohttpd itself.
constexpr unsigned kInactivitySeconds = 10;
// Per-connection buffer for the request line, headers and reply headers:
// longer requests get 414 or 431 from libmicrohttpd. Above 32 kB the library
// maps it (instead of malloc): an idle connection holds only the pages it
// touched, and they go back to the system when it closes.
constexpr size_t kConnectionMemory = 48 * 1024;
// How long the server waits before it tries to accept again when the process
// has no descriptor left for a new connection.
constexpr int kAcceptBackoffMs = 100;

int64_t NowNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The connection caps: 1/8 of the descriptors the process may open (the rest
// are the host's), at most 128 in total and half of that per client address.
ConnectionTable::Limits Limits() {
  ConnectionTable::Limits limits;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    limits.max_total = static_cast<int>(
        std::clamp<rlim_t>(nofile.rlim_cur / 8, 4, static_cast<rlim_t>(limits.max_total)));
  }
  limits.max_per_address = std::max(2, limits.max_total / 2);
  return limits;
}

std::string AddressText(const sockaddr* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr == nullptr) return "";
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof text);
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text, sizeof text);
  }
  return text;
}

int ConnectionFd(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  return info != nullptr ? info->connect_fd : -1;
}

absl::StatusOr<std::string> ReadFileFirstLine(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(key, ": cannot read \"", path, "\""));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty())
    return absl::InvalidArgumentError(absl::StrCat(key, ": \"", path, "\" is empty"));
  return line;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(key, ": cannot read \"", path, "\""));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `listen` (the value of `key`) as a socket address (host names resolved).
absl::StatusOr<sockaddr_storage> ListenAddress(const std::string& listen, const std::string& key,
                                               socklen_t* len) {
  absl::StatusOr<config::ListenAddress> address = config::ParseListenAddress(listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": ", address.status().message()));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = absl::StrCat(address->port);
  if (getaddrinfo(address->host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": cannot resolve host \"", address->host, "\""));
  }
  sockaddr_storage storage{};
  std::memcpy(&storage, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return storage;
}

// A listening socket on `listen`, close-on-exec and non-blocking.
absl::StatusOr<int> Listen(const std::string& listen, const std::string& key) {
  socklen_t len = 0;
  absl::StatusOr<sockaddr_storage> addr = ListenAddress(listen, key, &len);
  if (!addr.ok()) return addr.status();
  const int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&*addr), len) != 0 || ::listen(fd, 1024) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat(key, ": cannot serve on ", listen, ": ", std::strerror(error)));
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

void SilenceLog(void*, const char*, va_list) {}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(ConnectionTable::Limits limits) : table(limits) {}

  Routes routes;
  std::string tls_key, tls_cert;  // must outlive the daemon
  ConnectionTable table;          // used on the server thread only
  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;    // owned by the daemon once it started
  int wake_fd = -1;      // eventfd: Stop
  uint64_t accepts = 0;  // connections offered to OnAccept (server thread only)
  std::function<void()> on_thread_start;
  std::thread thread;

  ~Impl() {
    if (thread.joinable()) {
      const uint64_t one = 1;
      (void)!write(wake_fd, &one, sizeof one);
      thread.join();
    }
    if (daemon != nullptr) MHD_stop_daemon(daemon);  // closes the listening socket too
    if (wake_fd >= 0) close(wake_fd);
  }

  void CloseConnections(const std::vector<int>& fds) {
    // libmicrohttpd sees the shutdown as the peer's and closes the connection
    // on its next pass; the descriptor stays its own until then.
    for (int fd : fds) shutdown(fd, SHUT_RDWR);
  }

  void Loop() {
    if (on_thread_start) on_thread_start();
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const int epoll_fd = info != nullptr ? info->epoll_fd : -1;
    std::vector<int> expired;
    // A pass that left a connection waiting in the listening socket without
    // offering it to OnAccept could not accept it (EMFILE, ENFILE): the
    // library would retry on every pass, and the loop would spin.
    bool backoff = false;
    while (true) {
      int timeout_ms = 1000;
      MHD_UNSIGNED_LONG_LONG mhd_timeout = 0;
      if (MHD_get_timeout(daemon, &mhd_timeout) == MHD_YES) {
        timeout_ms = static_cast<int>(std::min<MHD_UNSIGNED_LONG_LONG>(mhd_timeout, timeout_ms));
      }
      expired.clear();
      const int64_t now = NowNanos();
      if (std::optional<int64_t> next = table.Expire(now, &expired)) {
        timeout_ms = static_cast<int>(std::min<int64_t>(timeout_ms, (*next - now) / 1'000'000 + 1));
      }
      CloseConnections(expired);
      if (!expired.empty()) timeout_ms = 0;
      pollfd fds[2] = {{epoll_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      // Out of descriptors, the next pass would only fail to accept again:
      // wait for the stop signal alone for a while instead of spinning.
      const int ready =
          poll(fds + (backoff ? 1 : 0), backoff ? 1 : 2, backoff ? kAcceptBackoffMs : timeout_ms);
      if (ready < 0 && errno != EINTR) break;
      if (fds[1].revents != 0) break;
      const uint64_t accepts_before = accepts;
      MHD_run(daemon);
      backoff = accepts == accepts_before && Readable(listen_fd);
    }
  }

  // True if a connection waits on `fd` (a listening socket) to be accepted.
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

  // libmicrohttpd callbacks; none of them lets an exception out.
  static MHD_Result OnAccept(void* cls, const sockaddr* addr, socklen_t) {
    auto* impl = static_cast<Impl*>(cls);
    ++impl->accepts;
    try {
      std::vector<int> evict;
      const bool admitted = impl->table.Admit(AddressText(addr), &evict);
      impl->CloseConnections(evict);
      return admitted ? MHD_YES : MHD_NO;
    } catch (...) {
      return MHD_NO;
    }
  }

  static void OnConnection(void* cls, MHD_Connection* connection, void**,
                           MHD_ConnectionNotificationCode code) {
    auto* impl = static_cast<Impl*>(cls);
    const int fd = ConnectionFd(connection);
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      impl->table.Closed(fd);
      return;
    }
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    try {
      impl->table.Opened(fd, AddressText(info != nullptr ? info->client_addr : nullptr),
                         NowNanos());
    } catch (...) {
      std::vector<int> close_now{fd};
      impl->CloseConnections(close_now);  // no room to track it: not kept
    }
  }

  static void OnCompleted(void* cls, MHD_Connection* connection, void**,
                          MHD_RequestTerminationCode) {
    static_cast<Impl*>(cls)->table.RequestFinished(ConnectionFd(connection), NowNanos());
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char*, const char*,
                              size_t* upload_data_size, void** request_state) {
    auto* impl = static_cast<Impl*>(cls);
    if (*request_state != nullptr) {
      *upload_data_size = 0;  // a body after the reply was queued: dropped
      return MHD_YES;
    }
    *request_state = impl;  // the reply is queued on this first call
    impl->table.RequestStarted(ConnectionFd(connection));
    HttpReply reply;
    try {
      HttpRequest request;
      request.method = method;
      request.path = url;
      if (const char* debug =
              MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "debug")) {
        request.debug = debug;
      }
      MHD_get_connection_values(
          connection, MHD_HEADER_KIND,
          [](void* headers, MHD_ValueKind, const char* key, const char* value) {
            static_cast<HttpRequest*>(headers)->headers.emplace_back(key, value ? value : "");
            return MHD_YES;
          },
          &request);
      reply = Answer(request, impl->routes);
    } catch (...) {
      reply.status = 500;
      reply.body.clear();
      reply.headers.clear();
      reply.close = true;
    }
    MHD_Response* response = MHD_create_response_from_buffer(reply.body.size(), reply.body.data(),
                                                             MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;  // out of memory: the connection is closed
    MHD_add_response_header(response, "Content-Type", reply.content_type.c_str());
    for (const auto& [name, value] : reply.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    if (reply.close) MHD_add_response_header(response, "Connection", "close");
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
    MHD_destroy_response(response);
    return queued;
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() = default;

namespace {

// Reads the password and the TLS key pair that the options name.
absl::Status ReadCredentials(const HttpServer::Options& options, std::string& expected_auth,
                             std::string& tls_key, std::string& tls_cert) {
  const std::string& prefix = options.key_prefix;
  if (!options.basic_auth_username.empty()) {
    absl::StatusOr<std::string> password = ReadFileFirstLine(
        options.basic_auth_password_file, absl::StrCat(prefix, "basic_auth.password_file"));
    if (!password.ok()) return password.status();
    expected_auth = absl::StrCat(options.basic_auth_username, ":", *password);
  }
  if (options.tls_cert_file.empty()) return absl::OkStatus();
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return absl::UnavailableError(
        absl::StrCat(prefix, "tls: this libmicrohttpd has no TLS support"));
  }
  absl::StatusOr<std::string> key =
      ReadWholeFile(options.tls_key_file, absl::StrCat(prefix, "tls.key_file"));
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> cert =
      ReadWholeFile(options.tls_cert_file, absl::StrCat(prefix, "tls.cert_file"));
  if (!cert.ok()) return cert.status();
  tls_key = *std::move(key);
  tls_cert = *std::move(cert);
  return absl::OkStatus();
}

// Starts libmicrohttpd on impl's listening socket; nullptr when it refuses.
MHD_Daemon* StartDaemon(HttpServer::Impl& impl, bool tls, int max_connections) {
  using Impl = HttpServer::Impl;
  // Polled by the server's own thread (no MHD_USE_INTERNAL_POLLING_THREAD):
  // libmicrohttpd starts no thread, and the deadlines of ConnectionTable run
  // between its passes.
  unsigned flags = MHD_USE_EPOLL;
  if (tls) flags |= MHD_USE_TLS;
  MHD_OptionItem mhd_options[] = {
      {MHD_OPTION_LISTEN_SOCKET, impl.listen_fd, nullptr},
      {MHD_OPTION_EXTERNAL_LOGGER, 0, reinterpret_cast<void*>(&SilenceLog)},
      // Above the table's cap: connections being closed still count here.
      {MHD_OPTION_CONNECTION_LIMIT, max_connections * 2, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, kInactivitySeconds, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Impl::OnConnection), &impl},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::OnCompleted), &impl},
      {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, const_cast<char*>(impl.tls_key.c_str())},
      {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
       const_cast<char*>(impl.tls_cert.c_str())},
      {MHD_OPTION_END, 0, nullptr},
  };
  return MHD_start_daemon(flags, 0, &Impl::OnAccept, &impl, &Impl::OnRequest, &impl,
                          MHD_OPTION_ARRAY, mhd_options, MHD_OPTION_END);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                              Routes routes) {
  const ConnectionTable::Limits limits = Limits();
  auto impl = std::make_unique<Impl>(limits);
  impl->routes = std::move(routes);
  impl->routes.expected_auth.clear();
  impl->on_thread_start = options.on_thread_start;
  if (absl::Status s =
          ReadCredentials(options, impl->routes.expected_auth, impl->tls_key, impl->tls_cert);
      !s.ok()) {
    return s;
  }
  const bool tls = !options.tls_cert_file.empty();

  const std::string listen_key = absl::StrCat(options.key_prefix, "listen");
  absl::StatusOr<int> listen_fd = Listen(options.listen, listen_key);
  if (!listen_fd.ok()) return listen_fd.status();
  const int port = BoundPort(*listen_fd);
  impl->listen_fd = *listen_fd;
  impl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) {
    close(*listen_fd);
    return absl::UnavailableError(
        absl::StrCat(options.name, ": cannot create an eventfd: ", std::strerror(errno)));
  }
  impl->daemon = StartDaemon(*impl, tls, limits.max_total);
  if (impl->daemon == nullptr) {
    close(*listen_fd);
    return absl::UnavailableError(
        tls ? absl::StrCat(options.key_prefix,
                           "tls: the key or certificate was refused (PEM files of a matching "
                           "pair?)")
            : absl::StrCat(listen_key, ": cannot serve on ", options.listen));
  }
  try {
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return absl::UnavailableError(
        absl::StrCat(options.name, ": cannot start its thread: ", e.what()));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), port));
}

}  // namespace leakwatch::http
