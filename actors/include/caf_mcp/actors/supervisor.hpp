#pragma once

/// The supervisor: one server's session, kept alive.
///
/// Owns: the current session actor (one at a time; every restart is a new
/// MCP session: new GET, `initialize`, a fresh tools/list), the backoff
/// policy, the calls waiting for a session (bounded, each with its own
/// deadline), the calls in flight on the current session, the last tool
/// list, its subscribers.
/// Receives: the caller interface of a session (init, list, call, request,
/// ping, subscribe, unsubscribe, close) plus `get_atom` (status),
/// `retry_atom` (try again after giving up) and `(restart_atom, why)` (from
/// a health monitor); privately (`supervisor_impl_actor`) tool lists and
/// logs from its current session only (checked by sender) and its settle
/// note. Calls in flight are bounded by `max_in_flight` (`queue_full`); a
/// call whose POST broke after it was written fails alone with
/// `outcome_unknown` (a retryable one is sent once more). Its timers
/// (reconnect, waiting calls, parked resends) are `actor_timer`s.
/// Monitors: its session and its subscribers. A session that ends, fails to start, or fails a
/// call with `connection_lost` / `session_expired` is replaced after
/// `backoff.next_delay()` (the server's Retry-After is a floor); failures
/// that retrying cannot fix (see recovery.hpp) give up at once, and
/// `max_attempts` failed attempts in a row give up too: the phase is then
/// `gave_up` with the last error, waiting calls fail, and `retry_atom`
/// starts again.
/// Calls in flight when a session is lost fail with `connection_lost`
/// unless marked retryable (`call_options::retryable`): those are sent once
/// more on the next session. Calls the server provably never executed
/// (POST refused, 404, 429, 503) are sent again in any case, after the
/// Retry-After or the backoff base, until their deadline.
/// Tells subscribers: (link_atom, link_status) on every phase change,
/// (tools_diff_atom, server, tools_diff) when the tool set changed after a
/// (re)list, and the session's (log_atom, ...) messages.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_clock.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/actors/timer.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/backoff.hpp"

namespace caf_mcp {

/// Creates the session of a supervisor (tests plug in a fake here).
using session_factory
  = std::function<session_actor(caf::actor_system&, const session_config&)>;

struct supervisor_config {
  /// The server: name, URL, headers, timeouts (request_timeout is also the
  /// default deadline of a call waiting for a session).
  session_config session;
  /// Restart delays: base 100 ms, factor 2, cap 30 s, full jitter, give up
  /// after 10 failed attempts in a row (0 = never), the count reset once a
  /// session answered a call or stayed up for 10 s.
  transport::backoff_config backoff = default_backoff();
  /// Start a new session after a loss at all (false: give up at the first
  /// loss; waiting calls then fail with the cause itself).
  bool restart = true;
  /// Restart after 401/403 too (default: give up, a token will not fix
  /// itself by waiting).
  bool retry_auth_failures = false;
  /// Calls waiting for a session, at most (more fail with queue_full).
  size_t max_queued_calls = 1024;
  /// Calls sent to the current session and not yet answered, at most; one
  /// more fails at once with queue_full (a server that stops answering
  /// under load must not make memory grow without bound).
  size_t max_in_flight = 4096;
  /// List tools after every (re)start and tell subscribers what changed.
  bool fetch_tools = true;
  /// Seed of the jitter (0 = from std::random_device); member N of a pool
  /// uses seed + N.
  uint64_t seed = 0;
  /// Null = spawn the real session.
  session_factory make_session;

  static transport::backoff_config default_backoff() {
    transport::backoff_config cfg;
    cfg.base = std::chrono::milliseconds{100};
    cfg.factor = 2.0;
    cfg.cap = std::chrono::seconds{30};
    cfg.max_attempts = 10;
    cfg.stable_period = std::chrono::seconds{10};
    cfg.jitter = transport::jitter_mode::full;
    return cfg;
  }
};

/// A supervisor configuration shared by the members of a pool (and by the
/// sessions of each member) instead of copied into each.
using supervisor_config_ptr = std::shared_ptr<const supervisor_config>;

/// Wraps `cfg` for `spawn(supervisor, ...)`.
inline supervisor_config_ptr share(supervisor_config cfg) {
  return std::make_shared<const supervisor_config>(std::move(cfg));
}

struct supervisor_state;

/// One call (or list, ping, raw request) as the supervisor tracks it.
struct sup_job {
  using self_ptr = supervisor_impl_actor::stateful_pointer<supervisor_state>;
  uint64_t id = 0;
  caf::actor_clock::time_point deadline;
  bool retryable = false;
  /// Sent once more after a loss (at most once for possibly executed calls).
  bool resent = false;
  /// When a parked job goes out again.
  caf::actor_clock::time_point resend_at;
  /// Incremented on every send; replies of older sends are ignored.
  uint64_t attempt = 0;
  /// The session (its number, link_status::sessions_started) it was last
  /// sent to.
  uint64_t sent_on = 0;
  /// Sends the job to `s` with `timeout` left; replies come back through
  /// `on_reply_ok` / the supervisor's error path.
  std::function<void(self_ptr, const std::shared_ptr<sup_job>&,
                     const session_actor&, caf::timespan)>
    send;
  /// Fails the caller.
  std::function<void(const caf::error&)> fail;
};

using sup_job_ptr = std::shared_ptr<sup_job>;

struct supervisor_state {
  supervisor_config_ptr cfg;
  /// `cfg->session`, as its sessions get it (aliasing `cfg`).
  session_config_ptr session_cfg;
  std::unique_ptr<transport::backoff> policy;
  link_status status;
  session_actor session;
  /// Set once the current session answered a call: it proved itself.
  bool proved = false;
  initialize_result init;
  /// The last tool list (shared with every holder of an equal one; null
  /// before the first listing).
  tool_list_ptr tools;
  /// Waiting for a session, in arrival order (ids grow).
  std::map<uint64_t, sup_job_ptr> queued;
  /// Waiting out a Retry-After or the backoff base before a resend.
  std::unordered_map<uint64_t, sup_job_ptr> parked;
  /// Sent to the current session.
  std::unordered_map<uint64_t, sup_job_ptr> in_flight;
  std::vector<caf::typed_response_promise<initialize_result>> init_waiters;
  subscriber_set subscribers;
  uint64_t next_job = 1;
  /// The server's name in messages and logs (a URL redacted).
  std::string label;
  /// The backoff delay before the next attempt.
  actor_timer reconnect_timer;
  /// Armed for the earliest deadline of the queued jobs.
  actor_timer queue_timer;
  /// Armed for the earliest resend of the parked jobs.
  actor_timer park_timer;
  /// When the current session was started (for connect times).
  caf::actor_clock::time_point started_at;
  /// Why the last session was lost (for the calls settled after it).
  caf::error loss_cause;
  /// When the last ready session was lost (for recovery times).
  std::optional<caf::actor_clock::time_point> lost_at;
  ~supervisor_state();
  static inline const char* name = "caf_mcp.supervisor";
};

/// Spawn with `system.spawn(supervisor, share(cfg), member)`; it connects at
/// once. `member` is its number in a pool (link_status::member; 0 alone).
supervisor_impl_actor::behavior_type
supervisor(supervisor_impl_actor::stateful_pointer<supervisor_state> self,
           supervisor_config_ptr cfg, uint32_t member);

} // namespace caf_mcp
