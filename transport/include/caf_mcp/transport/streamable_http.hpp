#pragma once

/// The pure pieces of the Streamable HTTP transport (MCP 2025-03-26,
/// 2025-06-18, 2025-11-25): how a POST's answer is classified, which
/// session ids are taken, which MCP headers a request carries, and the
/// reader of a response body (one JSON document or an SSE stream, in any
/// chunking). No sockets and no CAF: the actor layer
/// (caf_mcp/actors/streamable_transport.hpp) drives them with the POST
/// channel of http_client.hpp. See docs/transports.md.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/sse_parser.hpp"

namespace caf_mcp::transport {

/// The header that carries the session id (any case on the wire).
inline constexpr std::string_view session_id_header = "Mcp-Session-Id";

/// The header that carries the negotiated protocol version (2025-06-18
/// and later).
inline constexpr std::string_view protocol_version_header
  = "MCP-Protocol-Version";

/// What the answer to a POST is.
enum class response_kind : uint8_t {
  /// 2xx without a body to read (202 Accepted, 204): nothing follows.
  accepted,
  /// 2xx `application/json`: one JSON-RPC message (or a batch).
  json,
  /// 2xx `text/event-stream`: an SSE stream of messages.
  event_stream,
  /// 2xx with any other (or no) content type.
  unexpected_content_type,
  /// Not 2xx: an HTTP error.
  error,
};

const char* to_string(response_kind x) noexcept;

/// The media type of a Content-Type value without parameters, lowercased
/// and trimmed: `Text/Event-Stream; charset=utf-8` -> `text/event-stream`.
std::string media_type(std::string_view content_type);

/// Classifies a POST's answer by status and Content-Type. A 2xx other than
/// 202 and 204 with no Content-Type is `unexpected_content_type` unless
/// `has_body` is false (then there is nothing to read: `accepted`).
response_kind classify_response(int status, std::string_view content_type,
                                bool has_body = true);

/// Longest session id we take (the spec sets no bound; real servers send
/// UUIDs and JWT-like tokens).
inline constexpr size_t max_session_id_size = 1024;

/// True if `id` may be a session id: not empty, at most
/// `max_session_id_size` bytes, visible ASCII only (0x21..0x7E), as the
/// spec requires. Anything else is refused (it could not be sent back in a
/// header safely).
bool valid_session_id(std::string_view id) noexcept;

/// True if the negotiated `version` has the MCP-Protocol-Version header
/// (2025-06-18 and later; dates compare as text).
bool sends_protocol_version_header(std::string_view version) noexcept;

/// The MCP headers of one request after initialize: `Mcp-Session-Id` if
/// `session_id` is not empty, `MCP-Protocol-Version` if `version` is not
/// empty, in that order.
header_list mcp_request_headers(std::string_view session_id,
                                std::string_view version);

/// Receives the JSON-RPC texts a response body carries, in order. The view
/// is valid only during the call.
class message_sink {
public:
  virtual ~message_sink();

  /// One JSON text (a message or a batch): an SSE `message` event's data,
  /// or a whole JSON body.
  virtual void on_message(std::string_view json) = 0;
};

/// Reads the body of one response (or one resumed GET stream): a JSON body
/// is collected (at most `max_size` bytes) and handed over at `finish`; an
/// event stream goes through the project's `sse_parser` as it arrives
/// (events of type `message` with data are handed over at once; other
/// types and events without data, such as priming events, are ignored), keeping the last event id and `retry` for resumption.
class response_reader final : private sse_sink {
public:
  response_reader(response_kind kind, size_t max_size,
                  std::string last_event_id = {});

  /// Feeds the next body bytes; complete messages go to `out`.
  void feed(std::string_view bytes, message_sink& out);

  /// The body is complete: a JSON body goes to `out` (unless too large).
  void finish(message_sink& out);

  /// The last event id of the stream so far (empty: none, or not SSE).
  const std::string& last_event_id() const noexcept {
    return parser_.last_event_id();
  }

  /// The last valid `retry` value, 0 if none.
  uint64_t retry_ms() const noexcept {
    return retry_ms_;
  }

  /// True if the body (or one event) exceeded `max_size`: something was
  /// lost.
  bool overflowed() const noexcept {
    return overflowed_;
  }

  response_kind kind() const noexcept {
    return kind_;
  }

private:
  void on_event(std::string_view type, std::string_view data,
                std::string_view last_event_id) override;
  void on_retry(uint64_t milliseconds) override;
  void on_error(sse_errc code, size_t size) override;

  response_kind kind_;
  size_t max_size_;
  sse_parser parser_;
  std::string json_;
  message_sink* out_ = nullptr;
  uint64_t retry_ms_ = 0;
  bool overflowed_ = false;
};

} // namespace caf_mcp::transport
