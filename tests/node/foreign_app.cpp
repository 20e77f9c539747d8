// A CAF program of "another build": its middleman.app-identifiers is not
// caf-mcp's wire protocol. It connects to a node's cluster port with
// connect_node and prints what it gets. Used by tests/node/cluster.sh: the
// node must refuse it at the BASP handshake, and the refusal must say so.
//
//   cluster-foreign-app HOST PORT APP_ID
//
// Exit 0 if the node was reachable and listed (the test expects not),
// 3 with the error on stderr otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/cluster/connect.hpp"

using namespace caf_mcp;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s HOST PORT APP_ID\n", argv[0]);
    return 2;
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  cluster::system_options so;
  so.app_identifier = argv[3];
  cluster::configure(cfg, so);
  caf::actor_system sys{cfg};
  auto node = cluster::connect_node(
    sys, argv[1], static_cast<uint16_t>(std::strtoul(argv[2], nullptr, 10)));
  if (!node) {
    std::fprintf(stderr, "%s\n", render(node.error()).c_str());
    return 2;
  }
  caf::scoped_actor self{sys};
  int rc = 3;
  self->request(*node, std::chrono::seconds{30}, cluster::ready_atom::value,
                caf::timespan{std::chrono::seconds{3}})
    .receive(
      [&](node_info& info) {
        std::printf("connected: %s is %s\n", info.address.c_str(),
                    info.state.c_str());
        rc = 0;
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "%s\n", render(err).c_str());
      });
  self->send_exit(*node, caf::exit_reason::user_shutdown);
  return rc;
}
