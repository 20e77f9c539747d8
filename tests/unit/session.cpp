#define CAF_SUITE session
#include "caf/test/unit_test.hpp"

// dsl.hpp calls FAIL(), which CAF 0.17.6's unit_test.hpp does not define.
#ifndef FAIL
#  define FAIL(msg) CAF_FAIL(msg)
#endif
#include "caf/test/dsl.hpp"

#include <memory>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "unit/actor_test.hpp"
#include "caf_mcp/actors/session_stream.hpp"
#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/transport/log.hpp"

#include <mutex>

using namespace caf_mcp;
using namespace caf_mcp::test;
using namespace std::chrono_literals;

namespace {

/// What the fake connection saw.
struct wire {
  std::vector<std::pair<uint64_t, std::string>> posts;
  std::vector<std::pair<std::string, std::string>> headers;
  connection_actor conn;
  session_impl_actor owner;
};

/// A connection that records POSTs instead of sending them; the test plays
/// the server by sending endpoint/inbound/post_done to the session.
connection_actor::behavior_type
fake_connection(connection_actor::pointer self, std::shared_ptr<wire> w) {
  return {
    [w](post_atom, uint64_t tag, std::string& body) {
      w->posts.emplace_back(tag, std::move(body));
    },
    [w](header_atom, std::string& name, std::string& value) {
      w->headers.emplace_back(std::move(name), std::move(value));
    },
    [self](caf::close_atom) { self->quit(); },
    [](endpoint_atom, std::string&, post_sink_ptr&) {},
    [self](sse_closed_atom, stream_end& end) {
      self->quit(std::move(end.reason));
    },
  };
}

/// A post sink that records into the same wire as the fake connection,
/// tagging each body so a test can tell which way it went.
class recording_sink : public post_sink {
public:
  explicit recording_sink(std::shared_ptr<wire> w) : w_(std::move(w)) {
    // nop
  }

  void post(uint64_t tag, std::string body) override {
    w_->posts.emplace_back(tag, "sink:" + body);
  }

  void set_header(std::string name, std::string value) override {
    w_->headers.emplace_back("sink:" + name, std::move(value));
  }

  /// With `hold_idle`, the outcomes of POSTs in flight never arrive (a
  /// server that stalls every POST): the session's wait must be bounded.
  void when_idle(std::function<void()> f) override {
    if (hold_idle)
      held = std::move(f);
    else
      f();
  }

  bool hold_idle = false;
  std::function<void()> held;

private:
  std::shared_ptr<wire> w_;
};

struct fixture : test_coordinator_fixture<config> {
  std::shared_ptr<wire> w = std::make_shared<wire>();
  session_impl_actor s;

  session_config make_config() {
    session_config sc;
    sc.server_name = "test";
    sc.sse_url = "http://127.0.0.1:9/sse";
    sc.request_timeout = 1s;
    sc.max_request_timeout = 3s;
    sc.endpoint_timeout = 5s;
    auto wp = w;
    sc.make_connection = [wp](caf::actor_system& system, const session_config&,
                               const transport::parsed_url&,
                               session_impl_actor owner) {
      wp->owner = owner;
      wp->conn = system.spawn(fake_connection, wp);
      return wp->conn;
    };
    return sc;
  }

  void start(session_config sc) {
    s = sys.spawn(session, share(std::move(sc)));
    sched.run();
  }

  /// Sends a request from a fresh helper actor; the outcome fills in as the
  /// scheduler runs.
  template <class T, class... Ts>
  std::shared_ptr<outcome<T>> ask(Ts... xs) {
    return ask_via_helper<T>(*this, s, xs...);
  }

  void server_says(const std::string& json) {
    auto res = decode(json);
    CAF_REQUIRE(res.ok());
    inbound_batch batch;
    for (auto& m : res.messages)
      batch.messages.emplace_back(std::move(m));
    caf::anon_send(s, inbound_atom::value, std::move(batch));
    sched.run();
  }

  /// The POST channel tells the session how a POST ended.
  void post_outcome_is(uint64_t tag, caf::error err = {}) {
    caf::anon_send(s, post_done_atom::value, post_outcome{tag, std::move(err)});
    sched.run();
  }

  session_stats stats() {
    auto res = ask<session_stats>(stats_atom::value);
    CAF_REQUIRE(res->done);
    return res->value;
  }

  /// Entries on the test clock (every timer of every actor here).
  size_t clock_entries() {
    return sched.clock().schedule().size();
  }

  size_t posts_with(const std::string& fragment) {
    size_t n = 0;
    for (auto& p : w->posts)
      if (p.second.find(fragment) != std::string::npos)
        ++n;
    return n;
  }

  std::string last_post() {
    return w->posts.empty() ? std::string{} : w->posts.back().second;
  }

  bool posted(const std::string& fragment) {
    for (auto& p : w->posts)
      if (p.second.find(fragment) != std::string::npos)
        return true;
    return false;
  }

