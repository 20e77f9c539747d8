#define CAF_SUITE supervisor
#include "caf/test/unit_test.hpp"

// dsl.hpp calls FAIL(), which CAF 0.17.6's unit_test.hpp does not define.
#ifndef FAIL
#  define FAIL(msg) CAF_FAIL(msg)
#endif
#include "caf/test/dsl.hpp"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "unit/actor_test.hpp"
#include "caf_mcp/actors/supervisor.hpp"
#include "unit/fake_session.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;
using namespace std::chrono_literals;

namespace {

/// Records what a subscriber got.
struct inbox {
  std::vector<link_status> links;
  std::vector<tools_diff> diffs;
};

struct fixture : test_coordinator_fixture<config> {
  std::shared_ptr<fake_server> srv = std::make_shared<fake_server>();
  std::shared_ptr<inbox> box = std::make_shared<inbox>();
  supervisor_actor sup;
  caf::actor listener;

  supervisor_config make_config() {
    supervisor_config sc;
    sc.session.server_name = "fake";
    sc.session.sse_url = "http://127.0.0.1:9/sse";
    sc.session.request_timeout = 10s;
    sc.backoff.base = 100ms;
    sc.backoff.factor = 2.0;
    sc.backoff.cap = 400ms;
    sc.backoff.max_attempts = 5;
    sc.backoff.stable_period = 60s;
    sc.backoff.jitter = transport::jitter_mode::none;
    sc.fetch_tools = true;
    auto s = srv;
    sc.make_session = [s](caf::actor_system& system, const session_config&) {
      return system.spawn(fake_session, s);
    };
    return sc;
  }

  void start(supervisor_config sc) {
    auto b = box;
    listener = sys.spawn([b](caf::event_based_actor*) -> caf::behavior {
      return {
        [b](link_atom, link_status& st) { b->links.push_back(st); },
        [b](tools_diff_atom, std::string&, tools_diff& d) {
          b->diffs.push_back(d);
        },
        [](log_atom, std::string&, logging_message_params&) {},
      };
    });
    sup = sys.spawn(supervisor, share(std::move(sc)), uint32_t{0});
    caf::anon_send(sup, caf::subscribe_atom::value, listener);
    sched.run();
  }

  template <class T, class... Ts>
  std::shared_ptr<outcome<T>> ask(Ts... xs) {
    return ask_via_helper<T>(*this, sup, xs...);
  }

  std::shared_ptr<outcome<call_tool_result>>
  call(const std::string& name, const std::string& args,
       bool retryable = false, caf::timespan timeout = 0s) {
    call_options opts;
    opts.retryable = retryable;
    opts.timeout = timeout;
    return ask<call_tool_result>(call_atom::value, name, args, opts);
  }

  link_status status() {
    auto res = ask<link_status>(caf::get_atom::value);
    CAF_REQUIRE(res->done);
    return res->value;
  }

  void control(size_t session_index, int64_t code) {
    CAF_REQUIRE(session_index < srv->sessions.size());
    caf::anon_send(srv->sessions[session_index], control_atom::value, code);
    sched.run();
  }

  void wait(caf::timespan d) {
    advance_time(d);
    sched.run();
  }

  size_t executions(const std::string& args) {
    size_t n = 0;
    for (auto& e : srv->executed)
      if (std::get<2>(e) == args)
        ++n;
    return n;
  }

