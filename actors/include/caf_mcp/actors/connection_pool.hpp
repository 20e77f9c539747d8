#pragma once

/// The connection pool: N supervised sessions to one server.
///
/// Owns: its member supervisors (each with its own session), the routing
/// cursor, the pool's view of the tool set, its subscribers.
/// Receives: the caller interface (init, list, call, request, ping,
/// subscribe, close) plus `stats_atom` and `get_atom` (the members);
/// link status, tool diffs and logs from its members.
/// Routing: each call goes to the ready member with the fewest calls in
/// flight (ties in turn); if none is ready, to the least loaded member,
/// whose supervisor queues it until its session is ready. The pool starts
/// `min_members` and grows up to `max_members` while every ready member
/// has `grow_at` calls or more in flight.
/// Monitors: its members. A member that dies is replaced at once; a member
/// that gave up is replaced when another member is ready (the server works,
/// so the failure was that member's); calls in flight on a dead member fail
/// with `connection_lost`. The pool itself keeps running.
/// Health: a health monitor watches every member as "<server>#<member>"
/// (`health_atom` answers its snapshots): the pool's own, or one shared by
/// many pools (`pool_config::shared_health`, the node's).
/// Tells subscribers (each once; dead ones are dropped, `unsubscribe_atom`
/// removes one): every member's (link_atom, link_status), pool-level
/// (tools_diff_atom, server, tools_diff) and the members' log messages.
/// Link status, tool diffs and logs are taken only from its members (by
/// sender). At most `max_in_flight` calls are in flight in the pool; one
/// more fails at once with `queue_full`.

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <string>
#include <vector>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf_mcp/actors/health_monitor.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/actors/supervisor.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

struct pool_config {
  /// The configuration of every member (its `member` field is set by the
  /// pool).
  supervisor_config member;
  /// Members started at once.
  size_t min_members = 1;
  /// Members at most.
  size_t max_members = 1;
  /// Grow when every ready member has at least this many calls in flight.
  size_t grow_at = 64;
  /// Calls in flight in the pool (sent to members, not answered), at most;
  /// one more fails at once with `queue_full` (0 = no pool-level bound;
  /// each member still has `member.max_in_flight`).
  size_t max_in_flight = 4096;
  /// Liveness pings for every member (a health monitor owned by the pool;
  /// after `failures_before_restart` failed pings the member restarts its
  /// session). A zero interval turns it off.
  health_config health;
  /// A health monitor shared with other pools (the node's one): if set,
  /// the pool watches and unwatches its members there, spawns none of its
  /// own and leaves it running when it closes; `health` is then unused.
  health_monitor_actor shared_health;
};

struct pool_member {
  uint32_t id = 0;
  supervisor_actor sup;
  link_status last;
  uint64_t in_flight = 0;
};

/// A request the pool routed to a member, until it is answered.
struct pool_request {
  uint32_t member = 0;
  std::function<void(const caf::error&)> fail;
};

struct connection_pool_state {
  pool_config cfg;
  /// `cfg.member`, shared by every member (made on first use).
  supervisor_config_ptr member_cfg;
  std::vector<pool_member> members;
  uint32_t next_member = 0;
  size_t cursor = 0;
  uint64_t replaced = 0;
  uint64_t calls_ok = 0;
  uint64_t calls_failed = 0;
  /// Requests sent to members and not yet answered, by number.
  std::unordered_map<uint64_t, pool_request> outstanding;
  uint64_t next_request = 0;
  /// The members' tools, sorted by name (shared with every holder of an
  /// equal list: intern_tools).
  tool_list_ptr tools;
  subscriber_set subscribers;
  health_monitor_actor health;
  /// `health` was spawned by this pool (not `cfg.shared_health`).
  bool owns_health = false;
  bool closed = false;
  ~connection_pool_state();
  static inline const char* name = "caf_mcp.connection_pool";
};

/// Spawn with `system.spawn(connection_pool, cfg)`; members connect at once.
pool_impl_actor::behavior_type
connection_pool(pool_impl_actor::stateful_pointer<connection_pool_state> self,
                pool_config cfg);

} // namespace caf_mcp