  /// Endpoint, initialize (answered with `version`), initialized accepted.
  void handshake(const std::string& version = "2025-06-18") {
    start(make_config());
    caf::anon_send(s, endpoint_atom::value,
                   std::string{"http://127.0.0.1:9/message?sessionId=1"},
                   post_sink_ptr{});
    sched.run();
    CAF_REQUIRE_EQUAL(w->posts.size(), 1u);
    server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":")"
                + version
                + R"(","capabilities":{"tools":{"listChanged":true}},)"
                  R"("serverInfo":{"name":"fake","version":"1"}}})");
    CAF_REQUIRE_EQUAL(w->posts.size(), 2u);
    post_outcome_is(w->posts.back().first);
  }

  /// The handshake through a recording sink (the real transport's path).
  std::shared_ptr<recording_sink> handshake_with_sink(session_config sc) {
    start(std::move(sc));
    auto sink = std::make_shared<recording_sink>(w);
    caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                   post_sink_ptr{sink});
    sched.run();
    server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":)"
                R"("2025-06-18","capabilities":{},"serverInfo":{"name":"f",)"
                R"("version":"1"}}})");
    CAF_REQUIRE_EQUAL(w->posts.size(), 2u);
    post_outcome_is(w->posts.back().first);
    return sink;
  }

  ~fixture() override {
    if (s)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    if (w->conn)
      caf::anon_send_exit(w->conn, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(session_tests, fixture)

CAF_TEST(initialize then initialized then ready) {
  start(make_config());
  auto init = ask<initialize_result>(init_atom::value);
  CAF_CHECK(!init->done);
  CAF_CHECK(w->posts.empty());
  caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                 post_sink_ptr{});
  sched.run();
  CAF_REQUIRE_EQUAL(w->posts.size(), 1u);
  auto first = w->posts[0].second;
  CAF_CHECK(first.find(R"("method":"initialize")") != std::string::npos);
  CAF_CHECK(first.find(R"("protocolVersion":"2025-11-25")")
            != std::string::npos);
  CAF_CHECK(first.find(R"("clientInfo":{"name":"caf-mcp")")
            != std::string::npos);
  // A call before ready waits.
  auto early = ask<caf::timespan>(caf::ping_atom::value);
  CAF_CHECK_EQUAL(w->posts.size(), 1u);
  server_says(R"({"result":{"protocolVersion":"2025-06-18","capabilities":{},)"
              R"("serverInfo":{"name":"fake","version":"1"}},"jsonrpc":"2.0",)"
              R"("id":1})");
  CAF_REQUIRE_EQUAL(w->posts.size(), 2u);
  CAF_CHECK(w->posts[1].second.find("notifications/initialized")
            != std::string::npos);
  CAF_CHECK((w->posts[1].first & ack_tag_bit) != 0);
  // 2025-06-18 and later: the header goes on later POSTs.
  CAF_REQUIRE_EQUAL(w->headers.size(), 1u);
  CAF_CHECK_EQUAL(w->headers[0].first, "MCP-Protocol-Version");
  CAF_CHECK_EQUAL(w->headers[0].second, "2025-06-18");
  // Nothing overtakes notifications/initialized before its POST is accepted.
  CAF_CHECK(!init->done);
  CAF_CHECK_EQUAL(w->posts.size(), 2u);
  post_outcome_is(w->posts[1].first);
  CAF_REQUIRE(init->done);
  CAF_CHECK(!init->err);
  CAF_CHECK_EQUAL(init->value.server_info.name, "fake");
  CAF_REQUIRE_EQUAL(w->posts.size(), 3u);
  CAF_CHECK(w->posts[2].second.find(R"("method":"ping")") != std::string::npos);
}

CAF_TEST(with a post sink the session posts through it not the connection) {
  start(make_config());
  auto init = ask<initialize_result>(init_atom::value);
  caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                 post_sink_ptr{std::make_shared<recording_sink>(w)});
  sched.run();
  CAF_REQUIRE_EQUAL(w->posts.size(), 1u);
  CAF_CHECK(w->posts[0].second.rfind(R"(sink:{"jsonrpc":"2.0")", 0) == 0);
  server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":)"
              R"("2025-06-18","capabilities":{},"serverInfo":{"name":"f",)"
              R"("version":"1"}}})");
  CAF_REQUIRE_EQUAL(w->headers.size(), 1u);
  CAF_CHECK_EQUAL(w->headers[0].first, "sink:MCP-Protocol-Version");
  CAF_REQUIRE_EQUAL(w->posts.size(), 2u);
  post_outcome_is(w->posts[1].first);
  CAF_REQUIRE(init->done);
  CAF_CHECK(!init->err);
  auto res = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                   std::string{"{}"}, call_options{});
  CAF_REQUIRE_EQUAL(w->posts.size(), 3u);
  for (auto& p : w->posts)
    CAF_CHECK(p.second.rfind("sink:", 0) == 0);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  CAF_REQUIRE(res->done);
  CAF_CHECK(!res->err);
}

