#define CAF_SUITE health_monitor
#include "caf/test/unit_test.hpp"

// dsl.hpp calls FAIL(), which CAF 0.17.6's unit_test.hpp does not define.
#ifndef FAIL
#  define FAIL(msg) CAF_FAIL(msg)
#endif
#include "caf/test/dsl.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "unit/actor_test.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/actors/health_monitor.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;
using namespace std::chrono_literals;

namespace {

// -- pure rules ---------------------------------------------------------------

CAF_TEST(the judgment follows phase failures in a row and round trip) {
  health_config cfg; // K = 3, slow_rtt = 1 s
  auto judge = [&](link_phase p, uint64_t fails, caf::timespan rtt) {
    return judge_health(p, fails, rtt, cfg);
  };
  CAF_CHECK_EQUAL(judge(link_phase::ready, 0, 0ms), health_state::healthy);
  CAF_CHECK_EQUAL(judge(link_phase::ready, 0, 1s), health_state::healthy);
  CAF_CHECK_EQUAL(judge(link_phase::ready, 0, 1001ms),
                  health_state::degraded);
  CAF_CHECK_EQUAL(judge(link_phase::ready, 1, 10ms), health_state::degraded);
  CAF_CHECK_EQUAL(judge(link_phase::ready, 2, 10ms), health_state::degraded);
  CAF_CHECK_EQUAL(judge(link_phase::ready, 3, 10ms), health_state::down);
  CAF_CHECK_EQUAL(judge(link_phase::connecting, 0, 0ms),
                  health_state::degraded);
  CAF_CHECK_EQUAL(judge(link_phase::backing_off, 0, 0ms),
                  health_state::degraded);
  CAF_CHECK_EQUAL(judge(link_phase::gave_up, 0, 0ms), health_state::down);
  CAF_CHECK_EQUAL(judge(link_phase::closed, 0, 0ms), health_state::down);
  // Without restarts, failures in a row never make a ready link down.
  cfg.failures_before_restart = 0;
  CAF_CHECK_EQUAL(judge(link_phase::ready, 100, 10ms),
                  health_state::degraded);
}

CAF_TEST(srtt takes the first sample and then moves by an eighth) {
  auto s = smooth_rtt(0ns, 80ms, true);
  CAF_CHECK_EQUAL(s, caf::timespan{80ms});
  s = smooth_rtt(s, 160ms, false);
  CAF_CHECK_EQUAL(s, caf::timespan{90ms});
  s = smooth_rtt(s, 0ms, false);
  CAF_CHECK_EQUAL(s, caf::timespan{78750us});
  // Whole nanoseconds, truncated toward zero.
  CAF_CHECK_EQUAL(smooth_rtt(0ns, 15ns, false), caf::timespan{1ns});
}

CAF_TEST(a config needs a positive interval and ping timeout) {
  health_config cfg;
  CAF_CHECK(validate(cfg).empty());
  cfg.interval = 0s;
  CAF_CHECK(!validate(cfg).empty());
  cfg = health_config{};
  cfg.ping_timeout = -1s;
  CAF_CHECK(!validate(cfg).empty());
  cfg = health_config{};
  cfg.slow_rtt = -1ms;
  CAF_CHECK(!validate(cfg).empty());
}

// -- a fake supervisor --------------------------------------------------------

enum class ping_mode {
  /// Answer with `rtt`.
  ok,
  /// Answer with `fail_with`.
  fail,
  /// Never answer (the promise is held).
  hang,
};

/// What a fake supervisor does and what it got; the test drives it.
struct fake_sup_ctl {
  ping_mode mode = ping_mode::ok;
  caf::timespan rtt = 20ms;
  caf::error fail_with = caf::make_error(mcp_errc::connection_lost, "gone");
  size_t pings = 0;
  std::vector<caf::error> restarts;
  std::vector<caf::actor> subscribers;
  link_status status;
  std::vector<caf::typed_response_promise<caf::timespan>> held;
};

using ctl_ptr = std::shared_ptr<fake_sup_ctl>;

/// A supervisor as the tests spawn it: with a lever, (tick_atom, 1).
using fake_supervisor_actor
  = supervisor_actor::extend<caf::reacts_to<tick_atom, uint64_t>>;

fake_supervisor_actor::behavior_type
fake_supervisor(fake_supervisor_actor::pointer self, ctl_ptr ctl) {
  auto nope = [] { return caf::make_error(mcp_errc::closed, "fake"); };
  auto ping = [self, ctl]() -> caf::result<caf::timespan> {
    ++ctl->pings;
    switch (ctl->mode) {
      case ping_mode::ok:
        return ctl->rtt;
      case ping_mode::fail:
        return ctl->fail_with;
      case ping_mode::hang:
        break;
    }
    auto rp = self->make_response_promise<caf::timespan>();
    ctl->held.push_back(rp);
    return rp;
  };
  return {
    [nope](init_atom) -> caf::result<initialize_result> { return nope(); },
    [nope](list_atom) -> caf::result<std::vector<tool>> { return nope(); },
    [nope](list_atom, call_options&) -> caf::result<std::vector<tool>> {
      return nope();
    },
    [nope](call_atom, std::string&, std::string&,
           call_options&) -> caf::result<call_tool_result> { return nope(); },
    [nope](request_atom, std::string&, std::string&,
           call_options&) -> caf::result<std::string> { return nope(); },
    [ping](caf::ping_atom) { return ping(); },
    [ping](caf::ping_atom, call_options&) { return ping(); },
    [ctl](caf::get_atom) -> link_status { return ctl->status; },
    [self, ctl](caf::subscribe_atom, caf::actor& sub) {
      // Like the real one: the current status at once, with itself as the
      // sender; also a tool diff and a log line, which the monitor must
      // survive.
      auto me = caf::actor_cast<caf::actor>(self);
      caf::send_as(me, sub, link_atom::value, ctl->status);
      caf::send_as(me, sub, tools_diff_atom::value, ctl->status.server,
                   tools_diff{});
      caf::send_as(me, sub, log_atom::value, ctl->status.server,
                   logging_message_params{});
      ctl->subscribers.push_back(sub);
    },
    [](retry_atom) {},
    [ctl](restart_atom, caf::error& why) {
      ctl->restarts.push_back(std::move(why));
    },
    [ctl](caf::unsubscribe_atom, caf::actor& sub) {
      auto& subs = ctl->subscribers;
      subs.erase(std::remove(subs.begin(), subs.end(), sub), subs.end());
    },
    [self](caf::close_atom) { self->quit(); },
    // The test's lever: (tick_atom, 1) ends the fake with connection_failed.
    [self](tick_atom, uint64_t code) {
      if (code == 1)
        self->quit(caf::make_error(mcp_errc::connection_failed, "boom"));
    },
  };
}

struct fixture : test_coordinator_fixture<config> {
  health_monitor_actor mon;
  std::map<std::string, ctl_ptr> ctls;
  std::map<std::string, supervisor_actor> sups;
  /// Every fake supervisor spawned (a name watched again has two).
  std::vector<supervisor_actor> all_sups;
  std::vector<caf::actor> helpers;
  int64_t next_ready_ms = 1000;