  ~fixture() override {
    if (sup)
      caf::anon_send(sup, caf::close_atom::value);
    sched.run();
    if (listener)
      caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    for (auto& s : srv->sessions)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

tool make_tool(const std::string& name, const std::string& desc) {
  tool t;
  t.name = name;
  t.description = desc;
  t.input_schema = R"({"type":"object"})";
  return t;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(a ready session serves calls and reports its phase) {
  start(make_config());
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::ready);
  CAF_CHECK_EQUAL(st.sessions_started, 1u);
  auto res = call("echo", R"({"x":1})");
  CAF_REQUIRE(res->done);
  CAF_REQUIRE(!res->err);
  CAF_CHECK_EQUAL(joined_text(res->value), R"({"x":1})");
  CAF_CHECK_EQUAL(status().calls_ok, 1u);
  // Subscribers saw connecting, then ready.
  CAF_REQUIRE(box->links.size() >= 2u);
  CAF_CHECK_EQUAL(box->links.back().phase, link_phase::ready);
}

CAF_TEST(delays grow hit the cap and give up after max attempts) {
  srv->fail_starts = 100;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  start(make_config());
  CAF_CHECK_EQUAL(srv->sessions.size(), 1u);
  auto expect_delay = [&](caf::timespan d, size_t sessions_after) {
    auto st = status();
    CAF_CHECK_EQUAL(st.phase, link_phase::backing_off);
    CAF_CHECK_EQUAL(st.next_attempt_in, d);
    wait(d - 1ms);
    CAF_CHECK_EQUAL(srv->sessions.size(), sessions_after - 1);
    wait(1ms);
    CAF_CHECK_EQUAL(srv->sessions.size(), sessions_after);
  };
  expect_delay(100ms, 2);
  expect_delay(200ms, 3);
  expect_delay(400ms, 4);
  expect_delay(400ms, 5); // capped
  expect_delay(400ms, 6); // 5th delay: the last one allowed
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::gave_up);
  CAF_CHECK(has_code(st.last_error, mcp_errc::connection_failed));
  // A call now fails at once with gave_up, naming the last error.
  auto res = call("echo", "{}");
  CAF_REQUIRE(res->done);
  CAF_CHECK(has_code(res->err, mcp_errc::gave_up));
  // Asked to try again, it starts over with the base delay.
  srv->fail_starts = 0;
  caf::anon_send(sup, retry_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
  CAF_CHECK_EQUAL(srv->sessions.size(), 7u);
}

CAF_TEST(the attempt counter resets once a session answered a call) {
  srv->fail_starts = 2;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  start(make_config());
  wait(100ms);
  wait(200ms);
  CAF_REQUIRE_EQUAL(status().phase, link_phase::ready);
  auto ok = call("echo", "{}");
  CAF_REQUIRE(ok->done && !ok->err);
  // Lose the proven session: the next delay is the base again.
  control(2, die);
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::backing_off);
  CAF_CHECK_EQUAL(st.next_attempt_in, 100ms);
  CAF_CHECK_EQUAL(st.reconnects, 2u);
  wait(100ms);
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
  CAF_CHECK_EQUAL(status().reconnects, 3u);
}

CAF_TEST(an unproven session that dies does not reset the counter) {
  start(make_config());
  control(0, die); // never answered a call
  CAF_CHECK_EQUAL(status().next_attempt_in, 100ms);
  wait(100ms);
  control(1, die);
  CAF_CHECK_EQUAL(status().next_attempt_in, 200ms);
}

CAF_TEST(calls wait while reconnecting and go out once ready) {
  start(make_config());
  srv->fail_starts = 1;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  control(0, die);
  auto a = call("echo", R"({"n":1})");
  auto b = call("echo", R"({"n":2})");
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  CAF_CHECK_EQUAL(status().queued, 2u);
  wait(100ms); // attempt 1 fails
  CAF_CHECK(!a->done);
  wait(200ms); // attempt 2 succeeds
  CAF_REQUIRE(a->done && b->done);
  CAF_CHECK(!a->err);
  CAF_CHECK(!b->err);
  CAF_CHECK_EQUAL(joined_text(b->value), R"({"n":2})");
  CAF_CHECK_EQUAL(status().queued, 0u);
}

CAF_TEST(the queue is bounded and each waiting call has its own deadline) {
  auto sc = make_config();
  sc.max_queued_calls = 2;
  sc.backoff.max_attempts = 0;
  srv->fail_starts = 1000;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  start(std::move(sc));
  auto a = call("echo", "{}", false, 1s);
  auto b = call("echo", "{}", false, 3s);
  auto c = call("echo", "{}", false, 3s);
  CAF_REQUIRE(c->done);
  CAF_CHECK(has_code(c->err, mcp_errc::queue_full));
  CAF_CHECK(!a->done);
  wait(1s);
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::queue_timeout));
  CAF_CHECK(!b->done);
  wait(2s);
  CAF_REQUIRE(b->done);
  CAF_CHECK(has_code(b->err, mcp_errc::queue_timeout));
  // The context names the last connection error.
  CAF_CHECK(render(b->err).find("refused") != std::string::npos);
}

