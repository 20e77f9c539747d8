#define CAF_SUITE client
#include "caf/test/unit_test.hpp"

// dsl.hpp calls FAIL(), which CAF 0.17.6's unit_test.hpp does not define.
#ifndef FAIL
#  define FAIL(msg) CAF_FAIL(msg)
#endif
#include "caf/test/dsl.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "unit/actor_test.hpp"
#include "caf_mcp/actors/bearer_token_middleware.hpp"
#include "caf_mcp/actors/builtin_middlewares.hpp"
#include "caf_mcp/actors/cache_middleware.hpp"
#include "caf_mcp/actors/headers_middleware.hpp"
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


/// A middleware made of lambdas, recording what it saw in `trace`.
struct lambda_mw : middleware {
  using fn = std::function<void(const mw_context&, mw_request, mw_next,
                                mw_done)>;
  std::string id;
  fn body;
  std::vector<std::string> changed; // servers told on_tools_changed
  lambda_mw(std::string name_, fn body_)
    : id(std::move(name_)), body(std::move(body_)) {
  }
  std::string_view name() const noexcept override {
    return id;
  }
  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override {
    body(ctx, std::move(req), std::move(next), std::move(done));
  }
  void on_tools_changed(std::string_view server) override {
    changed.emplace_back(server);
  }
};

/// A middleware that logs "ID>" on the way in and "<ID" on the way out and
/// appends ID to the arguments' "path" member.
std::shared_ptr<lambda_mw> tracer(const std::string& id,
                                  std::shared_ptr<std::vector<std::string>> trace) {
  return std::make_shared<lambda_mw>(
    id, [id, trace](const mw_context&, mw_request req, mw_next next,
                    mw_done done) {
      trace->push_back(id + ">");
      // {"path":"x"} -> {"path":"xID"}
      auto pos = req.args.rfind('"');
      req.args.insert(pos, id);
      next(std::move(req), [id, trace, done](mw_outcome out) {
        trace->push_back("<" + id);
        done(std::move(out));
      });
    });
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

CAF_TEST(a tool list makes no proxy actor until somebody asks for them) {
  srv->tools = {make_tool("a"), make_tool("b"), make_tool("c")};
  start(make_config());
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools->done);
  CAF_REQUIRE_EQUAL(tools->value.size(), 3u);
  auto before = sys.registry().running();
  auto hs = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs->done);
  CAF_CHECK_EQUAL(hs->value.size(), 3u);
  // Three proxies now; the listing itself made none.
  CAF_CHECK_EQUAL(sys.registry().running(), before + 3);
  // Asking again makes no more.
  auto hs2 = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs2->done);
  CAF_CHECK_EQUAL(sys.registry().running(), before + 3);
  CAF_CHECK_EQUAL(proxy_of(hs2->value, "b"), proxy_of(hs->value, "b"));
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
  // client_actor does not list these inputs; a dynamically typed handle
  // reaches the actor anyway, so the client checks the sender.
  auto any = caf::actor_cast<caf::actor>(c);
  caf::anon_send(any, tools_diff_atom::value, std::string{"fake"}, forged);
  caf::anon_send(any, tools_changed_atom::value, std::string{"fake"},
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


CAF_TEST(middlewares run in order around the call and may change it) {
  srv->tools = {make_tool("echo")};
  auto trace = std::make_shared<std::vector<std::string>>();
  auto cc = make_config();
  cc.middlewares = {tracer("a", trace), tracer("b", trace)};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{R"({"path":"x"})"},
                                 call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  // a saw the request first, b last; the server got both changes.
  CAF_CHECK_EQUAL(joined_text(r->value), R"({"path":"xab"})");
  std::vector<std::string> want{"a>", "b>", "<b", "<a"};
  CAF_CHECK_EQUAL(*trace, want);
  CAF_REQUIRE_EQUAL(srv->executed.size(), 1u);
  CAF_CHECK_EQUAL(std::get<2>(srv->executed[0]), R"({"path":"xab"})");
}

CAF_TEST(what middlewares attach reaches the caller as client_meta) {
  srv->tools = {make_tool("echo")};
  auto stamp = [](std::string key, std::string value) {
    return std::make_shared<lambda_mw>(
      key, [key, value](const mw_context&, mw_request req, mw_next next,
                        mw_done done) {
        next(std::move(req), [key, value, done](mw_outcome out) {
          out.meta[key] = value;
          done(std::move(out));
        });
      });
  };
  auto cc = make_config();
  cc.middlewares = {stamp("outer", "1"), stamp("inner", "2")};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  std::map<std::string, std::string> want{{"inner", "2"}, {"outer", "1"}};
  CAF_CHECK_EQUAL(r->value.client_meta, want);
  // A result's MCP content decides equality, not what middlewares said.
  auto plain = r->value;
  plain.client_meta.clear();
  CAF_CHECK(plain == r->value);
}

CAF_TEST(a tools list asked of the client runs through the chain) {
  srv->tools = {make_tool("echo"), make_tool("b")};
  auto seen = std::make_shared<std::vector<std::string>>();
  auto cc = make_config();
  cc.middlewares = {std::make_shared<lambda_mw>(
    "spy", [seen](const mw_context&, mw_request req, mw_next next,
                  mw_done done) {
      seen->push_back(req.method + " " + req.server + " [" + req.tool + "]");
      next(std::move(req), [seen, done](mw_outcome out) {
        seen->push_back("tools " + std::to_string(out.tools.size()));
        done(std::move(out));
      });
    })};
  start(std::move(cc));
  auto r = ask<std::vector<tool>>(c, list_atom::value);
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_CHECK_EQUAL(r->value.size(), 2u);
  std::vector<std::string> want{"tools/list fake []", "tools 2"};
  CAF_CHECK_EQUAL(*seen, want);
  // The listing updated the client's tools: proxies for both.
  auto hs = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs->done);
  CAF_CHECK_EQUAL(hs->value.size(), 2u);
}