  void start(health_config hc = {}) {
    mon = sys.spawn(health_monitor, hc);
    sched.run();
  }

  /// Spawns a fake supervisor for `name` in `phase` and asks the monitor to
  /// watch it; `run` processes the messages.
  ctl_ptr add(const std::string& name, link_phase phase = link_phase::ready,
              bool run = true) {
    auto ctl = std::make_shared<fake_sup_ctl>();
    ctl->status.server = "sup-" + name; // the monitor uses the watched name
    ctl->status.phase = phase;
    if (phase == link_phase::ready)
      ctl->status.ready_since_ms = next_ready_ms++;
    supervisor_actor sup = sys.spawn(fake_supervisor, ctl);
    ctls[name] = ctl;
    sups[name] = sup;
    all_sups.push_back(sup);
    caf::anon_send(mon, watch_atom::value, name, sup);
    if (run)
      sched.run();
    return ctl;
  }

  /// The fake supervisor `name` tells its subscribers a new phase.
  void set_phase(const std::string& name, link_phase phase,
                 caf::error last_error = {}) {
    auto& ctl = ctls.at(name);
    ctl->status.phase = phase;
    ctl->status.last_error = std::move(last_error);
    if (phase == link_phase::ready) {
      ctl->status.ready_since_ms = next_ready_ms++;
      ++ctl->status.reconnects;
    } else {
      ctl->status.ready_since_ms = 0;
    }
    auto me = caf::actor_cast<caf::actor>(sups.at(name));
    for (auto& sub : ctl->subscribers)
      caf::send_as(me, sub, link_atom::value, ctl->status);
    sched.run();
  }

