#define CAF_SUITE connection_pool
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
#include "caf_mcp/actors/connection_pool.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "unit/fake_session.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;
using namespace std::chrono_literals;

namespace {

tool make_tool(const std::string& name) {
  tool t;
  t.name = name;
  t.input_schema = R"({"type":"object"})";
  return t;
}

struct fixture : test_coordinator_fixture<config> {
  std::shared_ptr<fake_server> srv = std::make_shared<fake_server>();
  std::shared_ptr<std::vector<tools_diff>> diffs
    = std::make_shared<std::vector<tools_diff>>();
  pool_actor pool;
  caf::actor listener;

  pool_config make_config(size_t min_members, size_t max_members) {
    pool_config pc;
    pc.min_members = min_members;
    pc.max_members = max_members;
    pc.grow_at = 2;
    pc.health.interval = 0s; // no pings: the tests drive time
    auto& m = pc.member;
    m.session.server_name = "fake";
    m.session.sse_url = "http://127.0.0.1:9/sse";
    m.session.request_timeout = 10s;
    m.backoff.base = 100ms;
    m.backoff.cap = 400ms;
    m.backoff.jitter = transport::jitter_mode::none;
    auto s = srv;
    m.make_session = [s](caf::actor_system& system, const session_config&) {
      return system.spawn(fake_session, s);
    };
    return pc;
  }

  void start(pool_config pc) {
    auto d = diffs;
    listener = sys.spawn([d](caf::event_based_actor*) -> caf::behavior {
      return {
        [](link_atom, link_status&) {},
        [d](tools_diff_atom, std::string&, tools_diff& x) {
          d->push_back(x);
        },
        [](log_atom, std::string&, logging_message_params&) {},
      };
    });
    pool = sys.spawn(connection_pool, std::move(pc));
    caf::anon_send(pool, caf::subscribe_atom::value, listener);
    sched.run();
  }

  template <class T, class... Ts>
  std::shared_ptr<outcome<T>> ask(Ts... xs) {
    return ask_via_helper<T>(*this, pool, xs...);
  }

  std::shared_ptr<outcome<call_tool_result>> call(const std::string& name,
                                                  const std::string& args) {
    return ask<call_tool_result>(call_atom::value, name, args,
                                 call_options{});
  }

  pool_stats stats() {
    auto res = ask<pool_stats>(stats_atom::value);
    CAF_REQUIRE(res->done);
    return res->value;
  }

  /// Executions of `tool` per session index.
  std::vector<size_t> per_session(const std::string& tool_name) {
    std::vector<size_t> out(srv->sessions.size(), 0);
    for (auto& e : srv->executed)
      if (std::get<1>(e) == tool_name)
        ++out[std::get<0>(e)];
    return out;
  }

