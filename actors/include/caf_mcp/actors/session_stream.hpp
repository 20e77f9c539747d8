#pragma once

/// The transport of one MCP session: its SSE stream and, once the
/// `endpoint` event arrived, its POST channel. No actor: the session owns
/// the stream, and everything the stream produces reaches the session as
/// messages sent from the io thread that reads it.
///
/// On the io thread (the stream handler): the first `endpoint` event is
/// resolved and origin-checked and the POST channel made; `message` events
/// are decoded. The handler sends the owner
///   (endpoint_atom, url, sink)   the endpoint is known; POST through `sink`
///   (inbound_atom, batch)        the messages of one read
///   (sse_closed_atom, stream_end) the stream is over (classified error:
///                                connection_lost, unauthorized,
///                                endpoint_origin_mismatch, ...), last
/// all from the one io thread, so the owner sees them in stream order. POST
/// outcomes go from the io thread straight to the owner as
/// (post_done_atom, post_outcome). Every message goes through a weak handle:
/// a callback after the owner is gone is dropped. Closing or dropping the
/// returned stream ends it (no message then).
///
/// (Up to 0.1 a connection actor owned the stream; folding it into the
/// session saved an actor and two copies of the configuration per session.
/// `connection_actor` remains as the session's test seam: see
/// session_config::make_connection.)

#include <memory>
#include <string>

#include "caf/fwd.hpp"
#include "caf/weak_intrusive_ptr.hpp"

#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

/// What a session's stream needs, shared with the session (immutable).
struct stream_config {
  /// The parsed SSE URL.
  transport::parsed_url sse_url;
  /// Headers, TLS, timeouts of the GET and of the POST channel (usually
  /// aliasing the session's configuration: no copy).
  std::shared_ptr<const transport::http_options> http;
  /// Runs the sockets.
  std::shared_ptr<transport::io_runtime> io;
};

/// Opens the SSE stream of the session `owner` (see above). `last_event_id`
/// is sent as Last-Event-ID if not empty.
std::shared_ptr<transport::sse_stream>
open_session_stream(std::shared_ptr<const stream_config> cfg,
                    caf::weak_actor_ptr owner,
                    std::string last_event_id = {});

} // namespace caf_mcp