CAF_TEST(no protocol version header before 2025-06-18) {
  handshake("2024-11-05");
  CAF_CHECK(w->headers.empty());
}

CAF_TEST(an unsupported protocol version fails initialization) {
  start(make_config());
  auto init = ask<initialize_result>(init_atom::value);
  caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                 post_sink_ptr{});
  sched.run();
  server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":)"
              R"("1999-01-01","capabilities":{},"serverInfo":{"name":"f",)"
              R"("version":"1"}}})");
  CAF_REQUIRE(init->done);
  CAF_CHECK(has_code(init->err, mcp_errc::unsupported_protocol_version));
}

CAF_TEST(no endpoint event within the endpoint timeout) {
  start(make_config());
  auto init = ask<initialize_result>(init_atom::value);
  advance_time(4s);
  sched.run();
  CAF_CHECK(!init->done);
  advance_time(1s);
  sched.run();
  CAF_REQUIRE(init->done);
  CAF_CHECK(has_code(init->err, mcp_errc::endpoint_timeout));
}

CAF_TEST(responses are matched by id in any order) {
  handshake();
  auto a = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{R"({"text":"a"})"},
                                 call_options{});
  auto b = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{R"({"text":"b"})"},
                                 call_options{});
  CAF_REQUIRE_EQUAL(w->posts.size(), 4u);
  CAF_CHECK(w->posts[2].second.find(R"("id":2)") != std::string::npos);
  CAF_CHECK(w->posts[3].second.find(R"("id":3)") != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"content":[)"
              R"({"type":"text","text":"b"}]}})");
  CAF_CHECK(!a->done);
  CAF_REQUIRE(b->done);
  CAF_CHECK_EQUAL(joined_text(b->value), "b");
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[)"
              R"({"type":"text","text":"a"}]}})");
  CAF_REQUIRE(a->done);
  CAF_CHECK_EQUAL(joined_text(a->value), "a");
}

CAF_TEST(a tool answering isError is a result not an error) {
  handshake();
  auto r = ask<call_tool_result>(call_atom::value, std::string{"nope"},
                                 std::string{}, call_options{});
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"isError":true,)"
              R"("content":[{"type":"text","text":"Unknown tool: nope"}]}})");
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->err);
  CAF_CHECK(r->value.is_error);
}

CAF_TEST(a JSON-RPC error response fails the call with jsonrpc_error) {
  handshake();
  auto r = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{}, call_options{});
  server_says(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32602,)"
              R"("message":"bad params"}})");
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::jsonrpc_error));
  CAF_CHECK(render(r->err).find("bad params") != std::string::npos);
}

CAF_TEST(bad arguments JSON is refused before anything is sent) {
  handshake();
  auto n = w->posts.size();
  auto r = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{"[1,2"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::invalid_argument));
  CAF_CHECK_EQUAL(w->posts.size(), n);
}

CAF_TEST(a response with an unknown id is counted and dropped) {
  handshake();
  auto r = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{}, call_options{});
  CAF_CHECK_EQUAL(stats().unknown_responses, 0u);
  server_says(R"({"jsonrpc":"2.0","id":99,"result":{"content":[]}})");
  server_says(R"({"jsonrpc":"2.0","id":"2","result":{"content":[]}})");
  CAF_CHECK(!r->done);
  CAF_CHECK_EQUAL(stats().unknown_responses, 2u);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  CAF_CHECK(r->done);
  CAF_CHECK(!r->err);
  auto st = stats();
  CAF_CHECK_EQUAL(st.unknown_responses, 2u);
  CAF_CHECK_EQUAL(st.responses, 2u); // initialize and the call
}

CAF_TEST(a call without response times out and is cancelled) {
  handshake();
  call_options opts;
  opts.timeout = 500ms;
  auto r = ask<call_tool_result>(call_atom::value, std::string{"slow"},
                                 std::string{}, opts);
  advance_time(400ms);
  sched.run();
  CAF_CHECK(!r->done);
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::timeout));
  CAF_CHECK(last_post().find(R"("method":"notifications/cancelled")")
            != std::string::npos);
  CAF_CHECK(last_post().find(R"("requestId":2)") != std::string::npos);
  // A late response is counted and dropped without harm: the session
  // still serves the next call.
  CAF_CHECK_EQUAL(stats().timeouts, 1u);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  CAF_CHECK_EQUAL(stats().unknown_responses, 1u);
  auto next = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                    std::string{}, call_options{});
  CAF_CHECK(last_post().find(R"("id":3)") != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"content":[]}})");
  CAF_REQUIRE(next->done);
  CAF_CHECK(!next->err);
}

CAF_TEST(calls with different timeouts each expire at their own deadline) {
  handshake();
  // The default timeout (1 s) arms the one timer; a later call with a
  // shorter timeout must bring it forward.
  auto slow = ask<call_tool_result>(call_atom::value, std::string{"slow"},
                                    std::string{}, call_options{});
  call_options opts;
  opts.timeout = 200ms;
  auto quick = ask<call_tool_result>(call_atom::value, std::string{"slow"},
                                     std::string{}, opts);
  advance_time(200ms);
  sched.run();
  CAF_REQUIRE(quick->done);
  CAF_CHECK(has_code(quick->err, mcp_errc::timeout));
  CAF_CHECK(!slow->done);
  advance_time(700ms);
  sched.run();
  CAF_CHECK(!slow->done);
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(slow->done);
  CAF_CHECK(has_code(slow->err, mcp_errc::timeout));
}

