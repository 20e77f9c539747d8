#define CAF_SUITE client_token
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#pragma GCC diagnostic pop

#include "caf/after.hpp"

#include "caf_mcp/actors/bearer_token_middleware.hpp"
#include "caf_mcp/transport/token_source.hpp"

#include "fault_control.hpp"
#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// The `bearer_token` middleware (configured from C++ with a file or a
// command provider) against the fault server in token mode (`caf-mcp
// demo-server --faults --token-file STATE/token.secret`, fixture
// token.start, docs/fault-server.md "Token mode"). The tests rotate the
// server's token by renaming a new file over STATE/token.secret, and the
// client's by doing the same with its own file, then check what the caller
// sees, how often the server answered 401 (`unauthorized` in /_stats) and
// how often it ran each call (`records`). Tokens are random per rotation and
// never printed: checks compare them only as booleans.

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

std::string state_dir() {
  const char* dir = std::getenv("CAF_MCP_PEERS_STATE");
  return dir != nullptr ? std::string{dir} : std::string{};
}

/// 32 random hex digits.
std::string new_token() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    auto r = rd();
    for (int j = 0; j < 8; ++j, r >>= 4)
      out += hex[r & 0xF];
  }
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Writes PATH.tmp and renames it to PATH (readers never see half a file).
bool write_atomic(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << text << '\n';
    if (!out.flush())
      return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

struct fixture : live_fixture {
  std::string url = peer_file("token");
  uint16_t port = port_of(url);
  std::string server_file = state_dir() + "/token.secret";
  std::string dir;
  std::string client_file;
  /// Keys are unique per process: the server keeps counting across suites.
  std::string nonce = std::to_string(::getpid());
  http_reply cleared;

  fixture() {
    char tmpl[] = "/tmp/caf-mcp-token-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
      dir = tmpl;
      client_file = dir + "/client.token";
      // The client starts with the server's current token (an earlier
      // test may have rotated it).
      write_atomic(client_file, server_token());
    }
    if (port != 0)
      cleared = control_request(port, http::verb::post, "/_fault",
                                R"({"fault":"none"})");
  }

  ~fixture() {
    if (!dir.empty()) {
      std::remove(client_file.c_str());
      std::remove((client_file + ".tmp").c_str());
      ::rmdir(dir.c_str());
    }
  }

  void require_server() {
    CAF_REQUIRE(!url.empty());
    CAF_REQUIRE(port != 0);
    CAF_REQUIRE(!dir.empty());
    CAF_REQUIRE(!read_all(server_file).empty());
    CAF_REQUIRE_EQUAL(cleared.failure, "");
    CAF_REQUIRE_EQUAL(cleared.status, 200);
  }

  /// The server's current token.
  std::string server_token() {
    return std::string{transport::trim_token(read_all(server_file))};
  }

  /// Rotates the server's token; returns the new one.
  std::string rotate_server() {
    auto tok = new_token();
    CAF_REQUIRE(write_atomic(server_file, tok));
    return tok;
  }

  void set_client(const std::string& tok) {
    CAF_REQUIRE(write_atomic(client_file, tok));
  }

  json::object stats() {
    auto res = control_request(port, http::verb::get, "/_stats?records=1");
    CAF_REQUIRE_EQUAL(res.failure, "");
    CAF_REQUIRE_EQUAL(res.status, 200);
    auto v = json::parse(res.body);
    CAF_REQUIRE(v.is_object());
    return v.as_object();
  }

  /// Requests the server refused with 401 so far.
  int64_t unauthorized() {
    return as_int(stats().if_contains("unauthorized"));
  }

  int64_t sessions_opened() {
    return as_int(stats().if_contains("sessions_opened"));
  }

  int64_t executions(const std::string& key) {
    auto st = stats();
    auto recs = st.if_contains("records");
    if (recs == nullptr || !recs->is_object())
      return 0;
    return as_int(recs->as_object().if_contains(key));
  }

  std::string key(const std::string& name) {
    return "token-" + name + "-" + nonce;
  }

  std::shared_ptr<bearer_token_middleware> mw;

  /// A keep-alive client with the bearer_token middleware of `bt` (default:
  /// the client's token file).
  client_actor make_token_client(bearer_token_config bt = {}) {
    require_server();
    if (!bt.fetch && !bt.provider)
      bt.fetch = token_from_file(client_file);
    bt.timeout = std::chrono::seconds{5};
    mw = std::make_shared<bearer_token_middleware>(std::move(bt));
    client_config cc;
    cc.name = "token";
    cc.is_keep_alive = true;
    cc.session = make_session_config(url);
    cc.middlewares.push_back(mw);
    cc.pool.member.backoff.base = std::chrono::milliseconds{20};
    cc.pool.member.backoff.max_attempts = 5;
    auto c = sys.spawn(client, std::move(cc));
    spawned.push_back(caf::actor_cast<caf::actor>(c));
    return c;
  }

  /// A client whose session is ready: one call went through.
  client_actor ready_client(bearer_token_config bt = {}) {
    auto c = make_token_client(std::move(bt));
    record_ok(c, key("warm-up"), false);
    return c;
  }

  answer<call_tool_result> record(const client_actor& c, const std::string& k) {
    return ask<call_tool_result>(c, call_atom::value, std::string{"record"},
                                 R"({"key":")" + k + R"("})", call_options{});
  }

  /// Calls `record` and checks that it answered for `k` (the first
  /// execution of `k` unless `first` is false).
  void record_ok(const client_actor& c, const std::string& k,
                 bool first = true) {
    auto res = record(c, k);
    if (!res.ok)
      CAF_MESSAGE("record " << k << " failed: " << render(res.err));
    CAF_REQUIRE(res.ok);
    CAF_CHECK(!res.value.is_error);
    if (first)
      CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  }

  pool_stats pool_of(const client_actor& c) {
    auto res = ask<pool_stats>(c, stats_atom::value);
    CAF_REQUIRE(res.ok);
    return res.value;
  }

  uint64_t reconnects(const client_actor& c) {
    uint64_t n = 0;
    for (auto& l : pool_of(c).links)
      n += l.reconnects;
    return n;
  }

  /// Polls every 20 ms, at most 250 times (5 s), until the client's only
  /// member restarted at least `n` times and is ready again.
  bool wait_ready_after(const client_actor& c, uint64_t n) {
    for (int i = 0; i < 250; ++i) {
      auto ps = pool_of(c);
      if (ps.links.size() == 1 && ps.links[0].reconnects >= n
          && ps.links[0].phase == link_phase::ready)
        return true;
      self->receive(caf::after(std::chrono::milliseconds{20}) >> [] {
        // nop: the poll interval
      });
    }
    return false;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_token_tests, fixture)

CAF_TEST(the server refuses requests without its current token) {
  require_server();
  auto u0 = unauthorized();
  auto target = std::string{"/message?sessionId=nobody"};
  auto body = std::string{R"({"jsonrpc":"2.0","method":"ping","id":1})"};
  auto none = control_request(port, http::verb::post, target, body);
  CAF_CHECK_EQUAL(none.status, 401);
  CAF_CHECK_EQUAL(none.www_authenticate.rfind("Bearer ", 0), 0u);
  CAF_CHECK(none.www_authenticate.find("invalid_token") == std::string::npos);
  auto wrong = control_request(port, http::verb::post, target, body,
                               {{"Authorization", "Bearer " + new_token()}});
  CAF_CHECK_EQUAL(wrong.status, 401);
  CAF_CHECK(wrong.www_authenticate.find(R"(error="invalid_token")")
            != std::string::npos);
  auto basic = control_request(port, http::verb::get, "/sse", {},
                               {{"Authorization", "Basic eDp5"}});
  CAF_CHECK_EQUAL(basic.status, 401);
  // The current token passes the check: the unknown session is a 404.
  auto cur = control_request(port, http::verb::post, target, body,
                             {{"Authorization",
                               "Bearer " + server_token()}});
  CAF_CHECK_EQUAL(cur.status, 404);
  CAF_CHECK_EQUAL(unauthorized() - u0, 3);
}

CAF_TEST(calls succeed with the current token) {
  auto u0 = unauthorized();
  auto c = ready_client();
  // The prefetch for the first session, and one more if the warm-up call
  // ran through the chain before the prefetch ended.
  auto f0 = mw->fetches();
  CAF_CHECK_GREATER_OR_EQUAL(f0, 1u);
  CAF_CHECK_LESS_OR_EQUAL(f0, 2u);
  record_ok(c, key("current-1"));
  record_ok(c, key("current-2"));
  CAF_CHECK_EQUAL(unauthorized() - u0, 0);
  // A known token is not fetched again (no refresh_interval).
  CAF_CHECK_EQUAL(mw->fetches(), f0);
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(a rotated token is refreshed once after a 401 and the call runs once) {
  auto c = ready_client();
  auto fetches0 = mw->fetches();
  auto u0 = unauthorized();
  set_client(rotate_server());
  auto k = key("rotated");
  record_ok(c, k);
  // One 401 (the old token), one fetch, one execution.
  CAF_CHECK_EQUAL(unauthorized() - u0, 1);
  CAF_CHECK_EQUAL(mw->fetches() - fetches0, 1u);
  CAF_CHECK_EQUAL(executions(k), 1);
  // The next call uses the new token at once.
  record_ok(c, key("rotated-next"));
  CAF_CHECK_EQUAL(unauthorized() - u0, 1);
  CAF_CHECK_EQUAL(mw->fetches() - fetches0, 1u);
  // The open stream was not touched.
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(after a reconnect the new SSE GET carries the refreshed token) {
  auto c = ready_client();
  set_client(rotate_server());
  record_ok(c, key("before-reconnect"));
  auto u1 = unauthorized();
  auto s1 = sessions_opened();
  auto echo = control_request(port, http::verb::post, "/_fault",
                              R"({"fault":"new_session","now":true})");
  CAF_REQUIRE_EQUAL(echo.status, 200);
  CAF_REQUIRE(wait_ready_after(c, 1));
  auto k = key("after-reconnect");
  record_ok(c, k);
  CAF_CHECK_EQUAL(executions(k), 1);
  // A new stream was opened, and no request of the new session (GET,
  // initialize, the call) was refused.
  CAF_CHECK_GREATER(sessions_opened(), s1);
  CAF_CHECK_EQUAL(unauthorized() - u1, 0);
}

CAF_TEST(a token rotated while no call ran reaches the next session) {
  auto c = ready_client();
  // Both sides rotate; no call runs, so no 401 refreshes the token.
  set_client(rotate_server());
  auto u1 = unauthorized();
  auto f1 = mw->fetches();
  auto echo = control_request(port, http::verb::post, "/_fault",
                              R"({"fault":"new_session","now":true})");
  CAF_REQUIRE_EQUAL(echo.status, 200);
  // The new session fetched a fresh token before its GET: it is ready
  // without a single 401.
  CAF_REQUIRE(wait_ready_after(c, 1));
  CAF_CHECK_EQUAL(unauthorized() - u1, 0);
  CAF_CHECK_EQUAL(mw->fetches() - f1, 1u);
  auto k = key("rotated-idle");
  record_ok(c, k);
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(unauthorized() - u1, 0);
}

CAF_TEST(a provider that keeps the stale token fails with unauthorized) {
  auto c = ready_client();
  auto u0 = unauthorized();
  auto fetches0 = mw->fetches();
  // The server rotates; the client's file keeps the old token.
  auto fresh = rotate_server();
  auto k = key("stale");
  auto res = record(c, k);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("stale token: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::unauthorized));
  CAF_CHECK(render(res.err).find(fresh) == std::string::npos);
  // Exactly two 401s (the first try and the one retry), one fetch, and
  // the server never ran it.
  CAF_CHECK_EQUAL(unauthorized() - u0, 2);
  CAF_CHECK_EQUAL(mw->fetches() - fetches0, 1u);
  CAF_CHECK_EQUAL(executions(k), 0);
  // Each later call costs the same, no more: never a loop.
  auto res2 = record(c, key("stale-2"));
  CAF_CHECK(!res2.ok && has_code(res2.err, mcp_errc::unauthorized));
  CAF_CHECK_EQUAL(unauthorized() - u0, 4);
  // Once the provider has the new token, calls work again.
  set_client(fresh);
  record_ok(c, key("stale-fixed"));
  CAF_CHECK_EQUAL(unauthorized() - u0, 5);
}

CAF_TEST(a token command is run again after a 401) {
  bearer_token_config bt;
  bt.fetch = token_from_command("cat '" + client_file + "'",
                                std::chrono::seconds{5});
  auto c = ready_client(std::move(bt));
  auto fetches0 = mw->fetches();
  auto u0 = unauthorized();
  set_client(rotate_server());
  auto k = key("command");
  record_ok(c, k);
  CAF_CHECK_EQUAL(unauthorized() - u0, 1);
  CAF_CHECK_EQUAL(mw->fetches() - fetches0, 1u);
  CAF_CHECK_EQUAL(executions(k), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
