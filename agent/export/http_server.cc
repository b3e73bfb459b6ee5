#include "export/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "civetweb.h"
#include "config/listen_address.h"
#include "core/adopted_threads.h"

namespace leakwatch::exporter {

// civetweb's worker threads (besides its master thread).
constexpr int kWorkerThreads = 2;

// The listening sockets of this process bound to one of `ports` (any port if
// empty), except those in `before`. Used to find civetweb's own (it does not expose them): a port
// cannot be bound twice, and `before` excludes anything listening already.
std::vector<int> ListeningSockets(const std::vector<int>& ports, const std::vector<int>& before) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (const dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int port = -1;
    if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (!ports.empty() && std::find(ports.begin(), ports.end(), port) == ports.end()) continue;
    if (std::find(before.begin(), before.end(), fd) != before.end()) continue;
    fds.push_back(fd);
  }
  closedir(dir);
  return fds;
}

struct HttpServer::Impl {
  Config::Exporter config;
  Handlers handlers;
  std::string expected_auth;  // "user:password", empty = no auth
  std::string tls_pem_path;   // combined key+cert file for civetweb, removed at stop
  mg_context* ctx = nullptr;
  std::vector<int> listening_fds;  // civetweb's, found after start (see WakeForStop)

  // civetweb's threads that have started (see AwaitThreads).
  std::mutex started_mu;
  std::condition_variable started_cv;
  int threads_started ABSL_GUARDED_BY(started_mu) = 0;

  void ThreadStarted() {
    std::lock_guard<std::mutex> lock(started_mu);
    ++threads_started;
    started_cv.notify_all();
  }

  // Each civetweb thread sets SIGPIPE to ignored as it starts, before it calls
  // init_thread: once all have called it, the caller can give the host its
  // disposition back without a thread undoing that later (core/host_signals.h).
  void AwaitThreads(int n) {
    std::unique_lock<std::mutex> lock(started_mu);
    started_cv.wait_for(lock, std::chrono::seconds(5),
                        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return threads_started >= n; });
  }

  ~Impl() {
    if (ctx != nullptr) {
      WakeForStop();
      mg_stop(ctx);
    }
    if (!tls_pem_path.empty()) unlink(tls_pem_path.c_str());
  }

  // civetweb's master thread polls its listening sockets in 2 s quanta and
  // checks for a stop only between them, so mg_stop() alone takes up to 2 s (a
  // short-lived program under the preload library would exit 2 s late). A
  // listening socket that is shut down polls readable at once and for good:
  // the master thread wakes, sees the stop flag and exits.
  void WakeForStop() {
    for (int fd : listening_fds) shutdown(fd, SHUT_RDWR);
  }

  bool Authorized(mg_connection* conn) const {
    if (expected_auth.empty()) return true;
    const char* header = mg_get_header(conn, "Authorization");
    if (header == nullptr || strncasecmp(header, "Basic ", 6) != 0) return false;
    std::string decoded;
    if (!absl::Base64Unescape(header + 6, &decoded)) return false;
    // Constant-time comparison: no early exit on the first differing byte.
    unsigned diff = decoded.size() ^ expected_auth.size();
    for (size_t i = 0; i < expected_auth.size(); ++i) {
      diff |= static_cast<unsigned char>(expected_auth[i]) ^
              static_cast<unsigned char>(i < decoded.size() ? decoded[i] : 0);
    }
    return diff == 0;
  }
};

namespace {

int SendBody(mg_connection* conn, const std::string& body, const char* content_type, bool head) {
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\n\r\n",
            content_type, body.size());
  if (!head) mg_write(conn, body.data(), body.size());
  return 200;
}

int Serve(mg_connection* conn, void* cbdata, bool is_metrics) {
  auto* impl = static_cast<HttpServer::Impl*>(cbdata);
  const mg_request_info* req = mg_get_request_info(conn);
  const bool head = std::strcmp(req->request_method, "HEAD") == 0;
  if (!head && std::strcmp(req->request_method, "GET") != 0) {
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: "
              "text/plain\r\nContent-Length: 19\r\n\r\nmethod not allowed\n");
    return 405;
  }
  if (!impl->Authorized(conn)) {
    mg_printf(conn,
              "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"leakwatch\"\r\n"
              "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nunauthorized\n");
    return 401;
  }
  try {
    if (is_metrics) {
      return SendBody(conn, impl->handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8",
                      head);
    }
    int debug = 1;
    if (req->query_string != nullptr) {
      char value[16];
      const int n = mg_get_var(req->query_string, std::strlen(req->query_string), "debug", value,
                               sizeof value);
      if (n >= 0 && !absl::SimpleAtoi(value, &debug)) {
        mg_send_http_error(conn, 400, "debug must be 1 or 2\n");
        return 400;
      }
      if (n == -2) {
        mg_send_http_error(conn, 400, "debug must be 1 or 2\n");
        return 400;
      }
    }
    if (debug != 1 && debug != 2) {
      mg_send_http_error(conn, 400, "debug must be 1 or 2\n");
      return 400;
    }
    return SendBody(conn, impl->handlers.dump(debug), "text/plain; charset=utf-8", head);
  } catch (...) {
    mg_send_http_error(conn, 500, "internal error\n");
    return 500;
  }
}

int ServeMetrics(mg_connection* conn, void* cbdata) { return Serve(conn, cbdata, true); }
int ServeDump(mg_connection* conn, void* cbdata) { return Serve(conn, cbdata, false); }
int ServeNotFound(mg_connection* conn, void*) {
  mg_send_http_error(conn, 404, "not found: leakwatch serves its metrics path and /debug/tasks\n");
  return 404;
}

