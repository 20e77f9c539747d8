// Drops what CAF 0.17.6 keeps of nodes that are gone: see forget_lost_nodes
// in connect.hpp.
//
// `basp_broker::learned_new_node` spawns a helper actor for every node the
// broker learns (to ask that node for its spawn server) and keeps its handle
// in the public map `basp_broker::spawn_servers` until the broker itself
// stops: the helper quits once the node is gone, but the handle keeps the
// dead actor's memory (about 1.2 kB with the map entry), once per node id
// ever seen. A node restarted has a new id, and so has every `caf-mcp tools
// --node` run against a node: a long-running node would grow by that much
// per connection. The map is touched only by the broker, which runs on the
// multiplexer's thread (CAF's own, or the io thread of a multiplexer_driver),
// so the sweep runs there too: posted to the multiplexer.
#include "caf_mcp/cluster/connect.hpp"

#include <utility>

#include "caf/abstract_actor.hpp"
#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/atom.hpp"
#include "caf/config.hpp"
#include "caf/io/basp_broker.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/network/multiplexer.hpp"

namespace caf_mcp::cluster {

static_assert(CAF_VERSION == 1706,
              "forget_lost_nodes sweeps basp_broker::spawn_servers of CAF "
              "0.17.6: look at learned_new_node of another CAF again");

void forget_lost_nodes(caf::actor_system& sys, lost_nodes_callback done) {
  if (!sys.has_middleman())
    return;
  auto& mm = sys.middleman();
  // The broker exists from the middleman's start on; the lookup only reads
  // the middleman's map of named brokers.
  auto hdl = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  if (!hdl)
    return;
  mm.backend().post([hdl, done = std::move(done)] {
    auto* bb = dynamic_cast<caf::io::basp_broker*>(
      caf::actor_cast<caf::abstract_actor*>(hdl));
    // A stopping middleman marks its brokers terminated before their
    // on_exit, which clears the map and destroys the BASP instance.
    if (bb == nullptr || bb->getf(caf::abstract_actor::is_terminated_flag))
      return;
    size_t dropped = 0;
    auto& servers = bb->spawn_servers;
    for (auto i = servers.begin(); i != servers.end();) {
      if (bb->instance.tbl().lookup(i->first)) {
        ++i;
      } else {
        i = servers.erase(i);
        ++dropped;
      }
    }
    if (done)
      done(servers.size(), dropped);
  });
}

} // namespace caf_mcp::cluster
