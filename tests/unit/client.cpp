#define CAF_SUITE client
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
#include "caf_mcp/actors/client.hpp"
#include "unit/fake_session.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;
using namespace std::chrono_literals;

// The client facade and its tool proxies against fake sessions: what a
// caller holding a proxy sees when the pool behind it dies, who may speak
// to the client, and what its subscribers get.

namespace {

tool make_tool(const std::string& name, const std::string& desc = "d") {
  tool t;
  t.name = name;
  t.description = desc;
  t.input_schema = R"({"type":"object"})";
  return t;
}

/// What a subscriber of the client got.
struct inbox {
  size_t links = 0;
  size_t diffs = 0;
  size_t logs = 0;
};

struct fixture : test_coordinator_fixture<config> {
  std::shared_ptr<fake_server> srv = std::make_shared<fake_server>();
  client_actor c;

  client_config make_config() {
    client_config cc;
    cc.name = "fake";
    cc.session.server_name = "fake";
    cc.session.sse_url = "http://127.0.0.1:9/sse";
    cc.session.request_timeout = 10s;
    cc.pool.health.interval = 0s; // no pings: the tests drive time
    auto& m = cc.pool.member;
    m.backoff.base = 100ms;
    m.backoff.jitter = transport::jitter_mode::none;
    auto s = srv;
    m.make_session = [s](caf::actor_system& system, const session_config&) {
      return system.spawn(fake_session, s);
    };
    return cc;
  }

  void start(client_config cc) {
    c = sys.spawn(client, std::move(cc));
    sched.run();
  }

  template <class T, class Handle, class... Ts>
  std::shared_ptr<outcome<T>> ask(const Handle& h, Ts... xs) {
    return ask_via_helper<T>(*this, h, xs...);
  }

  std::vector<tool_handle> init_and_proxies() {
    auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
    CAF_REQUIRE(tools->done);
    CAF_REQUIRE(!tools->err);
    auto hs = ask<std::vector<tool_handle>>(c, proxies_atom::value);
    CAF_REQUIRE(hs->done);
    return hs->value;
  }

  tool_proxy_actor proxy_of(const std::vector<tool_handle>& hs,
                            const std::string& name) {
    for (auto& h : hs)
      if (h.descriptor.name == name)
        return h.proxy;
    CAF_FAIL("no proxy for " << name);
    return {};
  }

  pool_actor pool() {
    auto p = ask<pool_actor>(c, caf::get_atom::value);
    CAF_REQUIRE(p->done);
    return p->value;
  }

  std::shared_ptr<outcome<call_tool_result>>
  call_via(const tool_proxy_actor& p, const std::string& args) {
    return ask<call_tool_result>(p, call_atom::value, args, call_options{});
  }

  ~fixture() override {
    if (c)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    sched.run();
    for (auto& s : srv->sessions)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_tests, fixture)

CAF_TEST(an old proxy still works after the pool died) {
  srv->tools = {make_tool("echo")};
  start(make_config());
  auto hs = init_and_proxies();
  auto echo = proxy_of(hs, "echo");
  auto first = call_via(echo, R"({"n":1})");
  CAF_REQUIRE(first->done);
  CAF_CHECK(!first->err);
  auto old_pool = pool();
  CAF_REQUIRE(old_pool);
  caf::anon_send_exit(old_pool, caf::exit_reason::kill);
  sched.run();
  // The same proxy: its call goes to a new pool, not to the dead one.
  auto again = call_via(echo, R"({"n":2})");
  CAF_REQUIRE(again->done);
  CAF_CHECK(!again->err);
  CAF_CHECK_EQUAL(joined_text(again->value), R"({"n":2})");
  auto new_pool = pool();
  CAF_CHECK(new_pool);
  CAF_CHECK_NOT_EQUAL(new_pool, old_pool);
  // The tool did not change: the caller's proxy is still the client's.
  auto hs2 = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs2->done);
  CAF_CHECK_EQUAL(proxy_of(hs2->value, "echo"), echo);
}

CAF_TEST(the tool list of a new pool replaces the old one) {
  srv->tools = {make_tool("a"), make_tool("b")};
  start(make_config());
  auto hs = init_and_proxies();
  CAF_REQUIRE_EQUAL(hs.size(), 2u);
  auto b = proxy_of(hs, "b");
  // The server restarts without tool b; the pool dies and a new one lists.
  srv->tools = {make_tool("a")};
  caf::anon_send_exit(pool(), caf::exit_reason::kill);
  sched.run();
  auto tools = ask<std::vector<tool>>(c, list_atom::value);
  CAF_REQUIRE(tools->done);
  CAF_REQUIRE_EQUAL(tools->value.size(), 1u);
  auto hs2 = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs2->done);
  CAF_REQUIRE_EQUAL(hs2->value.size(), 1u);
  CAF_CHECK_EQUAL(hs2->value[0].descriptor.name, "a");
  // b's proxy ended with its tool.
  auto r = call_via(b, "{}");
  CAF_REQUIRE(r->done);
  CAF_CHECK(r->err);
}

