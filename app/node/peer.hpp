#pragma once

/// The node's cluster actors (docs/cluster.md).
///
/// Publishing side: the *front* (`spawn_cluster_front`) is what the node
/// publishes with `io::publish` / `openssl::publish`. It answers the
/// caller interface `registry_actor` and passes each request on to the
/// registry, counting the calls in flight per calling node (the sender's
/// CAF node id): beyond `max_calls_per_peer` a call fails at once with
/// `queue_full`, so a peer cannot grow the node's memory without bound
/// (BASP has no backpressure). It shows only the node's own servers (no
/// `PEER:SERVER` of its own peers: no transit, no loops).
///
/// Calling side: one *peer actor* per `cluster.peers` entry
/// (`spawn_peer`). It connects with a request to the middleman's actor
/// (never the blocking `remote_actor`), with the project's backoff,
/// checks the interface (`assignable<registry_actor>`), refuses a proxy of
/// the node that just went down (same node id), monitors the remote
/// registry, lists its servers and tools (at once and every `poll`), and
/// keeps its own table of pending calls with deadlines. On loss (down_msg)
/// it fails every pending call at once with `node_down` (a call marked
/// `retryable` waits and is sent once more after the reconnect), tells
/// the registry (servers shown down, calls refused with `node_down`),
/// backs off and reconnects. It reports to the registry with
/// `(peer_atom, peer_report)` on every change.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/typed_actor.hpp"

#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/backoff.hpp"

namespace caf_mcp::node {

/// peer -> registry: its state and servers changed.
using peer_atom = caf::atom_constant<caf::atom("nd_peer")>;
/// peer -> itself: time for a connect attempt (number of the attempt).
using peer_connect_atom = caf::atom_constant<caf::atom("nd_pconn")>;
/// peer -> itself: time to list the remote servers again.
using peer_poll_atom = caf::atom_constant<caf::atom("nd_ppoll")>;

/// What a peer tells the registry. Local only.
struct peer_report {
  node_info info;
  /// The remote servers with their tools, names as the remote node has
  /// them (without "PEER:"). Kept while the peer is down (shown down).
  std::vector<server_detail> servers;
};

/// The registry as a peer sees it.
using peer_sink_actor = caf::typed_actor<caf::reacts_to<peer_atom, peer_report>>;

/// A peer actor: calls by (remote server, tool, arguments, options).
using peer_actor = caf::typed_actor<
  caf::replies_to<call_atom, std::string /*server*/, std::string /*tool*/,
                  std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<caf::get_atom>::with<peer_report>,
  caf::reacts_to<peer_connect_atom, uint64_t>,
  caf::reacts_to<peer_poll_atom, uint64_t /*connection number*/>>;

struct peer_config {
  /// The PEER of `PEER:SERVER`.
  std::string name;
  std::string host;
  uint16_t port = 0;
  /// Connect through `openssl::manager` (mutual TLS) instead of the plain
  /// middleman.
  bool tls = false;
  /// Delays between connect attempts (never gives up).
  transport::backoff_config backoff;
  /// Longest wait for one connect (TCP + BASP handshake).
  caf::timespan connect_timeout = std::chrono::seconds{5};
  /// Listing interval while up (also the round trip measurement).
  caf::timespan poll = std::chrono::seconds{2};
  /// Deadline of a call without its own timeout; calls with a timeout get
  /// max(timeout, max_timeout) plus `grace` (the remote node enforces the
  /// call's timeout itself and answers with `timeout`).
  caf::timespan call_timeout = std::chrono::seconds{120};
  caf::timespan grace = std::chrono::seconds{2};
  /// Pending calls at most (beyond: queue_full).
  size_t max_pending = 16384;
  /// Where reports go.
  peer_sink_actor registry;
};

/// Spawns a peer actor; it starts connecting at once.
peer_actor spawn_peer(caf::actor_system& sys, peer_config cfg);

/// Spawns the front that the node publishes (see above).
registry_actor spawn_cluster_front(caf::actor_system& sys,
                                   registry_actor registry,
                                   size_t max_calls_per_peer);

} // namespace caf_mcp::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::node::peer_report)
