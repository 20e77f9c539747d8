#pragma once

/// The whole protocol between caf-mcp's actors, in one file: the atoms, the
/// small types that travel between actors, and the typed-actor interfaces.
/// `register_types(cfg)` registers every type that may cross CAF nodes and
/// our error category, so a remote node calls a tool proxy exactly as a
/// local actor does.
///
/// Who talks to whom:
///
///   caller ── client_actor ── pool_actor ── supervisor_actor ── session_actor
///     └── tool_proxy_actor ──────┘    │ (health_monitor_actor pings)
///   session_actor ── post_sink (POSTs) ──> Beast I/O; the io thread reading
///   the session's SSE stream sends (endpoint, inbound, post_done,
///   sse_closed) straight to the session.
///
/// pool, supervisor and session all answer `server_api` (init, list, call,
/// request, ping, subscribe, close); one-shot clients use sessions directly.
///
/// The session owns its SSE stream (actors/session_stream.hpp): the io thread
/// decodes the events and sends them to the session, and the session POSTs
/// through the `post_sink` it got with the endpoint.
///
/// Subscribers (any `caf::actor`) receive, from sessions:
///   (log_atom, server_name, logging_message_params)
///   (tools_changed_atom, server_name, std::vector<tool>)
/// and a call's `call_options::listener` receives:
///   (progress_atom, progress_params)