CAF_TEST(progress reaches the listener and extends the deadline up to the cap) {
  handshake();
  auto progress = std::make_shared<std::vector<double>>();
  auto listener = sys.spawn([progress](caf::event_based_actor*) {
    return caf::behavior{[progress](progress_atom, progress_params& p) {
      progress->push_back(p.progress);
    }};
  });
  call_options opts;
  opts.timeout = 1s;
  opts.max_timeout = 2500ms;
  opts.listener = listener;
  auto r = ask<call_tool_result>(call_atom::value, std::string{"slow"},
                                 std::string{}, opts);
  CAF_CHECK(last_post().find(R"("progressToken":2)") != std::string::npos);
  auto tick = [&](double p) {
    server_says(R"({"jsonrpc":"2.0","method":"notifications/progress",)"
                R"("params":{"progressToken":2,"progress":)"
                + std::to_string(p) + "}}");
  };
  tick(1);
  advance_time(800ms);
  sched.run();
  tick(2);
  advance_time(800ms);
  sched.run();
  CAF_CHECK(!r->done); // 1.6 s > 1 s: the progress pushed the deadline.
  tick(3);
  advance_time(800ms); // 2.4 s
  sched.run();
  CAF_CHECK(!r->done);
  tick(4); // may not extend beyond the 2.5 s cap
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::timeout));
  CAF_CHECK_EQUAL(progress->size(), 4u);
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}

CAF_TEST(server requests get an answer never silence) {
  handshake();
  // Server ids start at 0 and overlap ours; "method" tells them apart.
  server_says(R"({"jsonrpc":"2.0","id":0,"method":"ping"})");
  CAF_CHECK_EQUAL(last_post(), R"({"jsonrpc":"2.0","id":0,"result":{}})");
  server_says(R"({"jsonrpc":"2.0","id":1,"method":"roots/list"})");
  CAF_CHECK(last_post().find(R"("code":-32601)") != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":2,"method":"sampling/createMessage",)"
              R"("params":{}})");
  CAF_CHECK(last_post().find(R"("id":2,"error":{"code":-32601)")
            != std::string::npos);
}

CAF_TEST(roots are answered when configured) {
  auto sc = make_config();
  sc.roots.push_back(root{"file:///tmp", std::string{"tmp"}});
  start(sc);
  caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                 post_sink_ptr{});
  sched.run();
  CAF_CHECK(last_post().find(R"("roots":{)") != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":7,"method":"roots/list"})");
  CAF_CHECK(last_post().find(R"("uri":"file:///tmp")") != std::string::npos);
}

CAF_TEST(losing the connection fails every pending call at once) {
  handshake();
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  auto b = ask<caf::timespan>(caf::ping_atom::value);
  caf::anon_send(w->conn, sse_closed_atom::value,
                 stream_end{caf::make_error(mcp_errc::connection_lost,
                                            "stream ended")});
  sched.run();
  CAF_REQUIRE(a->done);
  CAF_REQUIRE(b->done);
  CAF_CHECK(has_code(a->err, mcp_errc::connection_lost));
  CAF_CHECK(has_code(b->err, mcp_errc::connection_lost));
  // The code is said once, not once per layer.
  CAF_CHECK_EQUAL(render(a->err).find("connection_lost: connection_lost"),
                  std::string::npos);
  CAF_CHECK(render(a->err).find("stream ended") != std::string::npos);
}

CAF_TEST(a POST answered 404 expires the session) {
  handshake();
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  auto b = ask<call_tool_result>(call_atom::value, std::string{"y"},
                                 std::string{}, call_options{});
  post_outcome_is(uint64_t{2},
                  caf::make_error(mcp_errc::session_expired, "404"));
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::session_expired));
  CAF_REQUIRE(b->done);
  CAF_CHECK(has_code(b->err, mcp_errc::connection_lost));
}

CAF_TEST(tools list follows every next cursor) {
  handshake();
  auto r = ask<std::vector<tool>>(list_atom::value);
  CAF_CHECK(last_post().find("cursor") == std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a",)"
              R"("inputSchema":{"type":"object"}}],"nextCursor":"p2"}})");
  CAF_CHECK(last_post().find(R"("cursor":"p2")") != std::string::npos);
  CAF_CHECK(!r->done);
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"b",)"
              R"("inputSchema":{"type":"object"}}]}})");
  CAF_REQUIRE(r->done);
  CAF_REQUIRE_EQUAL(r->value.size(), 2u);
  CAF_CHECK_EQUAL(r->value[1].name, "b");
}

