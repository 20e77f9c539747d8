#define CAF_SUITE client_fault_server
#include "caf/test/unit_test.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <unistd.h>

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// internals (as in transport/src/http_detail.hpp): silenced for Boost only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#pragma GCC diagnostic pop

#include "caf/after.hpp"

#include "caf_mcp/actors/builtin_middlewares.hpp"
#include "caf_mcp/actors/cache_middleware.hpp"

#include "fault_control.hpp"
#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// The supervised client (keep-alive `client`: pool -> supervisor -> session)
// against the fault-injection server (caf-mcp demo-server --faults, see
// docs/fault-server.md) started by the fixture faults.start. One test per
// fault: each arms the fault through the control API (POST /_fault), makes
// calls of the `record` tool and checks what the caller sees, what the
// client's link did (reconnects) and what the server executed
// (GET /_stats?records=1).

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Milliseconds since `t0`.
int64_t ms_since(steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0)
    .count();
}

struct fixture : live_fixture {
  std::string url = peer_file("faults");
  uint16_t port = port_of(url);
  /// Keys are unique per process: the server keeps counting across suites.
  std::string nonce = std::to_string(::getpid());
  /// The answer to the `{"fault":"none"}` sent before the test.
  http_reply cleared;

  fixture() {
    if (port != 0)
      cleared = control_request(port, http::verb::post, "/_fault",
                                R"({"fault":"none"})");
  }

  /// Checks that the fixture reached the server and cleared its faults.
  void require_server() {
    CAF_REQUIRE(!url.empty());
    CAF_REQUIRE(port != 0);
    CAF_REQUIRE_EQUAL(cleared.failure, "");
    CAF_REQUIRE_EQUAL(cleared.status, 200);
  }

  /// Arms a fault (a JSON object for POST /_fault); returns the echo.
  json::value arm(const std::string& body) {
    auto res = control_request(port, http::verb::post, "/_fault", body);
    CAF_REQUIRE_EQUAL(res.failure, "");
    CAF_REQUIRE_EQUAL(res.status, 200);
    CAF_MESSAGE("armed: " << res.body);
    return json::parse(res.body);
  }

  /// GET /_stats?records=1.
  json::object stats() {
    auto res = control_request(port, http::verb::get, "/_stats?records=1");
    CAF_REQUIRE_EQUAL(res.failure, "");
    CAF_REQUIRE_EQUAL(res.status, 200);
    auto v = json::parse(res.body);
    CAF_REQUIRE(v.is_object());
    return v.as_object();
  }

  /// How often the server executed `record` with `key`.
  int64_t executions(const std::string& key) {
    auto st = stats();
    auto recs = st.if_contains("records");
    if (recs == nullptr || !recs->is_object())
      return 0;
    return as_int(recs->as_object().if_contains(key));
  }

  /// How often the server applied `fault`.
  int64_t applied(const std::string& fault) {
    auto st = stats();
    auto fa = st.if_contains("faults_applied");
    if (fa == nullptr || !fa->is_object())
      return 0;
    return as_int(fa->as_object().if_contains(fault));
  }

  std::string key(const std::string& name) {
    return name + "-" + nonce;
  }

  /// A keep-alive client as `make_client` builds it (backoff base 20 ms),
  /// allowing `max_attempts` failed attempts in a row.
  client_actor make_fault_client(session_config sc,
                                 uint32_t max_attempts = 5,
                                 std::vector<middleware_ptr> mws = {}) {
    client_config cc;
    cc.middlewares = std::move(mws);
    cc.name = sc.server_name;
    cc.is_keep_alive = true;
    cc.session = std::move(sc);
    cc.pool.member.backoff.base = std::chrono::milliseconds{20};
    cc.pool.member.backoff.max_attempts = max_attempts;
    auto c = sys.spawn(client, std::move(cc));
    spawned.push_back(caf::actor_cast<caf::actor>(c));
    return c;
  }

  /// A client whose session is ready: one call of `record` went through.
  client_actor ready_client(session_config sc, uint32_t max_attempts = 5) {
    require_server();
    auto c = make_fault_client(std::move(sc), max_attempts);
    auto warm = record(c, key("warm-up"));
    CAF_REQUIRE(warm.ok);
    return c;
  }

