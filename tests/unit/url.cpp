#define CAF_SUITE url
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/url.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

using namespace caf_mcp::transport;

namespace {

/// Resolves and returns the resolved URL text, or the error code name.
std::string resolved(std::string_view base, std::string_view endpoint) {
  auto r = resolve_endpoint(base, endpoint);
  if (!r)
    return to_string(r.code);
  return r->text;
}

std::string code_of(const url_result& r) {
  return to_string(r.code);
}

/// Returns "<name>: secret" or "<name>: public" (readable on failure).
std::string classify(std::string_view name) {
  return std::string{name} + (is_secret_param(name) ? ": secret" : ": public");
}

/// FNV-1a (32 bit) of `x` as 8 hex digits: the reference for the hash
/// `redact` shows for session ids.
std::string fnv1a_hex(std::string_view x) {
  uint32_t h = 2166136261u;
  for (auto c : x) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(h));
  return buf;
}

} // namespace

// -- parsing the SSE URL -------------------------------------------------------

CAF_TEST(an http URL is split for the request line) {
  auto r = parse_url("http://example.com:8080/mcp/sse?x=1#frag");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->scheme, "http");
  CAF_CHECK_EQUAL(r->host, "example.com");
  CAF_CHECK_EQUAL(r->bracketed_host, "example.com");
  CAF_CHECK_EQUAL(r->port, 8080u);
  CAF_CHECK_EQUAL(r->target, "/mcp/sse?x=1");
  CAF_CHECK(!r->is_tls);
  CAF_CHECK(!r->is_ipv6);
  CAF_CHECK_EQUAL(r->text, "http://example.com:8080/mcp/sse?x=1");
  CAF_CHECK_EQUAL(r->host_header(), "example.com:8080");
}

CAF_TEST(default ports are filled in and omitted from the text) {
  auto a = parse_url("http://h");
  CAF_REQUIRE(a);
  CAF_CHECK_EQUAL(a->port, 80u);
  CAF_CHECK_EQUAL(a->target, "/");
  CAF_CHECK_EQUAL(a->text, "http://h/");
  CAF_CHECK_EQUAL(a->host_header(), "h");
  auto b = parse_url("https://h:443/sse");
  CAF_REQUIRE(b);
  CAF_CHECK_EQUAL(b->port, 443u);
  CAF_CHECK(b->is_tls);
  CAF_CHECK_EQUAL(b->text, "https://h/sse");
  auto c = parse_url("http://h:/sse"); // empty port means the default
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->port, 80u);
}

CAF_TEST(scheme and host are lowercased) {
  auto r = parse_url("HTTPS://Example.COM/Path/SSE");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->scheme, "https");
  CAF_CHECK_EQUAL(r->host, "example.com");
  CAF_CHECK_EQUAL(r->target, "/Path/SSE"); // the path keeps its case
  CAF_CHECK_EQUAL(r->text, "https://example.com/Path/SSE");
}

CAF_TEST(IPv6 literal hosts have a bracketed and an unbracketed form) {
  auto r = parse_url("http://[::1]:8080/sse");
  CAF_REQUIRE(r);
  CAF_CHECK(r->is_ipv6);
  CAF_CHECK_EQUAL(r->host, "::1");
  CAF_CHECK_EQUAL(r->bracketed_host, "[::1]");
  CAF_CHECK_EQUAL(r->port, 8080u);
  CAF_CHECK_EQUAL(r->host_header(), "[::1]:8080");
  CAF_CHECK_EQUAL(r->text, "http://[::1]:8080/sse");
  // Equivalent spellings of one address are one origin.
  CAF_CHECK(same_origin("http://[0:0::1]:8080/a", "http://[::1]:8080/b"));
  CAF_CHECK(same_origin("http://[FE80::1]/", "http://[fe80::1]/"));
}

CAF_TEST(userinfo is kept apart and never in the text) {
  auto r = parse_url("http://alice:s%3Acret@h/sse");
  CAF_REQUIRE(r);
  CAF_CHECK(r->has_userinfo);
  CAF_CHECK_EQUAL(r->user, "alice");
  CAF_CHECK_EQUAL(r->password, "s:cret");
  CAF_CHECK_EQUAL(r->text, "http://h/sse");
  auto no = parse_url("http://h/sse");
  CAF_REQUIRE(no);
  CAF_CHECK(!no->has_userinfo);
}

