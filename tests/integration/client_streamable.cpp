#define CAF_SUITE client_streamable
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <mutex>

#include "caf/after.hpp"

#include <boost/json/parse.hpp>

#include "fault_control.hpp"
#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// The client over Streamable HTTP against real servers: the official
// TypeScript SDK 1.x StreamableHTTPServerTransport in its three modes
// (tests/peers/servers/streamable.mjs: fixtures shttp-stateful,
// shttp-stateless, shttp-json) and server-everything in its streamableHttp
// mode (fixture everything-http). The suite holds a RESOURCE_LOCK on the
// streamable peers: it reads their execution counts and forgets sessions.

namespace {

struct notes {
  std::mutex mtx;
  std::vector<std::string> logs;
  int progress = 0;
};

caf::behavior note_taker(caf::event_based_actor*, std::shared_ptr<notes> n) {
  return {
    [n](log_atom, std::string&, logging_message_params& p) {
      std::lock_guard<std::mutex> guard{n->mtx};
      n->logs.push_back(p.data);
    },
    [n](tools_changed_atom, std::string&, std::vector<tool>&) {
      // nop
    },
    [n](progress_atom, progress_params&) {
      std::lock_guard<std::mutex> guard{n->mtx};
      ++n->progress;
    },
  };
}

/// The control port's stats of a streamable peer, as JSON.
boost::json::value peer_stats(const std::string& url) {
  auto r = control_request(port_of(url),
                           boost::beast::http::verb::get, "/control/stats");
  if (r.status != 200)
    CAF_FAIL("GET /control/stats: " << r.status << " " << r.failure);
  return boost::json::parse(r.body);
}

int64_t tool_runs(const boost::json::value& stats, const char* tool) {
  return as_int(stats.at("tools").as_object().if_contains(tool));
}

int64_t stat(const boost::json::value& stats, const char* key) {
  return as_int(stats.as_object().if_contains(key));
}

struct fixture : live_fixture {
  std::shared_ptr<notes> n = std::make_shared<notes>();
  caf::actor taker;

  fixture() {
    taker = sys.spawn(note_taker, n);
    spawned.push_back(taker);
  }

  session_config http_config(const std::string& url) {
    auto sc = make_session_config(url);
    sc.transport = session_transport::streamable_http;
    return sc;
  }

  /// Waits (bounded by count and time) until `pred` holds.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < 10000; ++i) {
      if (pred())
        return true;
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      self->receive(caf::after(std::chrono::milliseconds{20}) >> [] {});
    }
    return false;
  }

  int progress() {
    std::lock_guard<std::mutex> guard{n->mtx};
    return n->progress;
  }

  session_actor ready_session(const std::string& url) {
    CAF_REQUIRE(!url.empty());
    auto s = make_session(http_config(url));
    self->send(s, caf::subscribe_atom::value, taker);
    auto init = ask<initialize_result>(s, init_atom::value);
    if (!init.ok)
      CAF_FAIL("initialize failed: " << render(init.err));
    return s;
  }

  call_tool_result call(const session_actor& s, const std::string& name,
                        const std::string& args, call_options opts = {}) {
    auto res = ask<call_tool_result>(s, call_atom::value, name, args, opts);
    if (!res.ok)
      CAF_FAIL(name << " failed: " << render(res.err));
    return res.value;
  }

  /// Lists, calls echo and the progress tool; `streams` says whether the
  /// server streams notifications on the POST's answer.
  void list_and_call(const std::string& url, bool streams) {
    auto s = ready_session(url);
    auto init = ask<initialize_result>(s, init_atom::value);
    CAF_REQUIRE(init.ok);
    CAF_CHECK_EQUAL(init.value.protocol_version, "2025-11-25");
    auto tools = ask<std::vector<tool>>(s, list_atom::value);
    CAF_REQUIRE(tools.ok);
    std::vector<std::string> names;
    for (auto& t : tools.value)
      names.push_back(t.name);
    for (auto want : {"echo", "progress"})
      CAF_CHECK(std::find(names.begin(), names.end(), want) != names.end());
    auto before = tool_runs(peer_stats(url), "echo");
    for (int i = 0; i < 5; ++i) {
      auto echo = call(s, "echo",
                       R"({"message":"hi )" + std::to_string(i) + R"("})");
      CAF_CHECK_EQUAL(joined_text(echo), "Echo: hi " + std::to_string(i));
    }
    CAF_CHECK_EQUAL(tool_runs(peer_stats(url), "echo"), before + 5);
    call_options opts;
    opts.listener = taker;
    auto res = call(s, "progress", R"({"steps":3})", opts);
    CAF_CHECK_EQUAL(joined_text(res), "done 3");
    if (streams) {
      CAF_CHECK(wait_for([&] { return progress() >= 3; },
                         std::chrono::milliseconds{5000}));
      CAF_CHECK_EQUAL(progress(), 3);
    }
  }

  pool_stats pool_of(const client_actor& c) {
    auto res = ask<pool_stats>(c, stats_atom::value);
    CAF_REQUIRE(res.ok);
    return res.value;
  }

  uint64_t reconnects(const client_actor& c) {
    uint64_t total = 0;
    for (auto& l : pool_of(c).links)
      total += l.reconnects;
    return total;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_streamable_tests, fixture)

