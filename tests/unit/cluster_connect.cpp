// connect_node from a CAF program (cluster/connect.hpp): bad arguments are
// refused with invalid_argument; and round trips over a real loopback BASP
// connection between two actor systems in this process, against a small
// registry behind the cluster front (peer.hpp) that the other one
// publishes: ready, servers, detail, calls, the connection's state, events
// forwarded to subscribers, node_down when the published front ends; many
// calls at once (sent and answered in batches) each get their own answer;
// the front's bound per calling node (queue_full); a call the remote never
// answers ends at its deadline (timeout).
#define CAF_SUITE cluster_connect
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/send.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/cluster/peer.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/http_client.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

struct plain_config : caf::actor_system_config {
  plain_config() {
    register_types(*this);
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

struct cluster_config : plain_config {
  cluster_config() {
    cluster::configure(*this, cluster::system_options{});
  }
};

/// A system whose actors run on `io` and whose multiplexer is run by a
/// multiplexer_driver on the same io thread (as the node and the command
/// line do).
struct io_cluster_config : plain_config {
  explicit io_cluster_config(std::shared_ptr<transport::io_runtime> io) {
    use_io_scheduler(*this, std::move(io));
    cluster::system_options so;
    so.multiplexer_on_io = true;
    cluster::configure(*this, so);
  }
};

bool has_code(const caf::error& err, mcp_errc want) {
  mcp_errc got{};
  return get_mcp_errc(err, got) && got == want;
}

/// Answers to `n` echo calls made all at once through `node` by one actor
/// of `sys` that sends them all before it reads the first answer: `right`
/// counts answers whose text names their own call, `wrong` the rest and
/// the failures (-1 each if no tally came within 60 s).
struct echo_tally {
  int right = -1;
  int wrong = -1;
};

echo_tally echo_all_at_once(caf::actor_system& sys,
                            cluster::remote_registry_actor node, int n) {
  caf::scoped_actor self{sys};
  auto checker = sys.spawn([node, n](caf::event_based_actor* me,
                                     caf::actor report) {
    auto right = std::make_shared<int>(0);
    auto wrong = std::make_shared<int>(0);
    auto left = std::make_shared<int>(n);
    auto done = [=] {
      if (--*left == 0)
        me->send(report, *right, *wrong);
    };
    for (int i = 0; i < n; ++i) {
      auto args = "{\"i\":" + std::to_string(i) + "}";
      me->request(node, 30s, call_atom::value, std::string{"demo"},
                  std::string{"echo"}, args, call_options{})
        .then(
          [=](call_tool_result& res) {
            if (joined_text(res) == "demo/echo " + args)
              ++*right;
            else
              ++*wrong;
            done();
          },
          [=](caf::error&) {
            ++*wrong;
            done();
          });
    }
  }, caf::actor_cast<caf::actor>(self));
  echo_tally out;
  self->receive([&](int r, int w) { out = echo_tally{r, w}; },
                caf::after(60s) >> [] {});
  caf::anon_send_exit(checker, caf::exit_reason::user_shutdown);
  return out;
}

/// A registry with one server "demo" and its tool "echo"; calls answer
/// their arguments as text; a subscriber gets one event at once.
registry_actor::behavior_type small_registry(registry_actor::pointer self) {
  return {
    [](servers_atom) {
      server_info x;
      x.name = "demo";
      x.state = health_state::healthy;
      x.tool_count = 1;
      return std::vector<server_info>{x};
    },
    [](servers_atom, const std::string& name) -> caf::result<server_detail> {
      if (name != "demo")
        return caf::make_error(mcp_errc::invalid_argument, "unknown server");
      server_detail d;
      d.info.name = "demo";
      d.info.state = health_state::healthy;
      d.info.tool_count = 1;
      tool t;
      t.name = "echo";
      t.input_schema = R"({"type":"object"})";
      d.tools.push_back(t);
      return d;
    },
    [](call_atom, const std::string& server, const std::string& name,
       const std::string& args, const call_options&) {
      call_tool_result r;
      r.content.push_back(make_text_content(server + "/" + name + " " + args));
      return r;
    },
    [self](caf::subscribe_atom, const caf::actor& sub) {
      caf::send_as(caf::actor_cast<caf::actor>(self), sub,
                   node_event_atom::value,
                   node_event{7, "tools", "demo", R"({"server":"demo"})"});
    },
    [](caf::unsubscribe_atom, const caf::actor&) {},
  };
}

/// Tool "hold": answered only when the registry gets `release_atom` (a
/// local message; the answer is the number released); every other tool
/// answers at once with its arguments, as small_registry.
using release_atom = caf::atom_constant<caf::atom("t_release")>;

struct gate_state {
  std::vector<std::pair<std::string, caf::response_promise>> held;
};

caf::behavior gate_registry(caf::stateful_actor<gate_state>* self) {
  return {
    [](servers_atom) {
      server_info x;
      x.name = "demo";
      x.state = health_state::healthy;
      return std::vector<server_info>{x};
    },
    [](servers_atom, const std::string&) {
      server_detail d;
      d.info.name = "demo";
      d.info.state = health_state::healthy;
      return d;
    },
    [self](call_atom, const std::string& server, const std::string& name,
           const std::string& args,
           const call_options&) -> caf::result<call_tool_result> {
      if (name == "hold") {
        self->state.held.emplace_back(args, self->make_response_promise());
        return caf::delegated<call_tool_result>{};
      }
      call_tool_result r;
      r.content.push_back(make_text_content(server + "/" + name + " " + args));
      return r;
    },
    [self](release_atom) {
      auto n = self->state.held.size();
      for (auto& kvp : self->state.held) {
        call_tool_result r;
        r.content.push_back(make_text_content("held " + kvp.first));
        kvp.second.deliver(r);
      }
      self->state.held.clear();
      return n;
    },
    [self](caf::get_atom) { return self->state.held.size(); },
    [](caf::subscribe_atom, const caf::actor&) {},
    [](caf::unsubscribe_atom, const caf::actor&) {},
  };
}

/// A small registry behind a cluster front, published by `sys` on
/// `port` (0: any); both actors are told to exit when it goes.
struct published_front {
  registry_actor reg;
  cluster_front_actor front;
  uint16_t port = 0;

  published_front(caf::actor_system& sys, size_t max_per_peer,
                  uint16_t at = 0) {
    reg = sys.spawn(small_registry);
    front = cluster::spawn_cluster_front(sys, reg, max_per_peer);
    auto p = sys.middleman().publish(front, at, "127.0.0.1", true);
    CAF_REQUIRE(p);
    port = *p;
  }

  ~published_front() {
    caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
  }

  published_front(const published_front&) = delete;
  published_front& operator=(const published_front&) = delete;
};

/// Waits (at most 10 s) until `node` listed its servers once; true if it is
/// up then.
bool is_ready(caf::actor_system& sys,
              const cluster::remote_registry_actor& node) {
  caf::scoped_actor self{sys};
  bool up = false;
  self->request(node, 30s, cluster::ready_atom::value, caf::timespan{10s})
    .receive([&](node_info& info) { up = info.state == "up"; },
             [&](caf::error& err) { CAF_FAIL("not ready: " << render(err)); });
  return up;
}

/// Two actor systems in this process: A publishes a gate registry behind
/// a cluster front (at most `max_per_peer` calls in flight per calling
/// node); B holds a connect_node handle to it, ready.
struct two_nodes {
  cluster_config cfg_a;
  caf::actor_system a{cfg_a};
  caf::actor gate = a.spawn(gate_registry);
  cluster_front_actor front;
  cluster_config cfg_b;
  caf::actor_system b{cfg_b};
  cluster::remote_registry_actor node;

  two_nodes(size_t max_per_peer, cluster::connect_options opts) {
    front = cluster::spawn_cluster_front(
      a, caf::actor_cast<registry_actor>(gate), max_per_peer);
    auto port = a.middleman().publish(front, 0, "127.0.0.1", true);
    CAF_REQUIRE(port);
    opts.name = "node-a";
    auto h = cluster::connect_node(b, "127.0.0.1", *port, opts);
    CAF_REQUIRE(h);
    node = *h;
    CAF_REQUIRE(is_ready(b, node));
  }

  ~two_nodes() {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  }

  /// An echo call through the handle answers.
  void expect_echo() {
    caf::scoped_actor self{b};
    self
      ->request(node, 10s, call_atom::value, std::string{"demo"},
                std::string{"echo"}, std::string{"{}"}, call_options{})
      .receive(
        [&](call_tool_result& res) {
          CAF_CHECK_EQUAL(joined_text(res), "demo/echo {}");
        },
        [&](caf::error& err) { CAF_FAIL(render(err)); });
  }

  /// Calls held by the gate right now (asked from A).
  size_t held() {
    caf::scoped_actor self{a};
    size_t n = 0;
    self->request(gate, 10s, caf::get_atom::value)
      .receive([&](size_t x) { n = x; },
               [&](caf::error& err) { CAF_FAIL(render(err)); });
    return n;
  }
};

} // namespace

CAF_TEST(CAF drops a silent node one heartbeat before the connection timeout) {
  cluster::system_options so; // heartbeat 1 s, connection timeout 5 s
  CAF_CHECK_EQUAL(cluster::silence_limit(so), caf::timespan{4s});
  so.heartbeat = 2s;
  so.connection_timeout = 7500ms;
  CAF_CHECK_EQUAL(cluster::silence_limit(so), caf::timespan{5500ms});
  // Shorter than 3 heartbeats: never under 2 heartbeats, or a healthy
  // node (silent up to one heartbeat) would be dropped.
  so.connection_timeout = 3s;
  CAF_CHECK_EQUAL(cluster::silence_limit(so), caf::timespan{4s});
  so.heartbeat = 1s;
  so.connection_timeout = 3s;
  plain_config cfg;
  cluster::configure(cfg, so);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "middleman.connection-timeout",
                              caf::timespan{0}),
                  caf::timespan{2s});
  CAF_CHECK_EQUAL(caf::get_or(cfg, "middleman.heartbeat-interval",
                              caf::timespan{0}),
                  caf::timespan{1s});
}