CAF_TEST(dot segments are removed from the SSE URL path) {
  auto r = parse_url("http://h/a/./b/../sse");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->target, "/a/sse");
}

CAF_TEST(non-http schemes are refused) {
  CAF_CHECK_EQUAL(code_of(parse_url("ftp://h/sse")), "unsupported_scheme");
  CAF_CHECK_EQUAL(code_of(parse_url("ws://h/sse")), "unsupported_scheme");
  CAF_CHECK_EQUAL(code_of(parse_url("file:///etc/passwd")),
                  "unsupported_scheme");
  CAF_CHECK_EQUAL(code_of(parse_url("mailto:a@b")), "unsupported_scheme");
}

CAF_TEST(URLs without a host are refused) {
  CAF_CHECK_EQUAL(code_of(parse_url("http:/sse")), "missing_host");
  CAF_CHECK_EQUAL(code_of(parse_url("http:///sse")), "missing_host");
  CAF_CHECK_EQUAL(code_of(parse_url("http://:8080/sse")), "missing_host");
}

CAF_TEST(garbage and bad ports are invalid URLs) {
  CAF_CHECK_EQUAL(code_of(parse_url("")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("not a url")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("/relative/only")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://h:65536/")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://h:0/")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://h:99999999999999999999/")),
                  "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://h\r\nX: y/")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://h%0d%0a/")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://[v1.x]/")), "invalid_url");
  CAF_CHECK(parse_url("http://h:65535/"));
  // Boost.URL 1.81 reads these as port 3001 and path "age"; we refuse them.
  CAF_CHECK_EQUAL(code_of(parse_url("http://h:3001age")), "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://127.0.0.1:3001age")),
                  "invalid_url");
  CAF_CHECK_EQUAL(code_of(parse_url("http://[::1]age")), "invalid_url");
}

CAF_TEST(host names that begin like an IPv4 address stay host names) {
  // Boost.URL 1.81 splits these as host "1.2.3.4" and path ".com/x".
  auto r = parse_url("http://1.2.3.4.com:8080/x");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->host, "1.2.3.4.com");
  CAF_CHECK_EQUAL(r->port, 8080u);
  CAF_CHECK_EQUAL(r->target, "/x");
  CAF_CHECK_EQUAL(resolved("http://1.2.3.4/sse", "//1.2.3.4.evil.example/m"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://127.0.0.1.org/sse", "/m"),
                  "http://127.0.0.1.org/m");
}

CAF_TEST(error messages do not echo credentials) {
  auto r = parse_url("ftp://bob:hunter2@h/x?token=abc");
  CAF_REQUIRE(!r);
  CAF_CHECK(r.message.find("hunter2") == std::string::npos);
  CAF_CHECK(r.message.find("abc") == std::string::npos);
  auto e = resolve_endpoint("http://bob:hunter2@h/sse",
                            "http://evil/x?token=abc");
  CAF_CHECK_EQUAL(code_of(e), "origin_mismatch");
  CAF_CHECK(e.message.find("hunter2") == std::string::npos);
  CAF_CHECK(e.message.find("abc") == std::string::npos);
  CAF_CHECK(e.message.find("evil") != std::string::npos);
}

// -- resolving the endpoint ----------------------------------------------------

CAF_TEST(a relative path replaces the SSE path) {
  auto r = resolve_endpoint("http://localhost:3001/sse",
                            "/message?sessionId=5f1c-47a0");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->text, "http://localhost:3001/message?sessionId=5f1c-47a0");
  CAF_CHECK_EQUAL(r->target, "/message?sessionId=5f1c-47a0");
  CAF_CHECK_EQUAL(r->host, "localhost");
  CAF_CHECK_EQUAL(r->port, 3001u);
}

CAF_TEST(a relative path resolves against a prefixed SSE path) {
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "messages/?session_id=ab12"),
                  "http://h/mcp/a/messages/?session_id=ab12");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "/messages/?session_id=ab12"),
                  "http://h/messages/?session_id=ab12");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/", "messages"),
                  "http://h/mcp/a/messages");
  CAF_CHECK_EQUAL(resolved("http://h", "messages"), "http://h/messages");
}

