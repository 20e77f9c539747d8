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
///     │            │                ▲   │ post_sink (POSTs)      │
///     └── tool_proxy_actor ─────────┘   └────────────────────────┘
///                                   ▲ (endpoint, inbound, post_done)
///                                   └── straight from the io thread
///
/// The hot path skips the connection actor: the io thread decodes the SSE
/// events and sends them to the session, and the session POSTs through the
/// `post_sink` it got with the endpoint. The connection actor owns the
/// stream and turns its end into its exit reason.
///
/// Subscribers (any `caf::actor`) receive, from sessions:
///   (log_atom, server_name, logging_message_params)
///   (tools_changed_atom, server_name, std::vector<tool>)
/// and a call's `call_options::listener` receives:
///   (progress_atom, progress_params)

#include <cstdint>
#include <memory>
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
/// io thread -> session and connection: the endpoint URL is known and
/// origin-checked; its POST sink comes along.
using endpoint_atom = caf::atom_constant<caf::atom("mcp_endp")>;
/// io thread -> session: decoded JSON-RPC messages of one read.
using inbound_atom = caf::atom_constant<caf::atom("mcp_in")>;
/// session -> connection: POST a JSON-RPC body (used only without a sink).
using post_atom = caf::atom_constant<caf::atom("mcp_post")>;
/// io thread -> session: a POST finished (tag, error or none).
using post_done_atom = caf::atom_constant<caf::atom("mcp_posted")>;
/// session -> connection: add a header to later POSTs (only without a sink).
using header_atom = caf::atom_constant<caf::atom("mcp_hdr")>;
/// io thread -> connection: the SSE stream is over.
using sse_closed_atom = caf::atom_constant<caf::atom("mcp_ssec")>;
/// A timer of a session fired (0: the endpoint wait; 1: request deadlines).
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

  /// Adds or replaces a header sent with every later POST.
  virtual void set_header(std::string name, std::string value) = 0;
};

using post_sink_ptr = std::shared_ptr<post_sink>;

/// POST tags with this bit set are acknowledged on success too; others only
/// on failure (a 202 for every call would double the messages per call).
constexpr uint64_t ack_tag_bit = uint64_t{1} << 63;

// -- typed-actor interfaces ---------------------------------------------------

/// The transport of one MCP session: one SSE stream and its POST channel.
/// Quits with the classified error when the stream ends or breaks, or when
/// the endpoint is refused; its owner monitors it. `post_atom` and
/// `header_atom` serve sessions that got no sink (a null `post_sink_ptr`).
using connection_actor = caf::typed_actor<
  // session -> connection
  caf::reacts_to<post_atom, uint64_t /*tag*/, std::string /*body*/>,
  caf::reacts_to<header_atom, std::string /*name*/, std::string /*value*/>,
  caf::reacts_to<caf::close_atom>,
  // io thread -> connection
  caf::reacts_to<endpoint_atom, std::string /*redacted endpoint URL*/,
                 post_sink_ptr>,
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
  caf::reacts_to<endpoint_atom, std::string /*redacted endpoint URL*/,
                 post_sink_ptr /*null: post through the connection*/>,
  caf::reacts_to<inbound_atom, inbound_batch>,
  caf::reacts_to<post_done_atom, uint64_t /*tag*/, caf::error>,
  // timers
  caf::reacts_to<deadline_atom, int64_t /*0 = endpoint, 1 = requests*/>>;

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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::post_sink_ptr)
