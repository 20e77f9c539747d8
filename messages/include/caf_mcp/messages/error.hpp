#pragma once

/// The error category of caf-mcp: every failure a caller can see is a
/// `caf::error` whose code is an `mcp_errc` and whose context says what
/// happened (HTTP status, server message, redacted URL, ...).

#include <cstdint>
#include <string>

#include "caf/error.hpp"
#include "caf/fwd.hpp"
#include "caf/make_message.hpp"
#include "caf/message.hpp"

namespace caf_mcp {

/// Closed failure taxonomy. Values are stable: they cross CAF nodes and
/// appear in `--json` output by name (see `to_string`).
enum class mcp_errc : uint8_t {
  // 0 is reserved by CAF for "no error".
  /// TCP/TLS connect or resolve failed.
  connection_failed = 1,
  /// HTTP 401 on the SSE GET or a POST.
  unauthorized,
  /// HTTP 403.
  forbidden,
  /// HTTP 404 on a POST: the server no longer knows our session id.
  session_expired,
  /// HTTP 429; context carries Retry-After if the server sent one.
  rate_limited,
  /// HTTP 503 (and 502/504 from gateways).
  service_unavailable,
  /// Any other non-2xx HTTP status (context: status and a body excerpt).
  http_status,
  /// The SSE GET answered with a Content-Type other than text/event-stream.
  bad_content_type,
  /// A request got no response before its deadline.
  timeout,
  /// The SSE stream ended or broke while the call was in flight.
  connection_lost,
  /// The server sent no `endpoint` event in time.
  endpoint_timeout,
  /// The `endpoint` event names another origin (scheme, host or port).
  endpoint_origin_mismatch,
  /// The `endpoint` event is not a URL we can resolve.
  invalid_endpoint,
  /// The event stream broke the SSE rules in a way we cannot recover from.
  malformed_sse,
  /// An SSE event was larger than the configured maximum.
  event_too_large,
  /// An event's data is not JSON.
  malformed_json,
  /// JSON that is not a valid JSON-RPC 2.0 message.
  malformed_jsonrpc,
  /// A JSON-RPC response whose id matches no pending request.
  unknown_response_id,
  /// The server answered with a JSON-RPC error object (context: code, message).
  jsonrpc_error,
  /// A well-formed JSON-RPC result that does not match the MCP schema.
  invalid_result,
  /// The server negotiated a protocol version we do not speak.
  unsupported_protocol_version,
  /// A bounded queue (pending calls while reconnecting) is full.
  queue_full,
  /// The call was cancelled by the caller or by shutdown.
  cancelled,
  /// Bad input from the caller (bad URL, bad arguments JSON, bad option).
  invalid_argument,
  /// A call was made before `initialize` completed.
  not_initialized,
  /// No tool of that name is known.
  unknown_tool,
  /// TLS handshake or certificate verification failed.
  tls_error,
  /// The supervisor gave up after its maximum number of attempts.
  gave_up,
  /// The client or its session was shut down.
  closed,
  /// A call waited for a (re)connect longer than its deadline allowed.
  queue_timeout,
  /// The request's POST broke after it may have reached the server (the
  /// whole request was written, or a response had begun): the server may
  /// have run it. Only this call fails; it is never sent again unless the
  /// caller marked it retryable.
  outcome_unknown,
  /// A configured bound was exceeded (a tool list larger than
  /// `max_tools` / `max_tools_bytes`, calls in flight beyond
  /// `max_in_flight` are `queue_full`): the context names the bound.
  limit_exceeded,
  /// A client middleware threw or failed (context: the middleware's name
  /// and what it said). Only that call fails.
  middleware_failed,
  /// The CAF node that holds the server went away (its connection broke,
  /// or it was silent past the cluster's connection timeout) while
  /// the call was in flight, or is not connected: the call may or may not
  /// have run there. Calls marked retryable are sent once more after the
  /// node is back (docs/cluster.md).
  node_down,
};

/// Number of codes (for tables indexed by code).
constexpr size_t mcp_errc_count = static_cast<size_t>(mcp_errc::node_down) + 1;

/// The code's stable name, e.g. "session_expired".
const char* to_string(mcp_errc code) noexcept;

/// Parses a name produced by `to_string`; returns false for unknown names.
bool from_string(const std::string& name, mcp_errc& code) noexcept;

/// True if retrying the same operation on a new connection or later may
/// succeed (network trouble, timeouts, 429/503, expired sessions); false for
/// failures that repeat until someone changes configuration or input.
bool is_recoverable(mcp_errc code) noexcept;

/// Our category atom ("mcp"), for `add_error_category` and for telling our
/// errors from CAF's.
caf::atom_value mcp_category() noexcept;

/// True if `err` belongs to our category.
bool is_mcp_error(const caf::error& err) noexcept;

/// Returns the code of `err` if it is ours, otherwise nullopt-like false.
bool get_mcp_errc(const caf::error& err, mcp_errc& code) noexcept;

/// The name of `err`'s code for counters, events and API answers: our
/// code's name ("timeout", "connection_lost", ...), or "internal" for
/// errors of other categories.
const char* error_code_name(const caf::error& err) noexcept;

/// Renders `err` as one line: "session_expired: POST http://h/message -> 404".
/// Works for errors of other categories too.
std::string render(const caf::error& err);

/// Registers the renderer for our category with an actor system config so
/// that `system.render(err)` prints our codes by name.
void add_error_category(caf::actor_system_config& cfg);

} // namespace caf_mcp

CAF_ERROR_CODE_ENUM(caf_mcp::mcp_errc, "mcp")
