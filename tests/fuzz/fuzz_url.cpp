// Fuzz target for the URL rules. The input is split at the first '\n' into an
// SSE URL and the data of an `endpoint` event. Checks, aborting on violation:
// - nothing throws out of parse_url, resolve_endpoint, same_origin, redact;
// - a parsed URL is normalised (reparsing its text changes nothing) and safe
//   for a request line (no whitespace or control characters, no fragment);
// - a resolved endpoint has the scheme, host and port of the SSE URL, and
//   resolving its text again gives the same URL;
// - redact() output never depends on the userinfo (so it never contains the
//   password), is idempotent, and a canary password set into the SSE URL or
//   the endpoint never shows up in redacted text or error messages.
#include "caf_mcp/transport/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

using namespace caf_mcp::transport;

namespace {

constexpr std::string_view canary = "Zq7CanaryPw";

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_url invariant violated: %s\n", what);
  std::abort();
}

void require(bool condition, const char* what) {
  if (!condition)
    violated(what);
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool contains_ignore_case(std::string_view haystack, std::string_view needle) {
  auto lower = [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  };
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && lower(haystack[i + j]) == lower(needle[j]))
      ++j;
    if (j == needle.size())
      return true;
  }
  return false;
}

/// True if `x` has no byte that could break a request line or a log line.
bool printable(std::string_view x) {
  for (auto c : x) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return false;
  }
  return true;
}

std::string_view trim(std::string_view x) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
  };
  while (!x.empty() && space(x.front()))
    x.remove_prefix(1);
  while (!x.empty() && space(x.back()))
    x.remove_suffix(1);
  return x;
}

/// Returns `x` rewritten by Boost.URL (userinfo removed or a canary password
/// set), or nullopt if `x` is no URL reference with an authority.
std::optional<std::string> rewrite(std::string_view x, bool set_canary) {
  auto t = trim(x);
  auto parsed = boost::urls::parse_uri_reference(
    boost::urls::string_view{t.data(), t.size()});
  if (!parsed || !parsed->has_authority())
    return std::nullopt;
  boost::urls::url u{*parsed};
  if (set_canary)
    u.set_password(boost::urls::string_view{canary.data(), canary.size()});
  else
    u.remove_userinfo();
  return std::string{u.buffer().data(), u.buffer().size()};
}

void check_parsed(const parsed_url& u) {
  require(u.scheme == "http" || u.scheme == "https", "scheme is http(s)");
  require(u.is_tls == (u.scheme == "https"), "is_tls matches scheme");
  require(u.port != 0, "port is set");
  require(!u.host.empty(), "host is set");
  require(printable(u.host) && printable(u.bracketed_host), "host printable");
  require(printable(u.target) && printable(u.text), "target printable");
  require(!u.target.empty() && u.target.front() == '/', "target is absolute");
  require(!contains(u.text, "#") && !contains(u.target, "#"), "no fragment");
  require(u.is_ipv6 == (u.bracketed_host != u.host), "brackets iff IPv6");
  require(same_origin(u, u), "same_origin is reflexive");
  auto again = parse_url(u.text);
  require(static_cast<bool>(again), "normalised text parses");
  require(!again->has_userinfo, "normalised text has no userinfo");
  require(again->text == u.text && again->target == u.target
            && again->host == u.host && again->port == u.port
            && again->scheme == u.scheme,
          "parse_url is idempotent");
}

void check_redact(std::string_view x) {
  auto r = redact(x);
  if (r == "<invalid url>")
    return;
  require(printable(r), "redacted text is printable");
  require(!contains(r, "#"), "redacted text has no fragment");
  require(redact(r) == r, "redact is idempotent");
  if (auto stripped = rewrite(x, false))
    require(redact(*stripped) == r, "redact ignores userinfo");
  if (!contains_ignore_case(x, canary))
    if (auto marked = rewrite(x, true))
      require(!contains(redact(*marked), canary), "redact hides passwords");
}

void check_resolve(std::string_view base_text, std::string_view ref) {
  auto base = parse_url(base_text);
  auto r = resolve_endpoint(base_text, ref);
  if (!base) {
    require(!r, "invalid base fails");
    require(r.code == base.code, "invalid base keeps its error");
    return;
  }
  check_parsed(*base);
  if (!r) {
    require(r.code == url_errc::invalid_endpoint
              || r.code == url_errc::origin_mismatch,
            "endpoint errors are invalid_endpoint or origin_mismatch");
    return;
  }
  check_parsed(*r);
  require(same_origin(*base, *r), "resolved endpoint is same origin");
  require(r->scheme == base->scheme && r->host == base->host
            && r->port == base->port,
          "resolved endpoint has the SSE scheme, host and port");
  auto again = resolve_endpoint(*base, r->text);
  require(static_cast<bool>(again) && again->text == r->text,
          "resolving a resolved endpoint is idempotent");
  require(r->has_userinfo || !base->has_userinfo,
          "same-origin endpoint keeps credentials");
}

void check_canaries(std::string_view base_text, std::string_view ref) {
  if (contains_ignore_case(base_text, canary) || contains_ignore_case(ref, canary))
    return;
  if (auto marked = rewrite(base_text, true)) {
    auto b = parse_url(*marked);
    require(!contains(b.message, canary), "parse message hides password");
    if (b)
      require(!contains(b->text, canary), "text hides password");
    auto r = resolve_endpoint(*marked, ref);
    require(!contains(r.message, canary), "resolve message hides password");
    if (r)
      require(!contains(r->text, canary) && !contains(r->target, canary),
              "resolved text hides password");
  }
  if (auto marked = rewrite(ref, true)) {
    auto r = resolve_endpoint(base_text, *marked);
    require(!contains(r.message, canary), "endpoint message hides password");
    if (r)
      require(!contains(r->text, canary), "endpoint text hides password");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto nl = input.find('\n');
  auto base_text = input.substr(0, nl);
  auto ref = nl == std::string_view::npos ? std::string_view{}
                                          : input.substr(nl + 1);
  try {
    check_resolve(base_text, ref);
    auto x = same_origin(base_text, ref);
    require(x == same_origin(ref, base_text), "same_origin is symmetric");
    check_redact(base_text);
    check_redact(ref);
    check_redact(input);
    check_canaries(base_text, ref);
  } catch (...) {
    violated("exception escaped");
  }
  return 0;
}