  template <class T, class... Ts>
  std::shared_ptr<outcome<T>> ask(Ts... xs) {
    return ask_via_helper<T>(*this, mon, xs...);
  }

  /// Subscribes a listener to the monitor; returns what it receives.
  std::shared_ptr<std::vector<health_snapshot>> listen() {
    auto got = std::make_shared<std::vector<health_snapshot>>();
    auto listener = sys.spawn([got](caf::event_based_actor*) -> caf::behavior {
      return {
        [got](health_atom, health_snapshot& s) { got->push_back(s); },
      };
    });
    helpers.push_back(listener);
    caf::anon_send(mon, caf::subscribe_atom::value, listener);
    sched.run();
    return got;
  }

  health_snapshot snapshot(const std::string& name) {
    auto res = ask<health_snapshot>(health_atom::value, name);
    CAF_REQUIRE(res->done);
    CAF_REQUIRE(!res->err);
    return res->value;
  }

  void wait(caf::timespan d) {
    advance_time(d);
    sched.run();
  }

  ~fixture() override {
    if (mon)
      caf::anon_send_exit(mon, caf::exit_reason::user_shutdown);
    for (auto& sup : all_sups)
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    for (auto& h : helpers)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(health_monitor_tests, fixture)

CAF_TEST(no ping before the interval then one per interval while ready) {
  start();
  auto a = add("a");
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::healthy);
  wait(15s - 1ms);
  CAF_CHECK_EQUAL(a->pings, 0u);
  CAF_CHECK_EQUAL(snapshot("a").pings_sent, 0u);
  wait(1ms);
  CAF_CHECK_EQUAL(a->pings, 1u);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 2u);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.pings_sent, 2u);
  CAF_CHECK_EQUAL(s.messages, 2u);
  CAF_CHECK_EQUAL(s.pings_failed, 0u);
}

CAF_TEST(a tick from anybody else starts no second timer) {
  start();
  auto a = add("a");
  auto entries = sched.clock().schedule().size();
  // A forged tick with the monitor's timer id, from outside.
  // health_monitor_actor does not list the tick; a dynamically typed
  // handle reaches the actor anyway, so the monitor checks the sender.
  caf::anon_send(caf::actor_cast<caf::actor>(mon), tick_atom::value,
                 uint64_t{1});
  sched.run();
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), entries);
  CAF_CHECK_EQUAL(a->pings, 0u); // and it pinged nobody
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 2u); // one chain: one ping per interval
}

CAF_TEST(servers that are not ready are not pinged) {
  start();
  auto a = add("a");
  auto b = add("b", link_phase::connecting);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  CAF_CHECK_EQUAL(b->pings, 0u);
  set_phase("b", link_phase::backing_off);
  set_phase("a", link_phase::gave_up);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  CAF_CHECK_EQUAL(b->pings, 0u);
  set_phase("b", link_phase::ready);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  CAF_CHECK_EQUAL(b->pings, 1u);
}