CAF_TEST(list changed re-lists tools for subscribers) {
  handshake();
  auto seen = std::make_shared<std::vector<std::string>>();
  auto sub = sys.spawn([seen](caf::event_based_actor*) {
    return caf::behavior{
      [seen](tools_changed_atom, std::string&, std::vector<tool>& ts) {
        for (auto& t : ts)
          seen->push_back(t.name);
      },
      [seen](log_atom, std::string&, logging_message_params& p) {
        seen->push_back("log:" + p.data);
      }};
  });
  caf::anon_send(s, caf::subscribe_atom::value, sub);
  sched.run();
  server_says(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  CAF_CHECK(last_post().find("tools/list") != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"z",)"
              R"("inputSchema":{"type":"object"}}]}})");
  server_says(R"({"jsonrpc":"2.0","method":"notifications/message",)"
              R"("params":{"level":"info","data":"hi"}})");
  CAF_REQUIRE_EQUAL(seen->size(), 2u);
  CAF_CHECK_EQUAL((*seen)[0], "z");
  CAF_CHECK_EQUAL((*seen)[1], "log:\"hi\"");
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

CAF_TEST(list changed that beats the initialized ack re-lists once ready) {
  start(make_config());
  caf::anon_send(s, endpoint_atom::value,
                 std::string{"http://127.0.0.1:9/message?sessionId=1"},
                 post_sink_ptr{});
  sched.run();
  server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":)"
              R"("2025-06-18","capabilities":{"tools":{"listChanged":true}},)"
              R"("serverInfo":{"name":"fake","version":"1"}}})");
  CAF_REQUIRE_EQUAL(w->posts.size(), 2u); // initialize, initialized
  // The server's list_changed event arrives before the 202 of initialized.
  server_says(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  CAF_CHECK_EQUAL(w->posts.size(), 2u); // nothing overtakes initialized
  post_outcome_is(w->posts[1].first);
  CAF_REQUIRE_EQUAL(w->posts.size(), 3u);
  CAF_CHECK(last_post().find("tools/list") != std::string::npos);
}

CAF_TEST(calls beyond the queue bound before ready fail with queue_full) {
  auto sc = make_config();
  sc.max_queued_calls = 2;
  start(sc);
  auto a = ask<caf::timespan>(caf::ping_atom::value);
  auto b = ask<caf::timespan>(caf::ping_atom::value);
  auto c = ask<caf::timespan>(caf::ping_atom::value);
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  CAF_REQUIRE(c->done);
  CAF_CHECK(has_code(c->err, mcp_errc::queue_full));
}

CAF_TEST(shorter deadlines move the one timer instead of adding clock entries) {
  handshake();
  auto base = clock_entries();
  std::vector<std::shared_ptr<outcome<call_tool_result>>> calls;
  // Every call comes due before all earlier ones: the old code armed one
  // more delayed message for each.
  for (int i = 0; i < 50; ++i) {
    call_options opts;
    opts.timeout = std::chrono::milliseconds{900 - 10 * i};
    calls.push_back(ask<call_tool_result>(call_atom::value,
                                          std::string{"slow"}, std::string{},
                                          opts));
    CAF_CHECK_LESS_OR_EQUAL(clock_entries(), base + 1);
  }
  // They still expire in order, each at its own deadline.
  advance_time(410ms); // the last one's 410 ms
  sched.run();
  CAF_CHECK(calls.back()->done);
  CAF_CHECK(!calls.front()->done);
  CAF_CHECK_LESS_OR_EQUAL(clock_entries(), base + 1);
  advance_time(490ms);
  sched.run();
  for (auto& c : calls) {
    CAF_REQUIRE(c->done);
    CAF_CHECK(has_code(c->err, mcp_errc::timeout));
  }
  CAF_CHECK_LESS_OR_EQUAL(clock_entries(), base);
}

CAF_TEST(calls in flight beyond max_in_flight fail at once with queue_full) {
  auto sc = make_config();
  sc.max_in_flight = 2;
  handshake_with_sink(std::move(sc));
  auto a = ask<caf::timespan>(caf::ping_atom::value);
  auto b = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  auto n = w->posts.size();
  auto c = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  CAF_REQUIRE(c->done);
  CAF_CHECK(has_code(c->err, mcp_errc::queue_full));
  CAF_CHECK_EQUAL(w->posts.size(), n); // not sent, no body held
  // An answer makes room again.
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{}})");
  auto d = ask<caf::timespan>(caf::ping_atom::value);
  CAF_CHECK(!d->done);
  CAF_CHECK_EQUAL(w->posts.size(), n + 1);
}

CAF_TEST(a ping carries the deadline of its caller) {
  handshake();
  call_options opts;
  opts.timeout = 100ms;
  auto p = ask<caf::timespan>(caf::ping_atom::value, opts);
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(p->done);
  CAF_CHECK(has_code(p->err, mcp_errc::timeout));
}

