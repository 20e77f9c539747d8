// URL rules for the MCP HTTP+SSE transport: parse and normalise the SSE URL,
// resolve the `endpoint` event against it (RFC 3986 section 5), refuse an
// endpoint on another origin, and print any URL safely for logs.
//
// Pure logic: no sockets, no CAF. Boost.URL is used only in url.cpp; nothing
// here throws except std::bad_alloc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// What went wrong when parsing or resolving a URL.
enum class url_errc : uint8_t {
  ok,
  invalid_url,        ///< not a URL, bad port, bad host characters
  unsupported_scheme, ///< neither http nor https
  missing_host,       ///< no authority or an empty host
  invalid_endpoint,   ///< the `endpoint` data is not a usable http(s) URL
  origin_mismatch,    ///< the endpoint is on another scheme, host or port
};

/// Returns the enumerator name, e.g. "origin_mismatch".
const char* to_string(url_errc x) noexcept;

/// An absolute http(s) URL, normalised and split for the HTTP layer.
/// Scheme and host are lowercase, the port is always set (80/443 by default),
/// dot segments are removed from the path and the fragment is dropped.
struct parsed_url {
  /// "http" or "https".
  std::string scheme;
  /// Host for DNS and TLS SNI: lowercase name, IPv4 text, or IPv6 text
  /// without brackets (canonical form, e.g. "::1").
  std::string host;
  /// Host as written in a URL: like `host`, with brackets for IPv6.
  std::string bracketed_host;
  /// Port number, default filled in.
  uint16_t port = 0;
  /// Path and query for the HTTP request line; "/" if the path is empty.
  std::string target;
  /// True for https.
  bool is_tls = false;
  /// True if `host` is an IPv6 literal.
  bool is_ipv6 = false;
  /// The whole normalised URL without userinfo and fragment; the default port
  /// is omitted. May still hold secrets in the query: log `redact(text)`.
  std::string text;
  /// True if the URL carried userinfo (`user[:password]@`).
  bool has_userinfo = false;
  /// Percent-decoded user name from the userinfo. Never print it.
  std::string user;
  /// Percent-decoded password from the userinfo. Never print it.
  std::string password;

  /// Returns the value for a `Host` header: bracketed host plus ":port"
  /// unless the port is the scheme's default.
  std::string host_header() const;

  /// Returns true if `port` is the default port of `scheme`.
  bool has_default_port() const noexcept;
};

/// Result of `parse_url` and `resolve_endpoint`: either `code == ok` and a
/// usable `url`, or an error code with a message that is safe to log (it
/// never contains userinfo or secret query values).
struct url_result {
  url_errc code = url_errc::ok;
  std::string message;
  parsed_url url;

  /// Returns true on success.
  explicit operator bool() const noexcept {
    return code == url_errc::ok;
  }

  /// Returns the URL; only meaningful on success.
  const parsed_url& operator*() const noexcept {
    return url;
  }

  /// Accesses the URL; only meaningful on success.
  const parsed_url* operator->() const noexcept {
    return &url;
  }
};

/// Parses an absolute http(s) URL (surrounding ASCII whitespace ignored).
url_result parse_url(std::string_view text);

/// Resolves the data of an SSE `endpoint` event against the SSE URL per
/// RFC 3986 section 5 and requires the result to have the same origin.
/// Percent-encoded octets are kept as they are; the fragment is dropped. If
/// the endpoint has no userinfo of its own it inherits the SSE URL's.
url_result resolve_endpoint(const parsed_url& sse_url,
                            std::string_view endpoint_data);

/// Parses `sse_url`, then resolves `endpoint_data` against it.
url_result resolve_endpoint(std::string_view sse_url,
                            std::string_view endpoint_data);

/// Returns true if both URLs have the same scheme, host and port.
bool same_origin(const parsed_url& a, const parsed_url& b) noexcept;

/// Parses both texts; returns false if either is not a valid http(s) URL.
bool same_origin(std::string_view a, std::string_view b);

/// Returns true if a query parameter of this (percent-decoded) name is
/// considered a secret and its value is hidden by `redact`.
bool is_secret_param(std::string_view name) noexcept;

/// Decodes %XX escapes (a malformed one stays as it is); with
/// `plus_is_space` (query strings) '+' is a space.
std::string percent_decode(std::string_view x, bool plus_is_space);

/// Returns a form of any URL or URL reference that is safe for logs and
/// error messages: userinfo removed, fragment dropped, values of secret
/// query parameters replaced by "REDACTED", values of session id parameters
/// (`sessionId`, `session_id`, `session`) by "REDACTED-" and 8 hex digits of
/// a hash of the value (lines of one session still match). Returns
/// "<invalid url>" for text that does not parse, never the text itself.
std::string redact(std::string_view url_text);

} // namespace caf_mcp::transport