CAF_TEST(a proxy killed by somebody else is made again) {
  srv->tools = {make_tool("echo")};
  start(make_config());
  auto hs = init_and_proxies();
  auto echo = proxy_of(hs, "echo");
  caf::anon_send_exit(echo, caf::exit_reason::kill);
  sched.run();
  auto hs2 = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs2->done);
  auto fresh = proxy_of(hs2->value, "echo");
  CAF_CHECK_NOT_EQUAL(fresh, echo);
  auto r = call_via(fresh, "{}");
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->err);
}

CAF_TEST(strangers cannot change the tools of the client) {
  srv->tools = {make_tool("echo")};
  start(make_config());
  init_and_proxies();
  tools_diff forged;
  forged.removed.push_back(make_tool("echo"));
  forged.added.push_back(make_tool("evil"));
  caf::anon_send(c, tools_diff_atom::value, std::string{"fake"}, forged);
  caf::anon_send(c, tools_changed_atom::value, std::string{"fake"},
                 std::vector<tool>{make_tool("evil")});
  sched.run();
  auto hs = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs->done);
  CAF_REQUIRE_EQUAL(hs->value.size(), 1u);
  CAF_CHECK_EQUAL(hs->value[0].descriptor.name, "echo");
}

CAF_TEST(subscribers get each event once and are dropped when they end) {
  srv->tools = {make_tool("echo")};
  start(make_config());
  auto base = subscriber_set::live_entries();
  auto box = std::make_shared<inbox>();
  auto sub = sys.spawn([box](caf::event_based_actor*) -> caf::behavior {
    return {[box](link_atom, link_status&) { ++box->links; },
            [box](tools_diff_atom, std::string&, tools_diff&) {
              ++box->diffs;
            },
            [box](log_atom, std::string&, logging_message_params&) {
              ++box->logs;
            }};
  });
  caf::anon_send(c, caf::subscribe_atom::value, sub);
  caf::anon_send(c, caf::subscribe_atom::value, sub);
  sched.run();
  init_and_proxies();
  CAF_CHECK_EQUAL(box->diffs, 1u); // the first listing, once
  CAF_CHECK_GREATER(box->links, 0u);
  auto links = box->links;
  // The pool dies: the new one's events still reach the subscriber, once.
  caf::anon_send_exit(pool(), caf::exit_reason::kill);
  sched.run();
  init_and_proxies();
  CAF_CHECK_GREATER(box->links, links);
  // Every set holds the subscriber at most once: the client's (the pool
  // and supervisors hold only their owners).
  auto with_sub = subscriber_set::live_entries();
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), with_sub - 1);
  CAF_CHECK_GREATER_OR_EQUAL(with_sub - 1, base);
}

CAF_TEST(unsubscribe stops the events) {
  srv->tools = {make_tool("echo")};
  start(make_config());
  auto box = std::make_shared<inbox>();
  auto sub = sys.spawn([box](caf::event_based_actor*) -> caf::behavior {
    return {[box](link_atom, link_status&) { ++box->links; },
            [box](tools_diff_atom, std::string&, tools_diff&) {
              ++box->diffs;
            },
            [](log_atom, std::string&, logging_message_params&) {}};
  });
  caf::anon_send(c, caf::subscribe_atom::value, sub);
  sched.run();
  caf::anon_send(c, caf::unsubscribe_atom::value, sub);
  sched.run();
  init_and_proxies();
  CAF_CHECK_EQUAL(box->links, 0u);
  CAF_CHECK_EQUAL(box->diffs, 0u);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

CAF_TEST(calls in flight beyond the pool bound fail with queue_full) {
  start([&] {
    auto cc = make_config();
    cc.pool.max_in_flight = 2;
    return cc;
  }());
  auto a = ask<call_tool_result>(c, call_atom::value, std::string{"hold"},
                                 std::string{"{}"}, call_options{});
  auto b = ask<call_tool_result>(c, call_atom::value, std::string{"hold"},
                                 std::string{"{}"}, call_options{});
  auto x = ask<call_tool_result>(c, call_atom::value, std::string{"hold"},
                                 std::string{"{}"}, call_options{});
  CAF_CHECK(!a->done);
  CAF_CHECK(!b->done);
  CAF_REQUIRE(x->done);
  CAF_CHECK(has_code(x->err, mcp_errc::queue_full));
}

CAF_TEST_FIXTURE_SCOPE_END()