#include <cstdint>
#include <functional>
#include <memory>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor.hpp"
#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/atom.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/replies_to.hpp"
#include "caf/timespan.hpp"
#include "caf/typed_actor.hpp"

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp {

// -- atoms (at most 10 characters; CAF's own are reused where they fit:
//    caf::ping_atom, caf::close_atom, caf::get_atom, caf::subscribe_atom) ----

/// Call a tool.
using call_atom = caf::atom_constant<caf::atom("mcp_call")>;
/// List tools.
using list_atom = caf::atom_constant<caf::atom("mcp_list")>;
/// Initialize (and wait until ready).
using init_atom = caf::atom_constant<caf::atom("mcp_init")>;
/// A raw JSON-RPC request (method, params JSON).
using request_atom = caf::atom_constant<caf::atom("mcp_req")>;
/// Get the tool proxies of a client.
using proxies_atom = caf::atom_constant<caf::atom("mcp_proxy")>;
/// Close every session of a client.
using cleanup_atom = caf::atom_constant<caf::atom("mcp_clean")>;
/// io thread -> session (private): the endpoint URL is known and
/// origin-checked; its POST sink comes along.
using endpoint_atom = caf::atom_constant<caf::atom("mcp_endp")>;
/// io thread -> session (private): decoded JSON-RPC messages of one read.
using inbound_atom = caf::atom_constant<caf::atom("mcp_in")>;
/// session -> test connection: POST a JSON-RPC body (only without a sink).
using post_atom = caf::atom_constant<caf::atom("mcp_post")>;
/// io thread -> session (private): a POST finished (post_outcome).
using post_done_atom = caf::atom_constant<caf::atom("mcp_posted")>;
/// session -> test connection: add a header to later POSTs (no sink).
using header_atom = caf::atom_constant<caf::atom("mcp_hdr")>;
/// io thread -> session (private): the SSE stream is over (stream_end).
using sse_closed_atom = caf::atom_constant<caf::atom("mcp_ssec")>;
/// supervisor -> itself (private): settle the calls of a lost session.
using settle_atom = caf::atom_constant<caf::atom("mcp_settle")>;
/// To a call's listener: a progress notification.
using progress_atom = caf::atom_constant<caf::atom("mcp_prog")>;
/// To subscribers: a log message from the server.
using log_atom = caf::atom_constant<caf::atom("mcp_log")>;
/// To subscribers: the server's tool list changed (new list attached).
using tools_changed_atom = caf::atom_constant<caf::atom("mcp_tools")>;
/// Ask an actor for its statistics.
using stats_atom = caf::atom_constant<caf::atom("mcp_stats")>;
/// To a supervisor: try again after giving up (resets the backoff).
using retry_atom = caf::atom_constant<caf::atom("mcp_retry")>;
/// To a supervisor: restart the session now (health monitor), with a reason.
using restart_atom = caf::atom_constant<caf::atom("mcp_rstrt")>;
/// To subscribers: a supervisor's link changed state (link_status attached).
using link_atom = caf::atom_constant<caf::atom("mcp_link")>;
/// To subscribers: tools added, removed or changed after a (re)list.
using tools_diff_atom = caf::atom_constant<caf::atom("mcp_tdiff")>;
/// Ask for a health snapshot; to subscribers: a new snapshot.
using health_atom = caf::atom_constant<caf::atom("mcp_health")>;
/// A periodic timer of an actor fired (the health monitor's ping round).
using tick_atom = caf::atom_constant<caf::atom("mcp_tick")>;
/// Add a server (supervisor) to a health monitor.
using watch_atom = caf::atom_constant<caf::atom("mcp_watch")>;
/// Remove a server from a health monitor.
using unwatch_atom = caf::atom_constant<caf::atom("mcp_unwat")>;
/// Ask a node's registry for its servers (all, or one by name).
using servers_atom = caf::atom_constant<caf::atom("mcp_srvs")>;
/// From a node's registry to its subscribers: one node event.
using node_event_atom = caf::atom_constant<caf::atom("mcp_nevt")>;
/// Ask a node's registry for its cluster peers (node_info).
using nodes_atom = caf::atom_constant<caf::atom("mcp_nodes")>;

/// The version of everything in this file that crosses CAF nodes (type
/// names, their fields, the published `registry_actor`). Nodes set
/// `middleman.app-identifiers` to `wire_protocol`, so a build whose types
/// differ is refused at the BASP handshake instead of delivering empty
/// messages. Change it with every change to a registered type or to
/// `registry_actor`.
constexpr const char* wire_protocol = "caf-mcp/2";

// -- types that travel between actors -----------------------------------------

/// Per-call options. Zero durations mean "the client's default".
struct call_options {
  /// Fail the call with `timeout` if no response arrives in this time.
  caf::timespan timeout{0};
  /// Progress notifications push the deadline out, but never beyond this
  /// much time after the call started.
  caf::timespan max_timeout{0};
  /// The caller allows sending the call again on a new session after a
  /// connection loss (used by the supervisor; never done silently).
  bool retryable = false;
  /// Receives (progress_atom, progress_params) for this call, if set; the
  /// request then carries `_meta.progressToken`.
  caf::actor listener;
  /// Extra HTTP headers (name, value) for the POST of this request only;
  /// they replace configured headers of the same name (any case). Checked
  /// like the CLI's -H (`transport::check_header`): a bad one fails the
  /// call with `invalid_argument`. Values are secrets: never logged.
  std::vector<std::pair<std::string, std::string>> headers;
};

inline bool operator==(const call_options& x, const call_options& y) {
  return x.timeout == y.timeout && x.max_timeout == y.max_timeout
         && x.retryable == y.retryable && x.listener == y.listener
         && x.headers == y.headers;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_options& x) {
  return f(caf::meta::type_name("call_options"), x.timeout, x.max_timeout,
           x.retryable, x.listener, x.headers);
}

/// Decoded JSON-RPC messages of one read. Local only (holds Boost.JSON
/// values): it never crosses a node.
struct inbound_batch {
  std::vector<jsonrpc_message> messages;
  std::vector<decode_error> errors;
};

/// Where a session's POSTs go: the POST channel of its connection, called
/// directly from the session (no actor hop). Only its session calls it, one
/// call at a time. Outcomes come back to the session as
/// (post_done_atom, tag, error): failures always, successes only for tags
/// with `ack_tag_bit`. Local only: it never crosses a node.
class post_sink {
public:
  virtual ~post_sink() = default;

  /// POSTs a JSON-RPC body to the endpoint.
  virtual void post(uint64_t tag, std::string body) = 0;

  /// POSTs a JSON-RPC body with extra headers for this POST only (they
  /// replace the sink's headers of the same name). Sinks that cannot send
  /// headers (test sinks) ignore them.
  virtual void
  post_with_headers(uint64_t tag, std::string body,
                    const std::vector<std::pair<std::string, std::string>>&
                      headers) {
    static_cast<void>(headers);
    post(tag, std::move(body));
  }

  /// Adds or replaces a header sent with every later POST.
  virtual void set_header(std::string name, std::string value) = 0;

  /// Calls `f` (on any thread) once no POST is in flight any more: at once
  /// if none is, else after the last outcome was sent to the session. A
  /// session whose stream ended uses it to learn which of its calls the
  /// server refused (never executed) before it fails the rest.
  virtual void when_idle(std::function<void()> f) {
    f();
  }
};

using post_sink_ptr = std::shared_ptr<post_sink>;

/// The outcome of one POST, from the io thread to its session. Local only
/// (not registered): no other node can make or send one.
struct post_outcome {
  uint64_t tag = 0;
  /// None: accepted (sent for tags with `ack_tag_bit` only).
  caf::error err;
};

/// The end of a session's SSE stream, from the io thread (or the test
/// seam's connection) to its session. Local only.
struct stream_end {
  /// The classified cause (connection_lost, unauthorized, ...).
  caf::error reason;
};

/// A supervisor's note to itself: settle the calls still in flight on lost
/// session number `session`. Local only.
struct settle_lost_calls {
  uint64_t session = 0;
};

/// POST tags with this bit set are acknowledged on success too; others only
/// on failure (a 202 for every call would double the messages per call).
constexpr uint64_t ack_tag_bit = uint64_t{1} << 63;

/// POST tags with this bit set belong to POSTs that are not requests with
/// a pending entry (notifications, responses to server requests): their
/// low bits are a counter, not a JSON-RPC id.
constexpr uint64_t notification_tag_bit = uint64_t{1} << 62;

/// POST tags with this bit set may be sent once more on a fresh connection
/// when a reused keep-alive connection broke after the request was fully
/// written (pings, listings, notifications, calls the caller marked
/// retryable). Without it a POST is sent again only if provably none of it
/// left; otherwise it fails with `outcome_unknown` (RFC 9110 9.2.2).
constexpr uint64_t resend_ok_tag_bit = uint64_t{1} << 61;

/// Counters of one session.
struct session_stats {
  uint64_t requests_sent = 0;
  uint64_t responses = 0;
  /// Responses whose id matched no pending request (late answers to calls
  /// that timed out, or a confused server).
  uint64_t unknown_responses = 0;
  uint64_t malformed_messages = 0;
  uint64_t notifications = 0;
  uint64_t server_requests = 0;
  uint64_t timeouts = 0;
  /// tools/list_changed notifications that did not start a listing of
  /// their own (one was running or already pending).
  uint64_t relists_coalesced = 0;
};

inline bool operator==(const session_stats& x, const session_stats& y) {
  return x.requests_sent == y.requests_sent && x.responses == y.responses
         && x.unknown_responses == y.unknown_responses
         && x.malformed_messages == y.malformed_messages
         && x.notifications == y.notifications
         && x.server_requests == y.server_requests
         && x.timeouts == y.timeouts
         && x.relists_coalesced == y.relists_coalesced;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_stats& x) {
  return f(caf::meta::type_name("session_stats"), x.requests_sent,
           x.responses, x.unknown_responses, x.malformed_messages,
           x.notifications, x.server_requests, x.timeouts,
           x.relists_coalesced);
}

// -- typed-actor interfaces ---------------------------------------------------

/// The session's test seam (session_config::make_connection): a connection
/// actor that stands for the SSE stream and its POST channel. It quits with
/// the classified error when the "stream" ends; the session monitors it.
/// `post_atom` and `header_atom` serve sessions that got no sink (a null
/// `post_sink_ptr`). The real transport needs no actor (session_stream.hpp).
using connection_actor = caf::typed_actor<
  // session -> connection
  caf::reacts_to<post_atom, uint64_t /*tag*/, std::string /*body*/>,
  caf::reacts_to<header_atom, std::string /*name*/, std::string /*value*/>,
  caf::reacts_to<caf::close_atom>,
  // the fake transport (tests)
  caf::reacts_to<endpoint_atom, std::string /*redacted endpoint URL*/,
                 post_sink_ptr>,
  caf::reacts_to<sse_closed_atom, stream_end>>;

/// What every handle on one MCP server answers: a session, a supervisor and
/// a connection pool (each extends it below).
using server_api = caf::typed_actor<
  caf::replies_to<init_atom>::with<initialize_result>,
  caf::replies_to<list_atom>::with<std::vector<tool>>,
  /// Listing with the caller's deadline (`timeout`; other fields unused).
  caf::replies_to<list_atom, call_options>::with<std::vector<tool>>,
  caf::replies_to<call_atom, std::string /*tool*/, std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<request_atom, std::string /*method*/,
                  std::string /*params JSON*/,
                  call_options>::with<std::string /*result JSON*/>,
  caf::replies_to<caf::ping_atom>::with<caf::timespan /*round trip*/>,
  /// A ping with the caller's deadline (`timeout`; other fields unused): a
  /// health ping that gave up after 5 s does not stay in the session for
  /// the default request timeout.
  caf::replies_to<caf::ping_atom, call_options>::with<caf::timespan>,
  /// Adds a subscriber (once; monitored, dropped when it ends).
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<caf::unsubscribe_atom, caf::actor>,
  caf::reacts_to<caf::close_atom>>;

/// One MCP session (one initialize handshake over one connection), as
/// callers hold it: the caller interface only.
using session_actor = server_api;

/// The session as its own transport talks to it: what the io thread reading
/// its stream (or the test seam's connection) sends, and its counters.
/// Private to the session and its transport: the messages carry local-only
/// types, so no other node can forge them, and callers get `session_actor`.
using session_impl_actor = session_actor::extend<
  caf::reacts_to<endpoint_atom, std::string /*redacted endpoint URL*/,
                 post_sink_ptr /*null: post through the connection*/>,
  caf::reacts_to<inbound_atom, inbound_batch>,
  caf::reacts_to<post_done_atom, post_outcome>,
  caf::reacts_to<sse_closed_atom, stream_end>,
  caf::replies_to<stats_atom>::with<session_stats>>;

/// One tool of one server, as a handle a caller can keep.
using tool_proxy_actor = caf::typed_actor<
  caf::replies_to<call_atom, std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<caf::get_atom>::with<tool>>;

/// A tool description together with its proxy.
struct tool_handle {
  tool descriptor;
  tool_proxy_actor proxy;
};

inline bool operator==(const tool_handle& x, const tool_handle& y) {
  return x.descriptor == y.descriptor && x.proxy == y.proxy;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tool_handle& x) {
  return f(caf::meta::type_name("tool_handle"), x.descriptor, x.proxy);
}

// -- supervision --------------------------------------------------------------

/// Where a supervisor's link to its server stands.
enum class link_phase : uint8_t {
  /// A session is being set up (connect, endpoint, initialize).
  connecting,
  /// The session is initialized: calls go out.
  ready,
  /// Waiting for the backoff delay before the next attempt.
  backing_off,
  /// Stopped trying (max attempts, or a failure retrying cannot fix); the
  /// last error says why. `retry_atom` starts again.
  gave_up,
  /// Closed by its owner.
  closed,
};

/// "connecting", "ready", "backing_off", "gave_up" or "closed".
const char* to_string(link_phase x) noexcept;

/// A supervisor's state, as it answers `get_atom` and tells subscribers.
struct link_status {
  std::string server;
  /// Which member of a pool (0 for a supervisor on its own).
  uint32_t member = 0;
  link_phase phase = link_phase::connecting;
  /// Sessions started (the first one included).
  uint64_t sessions_started = 0;
  /// Restarts after a lost or failed session.
  uint64_t reconnects = 0;
  /// Failed attempts since the last stable connection.
  uint64_t attempts = 0;
  /// Calls waiting for the link to become ready.
  uint64_t queued = 0;
  /// Calls sent to the current session and not yet answered.
  uint64_t in_flight = 0;
  /// Calls answered (results, including isError results).
  uint64_t calls_ok = 0;
  /// Calls that failed (any code).
  uint64_t calls_failed = 0;
  /// Calls sent a second time after a connection loss (retryable calls and
  /// calls that provably never reached the server).
  uint64_t calls_resent = 0;
  /// Time since the epoch of the system clock, in milliseconds, when the
  /// current session became ready (0 if not ready).
  int64_t ready_since_ms = 0;
  /// The delay before the next attempt while backing off.
  caf::timespan next_attempt_in{0};
  /// Longest time from losing a session to the next ready one.
  caf::timespan longest_recovery{0};
  /// Time from starting the current session to ready (connect, endpoint,
  /// initialize, initialized): what a restart costs beyond its backoff delay.
  caf::timespan last_connect{0};
  /// The longest such time so far.
  caf::timespan longest_connect{0};
  /// The error that ended the last session or attempt (none if none).
  caf::error last_error;
};

bool operator==(const link_status& x, const link_status& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_status& x) {
  return f(caf::meta::type_name("link_status"), x.server, x.member, x.phase,
           x.sessions_started, x.reconnects, x.attempts, x.queued,
           x.in_flight, x.calls_ok, x.calls_failed, x.calls_resent,
           x.ready_since_ms, x.next_attempt_in, x.longest_recovery,
           x.last_connect, x.longest_connect, x.last_error);
}

/// What changed in a server's tool set between two listings.
struct tools_diff {
  std::vector<tool> added;
  /// Tools that are gone (the descriptions they had).
  std::vector<tool> removed;
  /// Tools whose description, schema or annotations changed (new form).
  std::vector<tool> changed;
};

inline bool operator==(const tools_diff& x, const tools_diff& y) {
  return x.added == y.added && x.removed == y.removed
         && x.changed == y.changed;
}

inline bool empty(const tools_diff& x) {
  return x.added.empty() && x.removed.empty() && x.changed.empty();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tools_diff& x) {
  return f(caf::meta::type_name("tools_diff"), x.added, x.removed,
           x.changed);
}

/// Compares two tool lists by name (order does not matter).
tools_diff diff_tools(const std::vector<tool>& before,
                      const std::vector<tool>& after);

/// Applies `d` to `tools`: removed ones go, added and changed ones take
/// their new form. The result is sorted by name.
std::vector<tool> apply_diff(const std::vector<tool>& tools,
                             const tools_diff& d);

/// A tool list shared by everybody who holds an equal one.
using tool_list_ptr = std::shared_ptr<const std::vector<tool>>;

/// Returns a shared list equal to `tools` (same tools, same order): the one
/// somebody in this process already holds if there is one, else a new copy.
/// Many sessions to one server list the same tools; each supervisor keeping
/// its own copy cost ~2 KiB per pool member. Thread-safe.
tool_list_ptr intern_tools(const std::vector<tool>& tools);

/// As above; moves `tools` into the table when nobody holds an equal list.
tool_list_ptr intern_tools(std::vector<tool>&& tools);

/// Sorts by name (stable), the order `apply_diff` returns: holders that
/// keep lists in this order share one copy through `intern_tools` (the
/// supervisors, the pool, the client and the node's registry keep one
/// list between them, not one each).
void sort_tools(std::vector<tool>& tools);

/// Health of one server as the health monitor judges it.
enum class health_state : uint8_t {
  /// Recent pings answered.
  healthy,
  /// Some pings failed, or the round trip is slow, or the link is
  /// reconnecting.
  degraded,
  /// The link is down, gave up, or K pings in a row failed.
  down,
};

/// "healthy", "degraded" or "down".
const char* to_string(health_state x) noexcept;

/// The seed's connection statistics for one server, as a value.
struct health_snapshot {
  std::string server;
  health_state state = health_state::down;
  link_phase phase = link_phase::connecting;
  /// When the current session became ready (system clock, ms; 0 = not).
  int64_t connected_since_ms = 0;
  /// Last time anything was heard from the server (ms; 0 = never).
  int64_t last_activity_ms = 0;
  uint64_t reconnects = 0;
  /// Calls and pings answered.
  uint64_t messages = 0;
  /// Calls and pings failed.
  uint64_t errors = 0;
  uint64_t pings_sent = 0;
  uint64_t pings_failed = 0;
  /// Failed pings in a row.
  uint64_t consecutive_failures = 0;
  caf::timespan rtt_last{0};
  /// Exponentially smoothed round trip (alpha 1/8, as TCP's SRTT).
  caf::timespan rtt_smoothed{0};
  caf::error last_error;
};

bool operator==(const health_snapshot& x, const health_snapshot& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_snapshot& x) {
  return f(caf::meta::type_name("health_snapshot"), x.server, x.state,
           x.phase, x.connected_since_ms, x.last_activity_ms, x.reconnects,
           x.messages, x.errors, x.pings_sent, x.pings_failed,
           x.consecutive_failures, x.rtt_last, x.rtt_smoothed, x.last_error);
}

/// Statistics of a connection pool.
struct pool_stats {
  std::string server;
  /// Members now, and how many of them are ready.
  uint64_t members = 0;
  uint64_t ready = 0;
  /// Members replaced after they died or gave up.
  uint64_t replaced = 0;
  uint64_t in_flight = 0;
  uint64_t calls_ok = 0;
  uint64_t calls_failed = 0;
  /// The status of each member.
  std::vector<link_status> links;
};

bool operator==(const pool_stats& x, const pool_stats& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.server, x.members, x.ready,
           x.replaced, x.in_flight, x.calls_ok, x.calls_failed, x.links);
}