CAF_TEST(connect_node refuses bad arguments with invalid_argument) {
  plain_config no_mm_cfg;
  caf::actor_system no_mm{no_mm_cfg};
  auto r1 = cluster::connect_node(no_mm, "127.0.0.1", 4000);
  CAF_REQUIRE(!r1);
  CAF_CHECK(has_code(r1.error(), mcp_errc::invalid_argument));
  CAF_CHECK(render(r1.error()).find("middleman") != std::string::npos);
  cluster_config cfg;
  caf::actor_system sys{cfg};
  auto r2 = cluster::connect_node(sys, "", 4000);
  CAF_REQUIRE(!r2);
  CAF_CHECK(has_code(r2.error(), mcp_errc::invalid_argument));
  auto r3 = cluster::connect_node(sys, "127.0.0.1", 0);
  CAF_REQUIRE(!r3);
  CAF_CHECK(has_code(r3.error(), mcp_errc::invalid_argument));
  cluster::connect_options tls;
  tls.tls = true;
  auto r4 = cluster::connect_node(sys, "127.0.0.1", 4000, tls);
  CAF_REQUIRE(!r4);
  CAF_CHECK(render(r4.error()).find("openssl") != std::string::npos);
  cluster::connect_options bad_backoff;
  transport::backoff_config b;
  b.base = 0s;
  bad_backoff.backoff = b;
  auto r5 = cluster::connect_node(sys, "127.0.0.1", 4000, bad_backoff);
  CAF_REQUIRE(!r5);
  CAF_CHECK(render(r5.error()).find("backoff") != std::string::npos);
  cluster::tls_options files{"/nonexistent/cert.pem", "", ""};
  auto err = cluster::check_tls_files(files, "cluster.tls.");
  CAF_CHECK(has_code(err, mcp_errc::invalid_argument));
  CAF_CHECK(render(err).find("cluster.tls.certificate: cannot read "
                             "/nonexistent/cert.pem")
            != std::string::npos);
  CAF_CHECK_EQUAL(cluster::node_address("::1", 80), "[::1]:80");
  CAF_CHECK_EQUAL(cluster::node_address("127.0.0.1", 80), "127.0.0.1:80");
}

