#define CAF_SUITE client_faults
#include "caf/test/unit_test.hpp"

#include "live_fixture.hpp"

#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <utility>

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// internals; silenced for the Boost headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// Against small servers on the official SDK's SSEServerTransport that
// misbehave in one way each (tests/peers/servers), started by the fixtures
// peers.start.NAME.

namespace {

struct fixture : live_fixture {
  answer<initialize_result> init_at(session_config sc) {
    auto s = make_session(std::move(sc));
    return ask<initialize_result>(s, init_atom::value);
  }

  answer<call_tool_result> echo_at(session_config sc) {
    auto c = make_client(std::move(sc));
    return ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{R"({"message":"x"})"},
                                 call_options{});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_faults_tests, fixture)

CAF_TEST(a bearer token is required and 401 maps to unauthorized) {
  auto url = peer_file("bearer");
  CAF_REQUIRE(!url.empty());
  auto without = init_at(make_session_config(url));
  CAF_REQUIRE(!without.ok);
  CAF_CHECK(has_code(without.err, mcp_errc::unauthorized));
  CAF_MESSAGE("without token: " << render(without.err));
  auto sc = make_session_config(url);
  sc.http.headers.emplace_back("Authorization", "Bearer test-token");
  auto with = echo_at(sc);
  CAF_REQUIRE(with.ok);
  CAF_CHECK(!with.value.is_error);
}

CAF_TEST(an endpoint on another origin is refused) {
  auto url = peer_file("other-origin");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.http.headers.emplace_back("Authorization", "Bearer secret");
  auto res = init_at(sc);
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::endpoint_origin_mismatch));
  CAF_CHECK(render(res.err).find("secret") == std::string::npos);
}

CAF_TEST(a POST answered 404 means the session expired) {
  auto url = peer_file("post-404");
  CAF_REQUIRE(!url.empty());
  auto res = init_at(make_session_config(url));
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::session_expired));
  CAF_MESSAGE(render(res.err));
}

CAF_TEST(a POST answered 503 means the service is unavailable) {
  auto url = peer_file("post-503");
  CAF_REQUIRE(!url.empty());
  auto res = init_at(make_session_config(url));
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::service_unavailable));
  // The Retry-After value travels in the error context.
  CAF_CHECK(render(res.err).find('2') != std::string::npos);
  CAF_MESSAGE(render(res.err));
}

CAF_TEST(no endpoint event ends in endpoint_timeout) {
  auto url = peer_file("no-endpoint");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.endpoint_timeout = std::chrono::milliseconds{800};
  auto t0 = std::chrono::steady_clock::now();
  auto res = init_at(sc);
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::endpoint_timeout));
  CAF_CHECK(took >= std::chrono::milliseconds{700});
}