/// One server behind a supervisor that restarts its session with backoff.
/// Same caller interface as a session, plus status, retry and restart.
/// Subscribers get (log_atom, server, logging_message_params),
/// (tools_diff_atom, server, tools_diff) and (link_atom, link_status).
using supervisor_actor = server_api::extend<
  caf::replies_to<caf::get_atom>::with<link_status>,
  caf::reacts_to<retry_atom>,
  caf::reacts_to<restart_atom, caf::error /*why*/>>;

/// The supervisor as its sessions and it itself talk to it. Private: what
/// its session tells it is taken only from its current session (checked by
/// sender), and the settle note is local-only.
using supervisor_impl_actor = supervisor_actor::extend<
  caf::reacts_to<tools_changed_atom, std::string, std::vector<tool>>,
  caf::reacts_to<log_atom, std::string, logging_message_params>,
  caf::reacts_to<settle_atom, settle_lost_calls>>;

/// N supervised sessions to one server with least-in-flight routing.
using pool_actor = server_api::extend<
  caf::replies_to<stats_atom>::with<pool_stats>,
  caf::replies_to<caf::get_atom>::with<std::vector<supervisor_actor>>,
  /// Health of every member (from the pool's health monitor).
  caf::replies_to<health_atom>::with<std::vector<health_snapshot>>,
  caf::reacts_to<retry_atom>>;

