// Example: call a tool on a remote caf-mcp node from your own CAF program.
//
//   example-remote-call HOST PORT SERVER TOOL [ARGS_JSON]
//
// HOST:PORT is the node's cluster port (its `cluster.listen`), SERVER one of
// its servers as its /api/servers names it. Connects with
// caf_mcp::cluster::connect_node, waits until the node is up and listed,
// prints the server's tools and calls TOOL. Built with the project (target
// example-remote-call) and run by the test node.cluster against a node, so
// this file stays true (docs/cluster.md, "From a CAF program").
#include <cstdio>
#include <cstdlib>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/messages/protocol.hpp"

using namespace caf_mcp;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s HOST PORT SERVER TOOL [ARGS_JSON]\n",
                 argv[0]);
    return 2;
  }
  std::string host = argv[1];
  auto port = static_cast<uint16_t>(std::strtoul(argv[2], nullptr, 10));
  std::string server = argv[3];
  std::string tool_name = argv[4];
  std::string args = argc > 5 ? argv[5] : "{}";
  // 1. An actor system that knows caf-mcp's types and takes part in a
  //    cluster: the middleman, heartbeats, caf-mcp's app identifier. (For
  //    mutual TLS set cluster::system_options::tls and connect_options::tls.)
  caf::actor_system_config cfg;
  register_types(cfg);
  cluster::configure(cfg, cluster::system_options{});
  caf::actor_system sys{cfg};
  // 2. A handle that behaves like the node's own registry and reconnects by
  //    itself; bad arguments are an error at once.
  auto node = cluster::connect_node(sys, host, port);
  if (!node) {
    std::fprintf(stderr, "%s\n", render(node.error()).c_str());
    return 2;
  }
  caf::scoped_actor self{sys};
  int rc = 0;
  // 3. Optional: wait until the node is up and its servers are listed.
  self->request(*node, std::chrono::seconds{30}, cluster::ready_atom::value,
                caf::timespan{std::chrono::seconds{10}})
    .receive(
      [&](node_info& info) {
        std::printf("node %s is %s\n", info.address.c_str(),
                    info.state.c_str());
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "%s\n", render(err).c_str());
        rc = 3;
      });
  // 4. The server and its tools, then one call: the same messages as to a
  //    local node's registry.
  if (rc == 0)
    self->request(*node, std::chrono::seconds{10}, servers_atom::value, server)
      .receive(
        [&](server_detail& d) {
          for (auto& t : d.tools)
            std::printf("tool %s\n", t.name.c_str());
        },
        [&](caf::error& err) {
          std::fprintf(stderr, "%s\n", render(err).c_str());
          rc = 2;
        });
  if (rc == 0) {
    call_options opts;
    opts.timeout = std::chrono::seconds{30};
    self
      ->request(*node, std::chrono::seconds{60}, call_atom::value, server,
                tool_name, args, opts)
      .receive(
        [&](call_tool_result& res) {
          std::printf("%s -> %s%s\n", tool_name.c_str(),
                      joined_text(res).c_str(),
                      res.is_error ? " (isError)" : "");
          rc = res.is_error ? 1 : 0;
        },
        [&](caf::error& err) {
          std::fprintf(stderr, "call failed: %s\n", render(err).c_str());
          rc = 3;
        });
  }
  // 5. Stop the handle (it would reconnect forever otherwise).
  self->send_exit(*node, caf::exit_reason::user_shutdown);
  return rc;
}