CAF_TEST(round trips are recorded and smoothed exactly) {
  start();
  auto a = add("a");
  a->rtt = 80ms;
  wait(15s);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.rtt_last, caf::timespan{80ms});
  CAF_CHECK_EQUAL(s.rtt_smoothed, caf::timespan{80ms});
  CAF_CHECK(s.last_activity_ms > 0);
  a->rtt = 160ms;
  wait(15s);
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.rtt_last, caf::timespan{160ms});
  CAF_CHECK_EQUAL(s.rtt_smoothed, caf::timespan{90ms});
  a->rtt = 0ms;
  wait(15s);
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.rtt_last, caf::timespan{0ms});
  CAF_CHECK_EQUAL(s.rtt_smoothed, caf::timespan{78750us});
  CAF_CHECK_EQUAL(s.messages, 3u);
  CAF_CHECK_EQUAL(s.state, health_state::healthy);
}

CAF_TEST(a slow round trip degrades and a fast one heals) {
  start();
  auto a = add("a");
  a->rtt = 1500ms;
  wait(15s);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::degraded);
  a->rtt = 1s; // not above slow_rtt
  wait(15s);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::healthy);
}

CAF_TEST(k failed pings ask for exactly one restart with the timeout code) {
  start();
  auto a = add("a");
  a->mode = ping_mode::fail;
  wait(15s);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::degraded);
  CAF_CHECK_EQUAL(s.consecutive_failures, 1u);
  CAF_CHECK(has_code(s.last_error, mcp_errc::connection_lost));
  wait(15s);
  CAF_CHECK_EQUAL(a->restarts.size(), 0u);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::degraded);
  wait(15s);
  CAF_REQUIRE_EQUAL(a->restarts.size(), 1u);
  CAF_CHECK(has_code(a->restarts[0], mcp_errc::timeout));
  auto why = render(a->restarts[0]);
  CAF_CHECK(why.find("3 pings in a row failed") != std::string::npos);
  CAF_CHECK(why.find("gone") != std::string::npos);
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::down);
  CAF_CHECK_EQUAL(s.consecutive_failures, 3u);
  CAF_CHECK_EQUAL(s.pings_failed, 3u);
  CAF_CHECK_EQUAL(s.errors, 3u);
  // The fake ignores the restart: the next request comes after K more.
  wait(15s);
  wait(15s);
  CAF_CHECK_EQUAL(a->restarts.size(), 1u);
  wait(15s);
  CAF_CHECK_EQUAL(a->restarts.size(), 2u);
  // One answered ping heals it.
  a->mode = ping_mode::ok;
  wait(15s);
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::healthy);
  CAF_CHECK_EQUAL(s.consecutive_failures, 0u);
  CAF_CHECK_EQUAL(s.pings_sent, 7u);
  CAF_CHECK_EQUAL(s.messages, 1u);
}

CAF_TEST(an unanswered ping fails after ping_timeout and counts) {
  start();
  auto a = add("a");
  a->mode = ping_mode::hang;
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  wait(5s - 1ms);
  CAF_CHECK_EQUAL(snapshot("a").pings_failed, 0u);
  wait(1ms);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.pings_failed, 1u);
  CAF_CHECK(has_code(s.last_error, mcp_errc::timeout));
  CAF_CHECK_EQUAL(s.state, health_state::degraded);
  wait(10s); // second ping
  wait(15s); // second timeout, third ping
  wait(5s);  // third timeout
  CAF_CHECK_EQUAL(a->pings, 3u);
  CAF_REQUIRE_EQUAL(a->restarts.size(), 1u);
  CAF_CHECK(has_code(a->restarts[0], mcp_errc::timeout));
}