/// The pool as its members talk to it (it subscribes itself to each).
/// Private: taken only from its current members (checked by sender);
/// callers get `pool_actor`.
using pool_impl_actor = pool_actor::extend<
  caf::reacts_to<link_atom, link_status>,
  caf::reacts_to<tools_diff_atom, std::string, tools_diff>,
  caf::reacts_to<log_atom, std::string, logging_message_params>>;

/// Pings supervised servers and keeps the seed's connection statistics.
/// Subscribers get (health_atom, health_snapshot) on every change of state
/// and after every ping round. It subscribes itself to every supervisor it
/// watches and tells them apart by the sender (supervisors publish with
/// `send_as`); their tool diffs and log lines are ignored.
using health_monitor_actor = caf::typed_actor<
  caf::reacts_to<watch_atom, std::string /*server*/, supervisor_actor>,
  caf::reacts_to<unwatch_atom, std::string /*server*/>,
  caf::replies_to<health_atom>::with<std::vector<health_snapshot>>,
  caf::replies_to<health_atom, std::string /*server*/>::with<health_snapshot>,
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<caf::unsubscribe_atom, caf::actor>>;

/// The health monitor as the supervisors it watches and its own timer talk
/// to it. Private: link news only from a watched supervisor, the tick only
/// from itself (both checked by sender); callers get
/// `health_monitor_actor`.
using health_monitor_impl_actor = health_monitor_actor::extend<
  caf::reacts_to<link_atom, link_status>,
  caf::reacts_to<tools_diff_atom, std::string, tools_diff>,
  caf::reacts_to<log_atom, std::string, logging_message_params>,
  caf::reacts_to<tick_atom, uint64_t>>;