CAF_TEST(dot-dot segments are resolved per RFC 3986) {
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "../b/messages"),
                  "http://h/mcp/b/messages");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "./messages"),
                  "http://h/mcp/a/messages");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", ".."), "http://h/mcp/");
  // More ".." than segments stop at the root.
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "../../../../x"),
                  "http://h/x");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/a/sse", "/a/b/../../c"),
                  "http://h/c");
  // RFC 3986 section 5.4.1 examples.
  auto base = "http://a/b/c/d;p?q";
  CAF_CHECK_EQUAL(resolved(base, "g"), "http://a/b/c/g");
  CAF_CHECK_EQUAL(resolved(base, "g/"), "http://a/b/c/g/");
  CAF_CHECK_EQUAL(resolved(base, "?y"), "http://a/b/c/d;p?y");
  CAF_CHECK_EQUAL(resolved(base, "g?y"), "http://a/b/c/g?y");
  CAF_CHECK_EQUAL(resolved(base, "#s"), "http://a/b/c/d;p?q");
  CAF_CHECK_EQUAL(resolved(base, ";x"), "http://a/b/c/;x");
  CAF_CHECK_EQUAL(resolved(base, "."), "http://a/b/c/");
  CAF_CHECK_EQUAL(resolved(base, "../.."), "http://a/");
  CAF_CHECK_EQUAL(resolved(base, "../../g"), "http://a/g");
  CAF_CHECK_EQUAL(resolved(base, "/./g"), "http://a/g");
  CAF_CHECK_EQUAL(resolved(base, "g."), "http://a/b/c/g.");
  CAF_CHECK_EQUAL(resolved(base, "..g"), "http://a/b/c/..g");
  CAF_CHECK_EQUAL(resolved(base, "./g/."), "http://a/b/c/g/");
  CAF_CHECK_EQUAL(resolved(base, "g/../h"), "http://a/b/c/h");
  CAF_CHECK_EQUAL(resolved(base, "g;x=1/../y"), "http://a/b/c/y");
  CAF_CHECK_EQUAL(resolved(base, "g?y/./x"), "http://a/b/c/g?y/./x");
}

CAF_TEST(a query-only endpoint keeps the SSE path) {
  CAF_CHECK_EQUAL(resolved("http://h/mcp/sse", "?sessionId=x"),
                  "http://h/mcp/sse?sessionId=x");
  CAF_CHECK_EQUAL(resolved("http://h/mcp/sse?old=1", "?sessionId=x"),
                  "http://h/mcp/sse?sessionId=x");
}

CAF_TEST(an absolute endpoint on the same origin is accepted) {
  CAF_CHECK_EQUAL(resolved("http://h:3001/sse",
                           "http://h:3001/message?sessionId=1"),
                  "http://h:3001/message?sessionId=1");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "//h/message?sessionId=1"),
                  "http://h/message?sessionId=1");
}

CAF_TEST(default ports are the same origin) {
  CAF_CHECK(same_origin("http://h", "http://h:80/x"));
  CAF_CHECK(same_origin("https://h:443/", "https://h/y"));
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://h:80/message"),
                  "http://h/message");
  CAF_CHECK_EQUAL(resolved("https://h:443/sse", "https://h/message"),
                  "https://h/message");
}

CAF_TEST(scheme and host compare case-insensitively) {
  CAF_CHECK(same_origin("HTTP://EXAMPLE.com/", "http://example.COM/"));
  CAF_CHECK_EQUAL(resolved("http://Example.com/sse",
                           "HTTP://EXAMPLE.COM/Message"),
                  "http://example.com/Message");
}

CAF_TEST(an endpoint on another origin is refused) {
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://evil.example/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "//evil.example/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://h:3001/sse", "http://h:3002/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://h:8080/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("https://h/sse", "http://h/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "https://h/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://h.evil.example/message"),
                  "origin_mismatch");
  // Userinfo tricks do not change the host.
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://h@evil.example/message"),
                  "origin_mismatch");
  CAF_CHECK_EQUAL(resolved("http://[::1]:8080/sse", "http://[::2]:8080/m"),
                  "origin_mismatch");
  CAF_CHECK(!same_origin("http://h/", "https://h/"));
  CAF_CHECK(!same_origin("http://h/", "http://g/"));
  CAF_CHECK(!same_origin("http://h/", "not a url"));
}