CAF_TEST(at most one ping per server is in flight) {
  health_config hc;
  hc.ping_timeout = 40s; // longer than two intervals
  start(hc);
  auto a = add("a");
  a->mode = ping_mode::hang;
  wait(15s);
  wait(15s);
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 1u);
  CAF_CHECK_EQUAL(snapshot("a").pings_sent, 1u);
  wait(10s); // timeout at 55 s
  CAF_CHECK_EQUAL(snapshot("a").pings_failed, 1u);
  wait(5s); // tick at 60 s
  CAF_CHECK_EQUAL(a->pings, 2u);
}

CAF_TEST(the link phase drives healthy degraded and down) {
  start();
  CAF_REQUIRE(ask<health_snapshot>(health_atom::value, std::string{"a"})->err);
  add("a", link_phase::connecting);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.server, "a");
  CAF_CHECK_EQUAL(s.phase, link_phase::connecting);
  CAF_CHECK_EQUAL(s.state, health_state::degraded);
  set_phase("a", link_phase::ready);
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::healthy);
  CAF_CHECK_EQUAL(s.connected_since_ms, ctls["a"]->status.ready_since_ms);
  CAF_CHECK_EQUAL(s.reconnects, 1u);
  set_phase("a", link_phase::backing_off,
            caf::make_error(mcp_errc::connection_lost, "stream ended"));
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::degraded);
  CAF_CHECK_EQUAL(s.connected_since_ms, 0);
  CAF_CHECK(has_code(s.last_error, mcp_errc::connection_lost));
  set_phase("a", link_phase::gave_up,
            caf::make_error(mcp_errc::unauthorized, "HTTP 401"));
  s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::down);
  CAF_CHECK_EQUAL(s.phase, link_phase::gave_up);
  CAF_CHECK(has_code(s.last_error, mcp_errc::unauthorized));
  set_phase("a", link_phase::closed);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::down);
}

CAF_TEST(a new session clears the failures of the old one) {
  start();
  auto a = add("a");
  a->mode = ping_mode::fail;
  wait(15s);
  wait(15s);
  CAF_CHECK_EQUAL(snapshot("a").consecutive_failures, 2u);
  set_phase("a", link_phase::backing_off);
  set_phase("a", link_phase::ready);
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.consecutive_failures, 0u);
  CAF_CHECK_EQUAL(s.state, health_state::healthy);
  // Two more failures on the new session: still no restart (K = 3).
  wait(15s);
  wait(15s);
  CAF_CHECK_EQUAL(a->restarts.size(), 0u);
  wait(15s);
  CAF_CHECK_EQUAL(a->restarts.size(), 1u);
}

CAF_TEST(a ping that fails after the link left ready asks for no restart) {
  health_config hc;
  hc.failures_before_restart = 1;
  start(hc);
  auto a = add("a");
  a->mode = ping_mode::hang;
  wait(15s); // ping in flight
  set_phase("a", link_phase::backing_off);
  wait(5s); // it times out while the supervisor reconnects
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.pings_failed, 1u);
  CAF_CHECK_EQUAL(s.state, health_state::degraded);
  CAF_CHECK_EQUAL(a->restarts.size(), 0u);
}

CAF_TEST(queries list every server sorted and refuse unknown names) {
  start();
  add("zeta");
  add("alpha", link_phase::connecting);
  add("mid", link_phase::gave_up);
  auto all = ask<std::vector<health_snapshot>>(health_atom::value);
  CAF_REQUIRE(all->done && !all->err);
  CAF_REQUIRE_EQUAL(all->value.size(), 3u);
  CAF_CHECK_EQUAL(all->value[0].server, "alpha");
  CAF_CHECK_EQUAL(all->value[0].state, health_state::degraded);
  CAF_CHECK_EQUAL(all->value[1].server, "mid");
  CAF_CHECK_EQUAL(all->value[1].state, health_state::down);
  CAF_CHECK_EQUAL(all->value[2].server, "zeta");
  CAF_CHECK_EQUAL(all->value[2].state, health_state::healthy);
  CAF_CHECK_EQUAL(snapshot("mid").phase, link_phase::gave_up);
  auto unknown = ask<health_snapshot>(health_atom::value, std::string{"nope"});
  CAF_REQUIRE(unknown->done);
  CAF_CHECK(has_code(unknown->err, mcp_errc::invalid_argument));
  CAF_CHECK(render(unknown->err).find("unknown server") != std::string::npos);
}