CAF_TEST(stateful server with SSE answers lists and calls) {
  list_and_call(peer_file("shttp-stateful"), true);
}

CAF_TEST(stateless server lists and calls without a session id) {
  list_and_call(peer_file("shttp-stateless"), true);
}

CAF_TEST(JSON response server lists and calls) {
  list_and_call(peer_file("shttp-json"), false);
}

CAF_TEST(server everything over streamable http) {
  auto url = peer_file("everything-http");
  auto s = ready_session(url);
  auto tools = ask<std::vector<tool>>(s, list_atom::value);
  CAF_REQUIRE(tools.ok);
  std::vector<std::string> names;
  for (auto& t : tools.value)
    names.push_back(t.name);
  for (auto want : {"echo", "get-sum", "trigger-long-running-operation"})
    CAF_CHECK(std::find(names.begin(), names.end(), want) != names.end());
  auto echo = call(s, "echo", R"({"message":"hi there"})");
  CAF_CHECK(joined_text(echo).find("hi there") != std::string::npos);
  auto sum = call(s, "get-sum", R"({"a":19,"b":23})");
  CAF_CHECK(joined_text(sum).find("42") != std::string::npos);
  call_options opts;
  opts.listener = taker;
  auto res = call(s, "trigger-long-running-operation",
                  R"({"duration":1,"steps":4})", opts);
  CAF_CHECK(joined_text(res).find("completed") != std::string::npos);
  CAF_CHECK(wait_for([&] { return progress() >= 4; },
                     std::chrono::milliseconds{5000}));
  auto unknown = call(s, "no-such-tool", "{}");
  CAF_CHECK(unknown.is_error);
}

CAF_TEST(server messages related to no request arrive on the GET stream) {
  auto url = peer_file("shttp-stateful");
  auto gets_before = stat(peer_stats(url), "gets");
  auto s = ready_session(url);
  // The session opens its GET stream once ready: wait until the server
  // saw it (bounded), then make the server speak on it.
  CAF_REQUIRE(wait_for(
    [&] { return stat(peer_stats(url), "gets") > gets_before; },
    std::chrono::milliseconds{5000}));
  auto text = std::string{"hello-get-"} + std::to_string(gets_before);
  auto logged = [&] {
    std::lock_guard<std::mutex> guard{n->mtx};
    return std::find(n->logs.begin(), n->logs.end(), "\"" + text + "\"")
           != n->logs.end();
  };
  // The GET may be counted before its stream is set up on the server:
  // notify again until the message arrives (bounded).
  bool got = false;
  for (int i = 0; i < 50 && !got; ++i) {
    auto r = control_request(port_of(url), boost::beast::http::verb::post,
                             "/control/notify?text=" + text, "{}");
    CAF_REQUIRE_EQUAL(r.status, 200);
    got = wait_for(logged, std::chrono::milliseconds{100});
  }
  CAF_CHECK(got);
  // The session still works.
  auto echo = call(s, "echo", R"({"message":"after get"})");
  CAF_CHECK_EQUAL(joined_text(echo), "Echo: after get");
}

