#include "caf_mcp/transport/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace caf_mcp::transport {

namespace {

/// One step of the WHATWG UTF-8 decoder over `bytes` starting at `i`.
/// Returns the length of the valid sequence at `i`, or 0 if the bytes at `i`
/// start an invalid subpart; then `bad_len` is the number of bytes that
/// subpart spans (at least 1).
size_t decode_step(const unsigned char* s, size_t n, size_t i,
                   size_t& bad_len) noexcept {
  auto b = s[i];
  if (b < 0x80)
    return 1;
  size_t needed;
  unsigned char lower = 0x80;
  unsigned char upper = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    needed = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0)
      lower = 0xA0;
    else if (b == 0xED)
      upper = 0x9F;
    needed = 2;
  } else if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0)
      lower = 0x90;
    else if (b == 0xF4)
      upper = 0x8F;
    needed = 3;
  } else {
    bad_len = 1;
    return 0;
  }
  size_t seen = 0;
  while (seen < needed) {
    auto j = i + 1 + seen;
    if (j >= n || s[j] < lower || s[j] > upper) {
      // The lead byte plus all continuation bytes accepted so far form one
      // maximal subpart; the offending byte is decoded afresh.
      bad_len = 1 + seen;
      return 0;
    }
    lower = 0x80;
    upper = 0xBF;
    ++seen;
  }
  return 1 + needed;
}

/// Length of the leading run of ASCII bytes, eight at a time.
size_t ascii_prefix(const unsigned char* s, size_t n) noexcept {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    if (w & 0x8080808080808080ull)
      break;
  }
  while (i < n && s[i] < 0x80)
    ++i;
  return i;
}

} // namespace

bool utf8_valid(std::string_view bytes) noexcept {
  auto s = reinterpret_cast<const unsigned char*>(bytes.data());
  auto n = bytes.size();
  size_t i = 0;
  while (i < n) {
    i += ascii_prefix(s + i, n - i);
    if (i >= n)
      break;
    size_t bad = 0;
    auto len = decode_step(s, n, i, bad);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

void utf8_repair_append(std::string& out, std::string_view bytes) {
  auto s = reinterpret_cast<const unsigned char*>(bytes.data());
  auto n = bytes.size();
  out.reserve(out.size() + n + 3);
  size_t i = 0;
  while (i < n) {
    auto run = ascii_prefix(s + i, n - i);
    out.append(bytes.data() + i, run);
    i += run;
    if (i >= n)
      break;
    size_t bad = 0;
    auto len = decode_step(s, n, i, bad);
    if (len > 0) {
      out.append(bytes.data() + i, len);
      i += len;
    } else {
      out.append(utf8_replacement);
      i += bad;
    }
  }
}

std::string utf8_repair(std::string_view bytes) {
  std::string out;
  utf8_repair_append(out, bytes);
  return out;
}

} // namespace caf_mcp::transport
