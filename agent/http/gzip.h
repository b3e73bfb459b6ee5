// http/gzip.h — gzip (RFC 1952) compression of a reply body with zlib.
//
// Thread-safety: reentrant. Never throws; allocation failure or a zlib error
// returns nullopt and the caller sends the body uncompressed.

#ifndef LEAKWATCH_HTTP_GZIP_H_
#define LEAKWATCH_HTTP_GZIP_H_

#include <optional>
#include <string>
#include <string_view>

namespace leakwatch::http {

// `text` as a gzip member, compressed at zlib's fastest level: a scrape costs
// the host as little CPU as it can while text metrics still shrink about 10x.
std::optional<std::string> Gzip(std::string_view text);

}  // namespace leakwatch::http

#endif  // LEAKWATCH_HTTP_GZIP_H_