CAF_TEST(an answer stream closed for polling is resumed with Last-Event-ID) {
  auto url = peer_file("shttp-stateful");
  auto s = ready_session(url);
  auto before = peer_stats(url);
  auto res = call(s, "poll", R"({"message":"p1"})");
  CAF_CHECK_EQUAL(joined_text(res), "Polled: p1");
  auto after = peer_stats(url);
  CAF_CHECK_EQUAL(tool_runs(after, "poll"), tool_runs(before, "poll") + 1);
  CAF_CHECK_GREATER_OR_EQUAL(stat(after, "resumed"),
                             stat(before, "resumed") + 1);
}

CAF_TEST(a cut answer without event ids fails outcome_unknown and runs once) {
  auto url = peer_file("shttp-stateless");
  auto c = make_client(http_config(url));
  auto before = tool_runs(peer_stats(url), "cut");
  auto res = ask<call_tool_result>(c, call_atom::value, std::string{"cut"},
                                   std::string{R"({"message":"c"})"},
                                   call_options{});
  CAF_REQUIRE(!res.ok);
  CAF_MESSAGE("cut: " << render(res.err));
  CAF_CHECK(has_code(res.err, mcp_errc::outcome_unknown));
  CAF_CHECK_EQUAL(tool_runs(peer_stats(url), "cut"), before + 1);
  // The session is fine: the next call works on it.
  auto echo = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                    std::string{R"({"message":"after"})"},
                                    call_options{});
  CAF_REQUIRE(echo.ok);
  CAF_CHECK_EQUAL(joined_text(echo.value), "Echo: after");
  CAF_CHECK_EQUAL(reconnects(c), 0u);
}

CAF_TEST(a 404 for the session id starts a new session and the call runs once) {
  auto url = peer_file("shttp-stateful");
  CAF_REQUIRE(!url.empty());
  auto c = make_client(http_config(url));
  auto s0 = peer_stats(url);
  auto first = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                     std::string{R"({"message":"a"})"},
                                     call_options{});
  CAF_REQUIRE(first.ok);
  auto s1 = peer_stats(url);
  CAF_CHECK_EQUAL(stat(s1, "initialized"), stat(s0, "initialized") + 1);
  // The server forgets every session: our next POST carries an id it no
  // longer knows and is answered 404 (never run).
  auto forget = control_request(port_of(url),
                                boost::beast::http::verb::post,
                                "/control/forget", "{}");
  CAF_REQUIRE_EQUAL(forget.status, 200);
  auto second = ask<call_tool_result>(c, call_atom::value,
                                      std::string{"echo"},
                                      std::string{R"({"message":"b"})"},
                                      call_options{});
  if (!second.ok)
    CAF_FAIL("the call after the 404 failed: " << render(second.err));
  CAF_CHECK_EQUAL(joined_text(second.value), "Echo: b");
  auto s2 = peer_stats(url);
  // Each call ran exactly once; one new session; no DELETE for the session
  // the server had forgotten.
  CAF_CHECK_EQUAL(tool_runs(s2, "echo"), tool_runs(s0, "echo") + 2);
  CAF_CHECK_EQUAL(stat(s2, "initialized"), stat(s1, "initialized") + 1);
  CAF_CHECK_EQUAL(stat(s2, "deletes"), stat(s0, "deletes"));
  CAF_CHECK_EQUAL(reconnects(c), 1u);
  // Closing the client ends the new session on the server (DELETE).
  self->send(c, cleanup_atom::value);
  CAF_CHECK(wait_for(
    [&] { return stat(peer_stats(url), "deletes") == stat(s0, "deletes") + 1; },
    std::chrono::milliseconds{5000}));
}

CAF_TEST(auto detects Streamable HTTP and remembers it) {
  auto url = peer_file("shttp-stateful");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.transport = session_transport::automatic;
  auto memory = sc.detected;
  auto s = make_session(sc);
  auto init = ask<initialize_result>(s, init_atom::value);
  if (!init.ok)
    CAF_FAIL("initialize failed: " << render(init.err));
  CAF_CHECK_EQUAL(static_cast<int>(memory->found.load()),
                  static_cast<int>(session_transport::streamable_http) + 1);
  auto echo = call(s, "echo", R"({"message":"auto"})");
  CAF_CHECK_EQUAL(joined_text(echo), "Echo: auto");
  // A second session of the same config goes straight to Streamable HTTP.
  auto before = stat(peer_stats(url), "initialized");
  auto s2 = make_session(sc);
  auto init2 = ask<initialize_result>(s2, init_atom::value);
  CAF_REQUIRE(init2.ok);
  CAF_CHECK_EQUAL(stat(peer_stats(url), "initialized"), before + 1);
}