  ~fixture() override {
    if (pool)
      caf::anon_send(pool, caf::close_atom::value);
    sched.run();
    if (listener)
      caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
    for (auto& s : srv->sessions)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(pool_tests, fixture)

CAF_TEST(calls go to the member with the fewest in flight) {
  start(make_config(2, 2));
  auto st = stats();
  CAF_CHECK_EQUAL(st.members, 2u);
  CAF_CHECK_EQUAL(st.ready, 2u);
  std::vector<std::shared_ptr<outcome<call_tool_result>>> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(call("hold", "{}"));
  CAF_CHECK_EQUAL(per_session("hold"), (std::vector<size_t>{2, 2}));
  CAF_CHECK_EQUAL(stats().in_flight, 4u);
  // Free member 0: the next two calls both go there.
  caf::anon_send(srv->sessions[0], control_atom::value,
                 int64_t{answer_all});
  sched.run();
  CAF_CHECK(held[0]->done && held[2]->done);
  call("hold", "{}");
  call("hold", "{}");
  CAF_CHECK_EQUAL(per_session("hold"), (std::vector<size_t>{4, 2}));
  CAF_CHECK_EQUAL(stats().calls_ok, 2u);
}

CAF_TEST(the pool grows while every member is busy) {
  start(make_config(1, 3));
  CAF_CHECK_EQUAL(stats().members, 1u);
  call("hold", "{}");
  call("hold", "{}");
  CAF_CHECK_EQUAL(stats().members, 1u);
  // The only member has grow_at (2) calls in flight: a second one starts.
  call("hold", "{}");
  auto st = stats();
  CAF_CHECK_EQUAL(st.members, 2u);
  CAF_CHECK_EQUAL(st.ready, 2u);
  call("hold", "{}");
  CAF_CHECK_EQUAL(per_session("hold"), (std::vector<size_t>{3, 1}));
}

CAF_TEST(a member that dies is replaced and the pool keeps serving) {
  start(make_config(2, 2));
  auto members = ask<std::vector<supervisor_actor>>(caf::get_atom::value);
  CAF_REQUIRE(members->done);
  CAF_REQUIRE_EQUAL(members->value.size(), 2u);
  caf::anon_send_exit(members->value[0], caf::exit_reason::kill);
  sched.run();
  auto st = stats();
  CAF_CHECK_EQUAL(st.members, 2u);
  CAF_CHECK_EQUAL(st.replaced, 1u);
  CAF_CHECK_EQUAL(st.ready, 2u);
  auto res = call("echo", R"({"x":1})");
  CAF_REQUIRE(res->done);
  CAF_CHECK(!res->err);
}

CAF_TEST(a member that gave up is replaced while another one works) {
  auto pc = make_config(2, 2);
  pc.member.backoff.max_attempts = 1;
  start(std::move(pc));
  srv->fail_starts = 2;
  srv->start_error = caf::make_error(mcp_errc::connection_failed, "refused");
  caf::anon_send(srv->sessions[0], control_atom::value, int64_t{die});
  sched.run();
  advance_time(100ms); // its one attempt fails: it gives up
  sched.run();
  auto st = stats();
  CAF_CHECK_EQUAL(st.replaced, 1u);
  CAF_CHECK_EQUAL(st.members, 2u);
  // The replacement's first start failed too (fail_starts was 2); it backs
  // off and then comes up.
  advance_time(100ms);
  sched.run();
  CAF_CHECK_EQUAL(stats().ready, 2u);
}

CAF_TEST(subscribers get one pool level tool diff) {
  srv->tools = {make_tool("a"), make_tool("b")};
  start(make_config(2, 2));
  CAF_REQUIRE_EQUAL(diffs->size(), 1u);
  CAF_CHECK_EQUAL(diffs->front().added.size(), 2u);
}

CAF_TEST(a subscriber is told once unsubscribe stops the events and it is dropped when it ends) {
  start(make_config(2, 2));
  auto base = subscriber_set::live_entries();
  auto spawn_counter = [this](std::shared_ptr<int> n) {
    return sys.spawn([n](caf::event_based_actor*) -> caf::behavior {
      return {[n](link_atom, link_status&) { ++*n; },
              [](tools_diff_atom, std::string&, tools_diff&) {},
              [](log_atom, std::string&, logging_message_params&) {}};
    });
  };
  auto twice = std::make_shared<int>(0);
  auto once = std::make_shared<int>(0);
  auto a = spawn_counter(twice);
  auto b = spawn_counter(once);
  caf::anon_send(pool, caf::subscribe_atom::value, a);
  caf::anon_send(pool, caf::subscribe_atom::value, a);
  caf::anon_send(pool, caf::subscribe_atom::value, b);
  sched.run();
  // The greeting: one link status per member, once per subscriber.
  CAF_CHECK_EQUAL(*twice, 2);
  CAF_CHECK_EQUAL(*once, 2);
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 2);
  // A member loses its session: its link statuses reach each subscriber
  // once, however often it subscribed.
  caf::anon_send(srv->sessions[0], control_atom::value, int64_t{die});
  sched.run();
  CAF_CHECK_GREATER(*once, 2);
  CAF_CHECK_EQUAL(*twice, *once);
  // After unsubscribe, `a` hears nothing more while `b` still does.
  caf::anon_send(pool, caf::unsubscribe_atom::value, a);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 1);
  auto a_before = *twice;
  auto b_before = *once;
  advance_time(100ms); // the member's backoff: it starts a new session
  sched.run();
  CAF_CHECK_GREATER(*once, b_before);
  CAF_CHECK_EQUAL(*twice, a_before);
  // `b` ends: the pool drops it.
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(close fails nothing silently and ends the members) {
  start(make_config(2, 2));
  auto members = ask<std::vector<supervisor_actor>>(caf::get_atom::value);
  CAF_REQUIRE(members->done);
  std::vector<std::shared_ptr<outcome<call_tool_result>>> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(call("hold", "{}"));
  CAF_CHECK_EQUAL(stats().in_flight, 4u);
  caf::anon_send(pool, caf::close_atom::value);
  sched.run();
  // Every call in flight is answered, each with the code for a close.
  for (auto& h : held) {
    CAF_REQUIRE(h->done);
    CAF_CHECK(has_code(h->err, mcp_errc::closed));
  }
  CAF_MESSAGE("in flight at close: " << render(held[0]->err));
  // A call after the close is refused with the same code.
  auto late = call("echo", "{}");
  CAF_REQUIRE(late->done);
  CAF_CHECK(has_code(late->err, mcp_errc::closed)
            || late->err == caf::sec::request_receiver_down);
  // The members are gone.
  for (auto& m : members->value) {
    auto st = ask_via_helper<link_status>(*this, m, caf::get_atom::value);
    CAF_CHECK(st->err);
  }
  pool = nullptr;
}

CAF_TEST(the calls on a member that dies fail and the others go on) {
  start(make_config(2, 2));
  auto members = ask<std::vector<supervisor_actor>>(caf::get_atom::value);
  CAF_REQUIRE(members->done);
  CAF_REQUIRE_EQUAL(members->value.size(), 2u);
  std::vector<std::shared_ptr<outcome<call_tool_result>>> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(call("hold", "{}"));
  CAF_CHECK_EQUAL(per_session("hold"), (std::vector<size_t>{2, 2}));
  caf::anon_send_exit(members->value[0], caf::exit_reason::kill);
  sched.run();
  // Member 0 held calls 0 and 2 (least in flight, in turn).
  size_t failed = 0;
  for (auto& h : held)
    if (h->done) {
      ++failed;
      CAF_CHECK(has_code(h->err, mcp_errc::connection_lost));
    }
  CAF_CHECK_EQUAL(failed, 2u);
  // The other member's calls are still held, and answer.
  caf::anon_send(srv->sessions[1], control_atom::value, int64_t{answer_all});
  sched.run();
  for (auto& h : held)
    CAF_CHECK(h->done);
  size_t ok = 0;
  for (auto& h : held)
    if (!h->err)
      ++ok;
  CAF_CHECK_EQUAL(ok, 2u);
  CAF_CHECK_EQUAL(stats().replaced, 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
