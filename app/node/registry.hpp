#pragma once

/// The node's registry: one client (pool, supervisors) per configured
/// server, one health monitor for all of them, the node's events and the
/// counters behind /metrics.
///
/// Owns: the clients (it spawns, monitors and closes them), the shared
/// health monitor, per-server counters and the aggregated view of each
/// server (link status per pool member, health snapshot per member, tools).
/// Receives: the public `registry_actor` interface (servers, one server,
/// call, subscribe); from the node: reload (a new server table), drain,
/// metrics, config events; from its clients: link status, tool diffs, logs
/// (only from the current client of a server: checked by sender); from the
/// health monitor: snapshots "<server>#<member>".
/// Tells subscribers (`subscriber_set`: de-duplicated, monitored):
/// `(node_event_atom, node_event)` for server state/phase changes, tool
/// diffs, log notifications, progress of calls that asked for it, call
/// outcomes and reloads. A subscriber must keep up; the HTTP event hub
/// (event_hub.hpp) is the one that copes with slow browsers.
/// Calls: at most `max_in_flight` in flight in the node (one more fails at
/// once with `queue_full`); each call is answered exactly once, by the
/// client (which enforces its deadline) or with `closed` when its server
/// is removed or the node drains.
/// Monitors: its clients (one that dies is spawned again with its config)
/// and the health monitor (spawned again too).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf_mcp/actors/builtin_middlewares.hpp"
#include "caf_mcp/actors/cache_middleware.hpp"
#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/actors/health_monitor.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/messages/protocol.hpp"

#include "metrics_text.hpp"
#include "caf_mcp/cluster/peer.hpp"