CAF_TEST(a connect_node handle answers like the remote registry) {
  cluster_config cfg_a;
  caf::actor_system a{cfg_a};
  auto reg = a.spawn(small_registry);
  auto front = cluster::spawn_cluster_front(a, reg, 64);
  auto port = a.middleman().publish(front, 0, "127.0.0.1", true);
  CAF_REQUIRE(port);
  cluster_config cfg_b;
  caf::actor_system b{cfg_b};
  cluster::connect_options opts;
  opts.name = "node-a";
  auto node = cluster::connect_node(b, "127.0.0.1", *port, opts);
  CAF_REQUIRE(node);
  caf::scoped_actor self{b};
  bool ready = false;
  self->request(*node, 30s, cluster::ready_atom::value, caf::timespan{10s})
    .receive(
      [&](node_info& info) {
        ready = true;
        CAF_CHECK_EQUAL(info.name, "node-a");
        CAF_CHECK_EQUAL(info.state, "up");
        CAF_CHECK_EQUAL(info.address, "127.0.0.1:" + std::to_string(*port));
      },
      [&](caf::error& err) { CAF_FAIL("not ready: " << render(err)); });
  CAF_REQUIRE(ready);
  self->request(*node, 10s, servers_atom::value)
    .receive(
      [&](std::vector<server_info>& xs) {
        CAF_REQUIRE_EQUAL(xs.size(), 1u);
        CAF_CHECK_EQUAL(xs[0].name, "demo");
        CAF_CHECK_EQUAL(xs[0].node, "node-a");
        CAF_CHECK(xs[0].state == health_state::healthy);
      },
      [&](caf::error& err) { CAF_FAIL(render(err)); });
  self->request(*node, 10s, servers_atom::value, "demo")
    .receive(
      [&](server_detail& d) {
        CAF_REQUIRE_EQUAL(d.tools.size(), 1u);
        CAF_CHECK_EQUAL(d.tools[0].name, "echo");
      },
      [&](caf::error& err) { CAF_FAIL(render(err)); });
  self->request(*node, 10s, servers_atom::value, "nope")
    .receive([&](server_detail&) { CAF_FAIL("unknown server answered"); },
             [&](caf::error& err) {
               CAF_CHECK(has_code(err, mcp_errc::invalid_argument));
             });
  self
    ->request(*node, 10s, call_atom::value, std::string{"demo"},
              std::string{"echo"}, std::string{R"({"x":1})"}, call_options{})
    .receive(
      [&](call_tool_result& res) {
        CAF_CHECK_EQUAL(joined_text(res), R"(demo/echo {"x":1})");
      },
      [&](caf::error& err) { CAF_FAIL(render(err)); });
  // A subscriber gets the remote registry's events (ours renumbered).
  self->send(*node, caf::subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  bool got_event = false;
  self->receive(
    [&](node_event_atom, node_event& ev) {
      got_event = true;
      CAF_CHECK_EQUAL(ev.kind, "tools");
      CAF_CHECK_EQUAL(ev.server, "demo");
      CAF_CHECK_EQUAL(ev.id, 1u);
    },
    caf::after(10s) >> [] { CAF_FAIL("no event forwarded"); });
  CAF_CHECK(got_event);
  // The published front ends: the handle says node_down (event, state,
  // calls) instead of letting calls wait.
  caf::anon_send_exit(front, caf::exit_reason::kill);
  caf::anon_send_exit(reg, caf::exit_reason::kill);
  bool down_event = false;
  for (int i = 0; i < 10 && !down_event; ++i)
    self->receive(
      [&](node_event_atom, node_event& ev) {
        if (ev.kind == "node" && ev.data.find(R"("state":"down")")
                                   != std::string::npos)
          down_event = true;
      },
      caf::after(10s) >> [&] { i = 10; });
  CAF_CHECK(down_event);
  self
    ->request(*node, 10s, call_atom::value, std::string{"demo"},
              std::string{"echo"}, std::string{"{}"}, call_options{})
    .receive([&](call_tool_result&) { CAF_FAIL("a call to a down node ran"); },
             [&](caf::error& err) {
               CAF_CHECK(has_code(err, mcp_errc::node_down));
             });
  self->request(*node, 10s, nodes_atom::value)
    .receive(
      [&](std::vector<node_info>& xs) {
        CAF_REQUIRE_EQUAL(xs.size(), 1u);
        CAF_CHECK_NOT_EQUAL(xs[0].state, "up");
      },
      [&](caf::error& err) { CAF_FAIL(render(err)); });
  self->send(*node, caf::unsubscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  caf::anon_send_exit(*node, caf::exit_reason::user_shutdown);
}

CAF_TEST(many calls at once each get their own answer) {
  two_nodes nodes{1024, cluster::connect_options{}};
  constexpr int n = 500;
  // One actor sends all calls before it reads the first answer: they
  // leave in batches and come back in batches. Each answer must reach the
  // request it belongs to (its text names the call's number).
  auto tally = echo_all_at_once(nodes.b, nodes.node, n);
  CAF_CHECK_EQUAL(tally.right, n);
  CAF_CHECK_EQUAL(tally.wrong, 0);
}

CAF_TEST(the front bounds the calls in flight per calling node) {
  two_nodes nodes{4, cluster::connect_options{}};
  caf::scoped_actor self{nodes.b};
  for (int i = 0; i < 6; ++i)
    self->send(nodes.node, call_atom::value, std::string{"demo"},
               std::string{"hold"}, std::to_string(i), call_options{});
  // Four are held by the gate, two are refused at once.
  int refused = 0;
  for (int i = 0; i < 2; ++i)
    self->receive([&](call_tool_result&) { CAF_FAIL("a held call ended"); },
                  [&](caf::error& err) {
                    if (has_code(err, mcp_errc::queue_full)
                        && render(err).find("cluster.max_calls_per_peer")
                             != std::string::npos)
                      ++refused;
                    else
                      CAF_FAIL("unexpected error: " << render(err));
                  },
                  caf::after(30s) >> [&] { i = 2; });
  CAF_CHECK_EQUAL(refused, 2);
  CAF_CHECK_EQUAL(nodes.held(), 4u);
  // Released: the four answer, and the bound is free again.
  caf::scoped_actor on_a{nodes.a};
  on_a->request(nodes.gate, 10s, release_atom::value)
    .receive([&](size_t released) { CAF_CHECK_EQUAL(released, 4u); },
             [&](caf::error& err) { CAF_FAIL(render(err)); });
  std::set<std::string> got;
  for (int i = 0; i < 4; ++i)
    self->receive([&](call_tool_result& res) { got.insert(joined_text(res)); },
                  [&](caf::error& err) { CAF_FAIL(render(err)); },
                  caf::after(30s) >> [&] { i = 4; });
  CAF_CHECK_EQUAL(got.size(), 4u);
  nodes.expect_echo();
}

CAF_TEST(a call the remote never answers ends at its deadline) {
  cluster::connect_options opts;
  opts.call_timeout = 300ms;
  two_nodes nodes{64, opts};
  caf::scoped_actor self{nodes.b};
  auto start = std::chrono::steady_clock::now();
  bool timed_out = false;
  self
    ->request(nodes.node, 30s, call_atom::value, std::string{"demo"},
              std::string{"hold"}, std::string{"{}"}, call_options{})
    .receive([&](call_tool_result&) { CAF_FAIL("a held call answered"); },
             [&](caf::error& err) {
               timed_out = has_code(err, mcp_errc::timeout);
               CAF_MESSAGE("error: " << render(err));
             });
  auto took = std::chrono::steady_clock::now() - start;
  CAF_CHECK(timed_out);
  CAF_CHECK(took >= 300ms);
  CAF_CHECK(took < 10s);
  // The connection is still good for the next call.
  nodes.expect_echo();
}

CAF_TEST(a refused call in a batch does not hold up the calls after it) {
  // The front in one actor system, called directly with a batch (as a
  // peer actor does over BASP): the first call is refused at once (a
  // PEER:SERVER name), the second goes to the registry. Both answers must
  // come back, the first alone or with the second.
  cluster_config cfg;
  caf::actor_system sys{cfg};
  auto gate = sys.spawn(gate_registry);
  auto front = cluster::spawn_cluster_front(
    sys, caf::actor_cast<registry_actor>(gate), 64);
  caf::scoped_actor self{sys};
  std::vector<remote_call> batch(2);
  batch[0].id = 1;
  batch[0].attempt = 1;
  batch[0].server = "other:demo";
  batch[0].tool = "echo";
  batch[0].args = "{}";
  batch[1].id = 2;
  batch[1].attempt = 1;
  batch[1].server = "demo";
  batch[1].tool = "echo";
  batch[1].args = "{}";
  self->send(front, call_batch_atom::value, std::move(batch));
  std::map<uint64_t, remote_result> got;
  for (int i = 0; i < 2 && got.size() < 2; ++i)
    self->receive(
      [&](call_results_atom, std::vector<remote_result>& xs) {
        for (auto& x : xs)
          got.emplace(x.id, std::move(x));
      },
      caf::after(10s) >> [&] { i = 2; });
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK(has_code(got[1].error, mcp_errc::invalid_argument));
  CAF_CHECK_EQUAL(got[1].attempt, 1u);
  CAF_CHECK(!got[2].error);
  CAF_CHECK_EQUAL(joined_text(got[2].result), "demo/echo {}");
  caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

CAF_TEST(multiplexer_driver runs BASP on the io thread) {
  // Node A as any CAF program: CAF's own multiplexer thread.
  cluster_config cfg_a;
  caf::actor_system a{cfg_a};
  published_front pub{a, 1024};
  // B: no multiplexer thread (manual multiplexing); without the driver
  // nothing would poll its sockets and the handle would never be ready.
  auto io = std::make_shared<transport::io_runtime>(1);
  {
    io_cluster_config cfg_b{io};
    caf::actor_system b{cfg_b};
    auto driver = cluster::multiplexer_driver::start(b, *io);
    CAF_REQUIRE(driver);
    auto node = cluster::connect_node(b, "127.0.0.1", pub.port);
    CAF_REQUIRE(node);
    CAF_REQUIRE(is_ready(b, *node));
    // Many calls at once from an actor on B's io thread, each answer to
    // its own request (its text names the call's number).
    auto tally = echo_all_at_once(b, *node, 200);
    CAF_CHECK_EQUAL(tally.right, 200);
    CAF_CHECK_EQUAL(tally.wrong, 0);
    caf::anon_send_exit(*node, caf::exit_reason::user_shutdown);
    // The driver goes first: B's shutdown then runs the multiplexer alone.
    driver->reset();
  }
}

namespace {

/// Connects a fresh actor system (a new node id) to the front on `port`,
/// waits until its handle is ready, and lets it go (system and all).
void visit_node(uint16_t port) {
  cluster_config cfg;
  caf::actor_system b{cfg};
  auto node = cluster::connect_node(b, "127.0.0.1", port);
  CAF_REQUIRE(node);
  CAF_REQUIRE(is_ready(b, *node));
  caf::anon_send_exit(*node, caf::exit_reason::user_shutdown);
}

/// Counts of sweeps, filled on a multiplexer's thread.
struct sweep_log {
  std::mutex mtx;
  std::condition_variable cv;
  size_t sweeps = 0;
  size_t kept = 0;
  size_t dropped = 0;

  cluster::lost_nodes_callback callback() {
    return [this](size_t k, size_t d) {
      std::lock_guard<std::mutex> guard{mtx};
      ++sweeps;
      kept = k;
      dropped += d;
      cv.notify_all();
    };
  }

  /// Waits (at most `limit`) until `pred()` holds under the lock.
  template <class Pred>
  bool wait_for(caf::timespan limit, Pred pred) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, limit, pred);
  }
};

} // namespace

CAF_TEST(forget_lost_nodes drops the CAF helper of every node that is gone) {
  cluster_config cfg_a;
  caf::actor_system a{cfg_a};
  published_front pub{a, 1024};
  sweep_log log;
  // A node that is connected keeps its helper.
  {
    cluster_config cfg_b;
    caf::actor_system b{cfg_b};
    auto node = cluster::connect_node(b, "127.0.0.1", pub.port);
    CAF_REQUIRE(node);
    CAF_REQUIRE(is_ready(b, *node));
    cluster::forget_lost_nodes(a, log.callback());
    CAF_REQUIRE(log.wait_for(10s, [&] { return log.sweeps == 1; }));
    CAF_CHECK_EQUAL(log.kept, 1u);
    CAF_CHECK_EQUAL(log.dropped, 0u);
    caf::anon_send_exit(*node, caf::exit_reason::user_shutdown);
  }
  // Four more nodes come and go; CAF 0.17.6 keeps a helper for each of the
  // five until a sweep after A saw their connections close.
  for (int i = 0; i < 4; ++i)
    visit_node(pub.port);
  for (int i = 0; i < 200; ++i) {
    cluster::forget_lost_nodes(a, log.callback());
    auto want = static_cast<size_t>(i + 2);
    CAF_REQUIRE(log.wait_for(10s, [&] { return log.sweeps == want; }));
    if (log.dropped == 5)
      break;
    std::this_thread::sleep_for(10ms); // A reads the closes meanwhile
  }
  CAF_CHECK_EQUAL(log.dropped, 5u);
  CAF_CHECK_EQUAL(log.kept, 0u);
}

CAF_TEST(a peer drops the CAF helper of the node it lost) {
  cluster_config cfg_b;
  caf::actor_system b{cfg_b};
  caf::scoped_actor self{b};
  cluster::connect_options opts;
  opts.name = "node-a";
  opts.backoff = cluster::default_peer_backoff(std::chrono::milliseconds{200});
  uint16_t port = 0;
  cluster::remote_registry_actor node;
  // A first node ends cleanly: its front goes, then its system.
  {
    cluster_config cfg_a;
    caf::actor_system a{cfg_a};
    published_front pub{a, 64};
    port = pub.port;
    auto h = cluster::connect_node(b, "127.0.0.1", port, opts);
    CAF_REQUIRE(h);
    node = *h;
    CAF_REQUIRE(is_ready(b, node));
  }
  // A second node (a new node id) on the same port: the peer reconnects.
  cluster_config cfg_a2;
  caf::actor_system a2{cfg_a2};
  published_front pub2{a2, 64, port};
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    self->request(node, 10s, nodes_atom::value)
      .receive([&](std::vector<node_info>& xs) {
                 up = xs.size() == 1 && xs[0].state == "up";
               },
               [&](caf::error& err) { CAF_FAIL(render(err)); });
    if (!up)
      std::this_thread::sleep_for(50ms); // the peer's backoff runs
  }
  CAF_REQUIRE(up);
  // The peer swept when it lost the first node and when it reached the
  // second, before either showed: B keeps only the node it is connected
  // to, and a sweep now finds nothing left to drop.
  sweep_log log;
  cluster::forget_lost_nodes(b, log.callback());
  CAF_REQUIRE(log.wait_for(10s, [&] { return log.sweeps == 1; }));
  CAF_CHECK_EQUAL(log.kept, 1u);
  CAF_CHECK_EQUAL(log.dropped, 0u);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
}