CAF_TEST(IPv6 endpoints resolve against IPv6 SSE URLs) {
  auto r = resolve_endpoint("http://[::1]:8080/sse", "/message?sessionId=1");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->text, "http://[::1]:8080/message?sessionId=1");
  CAF_CHECK_EQUAL(r->host, "::1");
  CAF_CHECK_EQUAL(resolved("http://[::1]:8080/sse",
                           "http://[0::1]:8080/message"),
                  "http://[::1]:8080/message");
}

CAF_TEST(percent-encoded octets are kept as they are) {
  CAF_CHECK_EQUAL(resolved("http://h/a/sse", "m%2Fx%41/?sessionId=a%20b%2B"),
                  "http://h/a/m%2Fx%41/?sessionId=a%20b%2B");
  CAF_CHECK_EQUAL(resolved("http://h/a/sse", "../b/%2E%2E/x"),
                  "http://h/b/%2E%2E/x");
}

CAF_TEST(surrounding whitespace is trimmed and the fragment dropped) {
  CAF_CHECK_EQUAL(resolved("http://h/sse", "  /message?sessionId=1\r\n"),
                  "http://h/message?sessionId=1");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "\t/message#frag"),
                  "http://h/message");
}

CAF_TEST(garbage endpoints are invalid) {
  CAF_CHECK_EQUAL(resolved("http://h/sse", ""), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", " \r\n "), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "/mes sage"), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "/a\nb"), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://[::1"), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "%zz"), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "{\"a\":1}"), "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http:message"),
                  "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "http://h:99999/m"),
                  "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h:5/sse", "//h:5x"), "invalid_endpoint");
}

CAF_TEST(endpoints with a non-http scheme are invalid) {
  CAF_CHECK_EQUAL(resolved("http://h/sse", "ftp://h/message"),
                  "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "javascript:alert(1)"),
                  "invalid_endpoint");
  CAF_CHECK_EQUAL(resolved("http://h/sse", "mailto:a@h"), "invalid_endpoint");
}

CAF_TEST(an invalid SSE URL is reported as such) {
  CAF_CHECK_EQUAL(resolved("ftp://h/sse", "/m"), "unsupported_scheme");
  CAF_CHECK_EQUAL(resolved("sse", "/m"), "invalid_url");
  CAF_CHECK_EQUAL(resolved("http:///sse", "/m"), "missing_host");
}

CAF_TEST(an endpoint on the same origin inherits the SSE credentials) {
  auto r = resolve_endpoint("http://alice:pw@h/sse", "/message?sessionId=1");
  CAF_REQUIRE(r);
  CAF_CHECK(r->has_userinfo);
  CAF_CHECK_EQUAL(r->user, "alice");
  CAF_CHECK_EQUAL(r->password, "pw");
  CAF_CHECK_EQUAL(r->text, "http://h/message?sessionId=1");
  auto own = resolve_endpoint("http://alice:pw@h/sse", "http://bob:x@h/m");
  CAF_REQUIRE(own);
  CAF_CHECK_EQUAL(own->user, "bob");
  CAF_CHECK_EQUAL(own->password, "x");
}

CAF_TEST(resolving a resolved endpoint again changes nothing) {
  auto base = parse_url("http://h/mcp/./a/sse?x=1");
  CAF_REQUIRE(base);
  for (auto ep : {"?sessionId=1", "../m/./x?y", "", "http://h/a/../b"}) {
    auto first = resolve_endpoint(*base, ep);
    if (!first)
      continue;
    auto second = resolve_endpoint(*base, first->text);
    CAF_REQUIRE(second);
    CAF_CHECK_EQUAL(first->text, second->text);
  }
}

// -- redaction -----------------------------------------------------------------

CAF_TEST(redact removes userinfo) {
  CAF_CHECK_EQUAL(redact("http://alice:hunter2@h:8080/sse"),
                  "http://h:8080/sse");
  CAF_CHECK_EQUAL(redact("https://token@h/sse"), "https://h/sse");
  CAF_CHECK_EQUAL(redact("//u:p@h/x"), "//h/x");
}