CAF_TEST(a middleware may refuse a tools list with a code) {
  srv->tools = {make_tool("echo")};
  auto cc = make_config();
  cc.middlewares = {std::make_shared<lambda_mw>(
    "deny", [](const mw_context&, mw_request, mw_next, mw_done done) {
      done(mw_outcome{caf::make_error(mcp_errc::forbidden, "no listing")});
    })};
  start(std::move(cc));
  auto r = ask<std::vector<tool>>(c, list_atom::value);
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::forbidden));
}

CAF_TEST(a middleware may answer without calling the next one) {
  srv->tools = {make_tool("echo")};
  auto trace = std::make_shared<std::vector<std::string>>();
  auto cc = make_config();
  auto shortcut = std::make_shared<lambda_mw>(
    "shortcut", [](const mw_context&, mw_request req, mw_next, mw_done done) {
      done(mw_outcome{text_result("answered by the middleware: " + req.tool),
                      {}});
    });
  cc.middlewares = {shortcut, tracer("never", trace)};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_CHECK_EQUAL(joined_text(r->value), "answered by the middleware: echo");
  CAF_CHECK(trace->empty());
  CAF_CHECK(srv->executed.empty());
  // A refusal with a code is an answer too.
  auto refuse = std::make_shared<lambda_mw>(
    "refuse", [](const mw_context&, mw_request, mw_next, mw_done done) {
      done(mw_outcome{caf::make_error(mcp_errc::forbidden, "not this tool"),
                      {}});
    });
  auto cc2 = make_config();
  cc2.middlewares = {refuse};
  auto c2 = sys.spawn(client, std::move(cc2));
  sched.run();
  auto r2 = ask<call_tool_result>(c2, call_atom::value, std::string{"echo"},
                                  std::string{"{}"}, call_options{});
  CAF_REQUIRE(r2->done);
  CAF_CHECK(has_code(r2->err, mcp_errc::forbidden));
  CAF_CHECK(srv->executed.empty());
  caf::anon_send_exit(c2, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(a middleware may ask an actor before it passes the call on) {
  srv->tools = {make_tool("echo")};
  // A token provider: an actor answering get_atom with a fresh token.
  auto provider = sys.spawn([]() -> caf::behavior {
    return {[](caf::get_atom) { return std::string{"tok-1"}; }};
  });
  auto cc = make_config();
  auto asker = std::make_shared<lambda_mw>(
    "asker", [provider](const mw_context& ctx, mw_request req, mw_next next,
                        mw_done done) {
      ctx.self->request(provider, caf::infinite, caf::get_atom::value)
        .then(
          [req, next, done](std::string& token) mutable {
            req.args = R"({"token":")" + token + R"("})";
            next(std::move(req), std::move(done));
          },
          [done](caf::error& err) { done(mw_outcome{std::move(err), {}}); });
    });
  cc.middlewares = {asker};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_CHECK_EQUAL(joined_text(r->value), R"({"token":"tok-1"})");
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(an exception in a middleware fails that call only) {
  srv->tools = {make_tool("echo")};
  auto throws = std::make_shared<bool>(true);
  auto cc = make_config();
  auto bomb = std::make_shared<lambda_mw>(
    "bomb", [throws](const mw_context&, mw_request req, mw_next next,
                     mw_done done) {
      if (*throws)
        throw std::runtime_error("boom");
      next(std::move(req), std::move(done));
    });
  cc.middlewares = {bomb};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(r->err);
  CAF_CHECK(has_code(r->err, mcp_errc::middleware_failed));
  CAF_CHECK(to_string(r->err).find("bomb") != std::string::npos);
  CAF_CHECK(to_string(r->err).find("boom") != std::string::npos);
  CAF_CHECK(srv->executed.empty());
  // The client lives on and the next call goes through.
  *throws = false;
  auto again = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                     std::string{R"({"n":2})"},
                                     call_options{});
  CAF_REQUIRE(again->done);
  CAF_CHECK(!again->err);
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
}

CAF_TEST(a middleware may change the outcome and done counts once) {
  srv->tools = {make_tool("echo")};
  auto cc = make_config();
  auto rewrite = std::make_shared<lambda_mw>(
    "rewrite", [](const mw_context&, mw_request req, mw_next next,
                  mw_done done) {
      next(std::move(req), [done](mw_outcome out) {
        // An error on the way back turns into a result, twice: the second
        // done is ignored.
        CAF_CHECK(!out.value);
        done(mw_outcome{text_result("recovered"), {}});
        done(mw_outcome{text_result("second"), {}});
      });
    });
  auto failing = std::make_shared<lambda_mw>(
    "failing", [](const mw_context&, mw_request, mw_next, mw_done done) {
      done(mw_outcome{caf::make_error(mcp_errc::timeout, "late"), {}});
    });
  cc.middlewares = {rewrite, failing};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_CHECK_EQUAL(joined_text(r->value), "recovered");
}

CAF_TEST(tool proxies call through the chain and middlewares hear tool changes) {
  srv->tools = {make_tool("echo")};
  auto trace = std::make_shared<std::vector<std::string>>();
  auto cc = make_config();
  auto mw = tracer("t", trace);
  cc.middlewares = {mw};
  start(std::move(cc));
  auto hs = init_and_proxies();
  auto r = call_via(proxy_of(hs, "echo"), R"({"path":""})");
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_CHECK_EQUAL(joined_text(r->value), R"({"path":"t"})");
  // A new session (the pool dies and a new one starts) tells the chain.
  auto told = mw->changed.size();
  caf::anon_send_exit(pool(), caf::exit_reason::kill);
  sched.run();
  srv->tools = {make_tool("echo"), make_tool("add")};
  auto again = call_via(proxy_of(hs, "echo"), R"({"path":""})");
  CAF_REQUIRE(again->done);
  auto hs2 = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(hs2->done);
  CAF_CHECK_EQUAL(hs2->value.size(), 2u);
  CAF_CHECK_GREATER(mw->changed.size(), told);
  if (!mw->changed.empty())
    CAF_CHECK_EQUAL(mw->changed.back(), "fake");
}

CAF_TEST(the cache answers an identical call within its TTL without the server) {
  srv->tools = {make_tool("echo")};
  auto now = std::make_shared<result_cache::time_point>();
  auto cc = make_config();
  result_cache_config rc;
  rc.ttl = 30s;
  auto cache = std::make_shared<cache_middleware>(rc, [now] { return *now; });
  cc.middlewares = {cache};
  start(std::move(cc));
  init_and_proxies();
  auto call = [&](const std::string& args) {
    auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                   args, call_options{});
    CAF_REQUIRE(r->done);
    CAF_REQUIRE(!r->err);
    return joined_text(r->value);
  };
  CAF_CHECK_EQUAL(call(R"({"a":1,"b":[1,2]})"), R"({"a":1,"b":[1,2]})");
  // Key order and whitespace do not matter: a hit, the server ran once.
  CAF_CHECK_EQUAL(call(R"({ "b" : [1, 2], "a" : 1 })"), R"({"a":1,"b":[1,2]})");
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
  CAF_CHECK_EQUAL(cache->stats("fake").hits, 1u);
  CAF_CHECK_EQUAL(cache->stats("fake").misses, 1u);
  // Other arguments: the server runs.
  call(R"({"a":2})");
  CAF_CHECK_EQUAL(srv->executed.size(), 2u);
  // After the TTL: the server runs again.
  *now += 31s;
  call(R"({"a":1,"b":[1,2]})");
  CAF_CHECK_EQUAL(srv->executed.size(), 3u);
  // A new session (the pool dies) empties the cache for the server.
  call(R"({"a":1,"b":[1,2]})");
  CAF_CHECK_EQUAL(srv->executed.size(), 3u);
  caf::anon_send_exit(pool(), caf::exit_reason::kill);
  sched.run();
  call(R"({"a":1,"b":[1,2]})"); // a new pool, a new session: the server runs
  CAF_CHECK_EQUAL(srv->executed.size(), 4u);
  auto after_new_session = srv->executed.size();
  call(R"({"a":1,"b":[1,2]})");
  call(R"({"a":1,"b":[1,2]})");
  // At most once more (a first tool list of the new session arriving while
  // the first call was in flight keeps that result out), then cached.
  CAF_CHECK_LESS_OR_EQUAL(srv->executed.size(), after_new_session + 1);
  auto settled = srv->executed.size();
  call(R"({"a":1,"b":[1,2]})");
  CAF_CHECK_EQUAL(srv->executed.size(), settled);
}

CAF_TEST(the cache keeps no isError result and no uncached tool) {
  srv->tools = {make_tool("echo"), make_tool("other")};
  auto cc = make_config();
  result_cache_config rc;
  rc.tools = std::vector<std::string>{"echo"};
  auto cache = std::make_shared<cache_middleware>(rc);
  // Behind the cache: results of {"bad":true} become isError.
  auto marker = std::make_shared<lambda_mw>(
    "marker", [](const mw_context&, mw_request req, mw_next next,
                 mw_done done) {
      bool bad = req.args.find("bad") != std::string::npos;
      next(std::move(req), [bad, done](mw_outcome out) {
        if (bad && out.value)
          out.value->is_error = true;
        done(std::move(out));
      });
    });
  cc.middlewares = {cache, marker};
  start(std::move(cc));
  auto call = [&](const std::string& tool, const std::string& args) {
    auto r = ask<call_tool_result>(c, call_atom::value, tool, args,
                                   call_options{});
    CAF_REQUIRE(r->done);
    CAF_REQUIRE(!r->err);
  };
  call("echo", R"({"bad":true})");
  call("echo", R"({"bad":true})");
  CAF_CHECK_EQUAL(srv->executed.size(), 2u); // isError: never stored
  call("other", "{}");
  call("other", "{}");
  CAF_CHECK_EQUAL(srv->executed.size(), 4u); // not in "tools"
  call("echo", "{}");
  call("echo", "{}");
  CAF_CHECK_EQUAL(srv->executed.size(), 5u); // cached
}

CAF_TEST(sixteen identical calls in flight share one upstream call) {
  srv->tools = {make_tool("hold")};
  auto cc = make_config();
  auto cache = std::make_shared<cache_middleware>(result_cache_config{});
  cc.middlewares = {cache};
  start(std::move(cc));
  // The session and its first tool list first: a tool list arriving while
  // the calls are in flight would (rightly) keep their result out.
  init_and_proxies();
  std::vector<std::shared_ptr<outcome<call_tool_result>>> calls;
  for (int i = 0; i < 16; ++i)
    calls.push_back(ask<call_tool_result>(c, call_atom::value,
                                          std::string{"hold"},
                                          std::string{R"({"k":1})"},
                                          call_options{}));
  sched.run();
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
  for (auto& x : calls)
    CAF_CHECK(!x->done);
  CAF_REQUIRE(!srv->sessions.empty());
  caf::anon_send(srv->sessions.back(), control_atom::value,
                 int64_t{answer_all});
  sched.run();
  size_t answered = 0;
  for (auto& x : calls)
    if (x->done && !x->err && joined_text(x->value) == "held")
      ++answered;
  CAF_CHECK_EQUAL(answered, 16u);
  CAF_CHECK_EQUAL(cache->stats("fake").joined, 15u);
  // The result is now cached: a 17th call does not reach the server.
  auto more = ask<call_tool_result>(c, call_atom::value, std::string{"hold"},
                                    std::string{R"({"k":1})"}, call_options{});
  CAF_REQUIRE(more->done);
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
}

CAF_TEST(the headers middleware sets static and hooked headers on each call) {
  srv->tools = {make_tool("echo")};
  auto cc = make_config();
  cc.middlewares = {std::make_shared<headers_middleware>(
    header_pairs{{"X-A", "b"}, {"X-Tenant", "static"}},
    [](const mw_request& req, header_pairs& hs) {
      set_header(hs, "x-tenant", "per-" + req.tool);
    })};
  start(std::move(cc));
  call_options opts;
  opts.headers = {{"X-Caller", "c"}, {"x-a", "replaced"}};
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, opts);
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  CAF_REQUIRE_EQUAL(srv->call_headers.size(), 1u);
  header_pairs want{{"X-Caller", "c"}, {"X-A", "b"}, {"x-tenant", "per-echo"}};
  CAF_CHECK_EQUAL(srv->call_headers[0], want);
}

