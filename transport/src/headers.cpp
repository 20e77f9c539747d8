#include "caf_mcp/transport/headers.hpp"

#include <algorithm>
#include <cstdint>

namespace caf_mcp::transport {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

} // namespace

bool is_http_token(std::string_view x) noexcept {
  return !x.empty() && std::all_of(x.begin(), x.end(), is_tchar);
}

std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    auto v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (auto rest = in.size() - i; rest > 0) {
    auto v = byte(i) << 16;
    if (rest == 2)
      v |= byte(i + 1) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string check_header(std::string_view name, std::string_view value) {
  if (name.empty())
    return "a header needs a name";
  if (!is_http_token(name))
    return "header name is not an HTTP token (letters, digits and "
           "!#$%&'*+-.^_`|~ only)";
  for (auto owned : {"Host", "Content-Length", "Transfer-Encoding",
                     "Connection"})
    if (iequals(name, owned))
      return "header " + std::string{name}
             + " is set by the transport and cannot be configured";
  for (auto c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return "the value of header " + std::string{name}
             + " contains CR, LF or NUL";
  return {};
}

bool bearer_matches(std::string_view header, std::string_view token) noexcept {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() != scheme.size() + token.size())
    return false;
  unsigned diff = 0;
  for (size_t i = 0; i < scheme.size(); ++i)
    diff |= static_cast<unsigned>(static_cast<unsigned char>(
              ascii_lower(header[i])))
            ^ static_cast<unsigned>(static_cast<unsigned char>(
              ascii_lower(scheme[i])));
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned>(
      static_cast<unsigned char>(header[scheme.size() + i])
      ^ static_cast<unsigned char>(token[i]));
  return diff == 0 && !token.empty();
}

} // namespace caf_mcp::transport