CAF_TEST(an unwatched server is forgotten and no longer pinged) {
  start();
  auto a = add("a");
  auto b = add("b");
  caf::anon_send(mon, unwatch_atom::value, std::string{"a"});
  sched.run();
  auto all = ask<std::vector<health_snapshot>>(health_atom::value);
  CAF_REQUIRE(all->done);
  CAF_REQUIRE_EQUAL(all->value.size(), 1u);
  CAF_CHECK_EQUAL(all->value[0].server, "b");
  auto gone = ask<health_snapshot>(health_atom::value, std::string{"a"});
  CAF_REQUIRE(gone->done);
  CAF_CHECK(has_code(gone->err, mcp_errc::invalid_argument));
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 0u);
  CAF_CHECK_EQUAL(b->pings, 1u);
}

CAF_TEST(a dead supervisor makes its server down with the exit reason) {
  start();
  auto a = add("a");
  add("b");
  caf::anon_send(caf::actor_cast<fake_supervisor_actor>(sups["a"]),
                 tick_atom::value, uint64_t{1});
  sched.run();
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::down);
  CAF_CHECK(has_code(s.last_error, mcp_errc::connection_failed));
  CAF_CHECK_EQUAL(snapshot("b").state, health_state::healthy);
  // Nobody pings a dead supervisor; the other server goes on.
  wait(15s);
  CAF_CHECK_EQUAL(a->pings, 0u);
  CAF_CHECK_EQUAL(ctls["b"]->pings, 1u);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::down);
}

CAF_TEST(a supervisor that ends normally leaves a closed error) {
  start();
  add("a");
  caf::anon_send(sups["a"], caf::close_atom::value);
  sched.run();
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.state, health_state::down);
  CAF_CHECK_EQUAL(s.phase, link_phase::closed);
  CAF_CHECK(has_code(s.last_error, mcp_errc::closed));
}

CAF_TEST(subscribers get snapshots on changes and after every ping) {
  start();
  auto a = add("a", link_phase::connecting);
  auto got = listen();
  // The current snapshot at once.
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(got->back().state, health_state::degraded);
  set_phase("a", link_phase::ready);
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL(got->back().state, health_state::healthy);
  // A ping that changes nothing is still told.
  wait(15s);
  CAF_REQUIRE_EQUAL(got->size(), 3u);
  CAF_CHECK_EQUAL(got->back().messages, 1u);
  a->mode = ping_mode::fail;
  wait(15s);
  CAF_REQUIRE_EQUAL(got->size(), 4u);
  CAF_CHECK_EQUAL(got->back().state, health_state::degraded);
  CAF_CHECK_EQUAL(got->back().pings_failed, 1u);
}