CAF_TEST(a bad header from the headers middleware fails that call with a code) {
  srv->tools = {make_tool("echo")};
  auto cc = make_config();
  cc.middlewares = {std::make_shared<headers_middleware>(
    header_pairs{}, [](const mw_request& req, header_pairs& hs) {
      if (req.args == "{\"bad\":1}")
        hs.emplace_back("X-Bad", "secret\r\nInjected: 1");
    })};
  start(std::move(cc));
  auto bad = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                   std::string{"{\"bad\":1}"}, call_options{});
  CAF_REQUIRE(bad->done);
  CAF_CHECK(has_code(bad->err, mcp_errc::invalid_argument));
  // The header is named, its value never shown.
  CAF_CHECK(render(bad->err).find("X-Bad") != std::string::npos);
  CAF_CHECK(render(bad->err).find("secret") == std::string::npos);
  CAF_CHECK(srv->executed.empty());
  auto good = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                    std::string{"{}"}, call_options{});
  CAF_REQUIRE(good->done);
  CAF_CHECK(!good->err);
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
}

namespace {

/// A token provider actor: answers get_atom with *token and counts asks.
caf::behavior token_actor(caf::event_based_actor*,
                          std::shared_ptr<std::string> token,
                          std::shared_ptr<int> asks) {
  return {[token, asks](caf::get_atom) {
    ++*asks;
    return *token;
  }};
}

} // namespace

