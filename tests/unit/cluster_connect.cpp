// connect_node from a CAF program (cluster/connect.hpp): bad arguments are
// refused with invalid_argument; and a round trip over a real loopback BASP
// connection between two actor systems in this process, against a small
// registry published by the other one: ready, servers, detail, calls, the
// connection's state, events forwarded to subscribers, node_down when the
// published registry ends.
#define CAF_SUITE cluster_connect
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/send.hpp"

#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/messages/error.hpp"

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

bool has_code(const caf::error& err, mcp_errc want) {
  mcp_errc got{};
  return get_mcp_errc(err, got) && got == want;
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

} // namespace

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
  auto port = a.middleman().publish(reg, 0, "127.0.0.1", true);
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
  // The published registry ends: the handle says node_down (event, state,
  // calls) instead of letting calls wait.
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