/// The client facade: the seed's SSEMCPClient as an actor.
using client_actor = caf::typed_actor<
  caf::replies_to<init_atom, bool /*fetch tools*/>::with<std::vector<tool>>,
  caf::replies_to<list_atom>::with<std::vector<tool>>,
  caf::replies_to<call_atom, std::string /*tool*/, std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<caf::ping_atom>::with<caf::timespan>,
  caf::replies_to<proxies_atom>::with<std::vector<tool_handle>>,
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<caf::unsubscribe_atom, caf::actor>,
  caf::reacts_to<cleanup_atom>,
  /// The pool's statistics (keep-alive mode; empty before first use).
  caf::replies_to<stats_atom>::with<pool_stats>,
  /// The current pool (keep-alive mode; null before first use): for
  /// monitoring it. Calls go through the client (its tool proxies too).
  caf::replies_to<caf::get_atom>::with<pool_actor>>;

/// The client as its pool and its one-shot sessions talk to it (it
/// subscribes itself to them). Private: taken only from them (checked by
/// sender); callers and tool proxies get `client_actor`.
using client_impl_actor = client_actor::extend<
  caf::reacts_to<tools_changed_atom, std::string /*server*/,
                 std::vector<tool>>,
  caf::reacts_to<tools_diff_atom, std::string, tools_diff>,
  caf::reacts_to<link_atom, link_status>,
  caf::reacts_to<log_atom, std::string, logging_message_params>>;