CAF_TEST(a burst of list_changed makes at most one listing and one more) {
  handshake();
  for (int i = 0; i < 100; ++i)
    server_says(R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  CAF_CHECK_EQUAL(posts_with(R"("method":"tools/list")"), 1u);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[]}})");
  CAF_CHECK_EQUAL(posts_with(R"("method":"tools/list")"), 2u);
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"tools":[]}})");
  CAF_CHECK_EQUAL(posts_with(R"("method":"tools/list")"), 2u);
  CAF_CHECK_EQUAL(stats().relists_coalesced, 98u);
}

CAF_TEST(a tool list beyond max_tools fails with limit_exceeded) {
  auto sc = make_config();
  sc.max_tools = 2;
  handshake_with_sink(std::move(sc));
  auto r = ask<std::vector<tool>>(list_atom::value);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[)"
              R"({"name":"a","inputSchema":{"type":"object"}},)"
              R"({"name":"b","inputSchema":{"type":"object"}}],)"
              R"("nextCursor":"p2"}})");
  CAF_CHECK(!r->done);
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"tools":[)"
              R"({"name":"c","inputSchema":{"type":"object"}}]}})");
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::limit_exceeded));
  CAF_CHECK(render(r->err).find("max_tools") != std::string::npos);
}

CAF_TEST(a tool list beyond max_tools_bytes fails with limit_exceeded) {
  auto sc = make_config();
  sc.max_tools_bytes = 100;
  handshake_with_sink(std::move(sc));
  auto r = ask<std::vector<tool>>(list_atom::value);
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[)"
              R"({"name":"a","description":")"
              + std::string(200, 'x')
              + R"(","inputSchema":{"type":"object"}}]}})");
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::limit_exceeded));
}

CAF_TEST(after the stream ends the session waits for POST outcomes at most 500 ms) {
  auto sink = handshake_with_sink(make_config());
  sink->hold_idle = true;
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  auto b = ask<call_tool_result>(call_atom::value, std::string{"y"},
                                 std::string{}, call_options{});
  caf::anon_send(w->conn, sse_closed_atom::value,
                 stream_end{caf::make_error(mcp_errc::connection_lost,
                                            "stream ended")});
  sched.run();
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  // A call arriving meanwhile is not sent.
  auto n = w->posts.size();
  auto late = ask<caf::timespan>(caf::ping_atom::value);
  CAF_REQUIRE(late->done);
  CAF_CHECK(has_code(late->err, mcp_errc::not_initialized));
  CAF_CHECK_EQUAL(w->posts.size(), n);
  // The server refused b's POST (never executed): b gets the refusal.
  post_outcome_is(uint64_t{3},
                  caf::make_error(mcp_errc::service_unavailable, "503"));
  CAF_REQUIRE(b->done);
  CAF_CHECK(has_code(b->err, mcp_errc::service_unavailable));
  advance_time(499ms);
  sched.run();
  CAF_CHECK(!a->done);
  advance_time(1ms);
  sched.run();
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::connection_lost));
}

CAF_TEST(after the stream ends all POSTs answered end the wait at once) {
  auto sink = handshake_with_sink(make_config());
  sink->hold_idle = true;
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  caf::anon_send(w->conn, sse_closed_atom::value,
                 stream_end{caf::make_error(mcp_errc::connection_lost,
                                            "stream ended")});
  sched.run();
  CAF_CHECK(!a->done);
  CAF_REQUIRE(sink->held != nullptr);
  sink->held(); // the channel: no POST in flight any more
  sched.run();
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::connection_lost));
}

CAF_TEST(a call expiring while draining sends no cancellation) {
  auto sink = handshake_with_sink(make_config());
  sink->hold_idle = true;
  call_options opts;
  opts.timeout = 100ms;
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, opts);
  caf::anon_send(w->conn, sse_closed_atom::value,
                 stream_end{caf::make_error(mcp_errc::connection_lost,
                                            "stream ended")});
  sched.run();
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::timeout));
  CAF_CHECK_EQUAL(posts_with("notifications/cancelled"), 0u);
}

CAF_TEST(a POST whose outcome is unknown fails that call only) {
  handshake();
  auto a = ask<call_tool_result>(call_atom::value, std::string{"x"},
                                 std::string{}, call_options{});
  auto b = ask<call_tool_result>(call_atom::value, std::string{"y"},
                                 std::string{}, call_options{});
  post_outcome_is(uint64_t{2}, caf::make_error(mcp_errc::outcome_unknown,
                                               "connection closed after "
                                               "the request was written"));
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::outcome_unknown));
  CAF_CHECK(!b->done); // the session goes on
  server_says(R"({"jsonrpc":"2.0","id":3,"result":{"content":[]}})");
  CAF_REQUIRE(b->done);
  CAF_CHECK(!b->err);
}

