#include "http/gzip.h"

#include <zlib.h>

#include <new>

namespace leakwatch::http {

std::optional<std::string> Gzip(std::string_view text) {
  if (text.size() > (1u << 30)) return std::nullopt;  // beyond zlib's 32-bit counters
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::optional<std::string> out;
  try {
    out.emplace();
    out->resize(deflateBound(&stream, text.size()));
  } catch (const std::bad_alloc&) {
    deflateEnd(&stream);
    return std::nullopt;
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out->data());
  stream.avail_out = static_cast<uInt>(out->size());
  const int result = deflate(&stream, Z_FINISH);
  const size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return std::nullopt;
  out->resize(written);
  return out;
}

}  // namespace leakwatch::http