CAF_TEST(auto falls back to SSE when the POST is refused) {
  auto url = peer_file("sdk-echo");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.transport = session_transport::automatic;
  auto memory = sc.detected;
  auto s = make_session(sc);
  auto init = ask<initialize_result>(s, init_atom::value);
  if (!init.ok)
    CAF_FAIL("initialize failed: " << render(init.err));
  CAF_CHECK_EQUAL(static_cast<int>(memory->found.load()),
                  static_cast<int>(session_transport::sse) + 1);
  auto echo = call(s, "echo", R"({"message":"old"})");
  CAF_CHECK_EQUAL(joined_text(echo), "Echo: old");
  // Through the supervised client too (its sessions share the memory).
  auto c = make_client(sc);
  auto res = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                   std::string{R"({"message":"c"})"},
                                   call_options{});
  CAF_REQUIRE(res.ok);
  CAF_CHECK_EQUAL(joined_text(res.value), "Echo: c");
}

CAF_TEST(auto forgets what it found when a session fails before ready) {
  auto url = peer_file("shttp-stateless");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url.substr(0, url.rfind('/')) + "/nowhere");
  sc.transport = session_transport::automatic;
  sc.endpoint_timeout = std::chrono::milliseconds{2000};
  auto memory = sc.detected;
  // POST answered 404, then the GET too: no server speaks at this URL.
  auto s = make_session(sc);
  auto init = ask<initialize_result>(s, init_atom::value);
  CAF_REQUIRE(!init.ok);
  CAF_MESSAGE("init: " << render(init.err));
  CAF_CHECK_EQUAL(static_cast<int>(memory->found.load()), 0);
}

CAF_TEST(a GET stream reopened into a 404 starts a new session without a call) {
  auto url = peer_file("shttp-stateful");
  CAF_REQUIRE(!url.empty());
  auto c = make_client(http_config(url));
  auto s0 = peer_stats(url);
  auto first = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                     std::string{R"({"message":"g"})"},
                                     call_options{});
  CAF_REQUIRE(first.ok);
  // Wait until the session's GET stream is there, then the server forgets
  // the session and ends its GET stream: the client reopens it (after the
  // server's retry, 100 ms), gets 404 and starts a new session by itself.
  CAF_REQUIRE(wait_for(
    [&] { return stat(peer_stats(url), "gets") > stat(s0, "gets"); },
    std::chrono::milliseconds{5000}));
  auto forget = control_request(port_of(url), boost::beast::http::verb::post,
                                "/control/forget?close_streams=1", "{}");
  CAF_REQUIRE_EQUAL(forget.status, 200);
  CAF_CHECK(wait_for(
    [&] {
      return reconnects(c) >= 1
             && stat(peer_stats(url), "initialized")
                  == stat(s0, "initialized") + 2;
    },
    std::chrono::milliseconds{10000}));
  CAF_CHECK_EQUAL(reconnects(c), 1u);
  auto again = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                     std::string{R"({"message":"h"})"},
                                     call_options{});
  CAF_REQUIRE(again.ok);
  CAF_CHECK_EQUAL(joined_text(again.value), "Echo: h");
  CAF_CHECK_EQUAL(tool_runs(peer_stats(url), "echo"),
                  tool_runs(s0, "echo") + 2);
}

CAF_TEST(the wrong endpoint fails initialize with http_status not session_expired) {
  auto url = peer_file("shttp-stateless");
  CAF_REQUIRE(!url.empty());
  auto wrong = url.substr(0, url.rfind('/')) + "/nowhere";
  auto s = make_session(http_config(wrong));
  auto init = ask<initialize_result>(s, init_atom::value);
  CAF_REQUIRE(!init.ok);
  CAF_MESSAGE("init: " << render(init.err));
  CAF_CHECK(has_code(init.err, mcp_errc::http_status));
}

CAF_TEST_FIXTURE_SCOPE_END()