// -- the node ---------------------------------------------------------------------

/// One configured server of a node, as `GET /api/servers` shows it (NODE.md
/// "SERVER"). A pool's members are summed; its state is `healthy` if every
/// member is, `down` if every member is, else `degraded`; its phase is the
/// best member's (ready before connecting before backing off before
/// gave_up before closed).
struct server_info {
  std::string name;
  /// Redacted (transport::redact): no userinfo, no secret query values.
  std::string url;
  /// "sse" (the only transport today).
  std::string transport;
  std::string description;
  health_state state = health_state::down;
  link_phase phase = link_phase::connecting;
  /// System clock, ms since the epoch, when the oldest ready member became
  /// ready (0 = not connected).
  int64_t connected_since_ms = 0;
  uint64_t reconnects = 0;
  /// The last error as one redacted line ("" if none).
  std::string last_error;
  /// Smoothed ping round trip (0 = not measured yet).
  double rtt_ms = 0;
  uint64_t in_flight = 0;
  uint64_t calls_ok = 0;
  uint64_t calls_failed = 0;
  /// Calls answered with `isError: true` (also counted in calls_ok).
  uint64_t calls_is_error = 0;
  uint64_t tool_count = 0;
  /// The node that holds the session.
  std::string node;
  /// Configured but not started (`disabled: true`).
  bool disabled = false;
};