CAF_TEST(redact hides secret query values and hashes session ids) {
  CAF_CHECK_EQUAL(redact("http://h/sse?token=abc&x=1"),
                  "http://h/sse?token=REDACTED&x=1");
  // The published FNV-1a test vector: "a" -> e40c292c.
  CAF_CHECK_EQUAL(redact("/m?session=a"), "/m?session=REDACTED-e40c292c");
  CAF_CHECK_EQUAL(redact("/message?sessionId=5f1c&access_token=t"),
                  "/message?sessionId=REDACTED-" + fnv1a_hex("5f1c")
                    + "&access_token=REDACTED");
  CAF_CHECK_EQUAL(redact("/messages/?session_id=ab12&API_KEY=k&code=c"),
                  "/messages/?session_id=REDACTED-" + fnv1a_hex("ab12")
                    + "&API_KEY=REDACTED&code=REDACTED");
  CAF_CHECK_EQUAL(redact("http://h/?X-Amz-Signature=s&X-Amz-Credential=c"
                         "&sig=x&password=p&passwd=q&client_secret=z"),
                  "http://h/?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"
                  "&sig=REDACTED&password=REDACTED&passwd=REDACTED"
                  "&client_secret=REDACTED");
  // Percent-encoded names are decoded before matching.
  CAF_CHECK_EQUAL(redact("http://h/?to%6Ben=abc"),
                  "http://h/?to%6Ben=REDACTED");
  // Parameters without '=' and empty pieces stay.
  CAF_CHECK_EQUAL(redact("http://h/?token&&a=b&"), "http://h/?token&&a=b&");
}

CAF_TEST(redact never shows a session id and tells sessions apart) {
  std::string id = "0b5e9a5c-5ad6-4f4e-9d43-2c1d3a1e7f10";
  for (auto name : {"sessionId", "SESSIONID", "session_id", "session",
                    "session%49d"}) {
    auto out = redact(std::string{"http://h/messages/?"} + name + "=" + id);
    CAF_CHECK_EQUAL(out.find(id), std::string::npos);
    CAF_CHECK_EQUAL(out, std::string{"http://h/messages/?"} + name
                           + "=REDACTED-" + fnv1a_hex(id));
  }
  // The same id always gives the same text, another id another one.
  CAF_CHECK_EQUAL(redact("/m?sessionId=a1"), redact("/m?sessionId=a1"));
  CAF_CHECK_NOT_EQUAL(redact("/m?sessionId=a1"), redact("/m?sessionId=a2"));
  // Redacting twice changes nothing (the mark is not hashed again).
  auto once = redact("/m?sessionId=a1&token=t");
  CAF_CHECK_EQUAL(redact(once), once);
  // Other names that only contain "session" stay visible.
  CAF_CHECK_EQUAL(redact("/m?sessions=3"), "/m?sessions=3");
}

CAF_TEST(redact drops the fragment) {
  CAF_CHECK_EQUAL(redact("http://h/cb#access_token=abc"), "http://h/cb");
  CAF_CHECK_EQUAL(redact("/x?a=1#f"), "/x?a=1");
}

CAF_TEST(redact never echoes unparsable text) {
  CAF_CHECK_EQUAL(redact("http://u:p@h/ x"), "<invalid url>");
  CAF_CHECK_EQUAL(redact("http://[::1"), "<invalid url>");
  CAF_CHECK_EQUAL(redact("\x01\x02"), "<invalid url>");
  CAF_CHECK_EQUAL(redact("http://u:p@h:1x?token=t"), "<invalid url>");
}

CAF_TEST(is_secret_param uses the documented list) {
  for (auto name : {"token", "access_token", "Authorization", "apikey",
                    "api-key", "client_secret", "password", "passwd", "pwd",
                    "auth", "sig", "signature", "credential", "code", "jwt"})
    CAF_CHECK_EQUAL(classify(name), std::string{name} + ": secret");
  for (auto name : {"sessionId", "session_id", "x", "page", "cursor", "sign",
                    "id"})
    CAF_CHECK_EQUAL(classify(name), std::string{name} + ": public");
}