CAF_TEST(requests that change nothing carry the resend mark and calls do not) {
  handshake();
  // Requests that change nothing carry the resend mark; calls do not.
  CAF_CHECK((w->posts[0].first & resend_ok_tag_bit) != 0); // initialize
  ask<caf::timespan>(caf::ping_atom::value);
  CAF_CHECK((w->posts.back().first & resend_ok_tag_bit) != 0);
  ask<std::vector<tool>>(list_atom::value);
  CAF_CHECK((w->posts.back().first & resend_ok_tag_bit) != 0);
  ask<call_tool_result>(call_atom::value, std::string{"x"}, std::string{},
                        call_options{});
  CAF_CHECK((w->posts.back().first & resend_ok_tag_bit) == 0);
  call_options retryable;
  retryable.retryable = true;
  ask<std::string>(request_atom::value, std::string{"resources/read"},
                   std::string{}, retryable);
  CAF_CHECK((w->posts.back().first & resend_ok_tag_bit) != 0);
  ask<std::string>(request_atom::value, std::string{"resources/read"},
                   std::string{}, call_options{});
  CAF_CHECK((w->posts.back().first & resend_ok_tag_bit) == 0);
}

namespace {

/// A server-request handler: answers `{"ok":1}`, junk, or an error.
caf::behavior request_handler(caf::event_based_actor*) {
  return {
    [](request_atom, std::string& method, std::string&,
       call_options&) -> caf::result<std::string> {
      if (method == "sampling/createMessage")
        return std::string{R"({"ok":1})"};
      if (method == "elicitation/create")
        return std::string{"[not an object"};
      return caf::make_error(mcp_errc::invalid_argument, "no can do");
    },
  };
}

} // namespace

CAF_TEST(server requests go to the handler and its answers are checked) {
  auto sc = make_config();
  sc.server_request_handler = sys.spawn(request_handler);
  handshake_with_sink(std::move(sc));
  server_says(R"({"jsonrpc":"2.0","id":5,"method":"sampling/createMessage",)"
              R"("params":{}})");
  CAF_CHECK(last_post().find(R"("id":5,"result":{"ok":1})")
            != std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":6,"method":"elicitation/create",)"
              R"("params":{}})");
  CAF_CHECK(last_post().find(R"("id":6,"error":{"code":-32603)")
            != std::string::npos);
  CAF_CHECK(last_post().find("not an object") == std::string::npos);
  server_says(R"({"jsonrpc":"2.0","id":7,"method":"other/thing"})");
  CAF_CHECK(last_post().find(R"("id":7,"error":{"code":-32603)")
            != std::string::npos);
  CAF_CHECK(last_post().find("no can do") != std::string::npos);
}

CAF_TEST(a subscriber gets each message once and is dropped when it ends) {
  handshake();
  auto base = subscriber_set::live_entries();
  auto logs = std::make_shared<int>(0);
  auto sub = sys.spawn([logs](caf::event_based_actor*) {
    return caf::behavior{
      [logs](log_atom, std::string&, logging_message_params&) { ++*logs; }};
  });
  caf::anon_send(s, caf::subscribe_atom::value, sub);
  caf::anon_send(s, caf::subscribe_atom::value, sub);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 1);
  server_says(R"({"jsonrpc":"2.0","method":"notifications/message",)"
              R"("params":{"level":"info","data":"hi"}})");
  CAF_CHECK_EQUAL(*logs, 1);
  caf::anon_send(s, caf::unsubscribe_atom::value, sub);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base);
  server_says(R"({"jsonrpc":"2.0","method":"notifications/message",)"
              R"("params":{"level":"info","data":"hi"}})");
  CAF_CHECK_EQUAL(*logs, 1);
  caf::anon_send(s, caf::subscribe_atom::value, sub);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 1);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base);
}

CAF_TEST(summary names every counter with its value) {
  session_stats x;
  x.requests_sent = 1;
  x.responses = 2;
  x.unknown_responses = 3;
  x.malformed_messages = 4;
  x.notifications = 5;
  x.server_requests = 6;
  x.timeouts = 7;
  x.relists_coalesced = 8;
  CAF_CHECK_EQUAL(summary(x),
                  "requests_sent=1 responses=2 unknown_responses=3 "
                  "malformed_messages=4 notifications=5 server_requests=6 "
                  "timeouts=7 relists_coalesced=8");
}

CAF_TEST(a session logs its counters at info when it ends) {
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mtx = std::make_shared<std::mutex>();
  caf_mcp::log::set_sink(
    [lines, mtx](caf_mcp::log::level lvl, std::string_view component,
                 std::string_view text) {
      std::lock_guard<std::mutex> guard{*mtx};
      lines->push_back(std::string{caf_mcp::log::to_string(lvl)} + " "
                       + std::string{component} + ": " + std::string{text});
    },
    caf_mcp::log::level::info);
  handshake();
  auto r = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{}, call_options{});
  server_says(R"({"jsonrpc":"2.0","id":99,"result":{"content":[]}})");
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  CAF_REQUIRE(r->done);
  auto expected = summary(stats());
  caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  sched.run();
  s = session_impl_actor{};
  caf_mcp::log::reset();
  std::lock_guard<std::mutex> guard{*mtx};
  size_t found = 0;
  for (auto& line : *lines)
    if (line.find("info session: ") == 0
        && line.find(": stats: " + expected) != std::string::npos)
      ++found;
  CAF_CHECK_EQUAL(found, 1u);
  CAF_CHECK(expected.find("responses=2 unknown_responses=1")
            != std::string::npos);
}