bool operator==(const server_info& x, const server_info& y);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_info& x) {
  return f(caf::meta::type_name("server_info"), x.name, x.url, x.transport,
           x.description, x.state, x.phase, x.connected_since_ms,
           x.reconnects, x.last_error, x.rtt_ms, x.in_flight, x.calls_ok,
           x.calls_failed, x.calls_is_error, x.tool_count, x.node,
           x.disabled);
}

/// One server with its tools.
struct server_detail {
  server_info info;
  std::vector<tool> tools;
};

inline bool operator==(const server_detail& x, const server_detail& y) {
  return x.info == y.info && x.tools == y.tools;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_detail& x) {
  return f(caf::meta::type_name("server_detail"), x.info, x.tools);
}

/// One event of a node (NODE.md "Events"): `kind` is the SSE event name
/// (server, tools, log, progress, call, node, config), `data` one JSON
/// object (with "server" where it applies). Ids grow by one per event.
struct node_event {
  uint64_t id = 0;
  std::string kind;
  std::string server;
  std::string data;
};

inline bool operator==(const node_event& x, const node_event& y) {
  return x.id == y.id && x.kind == y.kind && x.server == y.server
         && x.data == y.data;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_event& x) {
  return f(caf::meta::type_name("node_event"), x.id, x.kind, x.server,
           x.data);
}

