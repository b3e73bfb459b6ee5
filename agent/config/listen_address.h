// Checking of listen addresses (`exporter.listen`, `introspection.listen`).
//
// A listen address is `host:port` where host is an IPv4 address
// (`127.0.0.1`), an IPv6 address in brackets (`[::1]`) or a DNS host name
// (`localhost`), and port is 0..65535 (0 lets the system pick a free port).
//
// Thread-safety: a pure function, safe from any thread (it resolves no name: a host name is
// only checked for its syntax).

#ifndef LEAKWATCH_CONFIG_LISTEN_ADDRESS_H_
#define LEAKWATCH_CONFIG_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leakwatch::config {

struct ListenAddress {
  std::string host;  // without brackets for IPv6
  int port = 0;
};

// Splits and checks `address`. On error the message says what is wrong (the
// caller adds the key), e.g. `port 70000 is out of range (0..65535)`.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace leakwatch::config

#endif  // LEAKWATCH_CONFIG_LISTEN_ADDRESS_H_
