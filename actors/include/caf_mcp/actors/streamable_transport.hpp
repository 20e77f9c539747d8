#pragma once

/// The Streamable HTTP transport of one MCP session (MCP 2025-03-26,
/// 2025-06-18, 2025-11-25; docs/transports.md). No actor: like the SSE
/// stream (session_stream.hpp) it is a `post_sink` the session POSTs
/// through, and everything it receives reaches the session as the same
/// private messages the SSE transport sends:
///   (inbound_atom, batch)          the messages of one read of a POST's
///                                  answer (a JSON body, or the events of
///                                  an SSE response stream), of a resumed
///                                  stream or of the standalone GET stream
///   (post_done_atom, post_outcome) failures, and successes of tags with
///                                  `ack_tag_bit` (as the SSE sink)
/// all from the io thread that runs the transport, so the session sees a
/// response before the outcome of its POST.
///
/// What it does on the wire: every message is a POST to the one endpoint
/// URL (`Accept: application/json, text/event-stream`); the first
/// `Mcp-Session-Id` a 2xx answer carries (the initialize response) is sent
/// on every later request; the session's `set_header` adds
/// `MCP-Protocol-Version`. A request whose SSE answer broke (or ended)
/// before its response, after events with ids, is resumed with a GET and
/// `Last-Event-ID` after the server's `retry` (else 1 s), at most
/// `max_resumptions` times; otherwise it fails with `outcome_unknown`.
/// A 404 to a request that carried a session id is `session_expired`
/// (without one it is an `http_status`). `listen()` opens the optional GET
/// stream for server-initiated messages (405: the server offers none).
/// A GET (the standalone stream reopened, or a resumption) answered 404
/// or whose connect is refused tells the session it is gone: a
/// `post_outcome` with a notification tag (no call fails with it) and
/// `session_expired` or `connection_failed`.
/// `close(true)` sends DELETE with the session id (best effort, bounded).

#include <chrono>
#include <memory>
#include <string>

#include "caf/fwd.hpp"
#include "caf/weak_intrusive_ptr.hpp"

#include "caf_mcp/actors/session_stream.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

/// The tag of the `post_outcome` (no error) the transport sends its
/// session once after `listen()`: the standalone GET stream got its answer
/// (it is open, or the server has none). A notification tag no POST uses.
constexpr uint64_t listen_settled_tag = notification_tag_bit
                                        | (uint64_t{1} << 59);

/// Settings of one Streamable HTTP transport.
struct streamable_options {
  /// Longest life of one POST's SSE answer once its header arrived (the
  /// session's hard request deadline; its own timers fail the call first).
  std::chrono::milliseconds max_response_time{std::chrono::minutes{10}};
  /// Bound of the DELETE sent on close.
  std::chrono::milliseconds delete_timeout{std::chrono::seconds{2}};
  /// GETs with Last-Event-ID tried for one broken response stream.
  size_t max_resumptions = 2;
  /// Wait before a resumption when the server sent no `retry`.
  std::chrono::milliseconds default_retry{1000};
  /// Reconnections of the standalone GET stream in a row without an event.
  size_t max_get_reconnects = 3;
};

/// The session's handle on its Streamable HTTP transport.
class streamable_transport : public post_sink {
public:
  ~streamable_transport() override;

  /// Opens the standalone GET stream (after `notifications/initialized`
  /// was accepted) and tells the session with `listen_settled_tag` once
  /// the GET has its answer. A 405 (or another refusal) means no such
  /// stream: not an error. A stream that ends is reopened (with Last-Event-ID) at most
  /// `max_get_reconnects` times in a row without an event.
  virtual void listen() = 0;

  /// Ends the transport: POSTs in flight and every stream are cancelled.
  /// With `terminate` and a session id, a DELETE carrying it is sent on a
  /// connection of its own (best effort, at most `delete_timeout`).
  virtual void close(bool terminate) = 0;

  /// The session id the server gave (empty: none, a stateless server).
  virtual std::string session_id() const = 0;

  /// Stateless MCP 2026-07-28 (docs/stateless.md) on or off; off at
  /// first. While on: an `Mcp-Session-Id` the server sends is ignored
  /// (none is sent back), and a non-2xx answer to a request whose body is
  /// a JSON-RPC error (`-32022`, `-32020`, `-32601`, ...) reaches the
  /// session as that error response to the request (its code and data
  /// decide what the session does) instead of as an HTTP status; 401, 403,
  /// 429, 502, 503 and 504 stay HTTP errors. The session neither listens
  /// nor terminates (no GET, no DELETE) in that era.
  virtual void set_stateless(bool on) = 0;
};

/// Opens the transport for the session `owner`: the endpoint is
/// `cfg->sse_url` (the MCP endpoint URL). A connection is opened ahead of
/// the first POST.
std::shared_ptr<streamable_transport>
open_streamable_transport(std::shared_ptr<const stream_config> cfg,
                          caf::weak_actor_ptr owner,
                          streamable_options opts = {});

} // namespace caf_mcp