CAF_TEST(in flight calls fail with connection_lost unless retryable) {
  start(make_config());
  auto plain = call("hold", R"({"k":"plain"})");
  auto retry = call("hold", R"({"k":"retry"})", true);
  CAF_CHECK_EQUAL(status().in_flight, 2u);
  control(0, die);
  CAF_REQUIRE(plain->done);
  CAF_CHECK(has_code(plain->err, mcp_errc::connection_lost));
  // The code is said once, the session's cause after it.
  auto text = render(plain->err);
  CAF_CHECK_EQUAL(text.find("connection_lost"), 0u);
  CAF_CHECK_EQUAL(text.find("connection_lost", 1), std::string::npos);
  CAF_CHECK(text.find("was lost: gone") != std::string::npos);
  CAF_CHECK(!retry->done);
  wait(100ms); // new session; the retryable call goes out once more
  CAF_REQUIRE_EQUAL(srv->sessions.size(), 2u);
  CAF_CHECK_EQUAL(executions(R"({"k":"retry"})"), 2u);
  CAF_CHECK_EQUAL(executions(R"({"k":"plain"})"), 1u);
  control(1, answer_all);
  CAF_REQUIRE(retry->done);
  CAF_CHECK(!retry->err);
  CAF_CHECK_EQUAL(status().calls_resent, 1u);
}

// A call the supervisor sends to a session that already died bounces; the
// session's down message reaches the supervisor before that bounce. The
// call never reached the session: it must go out again, not fail with
// connection_lost.
CAF_TEST(a call sent to a session that just died goes out again) {
  start(make_config());
  auto out = spawn_asker<call_tool_result>(
    *this, sup, call_atom::value, std::string{"echo"},
    std::string{R"({"k":"late"})"}, call_options{});
  sched.run_once(); // the helper: its call waits in the supervisor's mailbox
  CAF_REQUIRE_EQUAL(srv->sessions.size(), 1u);
  auto first = srv->sessions[0];
  caf::anon_send(first, control_atom::value, int64_t{die});
  CAF_REQUIRE(sched.prioritize(first));
  sched.run_once(); // the session dies; its down message queues behind
  sched.run();      // the call goes to the dead session and bounces
  CAF_CHECK(!out->done);
  CAF_CHECK_EQUAL(executions(R"({"k":"late"})"), 0u);
  wait(100ms); // reconnect; the call goes out on the new session
  CAF_REQUIRE_EQUAL(srv->sessions.size(), 2u);
  CAF_REQUIRE(out->done);
  CAF_CHECK(!out->err);
  CAF_CHECK_EQUAL(executions(R"({"k":"late"})"), 1u);
}

CAF_TEST(a retryable call is sent at most once more) {
  start(make_config());
  auto retry = call("hold", R"({"k":"r"})", true);
  control(0, die);
  wait(100ms);
  control(1, die);
  CAF_REQUIRE(retry->done);
  CAF_CHECK(has_code(retry->err, mcp_errc::connection_lost));
  CAF_CHECK_EQUAL(executions(R"({"k":"r"})"), 2u);
}

