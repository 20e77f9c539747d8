#pragma once

/// The health monitor: the seed's connection monitoring and health check.
///
/// Owns: one `health_snapshot` per watched server, the supervisor handle of
/// each, its subscribers, and one periodic timer for the whole monitor
/// (started by the first watch).
/// Receives: `(watch_atom, server, supervisor)` (start watching),
/// `(health_atom)` / `(health_atom, server)` (queries),
/// `(subscribe_atom, actor)`, what its supervisors publish (see below) and
/// `(tick_atom, id)` from its own timer.
/// Monitors: every watched supervisor. A supervisor that terminates makes its
/// server `down` with the exit reason as `last_error`.
/// Every `interval` it pings each server whose link is `ready` (at most one
/// ping in flight per server) through the supervisor and records the round
/// trip the supervisor reports; `failures_before_restart` failed pings in a
/// row ask the supervisor for a restart with `(restart_atom, timeout error)`.
/// Tells subscribers: `(health_atom, health_snapshot)` after every ping
/// result and whenever a server's state or phase changes; a new subscriber
/// first gets the current snapshot of every server.
///
/// The monitor subscribes itself to each watched supervisor, which tells it
/// (link_atom, link_status), (tools_diff_atom, ...) and (log_atom, ...)
/// with itself as the sender. The monitor finds the server by the sender
/// (so the watched name counts, not the status's own) and takes a link
/// status only from the current supervisor of a server, so a status of a
/// replaced supervisor cannot overwrite the new one; tool diffs and logs
/// are ignored. (An earlier version spawned a relay actor per server for
/// this: 1.4 KiB per pool member.)
///
/// Failure: the monitor holds nothing the supervisors need. If it dies, a
/// supervisor's later sends to it are dropped; the supervisors keep running
/// unwatched.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/timespan.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

struct health_config {
  /// Time between two ping rounds (one timer per monitor, not per server).
  caf::timespan interval = std::chrono::seconds{15};
  /// A ping with no answer in this time counts as failed (`timeout`).
  caf::timespan ping_timeout = std::chrono::seconds{5};
  /// Failed pings in a row before the monitor asks the supervisor for a
  /// restart; the server is `down` from then until a ping succeeds or a new
  /// session is ready. 0 = never ask for restarts.
  size_t failures_before_restart = 3;
  /// A last round trip above this makes a ready server `degraded`.
  caf::timespan slow_rtt = std::chrono::seconds{1};
};

/// Empty if `cfg` is usable, otherwise what is wrong with it (interval and
/// ping timeout must be positive, slow_rtt not negative).
std::string validate(const health_config& cfg);

/// The judgment of one server (pure):
/// - `gave_up` or `closed` (also: its supervisor is dead) -> down;
/// - `connecting` or `backing_off` -> degraded;
/// - `ready` with `failures_before_restart` (> 0) pings in a row failed ->
///   down; with fewer failed in a row (> 0), or `rtt_last > slow_rtt` ->
///   degraded; otherwise (including "no ping yet") -> healthy.
health_state judge_health(link_phase phase, uint64_t consecutive_failures,
                          caf::timespan rtt_last,
                          const health_config& cfg) noexcept;

/// The smoothed round trip after one more sample (pure; TCP's SRTT with
/// alpha 1/8): the first sample is taken as is, later ones move the
/// estimate by (sample - srtt) / 8, in whole nanoseconds (truncated).
caf::timespan smooth_rtt(caf::timespan srtt, caf::timespan sample,
                         bool first) noexcept;

/// What the monitor keeps about one watched server.
struct health_entry {
  supervisor_actor supervisor;
  health_snapshot snapshot;
  /// A link status arrived (until then the state is `down`, phase unknown).
  bool heard = false;
  bool ping_in_flight = false;
  /// `snapshot.rtt_smoothed` holds an estimate.
  bool have_srtt = false;
  /// Failed pings since the last restart request (or success / new
  /// session): the counter that triggers the next restart request.
  uint64_t failures_since_restart = 0;
  /// Changes when the server is watched again or its supervisor dies, so
  /// late ping replies of the old one are ignored.
  uint64_t generation = 0;
};

struct health_monitor_state {
  health_config cfg;
  /// By server name (so queries come out sorted).
  std::map<std::string, health_entry> servers;
  subscriber_set subscribers;
  /// Id of the running periodic timer (0 = not started).
  uint64_t timer_id = 0;
  uint64_t next_generation = 1;
  ~health_monitor_state();
  static inline const char* name = "caf_mcp.health_monitor";
};

/// Spawn with `system.spawn(health_monitor, cfg)`. With an invalid config it
/// quits at once with `invalid_argument`.
health_monitor_impl_actor::behavior_type
health_monitor(health_monitor_impl_actor::stateful_pointer<health_monitor_state> self,
               health_config cfg);

} // namespace caf_mcp