CAF_TEST(bearer_token refreshes once after a 401 and the call runs once) {
  srv->tools = {make_tool("echo")};
  srv->required_token = "t1";
  auto token = std::make_shared<std::string>("t1");
  auto asks = std::make_shared<int>(0);
  auto provider = sys.spawn(token_actor, token, asks);
  bearer_token_config bc;
  bc.provider = provider;
  auto mw = std::make_shared<bearer_token_middleware>(bc);
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  auto r1 = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                  std::string{"{}"}, call_options{});
  CAF_REQUIRE(r1->done);
  CAF_REQUIRE(!r1->err);
  CAF_CHECK_EQUAL(*asks, 1);
  // The server rotates its token: the next call gets a 401, the middleware
  // asks once more and sends the call again; the server ran it once.
  srv->required_token = "t2";
  *token = "t2";
  auto r2 = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                  std::string{"{\"n\":2}"}, call_options{});
  CAF_REQUIRE(r2->done);
  CAF_REQUIRE(!r2->err);
  CAF_CHECK_EQUAL(*asks, 2);
  CAF_CHECK_EQUAL(srv->executed.size(), 2u);
  CAF_REQUIRE_EQUAL(srv->call_headers.size(), 3u);
  header_pairs want{{"Authorization", "Bearer t2"}};
  CAF_CHECK_EQUAL(srv->call_headers[2], want);
  // The same token on the next call: no more asks.
  auto r3 = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                  std::string{"{}"}, call_options{});
  CAF_REQUIRE(r3->done);
  CAF_CHECK(!r3->err);
  CAF_CHECK_EQUAL(*asks, 2);
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(a stale token after a refresh is unauthorized after exactly one retry) {
  srv->tools = {make_tool("echo")};
  srv->required_token = "fresh";
  auto token = std::make_shared<std::string>("stale");
  auto asks = std::make_shared<int>(0);
  auto provider = sys.spawn(token_actor, token, asks);
  bearer_token_config bc;
  bc.provider = provider;
  auto cc = make_config();
  cc.middlewares = {std::make_shared<bearer_token_middleware>(bc)};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::unauthorized));
  CAF_CHECK(render(r->err).find("stale") == std::string::npos);
  CAF_CHECK_EQUAL(srv->call_headers.size(), 2u); // the call and one retry
  CAF_CHECK_EQUAL(*asks, 2);                     // first token, one refresh
  CAF_CHECK(srv->executed.empty());
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(an empty token from the provider fails the call with a code) {
  srv->tools = {make_tool("echo")};
  auto token = std::make_shared<std::string>("  \n");
  auto asks = std::make_shared<int>(0);
  auto provider = sys.spawn(token_actor, token, asks);
  bearer_token_config bc;
  bc.provider = provider;
  auto cc = make_config();
  cc.middlewares = {std::make_shared<bearer_token_middleware>(bc)};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::middleware_failed));
  CAF_CHECK(srv->executed.empty());
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(bearer_token answers a session that asked during the prefetch) {
  // The fetch blocks (on its own thread) until the test releases it; a
  // session asking meanwhile is answered by the prefetch thread when it
  // ends, with the token: nobody waits on a thread of an actor.
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  bearer_token_config bc;
  bc.fetch = [released]() -> caf::expected<std::string> {
    if (released.wait_for(std::chrono::seconds{10})
        != std::future_status::ready)
      return caf::make_error(mcp_errc::timeout, "test: never released");
    return std::string{"t-prefetched"};
  };
  auto mw = std::make_shared<bearer_token_middleware>(bc);
  session_config sc;
  mw->configure_session(sc);
  CAF_REQUIRE(sc.async_header_provider);
  struct box {
    std::mutex mtx;
    std::condition_variable cv;
    bool answered = false;
    header_pairs hs;
  };
  auto b = std::make_shared<box>();
  sc.async_header_provider([b](header_pairs hs) {
    std::lock_guard<std::mutex> guard{b->mtx};
    b->hs = std::move(hs);
    b->answered = true;
    b->cv.notify_all();
  });
  {
    std::lock_guard<std::mutex> guard{b->mtx};
    CAF_CHECK(!b->answered);
  }
  release->set_value();
  std::unique_lock<std::mutex> guard{b->mtx};
  CAF_REQUIRE(b->cv.wait_for(guard, std::chrono::seconds{10},
                             [&b] { return b->answered; }));
  header_pairs want{{"Authorization", "Bearer t-prefetched"}};
  CAF_CHECK_EQUAL(b->hs, want);
  CAF_CHECK_EQUAL(mw->fetches(), 1u);
}