// civetweb logs errors to stderr unless told otherwise; the host's output is not ours.
int SilenceLog(const mg_connection*, const char*) { return 1; }

// civetweb's threads are leakwatch's own: hooks loaded later never adopt them.
void* MarkServerThread(const mg_context* ctx, int) {
  core::MarkAgentThread();
  static_cast<HttpServer::Impl*>(mg_get_user_data(ctx))->ThreadStarted();
  return nullptr;
}

// Why `listen` cannot be bound, from a bind of our own (civetweb says only
// "Failed to setup server ports"): "Address already in use", or "" if it can.
std::string BindFailure(const std::string& listen) {
  absl::StatusOr<config::ListenAddress> address = config::ParseListenAddress(listen);
  if (!address.ok()) return "";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = absl::StrCat(address->port);
  if (getaddrinfo(address->host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return "";
  }
  std::string why;
  const int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = strerror(errno);
  } else {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as civetweb binds
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) why = strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  return why;
}

absl::StatusOr<std::string> ReadFileFirstLine(const std::string& path, const char* key) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(key, ": cannot read \"", path, "\""));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty())
    return absl::InvalidArgumentError(absl::StrCat(key, ": \"", path, "\" is empty"));
  return line;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, const char* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(key, ": cannot read \"", path, "\""));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::string> ListenSpec(const std::string& listen) {
  absl::StatusOr<config::ListenAddress> address = config::ParseListenAddress(listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("exporter.listen: ", address.status().message()));
  }
  const std::string& host = address->host;
  const int port = address->port;
  in6_addr v6;
  in_addr v4;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return absl::StrCat("[", host, "]:", port);
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("exporter.listen: cannot resolve host \"", host, "\""));
  }
  char text[INET6_ADDRSTRLEN] = {};
  std::string spec;
  if (res->ai_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, text,
              sizeof text);
    spec = absl::StrCat("[", text, "]:", port);
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
    spec = absl::StrCat(text, ":", port);
  }
  freeaddrinfo(res);
  return spec;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() = default;

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Config::Exporter& config,
                                                              Handlers handlers) {
  static const unsigned features = mg_init_library(MG_FEATURES_TLS | MG_FEATURES_IPV6);
  (void)features;
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->handlers = std::move(handlers);

  absl::StatusOr<std::string> spec = ListenSpec(config.listen);
  if (!spec.ok()) return spec.status();
  std::string ports = *spec;

  if (!config.basic_auth.username.empty()) {
    absl::StatusOr<std::string> password =
        ReadFileFirstLine(config.basic_auth.password_file, "exporter.basic_auth.password_file");
    if (!password.ok()) return password.status();
    impl->expected_auth = absl::StrCat(config.basic_auth.username, ":", *password);
  }
  if (!config.tls.cert_file.empty()) {
    if (mg_check_feature(MG_FEATURES_TLS) == 0) {
      return absl::UnavailableError("exporter.tls: this civetweb build has no TLS support");
    }
    absl::StatusOr<std::string> key = ReadWholeFile(config.tls.key_file, "exporter.tls.key_file");
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> cert =
        ReadWholeFile(config.tls.cert_file, "exporter.tls.cert_file");
    if (!cert.ok()) return cert.status();
    // civetweb wants key and certificate in one PEM file.
    char path[] = "/tmp/leakwatch-tls-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return absl::UnavailableError("exporter.tls: cannot create a temporary PEM file");
    const std::string pem = *key + "\n" + *cert;
    const bool written = write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
    close(fd);
    impl->tls_pem_path = path;
    if (!written) return absl::UnavailableError("exporter.tls: cannot write the PEM file");
    ports += "s";
  }

  const std::string num_threads = absl::StrCat(kWorkerThreads);
  std::vector<const char*> options = {
      "listening_ports",    ports.c_str(), "num_threads",       num_threads.c_str(),
      "request_timeout_ms", "10000",       "enable_keep_alive", "no"};
  if (!impl->tls_pem_path.empty()) {
    options.push_back("ssl_certificate");
    options.push_back(impl->tls_pem_path.c_str());
  }
  options.push_back(nullptr);

  mg_callbacks callbacks{};
  callbacks.log_message = &SilenceLog;
  callbacks.init_thread = &MarkServerThread;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.configuration_options = options.data();
  init.user_data = impl.get();
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  // Any port: everything listening before the start is excluded below.
  const std::vector<int> listening_before = ListeningSockets({}, {});
  impl->ctx = mg_start2(&init, &error);
  if (impl->ctx == nullptr) {
    const std::string civetweb = error_text[0] ? error_text : "start failed";
    const std::string why = BindFailure(config.listen);
    return absl::UnavailableError(
        absl::StrCat("exporter.listen: cannot serve on ", config.listen, ": ",
                     why.empty() ? civetweb : absl::StrCat(why, " (", civetweb, ")")));
  }
  impl->AwaitThreads(1 + kWorkerThreads);  // the master and the workers
  mg_set_request_handler(impl->ctx, (config.path + "$").c_str(), &ServeMetrics, impl.get());
  if (config.debug_endpoint) {
    mg_set_request_handler(impl->ctx, "/debug/tasks$", &ServeDump, impl.get());
  }
  mg_set_request_handler(impl->ctx, "/", &ServeNotFound, impl.get());
  mg_server_port server_ports[4] = {};
  const int n = mg_get_server_ports(impl->ctx, 4, server_ports);
  const int port = n > 0 ? server_ports[0].port : 0;
  std::vector<int> bound_ports;
  for (int i = 0; i < n; ++i) bound_ports.push_back(server_ports[i].port);
  impl->listening_fds = ListeningSockets(bound_ports, listening_before);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), port));
}

}  // namespace leakwatch::exporter