CAF_TEST(a subscriber is told once unsubscribe stops the events and it is dropped when it ends) {
  start();
  add("a", link_phase::connecting);
  auto base = subscriber_set::live_entries();
  auto spawn_counter = [this](std::shared_ptr<int> n) {
    return sys.spawn([n](caf::event_based_actor*) -> caf::behavior {
      return {[n](health_atom, health_snapshot&) { ++*n; }};
    });
  };
  auto twice = std::make_shared<int>(0);
  auto once = std::make_shared<int>(0);
  auto x = spawn_counter(twice);
  auto y = spawn_counter(once);
  caf::anon_send(mon, caf::subscribe_atom::value, x);
  caf::anon_send(mon, caf::subscribe_atom::value, x);
  caf::anon_send(mon, caf::subscribe_atom::value, y);
  sched.run();
  // The greeting (one snapshot per server), once.
  CAF_CHECK_EQUAL(*twice, 1);
  CAF_CHECK_EQUAL(*once, 1);
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 2);
  set_phase("a", link_phase::ready);
  CAF_CHECK_EQUAL(*once, 2);
  CAF_CHECK_EQUAL(*twice, 2);
  // After unsubscribe, `x` hears nothing more while `y` still does.
  caf::anon_send(mon, caf::unsubscribe_atom::value, x);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base + 1);
  set_phase("a", link_phase::connecting);
  CAF_CHECK_EQUAL(*once, 3);
  CAF_CHECK_EQUAL(*twice, 2);
  // `y` ends: the monitor drops it.
  caf::anon_send_exit(y, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_set::live_entries(), base);
  caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  sched.run();
}

CAF_TEST(watching a name again replaces its supervisor) {
  start();
  auto old = add("a");
  old->mode = ping_mode::hang;
  wait(15s); // a ping to the old one is in flight
  auto got = listen();
  // The old supervisor publishes again after the switch: ignored.
  CAF_REQUIRE_EQUAL(old->subscribers.size(), 1u);
  auto old_handle = caf::actor_cast<caf::actor>(sups.at("a"));
  auto fresh = add("a", link_phase::ready, false);
  auto st = old->status;
  st.phase = link_phase::gave_up;
  caf::send_as(old_handle, old->subscribers[0], link_atom::value, st);
  sched.run();
  for (auto& x : *got)
    CAF_CHECK_NOT_EQUAL(x.phase, link_phase::gave_up);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::healthy);
  wait(5s); // the old ping times out: ignored
  auto s = snapshot("a");
  CAF_CHECK_EQUAL(s.pings_failed, 0u);
  CAF_CHECK_EQUAL(s.pings_sent, 0u);
  wait(10s);
  CAF_CHECK_EQUAL(fresh->pings, 1u);
  CAF_CHECK_EQUAL(old->pings, 1u);
}

CAF_TEST(a link status from anyone but the watched supervisor is ignored) {
  start();
  add("a", link_phase::ready);
  CAF_CHECK_EQUAL(snapshot("a").phase, link_phase::ready);
  link_status st;
  st.server = "a"; // the name alone proves nothing
  st.phase = link_phase::gave_up;
  // Without a sender, and from another (unwatched) supervisor.
  auto any = caf::actor_cast<caf::actor>(mon);
  caf::anon_send(any, link_atom::value, st);
  supervisor_actor stranger
    = sys.spawn(fake_supervisor, std::make_shared<fake_sup_ctl>());
  all_sups.push_back(stranger);
  caf::send_as(caf::actor_cast<caf::actor>(stranger), any, link_atom::value,
               st);
  sched.run();
  CAF_CHECK_EQUAL(snapshot("a").phase, link_phase::ready);
  CAF_CHECK_EQUAL(snapshot("a").state, health_state::healthy);
  // The watched supervisor itself is heard.
  set_phase("a", link_phase::gave_up);
  CAF_CHECK_EQUAL(snapshot("a").phase, link_phase::gave_up);
}

CAF_TEST(an invalid config ends the monitor with invalid_argument) {
  auto reason = std::make_shared<caf::error>();
  health_config hc;
  hc.interval = 0s;
  mon = sys.spawn(health_monitor, hc);
  auto dest = mon;
  helpers.push_back(
    sys.spawn([reason, dest](caf::event_based_actor* watcher) -> caf::behavior {
      watcher->monitor(dest);
      watcher->set_down_handler(
        [reason](caf::down_msg& msg) { *reason = msg.reason; });
      return {[](int) {}};
    }));
  sched.run();
  CAF_CHECK(has_code(*reason, mcp_errc::invalid_argument));
  mon = nullptr;
}

CAF_TEST_FIXTURE_SCOPE_END()