  client_actor ready_client() {
    return ready_client(make_session_config(url));
  }

  /// Calls `record` with `key`.
  answer<call_tool_result> record(const client_actor& c, const std::string& k,
                                  call_options opts = {}) {
    return ask<call_tool_result>(c, call_atom::value, std::string{"record"},
                                 R"({"key":")" + k + R"("})", opts);
  }

  /// Calls `record` and checks that it answered for `k`.
  void record_ok(const client_actor& c, const std::string& k) {
    auto res = record(c, k);
    if (!res.ok)
      CAF_MESSAGE("record " << k << " failed: " << render(res.err));
    CAF_REQUIRE(res.ok);
    CAF_CHECK(!res.value.is_error);
    CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  }

  pool_stats pool_of(const client_actor& c) {
    auto res = ask<pool_stats>(c, stats_atom::value);
    CAF_REQUIRE(res.ok);
    return res.value;
  }

  /// Waits until the client's only member restarted its session at least
  /// `n` times in all and is ready again: polls its status every 20 ms, at
  /// most 250 times (5 s). Returns whether it got there.
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

  /// Restarts of the client's sessions (all pool members).
  uint64_t reconnects(const client_actor& c) {
    auto ps = pool_of(c);
    CAF_CHECK_EQUAL(ps.replaced, 0u);
    uint64_t n = 0;
    for (auto& l : ps.links)
      n += l.reconnects;
    return n;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_fault_server_tests, fixture)

// -- drop_stream --------------------------------------------------------------

CAF_TEST(drop_stream fails a plain call with connection_lost and reconnects) {
  auto c = ready_client();
  arm(R"({"fault":"drop_stream"})");
  auto k = key("drop-plain");
  auto res = record(c, k);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("drop_stream: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::connection_lost));
  // The server ran it once; the client did not send it again.
  CAF_CHECK_EQUAL(executions(k), 1);
  // A new session serves the next call.
  record_ok(c, key("drop-plain-next"));
  CAF_CHECK_GREATER_OR_EQUAL(reconnects(c), 1u);
  CAF_CHECK_EQUAL(applied("drop_stream") >= 1, true);
}

CAF_TEST(drop_stream resends a retryable call once on the next session) {
  auto c = ready_client();
  arm(R"({"fault":"drop_stream"})");
  auto k = key("drop-retryable");
  call_options opts;
  opts.retryable = true;
  auto res = record(c, k, opts);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  // The second execution answered: allowed, the caller said retryable.
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 2");
  CAF_CHECK_EQUAL(executions(k), 2);
  CAF_CHECK_GREATER_OR_EQUAL(reconnects(c), 1u);
  auto ps = pool_of(c);
  CAF_REQUIRE_EQUAL(ps.links.size(), 1u);
  CAF_CHECK_EQUAL(ps.links[0].calls_resent, 1u);
}

// -- POST faults --------------------------------------------------------------

CAF_TEST(no_answer fails the call with timeout and the next call works) {
  auto c = ready_client();
  arm(R"({"fault":"no_answer","calls_only":true})");
  auto k = key("no-answer");
  call_options opts;
  opts.timeout = std::chrono::seconds{1};
  auto t0 = steady_clock::now();
  auto res = record(c, k, opts);
  auto took = ms_since(t0);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("no_answer after " << took << " ms: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::timeout));
  CAF_CHECK_GREATER_OR_EQUAL(took, 1000);
  CAF_CHECK_LESS(took, 3000);
  // The POST was dropped: the server never ran it.
  CAF_CHECK_EQUAL(executions(k), 0);
  record_ok(c, key("no-answer-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(post_drop after the call ran never runs a plain call twice) {
  // The server reads the POST on the warm keep-alive connection, runs the
  // call and closes the connection without answering the POST. The result
  // may still come on the stream; either way the call ran exactly once.
  auto c = ready_client();
  arm(R"({"fault":"post_drop","calls_only":true,"process":true})");
  auto k = key("post-drop-ran");
  auto res = record(c, k);
  if (!res.ok) {
    CAF_MESSAGE("post_drop (ran): " << render(res.err));
    CAF_CHECK(has_code(res.err, mcp_errc::outcome_unknown));
  } else {
    CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  }
  CAF_CHECK_EQUAL(executions(k), 1);
  // Only the POST's connection broke: the session goes on.
  record_ok(c, key("post-drop-ran-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
  CAF_CHECK_EQUAL(applied("post_drop") >= 1, true);
}

CAF_TEST(post_drop before the call ran fails it with outcome_unknown) {
  // The server read the request and dropped it: it did not run, but the
  // client cannot know that, so the call fails as maybe-run, never resent.
  auto c = ready_client();
  arm(R"({"fault":"post_drop","calls_only":true})");
  auto k = key("post-drop");
  auto res = record(c, k);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("post_drop: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::outcome_unknown));
  CAF_CHECK_EQUAL(executions(k), 0);
  record_ok(c, key("post-drop-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(post_drop of a retryable call sends it once more) {
  auto c = ready_client();
  arm(R"({"fault":"post_drop","calls_only":true})");
  auto k = key("post-drop-retryable");
  call_options opts;
  opts.retryable = true;
  auto res = record(c, k, opts);
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(post_404 resends the never executed call on a new session) {
  auto c = ready_client();
  arm(R"({"fault":"post_404","calls_only":true})");
  auto k = key("post-404");
  auto res = record(c, k);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_GREATER_OR_EQUAL(reconnects(c), 1u);
  CAF_CHECK_EQUAL(applied("post_404") >= 1, true);
}

CAF_TEST(post_429 resends the call after Retry-After on the same session) {
  auto c = ready_client();
  arm(R"({"fault":"post_429","retry_after":1,"calls_only":true})");
  auto k = key("post-429");
  auto t0 = steady_clock::now();
  auto res = record(c, k);
  auto took = ms_since(t0);
  CAF_REQUIRE(res.ok);
  CAF_MESSAGE("post_429: answered after " << took << " ms");
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_GREATER_OR_EQUAL(took, 950);
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(post_503 resends the call after Retry-After on the same session) {
  auto c = ready_client();
  arm(R"({"fault":"post_503","retry_after":1,"calls_only":true})");
  auto k = key("post-503");
  auto t0 = steady_clock::now();
  auto res = record(c, k);
  auto took = ms_since(t0);
  CAF_REQUIRE(res.ok);
  CAF_MESSAGE("post_503: answered after " << took << " ms");
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_GREATER_OR_EQUAL(took, 950);
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

// -- stream faults ------------------------------------------------------------

// The cut event `{"jsonrpc":"2.0","id":ID,"result":` shows the id: the
// decoder salvages it, so exactly that call fails at once with
// malformed_json and the session stays.
CAF_TEST(malformed_json fails that call with a decode code) {
  auto c = ready_client();
  arm(R"({"fault":"malformed_json"})");
  auto k = key("malformed-json");
  call_options opts;
  opts.timeout = std::chrono::seconds{2};
  auto t0 = steady_clock::now();
  auto res = record(c, k, opts);
  auto took = ms_since(t0);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("malformed_json after " << took << " ms: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::malformed_json));
  CAF_CHECK_LESS(took, 1000);
  CAF_CHECK_EQUAL(executions(k), 1);
  record_ok(c, key("malformed-json-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(malformed_sse not_jsonrpc fails that call with a decode code) {
  auto c = ready_client();
  arm(R"({"fault":"malformed_sse","variant":"not_jsonrpc"})");
  auto k = key("not-jsonrpc");
  call_options opts;
  opts.timeout = std::chrono::seconds{2};
  auto t0 = steady_clock::now();
  auto res = record(c, k, opts);
  auto took = ms_since(t0);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("not_jsonrpc after " << took << " ms: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::malformed_jsonrpc));
  CAF_CHECK_LESS(took, 1000);
  CAF_CHECK_EQUAL(executions(k), 1);
  record_ok(c, key("not-jsonrpc-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

// Invalid UTF-8 in the data line: the SSE parser decodes the stream as the
// WHATWG spec says (each invalid subpart becomes U+FFFD), so the event is
// valid JSON again (the bad bytes sit in an extra member "_bad" of the
// result) and the call simply succeeds.
CAF_TEST(malformed_sse utf8 is decoded with replacement and the call works) {
  auto c = ready_client();
  arm(R"({"fault":"malformed_sse"})");
  auto k = key("bad-utf8");
  call_options opts;
  opts.timeout = std::chrono::seconds{1};
  auto t0 = steady_clock::now();
  auto res = record(c, k, opts);
  auto took = ms_since(t0);
  if (!res.ok)
    CAF_MESSAGE("utf8: failed after " << took << " ms: " << render(res.err));
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(applied("malformed_sse") >= 1, true);
  record_ok(c, key("bad-utf8-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(oversized_event ends the stream and the client reconnects) {
  auto sc = make_session_config(url);
  sc.http.max_event_size = 64 * 1024;
  auto c = ready_client(sc);
  arm(R"({"fault":"oversized_event","bytes":262144})");
  auto k = key("oversized");
  auto res = record(c, k);
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("oversized_event: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::connection_lost));
  CAF_CHECK(render(res.err).find("event_too_large") != std::string::npos);
  CAF_CHECK_EQUAL(executions(k), 1);
  record_ok(c, key("oversized-next"));
  CAF_CHECK_GREATER_OR_EQUAL(reconnects(c), 1u);
}

CAF_TEST(unknown_id responses are dropped and the call succeeds) {
  auto c = ready_client();
  arm(R"({"fault":"unknown_id"})");
  record_ok(c, key("unknown-id"));
  arm(R"({"fault":"unknown_id","id":"nobody"})");
  record_ok(c, key("unknown-id-string"));
  record_ok(c, key("unknown-id-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
  CAF_CHECK_EQUAL(applied("unknown_id") >= 2, true);
}

CAF_TEST(duplicate_response is dropped and the call succeeds once) {
  auto c = ready_client();
  arm(R"({"fault":"duplicate_response"})");
  auto k = key("duplicate");
  record_ok(c, k);
  CAF_CHECK_EQUAL(executions(k), 1);
  record_ok(c, key("duplicate-next"));
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(stall delays the answer and the call succeeds) {
  auto c = ready_client();
  arm(R"({"fault":"stall","ms":300})");
  auto k = key("stall");
  auto t0 = steady_clock::now();
  record_ok(c, k);
  auto took = ms_since(t0);
  CAF_MESSAGE("stall: answered after " << took << " ms");
  CAF_CHECK_GREATER_OR_EQUAL(took, 300);
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

// -- new_session --------------------------------------------------------------

CAF_TEST(new_session now makes the client start a new session) {
  auto c = ready_client();
  auto before = stats();
  arm(R"({"fault":"new_session","now":true})");
  // The client notices the closed stream and initializes a new session.
  CAF_REQUIRE(wait_ready_after(c, 1));
  auto k = key("new-session");
  record_ok(c, k);
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(reconnects(c), 1u);
  auto ps = pool_of(c);
  CAF_REQUIRE_EQUAL(ps.links.size(), 1u);
  CAF_CHECK_EQUAL(ps.links[0].sessions_started, 2u);
  // The server saw a new SSE stream (a new session with initialize).
  auto after = stats();
  CAF_CHECK_GREATER(as_int(after.if_contains("sessions_opened")),
                    as_int(before.if_contains("sessions_opened")));
}

// A call made right after the restart was never executed by the server (it
// forgot the old session id at once), so the client sends it on the new
// session: the old session waits for the outcome of its POSTs in flight
// before it fails anything (the 404 marks the call as never executed), and a
// call that reaches a session already gone bounces back to the supervisor,
// which sends it again.
CAF_TEST(a call right after new_session waits for the new session) {
  auto c = ready_client();
  arm(R"({"fault":"new_session","now":true})");
  auto k = key("new-session-at-once");
  record_ok(c, k);
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_GREATER_OR_EQUAL(reconnects(c), 1u);
}

// -- the retry middleware -----------------------------------------------------

namespace {

retry_middleware_config fast_retry() {
  retry_middleware_config rc;
  rc.max_attempts = 3;
  rc.backoff.base = std::chrono::milliseconds{50};
  rc.backoff.cap = std::chrono::milliseconds{200};
  rc.max_wait = std::chrono::seconds{5};
  return rc;
}

} // namespace

CAF_TEST(retry never runs a plain tool twice after a lost response) {
  require_server();
  auto mw = std::make_shared<retry_middleware>(fast_retry());
  auto c = make_fault_client(make_session_config(url), 5, {mw});
  // The client knows the annotations once it listed the tools.
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  arm(R"({"fault":"drop_stream"})");
  auto k = key("retry-plain");
  auto res = record(c, k);
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::connection_lost));
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(mw->retries(), 0u);
}

CAF_TEST(retry runs an idempotent tool again after a lost response) {
  require_server();
  auto mw = std::make_shared<retry_middleware>(fast_retry());
  auto c = make_fault_client(make_session_config(url), 5, {mw});
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  arm(R"({"fault":"drop_stream"})");
  auto k = key("retry-idempotent");
  auto res = ask<call_tool_result>(c, call_atom::value,
                                   std::string{"record_idempotent"},
                                   R"({"key":")" + k + R"("})",
                                   call_options{});
  if (!res.ok)
    CAF_MESSAGE("record_idempotent failed: " << render(res.err));
  CAF_REQUIRE(res.ok);
  // Ran twice: allowed, the tool says a second run does no harm.
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 2");
  CAF_CHECK_EQUAL(executions(k), 2);
  CAF_CHECK_EQUAL(mw->retries(), 1u);
  CAF_CHECK_EQUAL(res.value.client_meta["retry.attempts"], "2");
}

CAF_TEST(retry sends a call refused with 503 again after its Retry-After) {
  require_server();
  auto mw = std::make_shared<retry_middleware>(fast_retry());
  auto c = make_fault_client(make_session_config(url), 5, {mw});
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  // Retry-After 1 s is beyond the call's 500 ms deadline: the supervisor
  // gives the 503 back at once, the middleware waits it out and resends.
  arm(R"({"fault":"post_503","retry_after":1,"calls_only":true})");
  auto k = key("retry-503");
  call_options opts;
  opts.timeout = std::chrono::milliseconds{500};
  auto t0 = steady_clock::now();
  auto res = record(c, k, opts);
  auto took = ms_since(t0);
  if (!res.ok)
    CAF_MESSAGE("after 503: " << render(res.err));
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(joined_text(res.value), k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
  CAF_CHECK_EQUAL(applied("post_503") >= 1, true);
  CAF_CHECK_EQUAL(mw->retries(), 1u);
  CAF_CHECK_GREATER_OR_EQUAL(took, 1000);
  CAF_CHECK_LESS(took, 4000);
}

// -- the cache middleware against execution counts --------------------------

namespace {

/// A cache on a clock the test moves (no waiting for a TTL to pass).
struct test_cache {
  std::shared_ptr<std::atomic<int64_t>> now_ms
    = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<cache_middleware> mw;

  explicit test_cache(std::chrono::milliseconds ttl) {
    result_cache_config rc;
    rc.ttl = ttl;
    auto now = now_ms;
    mw = std::make_shared<cache_middleware>(rc, [now] {
      return result_cache::time_point{}
             + std::chrono::milliseconds{now->load()};
    });
  }
};

} // namespace

CAF_TEST(the cache runs identical calls once within the TTL and again after) {
  require_server();
  test_cache tc{std::chrono::seconds{30}};
  auto c = make_fault_client(make_session_config(url), 5, {tc.mw});
  auto k = key("cache-ttl");
  auto first = record(c, k);
  CAF_REQUIRE(first.ok);
  CAF_CHECK_EQUAL(first.value.client_meta["cache"], "miss");
  // The same arguments, other spacing: answered by the cache.
  auto second = ask<call_tool_result>(c, call_atom::value,
                                      std::string{"record"},
                                      R"({ "key" : ")" + k + R"(" })",
                                      call_options{});
  CAF_REQUIRE(second.ok);
  CAF_CHECK_EQUAL(second.value.client_meta["cache"], "hit");
  CAF_CHECK_EQUAL(joined_text(second.value), k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
  // After the TTL the server runs it again.
  *tc.now_ms += 30001;
  auto third = record(c, k);
  CAF_REQUIRE(third.ok);
  CAF_CHECK_EQUAL(joined_text(third.value), k + "\ncount 2");
  CAF_CHECK_EQUAL(executions(k), 2);
}

CAF_TEST(the cache keeps no isError result and no call that streams progress) {
  require_server();
  test_cache tc{std::chrono::seconds{30}};
  auto c = make_fault_client(make_session_config(url), 5, {tc.mw});
  auto warm = record(c, key("cache-warm"));
  CAF_REQUIRE(warm.ok);
  // A key with a line break: record answers isError (and counts as run).
  auto runs = [this] { return as_int(stats().if_contains("executions")); };
  auto before = runs();
  for (int i = 0; i < 2; ++i) {
    auto bad = ask<call_tool_result>(c, call_atom::value,
                                     std::string{"record"},
                                     std::string{R"({"key":"a\nb"})"},
                                     call_options{});
    CAF_REQUIRE(bad.ok);
    CAF_CHECK(bad.value.is_error);
  }
  CAF_CHECK_EQUAL(runs() - before, 2);
  // With a progress listener the call is the caller's own: not cached.
  auto listener = sys.spawn([]() -> caf::behavior {
    return {[](progress_atom, progress_params&) {}};
  });
  spawned.push_back(listener);
  call_options opts;
  opts.listener = listener;
  auto k = key("cache-progress");
  CAF_REQUIRE(record(c, k, opts).ok);
  auto again = record(c, k, opts);
  CAF_REQUIRE(again.ok);
  CAF_CHECK_EQUAL(again.value.client_meta["cache"], "bypass");
  CAF_CHECK_EQUAL(executions(k), 2);
}

CAF_TEST(a new session empties the cache) {
  require_server();
  test_cache tc{std::chrono::seconds{30}};
  auto c = make_fault_client(make_session_config(url), 5, {tc.mw});
  auto k = key("cache-new-session");
  CAF_REQUIRE(record(c, k).ok);
  CAF_REQUIRE(record(c, k).ok);
  CAF_CHECK_EQUAL(executions(k), 1);
  auto restarts = reconnects(c);
  arm(R"({"fault":"new_session","now":true})");
  CAF_REQUIRE(wait_ready_after(c, restarts + 1));
  auto after = record(c, k);
  CAF_REQUIRE(after.ok);
  CAF_CHECK_EQUAL(after.value.client_meta["cache"], "miss");
  CAF_CHECK_EQUAL(executions(k), 2);
}

CAF_TEST(sixteen identical calls at once run once on the server) {
  require_server();
  test_cache tc{std::chrono::seconds{30}};
  auto c = make_fault_client(make_session_config(url), 5, {tc.mw});
  CAF_REQUIRE(record(c, key("cache-warm16")).ok);
  auto k = key("cache-16");
  auto args = R"({"key":")" + k + R"("})";
  caf::actor me = self;
  for (int i = 0; i < 16; ++i)
    spawned.push_back(sys.spawn([c, args, me](caf::event_based_actor* a) {
      a->request(c, std::chrono::seconds{30}, call_atom::value,
                 std::string{"record"}, args, call_options{})
        .then(
          [a, me](call_tool_result& res) { a->send(me, joined_text(res)); },
          [a, me](caf::error& err) { a->send(me, render(err)); });
    }));
  std::vector<std::string> answers;
  for (int i = 0; i < 16; ++i)
    self->receive([&](std::string& text) { answers.push_back(text); },
                  caf::after(std::chrono::seconds{30}) >> [&] {
                    answers.push_back("no answer in 30 s");
                  });
  CAF_REQUIRE_EQUAL(answers.size(), 16u);
  for (auto& a : answers)
    CAF_CHECK_EQUAL(a, k + "\ncount 1");
  CAF_CHECK_EQUAL(executions(k), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