CAF_TEST(bearer_token gives each new session the current token) {
  srv->tools = {make_tool("echo")};
  auto token = std::make_shared<std::string>("t1");
  auto asks = std::make_shared<int>(0);
  auto provider = sys.spawn(token_actor, token, asks);
  bearer_token_config bc;
  bc.provider = provider;
  auto mw = std::make_shared<bearer_token_middleware>(bc);
  session_config sc;
  sc.http.headers = {{"authorization", "Bearer old"}, {"X-Keep", "k"}};
  mw->configure_session(sc);
  CAF_REQUIRE(sc.async_header_provider);
  // Asks the session's asynchronous provider; the answer is synchronous
  // here (an actor provider has no prefetch to wait for).
  auto provided = [&sc] {
    auto out = std::make_shared<header_pairs>();
    auto answered = std::make_shared<bool>(false);
    sc.async_header_provider([out, answered](header_pairs hs) {
      *out = std::move(hs);
      *answered = true;
    });
    CAF_CHECK(*answered);
    return *out;
  };
  // No token yet: the configured headers stay.
  CAF_CHECK_EQUAL(provided().size(), 0u);
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{"{}"}, call_options{});
  CAF_REQUIRE(r->done);
  CAF_REQUIRE(!r->err);
  header_pairs want{{"Authorization", "Bearer t1"}};
  CAF_CHECK_EQUAL(provided(), want);
  caf::anon_send_exit(provider, caf::exit_reason::user_shutdown);
  sched.run();
}