CAF_TEST(a call the server refused with 404 goes out again on a new session) {
  start(make_config());
  auto refused = call("hold", R"({"k":"a"})"); // not retryable
  auto other = call("hold", R"({"k":"b"})");
  control(0, expire_first); // "a" got 404, "b" was accepted: lost
  CAF_REQUIRE(other->done);
  CAF_CHECK(has_code(other->err, mcp_errc::connection_lost));
  CAF_CHECK(!refused->done);
  wait(100ms);
  CAF_REQUIRE_EQUAL(srv->sessions.size(), 2u);
  control(1, answer_all);
  CAF_REQUIRE(refused->done);
  CAF_CHECK(!refused->err);
}

CAF_TEST(401 gives up at once and calls see the cause) {
  srv->fail_starts = 1;
  srv->start_error = caf::make_error(mcp_errc::unauthorized, "HTTP 401");
  auto sc = make_config();
  start(std::move(sc));
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::gave_up);
  CAF_CHECK(has_code(st.last_error, mcp_errc::unauthorized));
  auto init = ask<initialize_result>(init_atom::value);
  CAF_REQUIRE(init->done);
  CAF_CHECK(has_code(init->err, mcp_errc::unauthorized));
  wait(10s);
  CAF_CHECK_EQUAL(srv->sessions.size(), 1u);
}

CAF_TEST(401 is retried when configured) {
  srv->fail_starts = 1;
  srv->start_error = caf::make_error(mcp_errc::unauthorized, "HTTP 401");
  auto sc = make_config();
  sc.retry_auth_failures = true;
  start(std::move(sc));
  CAF_CHECK_EQUAL(status().phase, link_phase::backing_off);
  wait(100ms);
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
}

CAF_TEST(retry after is a floor for the next delay) {
  srv->fail_starts = 1;
  srv->start_error = caf::make_error(mcp_errc::service_unavailable,
                                     "HTTP 503", std::string{"2"});
  auto sc = make_config();
  sc.backoff.cap = 5s;
  start(std::move(sc));
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::backing_off);
  CAF_CHECK_EQUAL(st.next_attempt_in, 2s);
  wait(1999ms);
  CAF_CHECK_EQUAL(srv->sessions.size(), 1u);
  wait(1ms);
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
}

CAF_TEST(the sse retry field is a floor for the next delay) {
  srv->fail_starts = 1;
  srv->start_error = caf::make_error(mcp_errc::connection_lost,
                                     "stream ended", std::string{},
                                     std::string{"sse_retry_ms=700"});
  auto sc = make_config();
  sc.backoff.cap = 5s;
  start(std::move(sc));
  CAF_CHECK_EQUAL(status().next_attempt_in, 700ms);
  wait(699ms);
  CAF_CHECK_EQUAL(srv->sessions.size(), 1u);
  wait(1ms);
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
}

CAF_TEST(every restart relists tools and subscribers get the diff) {
  srv->tools = {make_tool("a", "A"), make_tool("b", "B")};
  start(make_config());
  CAF_REQUIRE_EQUAL(box->diffs.size(), 1u);
  CAF_CHECK_EQUAL(box->diffs[0].added.size(), 2u);
  srv->tools = {make_tool("b", "B2"), make_tool("c", "C")};
  control(0, die);
  wait(100ms);
  CAF_REQUIRE_EQUAL(box->diffs.size(), 2u);
  auto& d = box->diffs[1];
  CAF_REQUIRE_EQUAL(d.added.size(), 1u);
  CAF_CHECK_EQUAL(d.added[0].name, "c");
  CAF_REQUIRE_EQUAL(d.removed.size(), 1u);
  CAF_CHECK_EQUAL(d.removed[0].name, "a");
  CAF_REQUIRE_EQUAL(d.changed.size(), 1u);
  CAF_CHECK_EQUAL(d.changed[0].name, "b");
  // The same list again: nothing to tell.
  control(1, die);
  wait(100ms);
  CAF_CHECK_EQUAL(box->diffs.size(), 2u);
}