/// One cluster peer of a node, as `GET /api/nodes` shows it (NODE.md).
struct node_info {
  /// The peer's name from `cluster.peers` (the PEER of `PEER:SERVER`).
  std::string name;
  /// "HOST:PORT".
  std::string address;
  /// "up", "down" or "connecting".
  std::string state;
  /// System clock, ms since the epoch, of the last change of `state`.
  int64_t since_ms = 0;
  /// The last error as one line ("" if none).
  std::string last_error;
  /// Round trip of the last listing of its servers (0 = none yet).
  double rtt_ms = 0;
};

inline bool operator==(const node_info& x, const node_info& y) {
  return x.name == y.name && x.address == y.address && x.state == y.state
         && x.since_ms == y.since_ms && x.last_error == y.last_error
         && x.rtt_ms == y.rtt_ms;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.name, x.address, x.state,
           x.since_ms, x.last_error, x.rtt_ms);
}

/// A node's registry: its servers, their tools, calls by server and tool
/// name. The HTTP API talks to it, and other CAF nodes will. Subscribers
/// get `(node_event_atom, node_event)`.
using registry_actor = caf::typed_actor<
  caf::replies_to<servers_atom>::with<std::vector<server_info>>,
  /// unknown server: invalid_argument
  caf::replies_to<servers_atom, std::string>::with<server_detail>,
  /// (server, tool, arguments JSON object, options); unknown server or
  /// tool: invalid_argument; draining: service_unavailable.
  caf::replies_to<call_atom, std::string, std::string, std::string,
                  call_options>::with<call_tool_result>,
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<caf::unsubscribe_atom, caf::actor>>;

// -- remote calls in batches (the cluster) ---------------------------------------

/// Peer -> front: calls in one message (`remote_call`s).
using call_batch_atom = caf::atom_constant<caf::atom("mcp_cbat")>;
/// Front -> peer: answers in one message (`remote_result`s).
using call_results_atom = caf::atom_constant<caf::atom("mcp_cres")>;

/// One call of a batch: what `call_atom` carries, plus the caller's
/// number for it and the number of its send (a retryable call is sent
/// again after a reconnect; an answer of an earlier send does not count).
struct remote_call {
  uint64_t id = 0;
  uint32_t attempt = 0;
  std::string server;
  std::string tool;
  std::string args;
  call_options opts;
};

inline bool operator==(const remote_call& x, const remote_call& y) {
  return x.id == y.id && x.attempt == y.attempt && x.server == y.server
         && x.tool == y.tool && x.args == y.args && x.opts == y.opts;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_call& x) {
  return f(caf::meta::type_name("remote_call"), x.id, x.attempt, x.server,
           x.tool, x.args, x.opts);
}

/// The answer to one `remote_call`: `error` set, or `result`.
struct remote_result {
  uint64_t id = 0;
  uint32_t attempt = 0;
  caf::error error;
  call_tool_result result;
};

inline bool operator==(const remote_result& x, const remote_result& y) {
  return x.id == y.id && x.attempt == y.attempt && x.error == y.error
         && x.result == y.result;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_result& x) {
  return f(caf::meta::type_name("remote_result"), x.id, x.attempt, x.error,
           x.result);
}

/// The sender of a batch, as the front answers it (a peer actor).
using batch_caller_actor = caf::typed_actor<
  caf::reacts_to<call_results_atom, std::vector<remote_result>>>;

/// What a node publishes on its cluster port (the cluster's *front*): the
/// registry interface, for any CAF program, plus calls in batches, which
/// caf-mcp's peer actors use: the front answers a batch with
/// `(call_results_atom, std::vector<remote_result>)` messages to its
/// sender, several answers per message when they come together
/// (docs/cluster.md, "Batching").
using cluster_front_actor = registry_actor::extend<
  caf::reacts_to<call_batch_atom, std::vector<remote_call>>>;

/// Registers our error category and every type that may cross CAF nodes
/// with `cfg` (call once per actor system config).
void register_types(caf::actor_system_config& cfg);

} // namespace caf_mcp

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::inbound_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::post_sink_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::post_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::stream_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::settle_lost_calls)