// -- retry middleware ---------------------------------------------------------

namespace {

retry_middleware_config retry_cfg(size_t attempts) {
  retry_middleware_config rc;
  rc.max_attempts = attempts;
  rc.backoff.base = 200ms;
  rc.backoff.factor = 2.0;
  rc.backoff.cap = 1s;
  rc.backoff.jitter = transport::jitter_mode::none;
  return rc;
}

tool idempotent_tool(const std::string& name) {
  auto t = make_tool(name);
  t.annotations = R"({"idempotentHint":true})";
  return t;
}

caf::error lost_response() {
  return caf::make_error(mcp_errc::outcome_unknown,
                         "POST broke after it was written");
}

} // namespace

CAF_TEST(retry never sends again a call that may have run on a plain tool) {
  srv->tools = {make_tool("write")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  srv->call_faults.push_back({lost_response(), true});
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"write"},
                                 std::string{"{}"}, call_options{});
  sched.advance_time(10s);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::outcome_unknown));
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
  CAF_CHECK_EQUAL(mw->retries(), 0u);
}

CAF_TEST(retry sends an idempotent tool again after the backoff delay) {
  srv->tools = {idempotent_tool("read")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  srv->call_faults.push_back({lost_response(), true});
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"read"},
                                 std::string{"{}"}, call_options{});
  CAF_CHECK(!r->done);
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
  sched.advance_time(199ms);
  sched.run();
  CAF_CHECK(!r->done); // not before the backoff base
  sched.advance_time(1ms);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->err);
  CAF_CHECK_EQUAL(srv->executed.size(), 2u);
  CAF_CHECK_EQUAL(mw->retries(), 1u);
}