namespace caf_mcp::node {

/// node -> registry: a new server table (reload).
using reload_atom = caf::atom_constant<caf::atom("nd_reload")>;
/// node -> registry: stop taking calls, finish or fail those in flight.
using drain_atom = caf::atom_constant<caf::atom("nd_drain")>;
/// node -> registry: the Prometheus text of the servers.
using metrics_atom = caf::atom_constant<caf::atom("nd_metric")>;
/// node -> registry: publish a config event (a rejected reload).
using config_atom = caf::atom_constant<caf::atom("nd_config")>;
/// registry -> itself: the drain deadline passed.
using drain_timeout_atom = caf::atom_constant<caf::atom("nd_dtime")>;
/// progress relay -> registry: progress of a call that asked for events.
using call_progress_atom = caf::atom_constant<caf::atom("nd_cprog")>;
/// registry -> itself: the initial listing of a server ended.
using listed_atom = caf::atom_constant<caf::atom("nd_listed")>;

/// One server as the node runs it.
struct server_spec {
  std::string name;
  /// Ready to spawn; the registry sets `pool.shared_health`.
  client_config client;
  /// For the API: the redacted URL, the configured transport ("auto",
  /// "sse", "streamable-http"; `reported_transport` shows what auto
  /// found), the description.
  std::string url;
  std::string transport = "auto";
  std::string description;
  bool disabled = false;
  /// The `cache` middleware's settings (each client start gets a new,
  /// empty cache).
  std::optional<result_cache_config> cache;
  /// The chain in order, first = nearest the caller. Makers are called at
  /// each client start (fresh instances); the `cache` and `metrics` entries
  /// have no maker: the registry puts the slot's cache and metrics
  /// middleware there. Without a `metrics` entry the registry puts it
  /// first, so the node's call metrics count every call, cache hits too.
  struct chain_entry {
    enum kind_t : uint8_t { plain, cache, metrics } kind = plain;
    std::function<middleware_ptr()> make;
  };
  std::vector<chain_entry> chain;
  /// Equal fingerprints mean "unchanged" on reload (the node builds it
  /// from every setting, secrets included; it is never shown).
  std::string fingerprint;
};

using server_table = std::vector<server_spec>;
using server_table_ptr = std::shared_ptr<const server_table>;

/// What a reload did.
struct reload_result {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  std::vector<std::string> unchanged;
};

struct registry_config {
  /// This node's name (the "node" field of every server).
  std::string node_name;
  health_config health;
  /// Calls in flight in the whole node, at most.
  size_t max_in_flight = 16384;
  /// The cluster peers (docs/cluster.md): the registry spawns one peer
  /// actor each (its `registry` field is set by the registry) at its first
  /// `reload` (the node's start, after the API subscribed), and shows
  /// their servers as `PEER:SERVER`.
  std::vector<cluster::peer_config> peers;
};

/// The registry's full interface (the node's private part added).
using registry_impl_actor = registry_actor::extend<
  caf::replies_to<reload_atom, server_table_ptr>::with<reload_result>,
  /// Stop taking calls (service_unavailable), let those in flight finish
  /// until the timeout, fail the rest (`closed`), close every client;
  /// answers with the number of calls that did not finish in time.
  caf::replies_to<drain_atom, caf::timespan>::with<uint64_t>,
  caf::replies_to<metrics_atom>::with<std::string>,
  caf::reacts_to<config_atom, std::string /*event data JSON*/>,
  /// (server, tool, call token, params) from a call's progress relay.
  caf::reacts_to<call_progress_atom, std::string, std::string, std::string,
                 progress_params>,
  caf::reacts_to<drain_timeout_atom>,
  caf::reacts_to<listed_atom, std::string, uint64_t /*generation*/,
                 std::vector<tool>>,
  // from clients and the health monitor
  caf::reacts_to<link_atom, link_status>,
  caf::reacts_to<tools_diff_atom, std::string, tools_diff>,
  caf::reacts_to<tools_changed_atom, std::string, std::vector<tool>>,
  caf::reacts_to<log_atom, std::string, logging_message_params>,
  caf::reacts_to<health_atom, health_snapshot>,
  // the cluster (docs/cluster.md)
  caf::replies_to<nodes_atom>::with<std::vector<node_info>>,
  caf::reacts_to<cluster::peer_atom, cluster::peer_report>>;

/// What the registry keeps per server.
struct server_slot {
  server_spec spec;
  client_actor client;
  /// Changes with every client spawned for this server (late answers of
  /// an old one are ignored).
  uint64_t generation = 0;
  /// Sorted by name, shared with the client's equal list (intern_tools).
  tool_list_ptr tools;
  const std::vector<tool>& tool_list() const {
    static const std::vector<tool> none;
    return tools ? *tools : none;
  }
  /// Takes `xs` as the list; after a big list (1,000 tools or more) gives
  /// the transient copies' memory back (release_free_memory).
  void set_tools(std::vector<tool> xs);
  /// Binary search in the sorted list.
  bool has_tool(const std::string& name) const;
  std::map<uint32_t, link_status> links;
  std::map<uint32_t, health_snapshot> health;
  /// Reconnects of members that are gone (a replaced member's count stays).
  uint64_t reconnects_base = 0;
  uint64_t in_flight = 0;
  /// Counts every call to this server by tool and outcome, with latency:
  /// the source of the call counters of `/api/servers` and of
  /// `caf_mcp_tool_calls_total` / `caf_mcp_tool_call_duration_seconds`.
  /// Made once per server, shared by each client it gets (the counters
  /// never go back). In the client's chain only where the config's
  /// `middlewares` name `metrics`; otherwise the registry records each call
  /// it passes to the client as the call ends: the same count as first in
  /// the chain, with no middleware on the call's path.
  std::shared_ptr<metrics_middleware> metrics;
  /// Notifications by kind ("log", "progress", "tools").
  std::map<std::string, uint64_t> notifications;
  /// The running client's cache middleware (null without one).
  std::shared_ptr<cache_middleware> cache;
  /// Hits and misses of caches of earlier clients of this server (the
  /// exported counters never go back).
  uint64_t cache_hits_base = 0;
  uint64_t cache_misses_base = 0;
  /// The counters of every session this server had (all clients, all
  /// pool members): made once, handed to each client's session config.
  std::shared_ptr<session_counters> session_totals
    = std::make_shared<session_counters>();
  /// The state and phase last published as a `server` event.
  health_state last_state = health_state::down;
  link_phase last_phase = link_phase::closed;
  bool published = false;
};

/// A call in flight through the registry.
struct registry_call {
  std::string server;
  std::string tool;
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point start;
  caf::typed_response_promise<call_tool_result> promise;
  caf::actor relay;
  /// Where the call is counted as it ends (a local server whose chain has
  /// no `metrics` entry), else null.
  std::shared_ptr<metrics_middleware> metrics;
};

/// A cluster peer as the registry keeps it.
struct peer_slot {
  cluster::peer_actor actor;
  /// Its last report (state, servers and tools).
  cluster::peer_report last;
  bool published = false;
};

struct registry_state {
  registry_config cfg;
  std::map<std::string, server_slot> servers;
  /// The server of each running client (messages from clients are
  /// matched by sender).
  std::unordered_map<caf::actor_addr, std::string> by_client;
  health_monitor_actor health;
  subscriber_set subscribers;
  std::unordered_map<uint64_t, registry_call> calls;
  std::map<std::string, peer_slot> peers;
  uint64_t next_call = 0;
  uint64_t next_event = 0;
  uint64_t next_generation = 0;
  bool draining = false;
  /// Set by the first `reload`, which starts the servers and the peers.
  bool started = false;
  std::vector<caf::typed_response_promise<uint64_t>> drain_waiters;
  uint64_t drain_left_over = 0;
  ~registry_state();
  static inline const char* name = "caf_mcp.node_registry";
};

/// Spawn with `system.spawn(registry, cfg)`, then send a reload with the
/// first server table.
registry_impl_actor::behavior_type
registry(registry_impl_actor::stateful_pointer<registry_state> self,
         registry_config cfg);

/// The transport a server speaks as `/api/servers` and the metrics show it:
/// "sse" or "streamable-http"; with auto-detection "auto" until the first
/// session found out (and again after a restart of the server made the
/// node forget).
std::string reported_transport(const server_spec& spec);

/// The aggregate of a pool's members (pure): see server_info's comment.
server_info summarize(const server_slot& slot, const std::string& node_name);

} // namespace caf_mcp::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::node::server_table_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::node::reload_result)
