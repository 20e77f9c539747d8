#pragma once

/// The connection actor: one SSE stream and its POST channel.
///
/// Owns: the SSE GET stream. The POST channel belongs to the `post_sink`
/// made when the `endpoint` event arrives; the session and this actor hold
/// it, and the channel closes when both let go.
/// Off the actor, on the io thread (the stream handler): the first
/// `endpoint` event is resolved and origin-checked there and the POST
/// channel made; `message` events are decoded there. The handler sends
/// (endpoint_atom, url, sink) to the owner and to this actor, and one
/// (inbound_atom, batch) per read to the owner, all from the one io thread
/// that reads the stream, so the owner sees the endpoint before any message
/// of a later read. A refused endpoint or the end of the stream reaches
/// this actor as (sse_closed_atom, error).
/// Receives: POST requests and header updates from an owner that has no
/// sink (they go into the sink); the endpoint and the stream's end.
/// POST outcomes go from the io thread straight to the owner as
/// (post_done_atom, tag, error).
/// Monitors: its owner, and quits when the owner is gone.
/// Fails by quitting with the classified error (`connection_lost`,
/// `unauthorized`, `endpoint_origin_mismatch`, ...); its owner monitors it
/// and decides what happens.

#include <memory>
#include <string>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

struct connection_config {
  transport::parsed_url sse_url;
  transport::http_options http;
  std::shared_ptr<transport::io_runtime> io;
  /// Sent as Last-Event-ID if not empty.
  std::string last_event_id;
};

struct connection_state {
  connection_config cfg;
  session_actor owner;
  std::shared_ptr<transport::sse_stream> stream;
  /// Set once the endpoint is known (for owners without a sink).
  post_sink_ptr sink;
  ~connection_state();
  static inline const char* name = "caf_mcp.connection";
};

/// Spawn with `system.spawn(connection, cfg, owner)`.
connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, session_actor owner);

} // namespace caf_mcp