CAF_TEST(retry sends a call the caller marked retryable again) {
  srv->tools = {make_tool("write")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  // Twice: the supervisor sends a retryable call with a lost response
  // once more itself; the second loss reaches the middleware.
  srv->call_faults.push_back({lost_response(), true});
  srv->call_faults.push_back({lost_response(), true});
  call_options opts;
  opts.retryable = true;
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"write"},
                                 std::string{"{}"}, opts);
  for (int i = 0; i < 20 && !r->done; ++i) {
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->err);
  CAF_CHECK_EQUAL(srv->executed.size(), 3u);
  CAF_CHECK_EQUAL(mw->retries(), 1u);
}

CAF_TEST(retry sends a call that never ran again after the Retry-After) {
  srv->tools = {make_tool("write")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  // A 503 whose Retry-After (5 s) lies beyond the call's deadline (1 s):
  // the supervisor gives it back at once; the server never ran it.
  srv->call_faults.push_back(
    {caf::make_error(mcp_errc::service_unavailable, "POST -> 503",
                     std::string{"5"}),
     false});
  call_options opts;
  opts.timeout = 1s;
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"write"},
                                 std::string{"{}"}, opts);
  CAF_CHECK(!r->done);
  CAF_CHECK_EQUAL(srv->executed.size(), 0u);
  sched.advance_time(4900ms);
  sched.run();
  CAF_CHECK(!r->done); // the Retry-After is a floor
  sched.advance_time(100ms);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(!r->err);
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
}