CAF_TEST(a restart request from a health monitor replaces the session) {
  start(make_config());
  caf::anon_send(sup, restart_atom::value,
                 caf::make_error(mcp_errc::timeout, "3 pings failed"));
  sched.run();
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::backing_off);
  CAF_CHECK(has_code(st.last_error, mcp_errc::timeout));
  wait(100ms);
  CAF_CHECK_EQUAL(status().phase, link_phase::ready);
  CAF_CHECK_EQUAL(srv->sessions.size(), 2u);
}

CAF_TEST(close fails waiting calls with closed) {
  srv->fail_starts = 1000;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  auto sc = make_config();
  sc.backoff.max_attempts = 0;
  start(std::move(sc));
  auto a = call("echo", "{}");
  caf::anon_send(sup, caf::close_atom::value);
  sched.run();
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::closed));
  sup = nullptr;
}

CAF_TEST(tool lists are taken only from the current session) {
  srv->tools = {make_tool("a", "1")};
  start(make_config());
  auto diffs = box->diffs.size();
  auto impl = caf::actor_cast<caf::actor>(sup);
  std::vector<tool> forged{make_tool("evil", "x")};
  // Anybody else: ignored.
  caf::anon_send(impl, tools_changed_atom::value, std::string{"fake"},
                 forged);
  sched.run();
  CAF_CHECK_EQUAL(box->diffs.size(), diffs);
  // The current session: taken.
  auto first = caf::actor_cast<caf::actor>(srv->sessions.back());
  caf::send_as(first, impl, tools_changed_atom::value, std::string{"fake"},
               std::vector<tool>{make_tool("b", "2")});
  sched.run();
  CAF_REQUIRE_EQUAL(box->diffs.size(), diffs + 1);
  CAF_CHECK_EQUAL(box->diffs.back().added.size(), 1u);
  // After a restart, a late list of the old session: ignored.
  control(srv->sessions.size() - 1, die);
  wait(100ms);
  CAF_REQUIRE_EQUAL(status().phase, link_phase::ready);
  diffs = box->diffs.size();
  caf::send_as(first, impl, tools_changed_atom::value, std::string{"fake"},
               forged);
  sched.run();
  CAF_CHECK_EQUAL(box->diffs.size(), diffs);
}

CAF_TEST(waiting calls share one timer on the clock) {
  auto sc = make_config();
  sc.backoff.base = 10s;
  sc.backoff.cap = 10s;
  start(std::move(sc));
  srv->fail_starts = 100;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  control(0, die); // backing off for 10 s
  auto base = sched.clock().schedule().size();
  std::vector<std::shared_ptr<outcome<call_tool_result>>> calls;
  for (int i = 0; i < 50; ++i) {
    calls.push_back(call("echo", "{}", false,
                         std::chrono::milliseconds{5000 - 50 * i}));
    CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), base + 1);
  }
  wait(2550ms); // the last one's deadline
  CAF_CHECK(calls.back()->done);
  CAF_CHECK(!calls.front()->done);
  wait(2450ms);
  for (auto& c : calls) {
    CAF_REQUIRE(c->done);
    CAF_CHECK(has_code(c->err, mcp_errc::queue_timeout));
  }
  CAF_CHECK_LESS_OR_EQUAL(sched.clock().schedule().size(), base);
}

CAF_TEST(calls in flight beyond max_in_flight fail at once with queue_full) {
  auto sc = make_config();
  sc.max_in_flight = 2;
  start(std::move(sc));
  auto a = call("hold", "{}");
  auto b = call("hold", "{}");
  auto c = call("hold", "{}");
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  CAF_REQUIRE(c->done);
  CAF_CHECK(has_code(c->err, mcp_errc::queue_full));
  CAF_CHECK_EQUAL(status().in_flight, 2u);
  control(0, answer_all);
  auto d = call("echo", "{}");
  CAF_REQUIRE(d->done);
  CAF_CHECK(!d->err);
}

