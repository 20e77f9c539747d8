#pragma once

/// Rules for HTTP headers a user configures (the CLI's -H, a session's
/// `http.headers`, the node's config).

#include <cstddef>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// `c` in lower case if it is an ASCII capital, else `c` unchanged. HTTP
/// names, schemes and media types compare case-insensitively in ASCII
/// only (RFC 9110 5.1, 8.3.1); the C locale functions would take a call
/// and a table lookup per character on every request.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// True if `a` and `b` are equal ignoring ASCII case (header names,
/// schemes, tokens).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

/// True if `x` is an HTTP token (RFC 9110 5.6.2, `1*tchar`): not empty,
/// letters, digits and !#$%&'*+-.^_`|~ only.
bool is_http_token(std::string_view x) noexcept;

/// Standard Base64 (RFC 4648 section 4, with padding) of the bytes of `in`.
std::string base64_encode(std::string_view in);

/// Why the header `name: value` may not be configured; empty if it may.
/// Names must be HTTP tokens (RFC 9110 5.6.2); values must not contain CR,
/// LF or NUL (they would split the request); Host, Content-Length,
/// Transfer-Encoding and Connection (any case) are set by the transport
/// itself. The reason names the header but never contains its value.
std::string check_header(std::string_view name, std::string_view value);

/// True if the value of an `Authorization` header is exactly
/// `Bearer TOKEN` (the scheme in any case, one space) and `token` is not
/// empty. The comparison of the token takes the same time whatever bytes
/// differ (it depends only on the lengths): a server checking a secret
/// with it leaks no prefix through timing. Used by the node's API and the
/// demo server's token mode.
bool bearer_matches(std::string_view header, std::string_view token) noexcept;

} // namespace caf_mcp::transport
