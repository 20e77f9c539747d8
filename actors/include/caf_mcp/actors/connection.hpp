#pragma once

/// The connection actor: one SSE stream and its POST channel.
///
/// Owns: the SSE GET stream, the POST channel (created once the `endpoint`
/// event is known), the extra POST headers.
/// Receives: POST requests and header updates from its owner (a session);
/// what the io threads report about the stream.
/// Sends to the owner: (endpoint_atom, url) once, (inbound_atom, batch) for
/// the decoded JSON-RPC messages of each read; POST outcomes go from the io
/// thread straight to the owner as (post_done_atom, tag, error).
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

/// POST tags with this bit set are acknowledged on success too; others only
/// on failure (a 202 for every call would double the messages per call).
constexpr uint64_t ack_tag_bit = uint64_t{1} << 63;

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
  std::shared_ptr<transport::post_channel> channel;
  /// Path and query of the endpoint, for the POST request line.
  std::string endpoint_target;
  transport::header_list extra_headers;
  uint64_t events = 0;
  uint64_t ignored_events = 0;
  ~connection_state();
  static inline const char* name = "caf_mcp.connection";
};

/// Spawn with `system.spawn(connection, cfg, owner)`.
connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, session_actor owner);

} // namespace caf_mcp