CAF_TEST(a session adds every count to the totals of its config) {
  auto totals = std::make_shared<session_counters>();
  totals->requests_sent = 10; // an earlier session of the same server
  auto sc = make_config();
  sc.totals = totals;
  start(std::move(sc));
  caf::anon_send(s, endpoint_atom::value,
                 std::string{"http://127.0.0.1:9/message?sessionId=1"},
                 post_sink_ptr{});
  sched.run();
  server_says(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":)"
              R"("2025-06-18","capabilities":{},"serverInfo":{"name":"f",)"
              R"("version":"1"}}})");
  post_outcome_is(w->posts.back().first);
  auto r = ask<call_tool_result>(call_atom::value, std::string{"echo"},
                                 std::string{}, call_options{});
  server_says(R"({"jsonrpc":"2.0","id":77,"result":{"content":[]}})");
  server_says(R"({"jsonrpc":"2.0","method":"notifications/message",)"
              R"("params":{"level":"info","data":"hi"}})");
  server_says(R"({"jsonrpc":"2.0","id":2,"result":{"content":[]}})");
  CAF_REQUIRE(r->done);
  auto own = stats();
  auto sum = totals->snapshot();
  CAF_CHECK_EQUAL(own.requests_sent, 2u); // initialize and the call
  CAF_CHECK_EQUAL(sum.requests_sent, 10u + own.requests_sent);
  CAF_CHECK_EQUAL(sum.responses, own.responses);
  CAF_CHECK_EQUAL(sum.responses, 2u);
  CAF_CHECK_EQUAL(sum.unknown_responses, 1u);
  CAF_CHECK_EQUAL(sum.notifications, own.notifications);
  CAF_CHECK_EQUAL(sum.notifications, 1u);
}

// -- asynchronous header provider (the first token of bearer_token) ----------

CAF_TEST(an asynchronous header provider delays the connection without blocking) {
  auto k = std::make_shared<std::function<void(transport::header_list)>>();
  auto asked = std::make_shared<int>(0);
  auto sc = make_config();
  sc.async_header_provider = [k, asked](auto cont) {
    ++*asked;
    *k = std::move(cont);
  };
  start(std::move(sc));
  CAF_CHECK_EQUAL(*asked, 1);
  // No answer yet: no connection, and the session still serves messages
  // (a request queues, stats answer at once).
  auto init = ask<initialize_result>(init_atom::value);
  CAF_CHECK(!w->conn);
  CAF_CHECK_EQUAL(stats().requests_sent, 0u);
  CAF_CHECK(!init->done);
  // The provider answers (from this thread, as a foreign thread would).
  CAF_REQUIRE(*k);
  (*k)({{"Authorization", "Bearer t"}});
  // A second call of the continuation is ignored.
  (*k)({{"Authorization", "Bearer u"}});
  sched.run();
  CAF_REQUIRE(w->conn);
  caf::anon_send(s, endpoint_atom::value, std::string{"http://x/message"},
                 post_sink_ptr{});
  sched.run();
  CAF_REQUIRE_EQUAL(w->posts.size(), 1u);
  CAF_CHECK(w->posts[0].second.find(R"("method":"initialize")")
            != std::string::npos);
  CAF_CHECK(!init->done);
}

CAF_TEST(an asynchronous header provider that never answers times out) {
  auto k = std::make_shared<std::function<void(transport::header_list)>>();
  auto sc = make_config();
  sc.async_header_provider = [k](auto cont) { *k = std::move(cont); };
  start(std::move(sc));
  auto init = ask<initialize_result>(init_atom::value);
  advance_time(4s);
  sched.run();
  CAF_CHECK(!init->done);
  advance_time(1s);
  sched.run();
  CAF_REQUIRE(init->done);
  CAF_CHECK(has_code(init->err, mcp_errc::endpoint_timeout));
  CAF_CHECK(!w->conn);
  // A late answer reaches nobody.
  CAF_REQUIRE(*k);
  (*k)({{"Authorization", "Bearer late"}});
  sched.run();
  CAF_CHECK(!w->conn);
}

CAF_TEST(a bad header from the asynchronous provider fails the session) {
  auto sc = make_config();
  sc.async_header_provider = [](auto cont) {
    cont({{"X-Bad", "a\r\nInjected: yes"}});
  };
  // The request is in the mailbox before the session fails (and quits).
  s = sys.spawn(session, share(std::move(sc)));
  auto init = ask<initialize_result>(init_atom::value);
  sched.run();
  CAF_REQUIRE(init->done);
  CAF_CHECK(has_code(init->err, mcp_errc::invalid_argument));
  CAF_CHECK(render(init->err).find("Injected") == std::string::npos);
  CAF_CHECK(!w->conn);
}


CAF_TEST_FIXTURE_SCOPE_END()
