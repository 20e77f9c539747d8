#include "caf_mcp/transport/url.hpp"

#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace caf_mcp::transport {

namespace {

namespace bu = boost::urls;

// -- character helpers --------------------------------------------------------

bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
         || c == '\v';
}

char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view x) {
  std::string result;
  result.reserve(x.size());
  for (auto c : x)
    result += to_lower(c);
  return result;
}

std::string_view trim(std::string_view x) noexcept {
  while (!x.empty() && is_ascii_space(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && is_ascii_space(x.back()))
    x.remove_suffix(1);
  return x;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool starts_with(std::string_view x, std::string_view prefix) noexcept {
  return x.substr(0, prefix.size()) == prefix;
}

// -- RFC 3986 section 5.2 -----------------------------------------------------

/// Removes the last segment and its preceding "/" (if any) from `out`.
void pop_segment(std::string& out) {
  auto pos = out.rfind('/');
  if (pos == std::string::npos)
    out.clear();
  else
    out.erase(pos);
}

/// RFC 3986 section 5.2.4. Works on the encoded path: only literal "." and
/// ".." segments are dot segments, percent-encoded octets stay as they are.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  while (!in.empty()) {
    if (starts_with(in, "../")) {
      in.remove_prefix(3); // A
    } else if (starts_with(in, "./")) {
      in.remove_prefix(2); // A
    } else if (starts_with(in, "/./")) {
      in.remove_prefix(2); // B: "/./" -> "/"
    } else if (in == "/.") {
      in = "/"; // B
    } else if (starts_with(in, "/../")) {
      in.remove_prefix(3); // C: "/../" -> "/"
      pop_segment(out);
    } else if (in == "/..") {
      in = "/"; // C
      pop_segment(out);
    } else if (in == "." || in == "..") {
      in = std::string_view{}; // D
    } else {
      // E: move the first segment (with its leading "/", if any) to out.
      auto end = in.find('/', in.front() == '/' ? 1 : 0);
      if (end == std::string_view::npos)
        end = in.size();
      out.append(in.data(), end);
      in.remove_prefix(end);
    }
  }
  return out;
}

/// RFC 3986 section 5.2.3 for a base that has an authority.
std::string merge_paths(std::string_view base_path, std::string_view ref_path) {
  std::string result;
  if (base_path.empty()) {
    result = "/";
  } else {
    auto pos = base_path.rfind('/');
    if (pos != std::string_view::npos)
      result.assign(base_path.data(), pos + 1);
  }
  result.append(ref_path.data(), ref_path.size());
  return result;
}

// -- RFC 3986 components ------------------------------------------------------
//
// Boost.URL 1.81 splits some authorities wrongly: "http://1.2.3.4.com/" gives
// host "1.2.3.4" and path ".com/", "http://h:80x" gives port "80" and path
// "x" (boostorg/url#755, fixed later). Where the split decides which host
// gets our credentials, we split by the grammar of RFC 3986 ourselves and use
// Boost.URL as a second gate (both must accept) and for IPv6 addresses.

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'
         || c == '~';
}