CAF_TEST(https works with the test CA and is refused without it) {
  auto url = peer_file("https");
  auto ca = peer_file("https", ".ca");
  CAF_REQUIRE(!url.empty());
  CAF_REQUIRE(!ca.empty());
  auto sc = make_session_config(url);
  sc.http.tls.ca_file = ca;
  auto ok = echo_at(sc);
  CAF_REQUIRE(ok.ok);
  CAF_CHECK(!ok.value.is_error);
  auto refused = init_at(make_session_config(url));
  CAF_REQUIRE(!refused.ok);
  CAF_CHECK(has_code(refused.err, mcp_errc::tls_error));
  CAF_MESSAGE("without CA: " << render(refused.err));
  auto insecure_cfg = make_session_config(url);
  insecure_cfg.http.tls.insecure = true;
  auto insecure = echo_at(insecure_cfg);
  CAF_CHECK(insecure.ok);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- an endpoint with other credentials ---------------------------------------
//
// The peer other-credentials answers GET /sse with an endpoint on the SSE
// URL's origin that names credentials of its own,
// http://alice:s3cret@127.0.0.1:PORT/message?sessionId=ID, refuses (401)
// every POST without `Authorization: Basic base64(alice:s3cret)` and records,
// per session, which credentials the GET and each POST carried (GET /seen).

namespace {

/// What the other-credentials peer recorded for the sessions of one client
/// name (the clientInfo.name of their initialize).
struct seen_requests {
  /// The peer answered JSON of the documented shape.
  bool ok = false;
  /// The answer as it came, for messages.
  std::string json;
  int64_t sessions = 0;
  /// Credentials label of the GETs -> count.
  std::map<std::string, int64_t> gets;
  /// (method, credentials label) of each POST, in arrival order.
  std::vector<std::pair<std::string, std::string>> posts;

  /// True if every POST carried `label` (and there was at least one).
  bool all_posts_carried(const std::string& label) const {
    if (posts.empty())
      return false;
    for (auto& p : posts)
      if (p.second != label)
        return false;
    return true;
  }

  bool has_post(const std::string& method) const {
    for (auto& p : posts)
      if (p.first == method)
        return true;
    return false;
  }
};

/// `GET target` on the origin of `url` (the peer, on 127.0.0.1), the whole
/// exchange bounded by 5 s. Returns the body of a 200 answer, else empty.
std::string http_get(const std::string& url, const std::string& target) {
  namespace net = boost::asio;
  using tcp = net::ip::tcp;
  auto parsed = transport::parse_url(url);
  if (!parsed)
    return {};
  boost::system::error_code ec;
  auto addr = net::ip::make_address(parsed.url.host, ec);
  if (ec || !addr.is_loopback())
    return {};
  net::io_context ioc;
  tcp::socket sock{ioc};
  auto request = "GET " + target + " HTTP/1.1\r\nHost: "
                 + parsed.url.host_header()
                 + "\r\nConnection: close\r\n\r\n";
  std::string response;
  bool complete = false;
  sock.async_connect(tcp::endpoint{addr, parsed.url.port},
                     [&](boost::system::error_code err) {
                       if (err)
                         return;
                       net::async_write(
                         sock, net::buffer(request),
                         [&](boost::system::error_code err2, size_t) {
                           if (err2)
                             return;
                           net::async_read(sock, net::dynamic_buffer(response),
                                           [&](boost::system::error_code err3,
                                               size_t) {
                                             complete = err3 == net::error::eof;
                                           });
                         });
                     });
  ioc.run_for(std::chrono::seconds{5});
  auto head_end = response.find("\r\n\r\n");
  if (!complete || head_end == std::string::npos
      || response.compare(0, 13, "HTTP/1.1 200 ") != 0)
    return {};
  return response.substr(head_end + 4);
}

/// Asks the peer at `url` what the sessions of `client` carried.
seen_requests seen_by_peer(const std::string& url, const std::string& client) {
  seen_requests out;
  out.json = http_get(url, "/seen?client=" + client);
  boost::system::error_code ec;
  auto v = boost::json::parse(out.json, ec);
  if (ec || !v.is_object())
    return out;
  auto& obj = v.as_object();
  auto* sessions = obj.if_contains("sessions");
  auto* gets = obj.if_contains("gets");
  auto* posts = obj.if_contains("posts");
  if (sessions == nullptr || !sessions->is_int64() || gets == nullptr
      || !gets->is_object() || posts == nullptr || !posts->is_array())
    return out;
  out.sessions = sessions->as_int64();
  for (auto& kvp : gets->as_object()) {
    if (!kvp.value().is_int64())
      return out;
    out.gets.emplace(std::string{kvp.key()}, kvp.value().as_int64());
  }
  for (auto& p : posts->as_array()) {
    auto* o = p.if_object();
    if (o == nullptr)
      return out;
    auto* method = o->if_contains("method");
    auto* auth = o->if_contains("auth");
    if (auth == nullptr || !auth->is_string() || method == nullptr)
      return out;
    out.posts.emplace_back(method->is_string()
                             ? std::string{method->as_string()}
                             : std::string{"<not json>"},
                           std::string{auth->as_string()});
  }
  out.ok = true;
  return out;
}

/// `url` with `userinfo@` put in front of its host.
std::string with_userinfo(const std::string& url, const std::string& userinfo) {
  auto pos = url.find("://");
  if (pos == std::string::npos)
    return {};
  return url.substr(0, pos + 3) + userinfo + "@" + url.substr(pos + 3);
}

/// A clientInfo.name no other process uses (CTest runs this suite twice,
/// possibly at once, against the same peer).
std::string unique_client(const std::string& what) {
  return "caf-mcp-creds-" + what + "-" + std::to_string(::getpid());
}

/// Every line caf-mcp logs (trace and up) while it lives. The sink holds
/// the lines through a shared pointer: a line on its way while the capture
/// ends still finds them.
class log_capture {
public:
  log_capture() {
    caf_mcp::log::set_sink(
      [st = state_](caf_mcp::log::level, std::string_view component,
                    std::string_view text) {
        std::lock_guard<std::mutex> guard{st->mtx};
        st->lines.emplace_back(std::string{component} + ": "
                               + std::string{text});
      },
      caf_mcp::log::level::trace);
  }

  ~log_capture() {
    caf_mcp::log::reset();
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> guard{state_->mtx};
    return state_->lines;
  }

private:
  struct state {
    mutable std::mutex mtx;
    std::vector<std::string> lines;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The secrets of the peer and of the tests, as text and as they travel in
/// `Authorization: Basic`.
const std::vector<std::string> secrets = {
  "s3cret",
  "YWxpY2U6czNjcmV0",     // base64("alice:s3cret")
  "bWFsbG9yeTpzM2NyZXQ=", // base64("mallory:s3cret")
  "bob:pw",
  "Ym9iOnB3", // base64("bob:pw")
};

/// The first secret in `text`, or empty.
std::string secret_in(const std::string& text) {
  for (auto& s : secrets)
    if (contains(text, s))
      return s;
  return {};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(other_credentials_tests, fixture)

CAF_TEST(an endpoint with credentials gets POSTs with them) {
  auto url = peer_file("other-credentials");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  auto name = unique_client("plain");
  sc.client_info.name = name;
  auto res = echo_at(sc);
  if (!res.ok)
    CAF_MESSAGE("echo failed: " << render(res.err));
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  CAF_CHECK_EQUAL(joined_text(res.value), "Echo: x");
  auto seen = seen_by_peer(url, name);
  CAF_MESSAGE("the peer saw: " << seen.json);
  CAF_REQUIRE(seen.ok);
  CAF_CHECK_GREATER_OR_EQUAL(seen.sessions, int64_t{1});
  // The GET went out without credentials (the SSE URL has none), ...
  CAF_CHECK(seen.gets == (std::map<std::string, int64_t>{{"none", seen.sessions}}));
  // ... every POST with alice's, the ones of the handshake and the call too.
  CAF_CHECK(seen.all_posts_carried("alice"));
  CAF_CHECK(seen.has_post("initialize"));
  CAF_CHECK(seen.has_post("tools/call"));
}

CAF_TEST(the endpoint's credentials win over the SSE URL's on the POSTs) {
  auto url = peer_file("other-credentials");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(with_userinfo(url, "bob:pw"));
  auto name = unique_client("bob");
  sc.client_info.name = name;
  auto res = echo_at(sc);
  if (!res.ok)
    CAF_MESSAGE("echo failed: " << render(res.err));
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  CAF_CHECK_EQUAL(joined_text(res.value), "Echo: x");
  auto seen = seen_by_peer(url, name);
  CAF_MESSAGE("the peer saw: " << seen.json);
  CAF_REQUIRE(seen.ok);
  CAF_CHECK_GREATER_OR_EQUAL(seen.sessions, int64_t{1});
  // The GET carried bob's credentials (those of the SSE URL), ...
  CAF_CHECK(seen.gets
            == (std::map<std::string, int64_t>{{"basic:bob", seen.sessions}}));
  // ... the POSTs alice's (those of the endpoint), never bob's.
  CAF_CHECK(seen.all_posts_carried("alice"));
  CAF_CHECK(seen.has_post("initialize"));
  CAF_CHECK(seen.has_post("tools/call"));
}

CAF_TEST(credentials of an endpoint appear in no error message or log line) {
  auto url = peer_file("other-credentials");
  CAF_REQUIRE(!url.empty());
  std::vector<std::string> errors;
  std::vector<std::string> lines;
  {
    log_capture capture;
    // Served: SSE URL with bob's credentials, endpoint with alice's.
    auto sc = make_session_config(with_userinfo(url, "bob:pw"));
    auto ok = echo_at(sc);
    CAF_CHECK(ok.ok);
    // Refused with 401: the endpoint names mallory:s3cret. A session without
    // a server name shows the (redacted) SSE URL in its messages.
    sc = make_session_config(with_userinfo(url, "bob:pw") + "?as=mallory");
    sc.server_name.clear();
    auto unauthorized = init_at(sc);
    CAF_REQUIRE(!unauthorized.ok);
    CAF_CHECK(has_code(unauthorized.err, mcp_errc::unauthorized));
    errors.push_back(render(unauthorized.err));
    // The same through a client: its supervisor gives up and says why.
    sc = make_session_config(url + "?as=mallory");
    auto call = echo_at(sc);
    CAF_REQUIRE(!call.ok);
    errors.push_back(render(call.err));
    // Refused by the client: alice:s3cret@localhost is another origin.
    sc = make_session_config(url + "?host=localhost");
    sc.server_name.clear();
    auto mismatch = init_at(sc);
    CAF_REQUIRE(!mismatch.ok);
    CAF_CHECK(has_code(mismatch.err, mcp_errc::endpoint_origin_mismatch));
    errors.push_back(render(mismatch.err));
    lines = capture.lines();
  }
  for (auto& e : errors) {
    CAF_MESSAGE("error: " << e);
    CAF_CHECK_EQUAL(secret_in(e), "");
  }
  // The errors name what they are about: the endpoint, without credentials.
  CAF_CHECK(contains(errors.back(), "http://localhost:"));
  CAF_MESSAGE(lines.size() << " log lines");
  CAF_REQUIRE(!lines.empty());
  size_t leaks = 0;
  bool endpoint_logged = false;
  bool refusal_logged = false;
  for (auto& line : lines) {
    if (auto s = secret_in(line); !s.empty()) {
      ++leaks;
      CAF_MESSAGE("a log line holds " << s << ": " << line);
    }
    endpoint_logged = endpoint_logged
                      || (contains(line, ": endpoint http://127.0.0.1:")
                          && contains(line, "/message?sessionId="));
    refusal_logged = refusal_logged || contains(line, "unauthorized");
  }
  CAF_CHECK_EQUAL(leaks, 0u);
  // The lines checked are the ones that carry the endpoint and the refusal.
  CAF_CHECK(endpoint_logged);
  CAF_CHECK(refusal_logged);
}

CAF_TEST_FIXTURE_SCOPE_END()