CAF_TEST(multiplexer_driver sweeps the nodes that are gone) {
  // A publishes with its multiplexer on an io thread (as the node does),
  // sweeping every 50 ms.
  auto io = std::make_shared<transport::io_runtime>(1);
  sweep_log log;
  {
    io_cluster_config cfg_a{io};
    caf::actor_system a{cfg_a};
    auto driver = cluster::multiplexer_driver::start(a, *io, 50ms,
                                                     log.callback());
    CAF_REQUIRE(driver);
    {
      published_front pub{a, 1024};
      for (int i = 0; i < 3; ++i)
        visit_node(pub.port);
      CAF_CHECK(log.wait_for(10s, [&] { return log.dropped == 3; }));
      CAF_CHECK(log.wait_for(10s, [&] { return log.kept == 0; }));
    }
    driver->reset();
  }
  // A sweep interval of zero is refused.
  cluster_config cfg;
  caf::actor_system sys{cfg};
  auto none = cluster::multiplexer_driver::start(sys, *io, caf::timespan{0});
  CAF_REQUIRE(!none);
  CAF_CHECK(has_code(none.error(), mcp_errc::invalid_argument));
}

CAF_TEST(multiplexer_driver needs a middleman) {
  auto io = std::make_shared<transport::io_runtime>(1);
  plain_config cfg;
  caf::actor_system sys{cfg};
  auto driver = cluster::multiplexer_driver::start(sys, *io);
  CAF_REQUIRE(!driver);
  CAF_CHECK(has_code(driver.error(), mcp_errc::invalid_argument));
}