CAF_TEST(a call whose outcome is unknown fails alone and the session stays) {
  start(make_config());
  auto a = call("hold", "{}");
  auto b = call("hold", "{}");
  control(0, unknown_first);
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::outcome_unknown));
  CAF_CHECK(!b->done);
  auto st = status();
  CAF_CHECK_EQUAL(st.phase, link_phase::ready);
  CAF_CHECK_EQUAL(st.reconnects, 0u);
  CAF_CHECK_EQUAL(srv->sessions.size(), 1u);
}

CAF_TEST(a retryable call whose outcome is unknown is sent once more) {
  start(make_config());
  auto a = call("hold", R"({"k":1})", true);
  control(0, unknown_first);
  CAF_CHECK(!a->done);
  CAF_CHECK_EQUAL(executions(R"({"k":1})"), 2u);
  control(0, unknown_first);
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::connection_lost)
            || has_code(a->err, mcp_errc::outcome_unknown));
  CAF_CHECK_EQUAL(executions(R"({"k":1})"), 2u);
}

CAF_TEST(pings and listings carry what is left of the deadline) {
  start(make_config());
  call_options opts;
  opts.timeout = 5s;
  auto p = ask<caf::timespan>(caf::ping_atom::value, opts);
  CAF_REQUIRE(p->done);
  CAF_CHECK(srv->last_timeout > 0s);
  CAF_CHECK_LESS_OR_EQUAL(srv->last_timeout, caf::timespan{5s});
  opts.timeout = 3s;
  auto l = ask<std::vector<tool>>(list_atom::value, opts);
  CAF_REQUIRE(l->done);
  CAF_CHECK(srv->last_timeout > 0s);
  CAF_CHECK_LESS_OR_EQUAL(srv->last_timeout, caf::timespan{3s});
}

CAF_TEST(a call that waited in vain says what the session was waiting for) {
  srv->hang_starts = 1;
  start(make_config());
  auto a = call("echo", "{}", false, 1s);
  wait(1s);
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::queue_timeout));
  auto text = render(a->err);
  CAF_CHECK(text.find("answer to initialize") != std::string::npos);
}

CAF_TEST(messages name the server without the secrets of its URL) {
  auto sc = make_config();
  sc.session.server_name = "http://u:pw@127.0.0.1:9/sse?token=S3CRET";
  sc.backoff.max_attempts = 1;
  start(std::move(sc));
  srv->fail_starts = 5;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  control(0, die);
  wait(100ms);
  auto a = call("echo", "{}");
  CAF_REQUIRE(a->done);
  CAF_CHECK(has_code(a->err, mcp_errc::gave_up));
  auto text = render(a->err);
  CAF_CHECK_EQUAL(text.find("S3CRET"), std::string::npos);
  CAF_CHECK_EQUAL(text.find("pw@"), std::string::npos);
  CAF_CHECK(text.find("127.0.0.1:9") != std::string::npos);
  CAF_CHECK_EQUAL(status().server.find("S3CRET"), std::string::npos);
}

CAF_TEST(a subscriber is told once and dropped when it ends) {
  start(make_config());
  auto base = subscriber_set::live_entries();
  auto n = std::make_shared<int>(0);
  auto sub = sys.spawn([n](caf::event_based_actor*) -> caf::behavior {
    return {[n](link_atom, link_status&) { ++*n; },
            [](tools_diff_atom, std::string&, tools_diff&) {},
            [](log_atom, std::string&, logging_message_params&) {}};
  });
  caf::anon_send(sup, caf::subscribe_atom::value, sub);
  caf::anon_send(sup, caf::subscribe_atom::value, sub);
  sched.run();
  CAF_CHECK_EQUAL(*n, 1); // the greeting, once
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 1);
  caf::anon_send(sup, restart_atom::value,
                 caf::make_error(mcp_errc::timeout, "pings failed"));
  sched.run();
  auto after_restart = *n;
  CAF_CHECK_GREATER(after_restart, 1);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base);
}

CAF_TEST_FIXTURE_SCOPE_END()
