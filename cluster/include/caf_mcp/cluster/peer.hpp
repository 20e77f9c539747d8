#pragma once

/// The cluster actors (docs/cluster.md), used by the node and by
/// `connect_node` (connect.hpp).
///
/// Publishing side: the *front* (`spawn_cluster_front`) is what the node
/// publishes with `io::publish` / `openssl::publish`. It answers the
/// caller interface `cluster_front_actor` (the registry interface plus
/// calls in batches, protocol.hpp) and passes each request on to the
/// registry, counting the calls in flight per calling node (the sender's
/// CAF node id): beyond `max_calls_per_peer` a call fails at once with
/// `queue_full`, so a peer cannot grow the node's memory without bound
/// (BASP has no backpressure). It shows only the node's own servers (no
/// `PEER:SERVER` of its own peers: no transit, no loops).
///
/// Calling side: one *peer actor* per `cluster.peers` entry
/// (`spawn_peer`). It connects with a request to the middleman's actor
/// (never the blocking `remote_actor`), with the project's backoff,
/// checks the interface (`assignable<cluster_front_actor>`), refuses a proxy of
/// the node that just went down (same node id), monitors the remote
/// registry, lists its servers and tools (at once, then every `poll`,
/// fetching the tools only of servers that changed), and keeps its own
/// table of pending calls with deadlines (one timer for the earliest). It
/// sends calls in batches: a call goes out at once when nothing else waits
/// in its mailbox, else with the calls that arrive with it, in one
/// message (docs/cluster.md, "Batching"). On loss (down_msg)
/// it fails every pending call at once with `node_down` (a call marked
/// `retryable` waits and is sent once more after the reconnect), tells
/// the registry (servers shown down, calls refused with `node_down`),
/// backs off and reconnects. It reports to its sink (the node's registry)
/// with `(peer_atom, peer_report)` on every change, and only then.
///
/// A peer actor is itself a `remote_registry_actor` (connect.hpp): it
/// answers the registry interface from its last listing (servers shown
/// down while the node is not up) and passes calls on; subscribers get
/// the remote node's events (it subscribes to them while it has
/// subscribers, again after every reconnect) and a `node` event of its own
/// on every change of state.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/fwd.hpp"
#include "caf/typed_actor.hpp"

#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/backoff.hpp"

namespace caf_mcp::cluster {

/// peer -> registry: its state and servers changed.
using peer_atom = caf::atom_constant<caf::atom("nd_peer")>;
/// peer -> itself: time for a connect attempt (number of the attempt).
using peer_connect_atom = caf::atom_constant<caf::atom("nd_pconn")>;
/// peer -> itself: time to list the remote servers again.
using peer_poll_atom = caf::atom_constant<caf::atom("nd_ppoll")>;

/// peer -> itself: a `ready_atom` wait ran out (its number).
using peer_wait_atom = caf::atom_constant<caf::atom("nd_pwait")>;
/// peer -> itself: send the calls queued since the last batch.
using peer_flush_atom = caf::atom_constant<caf::atom("nd_pflush")>;
/// peer -> itself: fail the calls whose deadline passed (its number).
using peer_sweep_atom = caf::atom_constant<caf::atom("nd_psweep")>;
/// Caller -> peer: answer once the node is up and its servers are listed,
/// or with `node_down` after the given time. Local only.
using ready_atom = caf::atom_constant<caf::atom("mcp_ready")>;

/// What a peer tells the registry. Local only.
struct peer_report {
  node_info info;
  /// The remote servers with their tools, names as the remote node has
  /// them (without "PEER:"). Kept while the peer is down (shown down).
  std::vector<server_detail> servers;
};

/// The registry as a peer sees it.
using peer_sink_actor = caf::typed_actor<caf::reacts_to<peer_atom, peer_report>>;

/// What `connect_node` gives a CAF program: the registry interface of a
/// remote node (servers, tools, calls by server and tool, events), plus
/// `nodes_atom` answering the connection's state as one `node_info`, and
/// `(ready_atom, max_wait)` answering it once the node is up and its
/// servers are listed (at once if they are), or `node_down` with the last
/// connect error after `max_wait`.
using remote_registry_actor = registry_actor::extend<
  caf::replies_to<nodes_atom>::with<std::vector<node_info>>,
  caf::replies_to<ready_atom, caf::timespan>::with<node_info>>;

/// A peer actor: a remote registry, its report, and its own timers.
using peer_actor = remote_registry_actor::extend<
  caf::replies_to<caf::get_atom>::with<peer_report>,
  caf::reacts_to<node_event_atom, node_event>,
  caf::reacts_to<peer_connect_atom, uint64_t>,
  caf::reacts_to<peer_poll_atom, uint64_t /*connection number*/>,
  caf::reacts_to<peer_wait_atom, uint64_t>,
  caf::reacts_to<peer_flush_atom>,
  caf::reacts_to<peer_sweep_atom, uint64_t>,
  /// The front's answers to our batches.
  caf::reacts_to<call_results_atom, std::vector<remote_result>>>;

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
  /// Where reports go (none for `connect_node`).
  peer_sink_actor registry;
  /// Spawn hidden (not awaited at shutdown): `connect_node`'s handles.
  bool hidden = false;
  /// Every this many polls, the tools of every server are fetched again
  /// (between, only of servers whose tool count, state or connection
  /// changed); a report goes out at least this often (the round trip).
  uint32_t full_listing_every = 15;
};

/// Spawns a peer actor; it starts connecting at once.
peer_actor spawn_peer(caf::actor_system& sys, peer_config cfg);

/// Spawns the front that the node publishes (see above).
cluster_front_actor spawn_cluster_front(caf::actor_system& sys,
                                        registry_actor registry,
                                        size_t max_calls_per_peer);

} // namespace caf_mcp::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::cluster::peer_report)