bool is_sub_delim(char c) noexcept {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

/// Returns true if `x` consists of unreserved characters, sub-delims,
/// well-formed percent-encoded octets and characters in `extra`.
bool valid_chars(std::string_view x, std::string_view extra) noexcept {
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = x[i];
    if (c == '%') {
      if (i + 2 >= x.size() || hex_value(x[i + 1]) < 0
          || hex_value(x[i + 2]) < 0)
        return false;
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c)
               && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool valid_scheme(std::string_view x) noexcept {
  if (x.empty() || !is_alpha(x.front()))
    return false;
  for (auto c : x)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return false;
  return true;
}

/// The components of a URI reference, as written (still percent-encoded).
struct uri_ref {
  bool has_scheme = false;
  std::string_view scheme;
  bool has_authority = false;
  bool has_userinfo = false;
  std::string_view userinfo;
  /// Host as written; IP literals keep their brackets.
  std::string_view host;
  bool has_port = false;
  std::string_view port;
  std::string_view path;
  bool has_query = false;
  std::string_view query;
};

bool split_authority(std::string_view authority, uri_ref& out) {
  auto at = authority.find('@');
  if (at != std::string_view::npos) {
    out.has_userinfo = true;
    out.userinfo = authority.substr(0, at);
    if (!valid_chars(out.userinfo, ":"))
      return false;
    authority.remove_prefix(at + 1);
  }
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return false;
    out.host = authority.substr(0, close + 1);
    rest = authority.substr(close + 1);
    auto literal = out.host.substr(1, out.host.size() - 2);
    if (!literal.empty() && (literal.front() == 'v' || literal.front() == 'V')) {
      // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
      auto dot = literal.find('.');
      if (dot == std::string_view::npos || dot < 2 || dot + 1 >= literal.size())
        return false;
      for (auto c : literal.substr(1, dot - 1))
        if (hex_value(c) < 0)
          return false;
      auto tail = literal.substr(dot + 1);
      if (tail.find('%') != std::string_view::npos
          || !valid_chars(tail, ":"))
        return false;
    } else if (!bu::parse_ipv6_address(
                 bu::string_view{literal.data(), literal.size()})) {
      return false;
    }
  } else {
    auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    rest = authority.substr(out.host.size());
    if (!valid_chars(out.host, ""))
      return false;
  }
  if (!rest.empty()) {
    if (rest.front() != ':')
      return false;
    out.has_port = true;
    out.port = rest.substr(1);
    for (auto c : out.port)
      if (!is_digit(c))
        return false;
  }
  return true;
}

/// Splits a URI reference (RFC 3986 section 4.1) into its components and
/// validates each; the fragment is dropped. Returns nullopt if `x` is not a
/// URI reference or Boost.URL does not accept it either.
std::optional<uri_ref> split_uri_reference(std::string_view x) {
  if (!bu::parse_uri_reference(bu::string_view{x.data(), x.size()}))
    return std::nullopt;
  uri_ref out;
  // Appendix B: ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?
  auto delim = x.find_first_of(":/?#");
  if (delim != std::string_view::npos && x[delim] == ':') {
    // A ':' before any '/' can only end a scheme; a relative reference may
    // not have it in its first segment.
    if (!valid_scheme(x.substr(0, delim)))
      return std::nullopt;
    out.has_scheme = true;
    out.scheme = x.substr(0, delim);
    x.remove_prefix(delim + 1);
  }
  if (starts_with(x, "//")) {
    x.remove_prefix(2);
    auto end = x.find_first_of("/?#");
    auto authority = x.substr(0, end);
    out.has_authority = true;
    if (!split_authority(authority, out))
      return std::nullopt;
    x.remove_prefix(authority.size());
  }
  auto hash = x.find('#');
  if (hash != std::string_view::npos) {
    if (!valid_chars(x.substr(hash + 1), ":@/?"))
      return std::nullopt;
    x = x.substr(0, hash);
  }
  auto question = x.find('?');
  out.path = x.substr(0, question);
  if (!valid_chars(out.path, ":@/"))
    return std::nullopt;
  if (question != std::string_view::npos) {
    out.has_query = true;
    out.query = x.substr(question + 1);
    if (!valid_chars(out.query, ":@/?"))
      return std::nullopt;
  }
  return out;
}

// -- host and port --------------------------------------------------------------

bool is_host_name_char(char c) noexcept {
  return is_unreserved(c);
}

uint16_t default_port(std::string_view scheme) noexcept {
  return scheme == "https" ? 443 : 80;
}

url_result make_error(url_errc code, std::string message) {
  url_result result;
  result.code = code;
  result.message = std::move(message);
  return result;
}

/// Builds the parsed_url from the components of an absolute URI.
url_result to_parsed_url(const uri_ref& u) {
  parsed_url result;
  result.scheme = lowercase(u.scheme);
  if (!u.has_scheme)
    return make_error(url_errc::invalid_url, "not an absolute URL (no scheme)");
  if (result.scheme != "http" && result.scheme != "https")
    return make_error(url_errc::unsupported_scheme,
                      "unsupported URL scheme '" + result.scheme
                        + "' (want http or https)");
  result.is_tls = result.scheme == "https";
  if (!u.has_authority)
    return make_error(url_errc::missing_host, "URL has no host");
  if (u.host.empty())
    return make_error(url_errc::missing_host, "URL has an empty host");
  if (u.host.front() == '[') {
    auto literal = u.host.substr(1, u.host.size() - 2);
    auto addr = bu::parse_ipv6_address(bu::string_view{literal.data(),
                                                       literal.size()});
    if (!addr)
      return make_error(url_errc::invalid_url,
                        "URL host is an unsupported IP literal");
    result.is_ipv6 = true;
    result.host = lowercase(addr->to_string());
    result.bracketed_host = "[" + result.host + "]";
  } else {
    auto name = percent_decode(u.host, false);
    for (auto c : name)
      if (!is_host_name_char(c))
        return make_error(url_errc::invalid_url,
                          "URL host contains characters that are not "
                          "allowed (use punycode for international names)");
    result.host = lowercase(name);
    result.bracketed_host = result.host;
  }
  result.port = default_port(result.scheme);
  if (u.has_port && !u.port.empty()) {
    uint32_t port = 0;
    for (auto c : u.port) {
      port = port * 10 + static_cast<uint32_t>(c - '0');
      if (port > 65535)
        break;
    }
    if (port == 0 || port > 65535)
      return make_error(url_errc::invalid_url, "URL port is out of range");
    result.port = static_cast<uint16_t>(port);
  }
  auto path = remove_dot_segments(u.path);
  result.target = path.empty() ? std::string{"/"} : std::move(path);
  if (u.has_query) {
    result.target += '?';
    result.target += u.query;
  }
  result.text = result.scheme + "://" + result.bracketed_host;
  if (!result.has_default_port()) {
    result.text += ':';
    result.text += std::to_string(result.port);
  }
  result.text += result.target;
  if (u.has_userinfo) {
    result.has_userinfo = true;
    auto colon = u.userinfo.find(':');
    result.user = percent_decode(u.userinfo.substr(0, colon), false);
    if (colon != std::string_view::npos)
      result.password = percent_decode(u.userinfo.substr(colon + 1), false);
  }
  url_result ok;
  ok.url = std::move(result);
  return ok;
}

std::string origin_of(const parsed_url& x) {
  return x.scheme + "://" + x.bracketed_host + ":" + std::to_string(x.port);
}

url_result resolve_impl(const parsed_url& base, std::string_view data) {
  auto ref_text = trim(data);
  if (ref_text.empty())
    return make_error(url_errc::invalid_endpoint, "endpoint is empty");
  auto ref = split_uri_reference(ref_text);
  if (!ref)
    return make_error(url_errc::invalid_endpoint,
                      "endpoint is not a valid URL reference");
  // Split the (normalised) base target into path and query.
  std::string_view base_target = base.target;
  auto qpos = base_target.find('?');
  auto base_path = base_target.substr(0, qpos);
  // RFC 3986 section 5.2.2, strict: a scheme in the reference is honoured.
  // T takes its components from the reference or the base; `path` owns the
  // path T.path points to.
  uri_ref t;
  std::string path;
  auto port = std::to_string(base.port);
  if (ref->has_scheme || ref->has_authority) {
    t = *ref;
    if (!ref->has_scheme) {
      t.has_scheme = true;
      t.scheme = base.scheme;
    }
    path = remove_dot_segments(ref->path);
  } else {
    t.has_scheme = true;
    t.scheme = base.scheme;
    t.has_authority = true;
    t.host = base.bracketed_host;
    t.has_port = true;
    t.port = port;
    if (ref->path.empty()) {
      path = std::string{base_path};
      if (ref->has_query) {
        t.has_query = true;
        t.query = ref->query;
      } else if (qpos != std::string_view::npos) {
        t.has_query = true;
        t.query = base_target.substr(qpos + 1);
      }
    } else {
      if (ref->path.front() == '/')
        path = remove_dot_segments(ref->path);
      else
        path = remove_dot_segments(merge_paths(base_path, ref->path));
      t.has_query = ref->has_query;
      t.query = ref->query;
    }
  }
  t.path = path;
  auto result = to_parsed_url(t);
  if (!result) {
    result.code = url_errc::invalid_endpoint;
    result.message = "endpoint " + redact(ref_text) + ": " + result.message;
    return result;
  }
  if (!same_origin(base, result.url))
    return make_error(url_errc::origin_mismatch,
                      "endpoint " + redact(result.url.text)
                        + " is not on the origin of the SSE URL ("
                        + origin_of(base) + ")");
  if (!result.url.has_userinfo && base.has_userinfo) {
    // Credentials belong to the origin; the endpoint is on the same one.
    result.url.has_userinfo = true;
    result.url.user = base.user;
    result.url.password = base.password;
  }
  return result;
}

// -- redaction -------------------------------------------------------------------

// Query parameter names whose values `redact` hides. Matching is
// case-insensitive on the percent-decoded name. Over-redaction (e.g.
// "keyword", "author") is accepted: a log line loses a harmless value.
// Session ids ("sessionId", "session_id", "session") are capabilities too:
// whoever holds one can POST into the session (many servers check nothing
// else). Their values are replaced by "REDACTED-" and a short hash of the
// value (`session_param_hash`), so log lines of one session still match each
// other without showing the id.
constexpr std::array<std::string_view, 10> secret_name_parts = {{
  "token",      // access_token, id_token, X-Amz-Security-Token, ...
  "secret",     // client_secret
  "passw",      // password, passwd
  "pwd",        //
  "auth",       // auth, authorization, oauth_*
  "credential", // X-Amz-Credential
  "signature",  // X-Amz-Signature, signature
  "key",        // key, api_key, apikey, api-key
  "jwt",        //
  "cookie",     //
}};

// Names that are secrets only when they are the whole name ("code" is an
// OAuth authorization code, "sig" an Azure SAS signature).
constexpr std::array<std::string_view, 5> secret_names = {{
  "sig",
  "code",
  "pass",
  "pw",
  "otp",
}};

// Names (whole, case-insensitive) of session id parameters.
constexpr std::array<std::string_view, 3> session_names = {{
  "sessionid",
  "session_id",
  "session",
}};

bool is_session_param(std::string_view name) noexcept {
  for (auto candidate : session_names) {
    if (name.size() != candidate.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = to_lower(name[i]) == candidate[i];
    if (same)
      return true;
  }
  return false;
}

/// 8 hex digits of FNV-1a (32 bit) over `value`: enough to tell sessions
/// apart in a log, far too little to guess the id from.
std::string session_param_hash(std::string_view value) {
  uint32_t h = 2166136261u;
  for (auto c : value) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i, h >>= 4)
    out[static_cast<size_t>(i)] = hex[h & 0xF];
  return out;
}

/// True for what `redact` puts in place of a session id ("REDACTED-" and 8
/// lowercase hex digits): redacting a redacted URL changes nothing.
bool is_session_mark(std::string_view value) noexcept {
  constexpr std::string_view prefix = "REDACTED-";
  if (value.size() != prefix.size() + 8
      || value.substr(0, prefix.size()) != prefix)
    return false;
  for (auto c : value.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string redact_query(std::string_view query) {
  std::string result;
  result.reserve(query.size());
  for (;;) {
    auto end = query.find('&');
    auto part = query.substr(0, end);
    auto eq = part.find('=');
    if (eq != std::string_view::npos
        && is_secret_param(percent_decode(part.substr(0, eq), true))) {
      result.append(part.data(), eq + 1);
      result += "REDACTED";
    } else if (eq != std::string_view::npos
               && is_session_param(percent_decode(part.substr(0, eq), true))) {
      result.append(part.data(), eq + 1);
      auto value = part.substr(eq + 1);
      if (is_session_mark(value))
        result.append(value.data(), value.size()); // redacted already
      else
        result += "REDACTED-" + session_param_hash(value);
    } else {
      result.append(part.data(), part.size());
    }
    if (end == std::string_view::npos)
      break;
    result += '&';
    query.remove_prefix(end + 1);
  }
  return result;
}

} // namespace

const char* to_string(url_errc x) noexcept {
  switch (x) {
    case url_errc::ok:
      return "ok";
    case url_errc::invalid_url:
      return "invalid_url";
    case url_errc::unsupported_scheme:
      return "unsupported_scheme";
    case url_errc::missing_host:
      return "missing_host";
    case url_errc::invalid_endpoint:
      return "invalid_endpoint";
    case url_errc::origin_mismatch:
      return "origin_mismatch";
  }
  return "unknown";
}

std::string parsed_url::host_header() const {
  if (has_default_port())
    return bracketed_host;
  return bracketed_host + ":" + std::to_string(port);
}

bool parsed_url::has_default_port() const noexcept {
  return port == default_port(scheme);
}

url_result parse_url(std::string_view text) {
  try {
    auto parsed = split_uri_reference(trim(text));
    if (!parsed)
      return make_error(url_errc::invalid_url, "not a valid URL");
    return to_parsed_url(*parsed);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (...) {
    return make_error(url_errc::invalid_url, "not a valid URL");
  }
}

url_result resolve_endpoint(const parsed_url& sse_url,
                            std::string_view endpoint_data) {
  try {
    return resolve_impl(sse_url, endpoint_data);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (...) {
    return make_error(url_errc::invalid_endpoint,
                      "endpoint is not a valid URL reference");
  }
}

url_result resolve_endpoint(std::string_view sse_url,
                            std::string_view endpoint_data) {
  auto base = parse_url(sse_url);
  if (!base) {
    base.message = "SSE URL: " + base.message;
    return base;
  }
  return resolve_endpoint(base.url, endpoint_data);
}

bool same_origin(const parsed_url& a, const parsed_url& b) noexcept {
  return a.port == b.port && a.scheme == b.scheme && a.host == b.host;
}

bool same_origin(std::string_view a, std::string_view b) {
  auto x = parse_url(a);
  if (!x)
    return false;
  auto y = parse_url(b);
  return y && same_origin(x.url, y.url);
}

bool is_secret_param(std::string_view name) noexcept {
  // Compare case-insensitively without allocating.
  auto equals = [](std::string_view x, std::string_view lower) {
    if (x.size() != lower.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (to_lower(x[i]) != lower[i])
        return false;
    return true;
  };
  for (auto candidate : secret_names)
    if (equals(name, candidate))
      return true;
  for (auto part : secret_name_parts) {
    if (name.size() < part.size())
      continue;
    for (size_t i = 0; i + part.size() <= name.size(); ++i)
      if (equals(name.substr(i, part.size()), part))
        return true;
  }
  return false;
}

std::string redact(std::string_view url_text) {
  static constexpr std::string_view invalid = "<invalid url>";
  try {
    auto trimmed = trim(url_text);
    auto parsed = split_uri_reference(trimmed);
    if (!parsed)
      return std::string{invalid};
    auto& u = *parsed;
    std::string result;
    result.reserve(trimmed.size());
    if (u.has_scheme) {
      result += u.scheme;
      result += ':';
    }
    if (u.has_authority) {
      result += "//";
      result += u.host;
      if (u.has_port) {
        result += ':';
        result += u.port;
      }
    }
    result += u.path;
    if (u.has_query) {
      result += '?';
      result += redact_query(u.query);
    }
    return result;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (...) {
    return std::string{invalid};
  }
}

std::string percent_decode(std::string_view x, bool plus_is_space) {
  std::string result;
  result.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = x[i];
    if (c == '%' && i + 2 < x.size()) {
      auto hi = hex_value(x[i + 1]);
      auto lo = hex_value(x[i + 2]);
      if (hi >= 0 && lo >= 0) {
        result += static_cast<char>((hi << 4) | lo);
        i += 2;
        continue;
      }
    }
    result += (plus_is_space && c == '+') ? ' ' : c;
  }
  return result;
}

} // namespace caf_mcp::transport