CAF_TEST(retry stops after max_attempts with the last error) {
  srv->tools = {idempotent_tool("read")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  for (int i = 0; i < 4; ++i)
    srv->call_faults.push_back({lost_response(), true});
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"read"},
                                 std::string{"{}"}, call_options{});
  for (int i = 0; i < 50 && !r->done; ++i) {
    sched.advance_time(100ms);
    sched.run();
  }
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::outcome_unknown));
  CAF_CHECK_EQUAL(srv->executed.size(), 3u);
  CAF_CHECK_EQUAL(srv->call_faults.size(), 1u);
  CAF_CHECK_EQUAL(mw->retries(), 2u);
}

CAF_TEST(retry never retries errors that repeat) {
  srv->tools = {idempotent_tool("read")};
  auto mw = std::make_shared<retry_middleware>(retry_cfg(3));
  auto cc = make_config();
  cc.middlewares = {mw};
  start(std::move(cc));
  init_and_proxies();
  srv->call_faults.push_back(
    {caf::make_error(mcp_errc::jsonrpc_error, "-32602 bad params"), true});
  auto r = ask<call_tool_result>(c, call_atom::value, std::string{"read"},
                                 std::string{"{}"}, call_options{});
  sched.advance_time(10s);
  sched.run();
  CAF_REQUIRE(r->done);
  CAF_CHECK(has_code(r->err, mcp_errc::jsonrpc_error));
  CAF_CHECK_EQUAL(srv->executed.size(), 1u);
  CAF_CHECK_EQUAL(mw->retries(), 0u);
}

CAF_TEST(a retry config without attempts is refused) {
  auto refused = [](const retry_middleware_config& rc) {
    try {
      retry_middleware mw{rc};
      return false;
    } catch (const std::invalid_argument&) {
      return true;
    }
  };
  retry_middleware_config rc;
  CAF_CHECK(!refused(rc));
  rc.max_attempts = 0;
  CAF_CHECK(refused(rc));
  rc.max_attempts = 2;
  rc.backoff.base = 0ms;
  CAF_CHECK(refused(rc));
}

CAF_TEST_FIXTURE_SCOPE_END()
