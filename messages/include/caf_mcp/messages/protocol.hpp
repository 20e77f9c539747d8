#pragma once

/// The whole protocol between caf-mcp's actors, in one file: the atoms, the
/// small types that travel between actors, and the typed-actor interfaces.
/// `register_types(cfg)` registers every type that may cross CAF nodes and
/// our error category, so a remote node calls a tool proxy exactly as a
/// local actor does.
///
/// Who talks to whom:
///
///   caller ── client_actor ── session_actor ── connection_actor ── (Beast I/O)
///     │            │                ▲  (endpoint, inbound, post_done)
///     └── tool_proxy_actor ─────────┘  via the client
///
/// Subscribers (any `caf::actor`) receive, from sessions:
///   (log_atom, server_name, logging_message_params)
///   (tools_changed_atom, server_name, std::vector<tool>)
/// and a call's `call_options::listener` receives:
///   (progress_atom, progress_params)

#include <cstdint>
#include <string>
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
/// connection -> session: the endpoint URL is known and origin-checked.
using endpoint_atom = caf::atom_constant<caf::atom("mcp_endp")>;
/// connection -> session: decoded JSON-RPC messages of one read.
using inbound_atom = caf::atom_constant<caf::atom("mcp_in")>;
/// session -> connection: POST a JSON-RPC body.
using post_atom = caf::atom_constant<caf::atom("mcp_post")>;
/// io thread -> session: a POST finished (tag, error or none).
using post_done_atom = caf::atom_constant<caf::atom("mcp_posted")>;
/// session -> connection: add a header to later POSTs.
using header_atom = caf::atom_constant<caf::atom("mcp_hdr")>;
/// io thread -> connection: the SSE GET was answered.
using sse_open_atom = caf::atom_constant<caf::atom("mcp_sseo")>;
/// io thread -> connection: the events of one read.
using sse_events_atom = caf::atom_constant<caf::atom("mcp_ssee")>;
/// io thread -> connection: the SSE stream is over.
using sse_closed_atom = caf::atom_constant<caf::atom("mcp_ssec")>;
/// A timer of a session fired.
using deadline_atom = caf::atom_constant<caf::atom("mcp_dline")>;
/// To a call's listener: a progress notification.
using progress_atom = caf::atom_constant<caf::atom("mcp_prog")>;
/// To subscribers: a log message from the server.
using log_atom = caf::atom_constant<caf::atom("mcp_log")>;
/// To subscribers: the server's tool list changed (new list attached).
using tools_changed_atom = caf::atom_constant<caf::atom("mcp_tools")>;
/// Ask an actor for its statistics.
using stats_atom = caf::atom_constant<caf::atom("mcp_stats")>;

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
};

inline bool operator==(const call_options& x, const call_options& y) {
  return x.timeout == y.timeout && x.max_timeout == y.max_timeout
         && x.retryable == y.retryable && x.listener == y.listener;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_options& x) {
  return f(caf::meta::type_name("call_options"), x.timeout, x.max_timeout,
           x.retryable, x.listener);
}

/// One SSE event as the connection actor receives it.
struct sse_event {
  std::string type;
  std::string data;
  std::string id;
};

inline bool operator==(const sse_event& x, const sse_event& y) {
  return x.type == y.type && x.data == y.data && x.id == y.id;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sse_event& x) {
  return f(caf::meta::type_name("sse_event"), x.type, x.data, x.id);
}

/// Decoded JSON-RPC messages of one read. Local only (holds Boost.JSON
/// values): it never crosses a node.
struct inbound_batch {
  std::vector<jsonrpc_message> messages;
  std::vector<decode_error> errors;
};

// -- typed-actor interfaces ---------------------------------------------------

/// The transport of one MCP session: one SSE stream and its POST channel.
/// Quits with the classified error when the stream ends or breaks; its owner
/// monitors it.
using connection_actor = caf::typed_actor<
  // session -> connection
  caf::reacts_to<post_atom, uint64_t /*tag*/, std::string /*body*/>,
  caf::reacts_to<header_atom, std::string /*name*/, std::string /*value*/>,
  caf::reacts_to<caf::close_atom>,
  // io thread -> connection
  caf::reacts_to<sse_open_atom, int32_t /*status*/>,
  caf::reacts_to<sse_events_atom, std::vector<sse_event>, uint64_t /*retry*/>,
  caf::reacts_to<sse_closed_atom, caf::error>>;

/// One MCP session (one initialize handshake over one connection).
using session_actor = caf::typed_actor<
  // callers
  caf::replies_to<init_atom>::with<initialize_result>,
  caf::replies_to<list_atom>::with<std::vector<tool>>,
  caf::replies_to<call_atom, std::string /*tool*/, std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<request_atom, std::string /*method*/,
                  std::string /*params JSON*/,
                  call_options>::with<std::string /*result JSON*/>,
  caf::replies_to<caf::ping_atom>::with<caf::timespan /*round trip*/>,
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<caf::close_atom>,
  // connection and io thread -> session
  caf::reacts_to<endpoint_atom, std::string /*redacted endpoint URL*/>,
  caf::reacts_to<inbound_atom, inbound_batch>,
  caf::reacts_to<post_done_atom, uint64_t /*tag*/, caf::error>,
  // timers
  caf::reacts_to<deadline_atom, int64_t /*request id, 0 = endpoint*/>>;

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

/// The client facade: the seed's SSEMCPClient as an actor.
using client_actor = caf::typed_actor<
  caf::replies_to<init_atom, bool /*fetch tools*/>::with<std::vector<tool>>,
  caf::replies_to<list_atom>::with<std::vector<tool>>,
  caf::replies_to<call_atom, std::string /*tool*/, std::string /*args JSON*/,
                  call_options>::with<call_tool_result>,
  caf::replies_to<caf::ping_atom>::with<caf::timespan>,
  caf::replies_to<proxies_atom>::with<std::vector<tool_handle>>,
  caf::reacts_to<caf::subscribe_atom, caf::actor>,
  caf::reacts_to<cleanup_atom>,
  // from its sessions (the client subscribes itself)
  caf::reacts_to<tools_changed_atom, std::string /*server*/,
                 std::vector<tool>>>;

/// Registers our error category and every type that may cross CAF nodes
/// with `cfg` (call once per actor system config).
void register_types(caf::actor_system_config& cfg);

} // namespace caf_mcp

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::inbound_batch)
