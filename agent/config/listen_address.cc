#include "listen_address.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "quote.h"

namespace leakwatch::config {
namespace {

constexpr absl::string_view kExamples = "e.g. 127.0.0.1:9464, [::1]:9464 or localhost:9464";

absl::Status Bad(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(Quote(address), " is not host:port: ", why, " (", kExamples, ")"));
}

bool IsHostName(absl::string_view host) {
  if (host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return false;
    }
  }
  return true;
}

bool IsAddress(int family, const std::string& text) {
  unsigned char buffer[sizeof(struct in6_addr)];
  if (text.find('\0') != std::string::npos) return false;
  return inet_pton(family, text.c_str(), buffer) == 1;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  ListenAddress result;
  absl::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos)
      return Bad(address, "the IPv6 address has no closing ']'");
    result.host = std::string(address.substr(1, close - 1));
    if (!IsAddress(AF_INET6, result.host)) {
      return Bad(address, absl::StrCat(Quote(result.host), " is not an IPv6 address"));
    }
    if (close + 1 >= address.size() || address[close + 1] != ':') {
      return Bad(address, "the port is missing");
    }
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return Bad(address, "the port is missing");
    result.host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
    if (result.host.empty()) {
      return Bad(address, "the host is missing (0.0.0.0 listens on all interfaces)");
    }
    if (result.host.find(':') != std::string::npos) {
      return Bad(address, "IPv6 addresses go in brackets");
    }
    bool numeric = true;
    for (char c : result.host) numeric = numeric && (absl::ascii_isdigit(c) || c == '.');
    if (numeric && !IsAddress(AF_INET, result.host)) {
      return Bad(address, absl::StrCat(Quote(result.host), " is not an IPv4 address"));
    }
    if (!numeric && !IsHostName(result.host)) {
      return Bad(address, absl::StrCat(Quote(result.host), " is not a host name"));
    }
  }
  if (port.empty()) return Bad(address, "the port is missing");
  bool digits = port.size() <= 5;
  for (char c : port) digits = digits && absl::ascii_isdigit(c);
  if (!digits || !absl::SimpleAtoi(port, &result.port) || result.port > 65535) {
    return Bad(address, absl::StrCat("port ", Quote(port), " is not in 0..65535"));
  }
  return result;
}

}  // namespace leakwatch::config
