#pragma once

/// The Streamable HTTP side of `caf-mcp demo-server` (MCP 2025-11-25,
/// stateful), beside the legacy HTTP+SSE endpoints of http_server.cpp and
/// on the same HTTP server (transport/http_server.hpp). The whole contract
/// is in docs/fault-server.md ("Streamable HTTP"); in short:
///
/// - `POST <path>` (default `/mcp`): one JSON-RPC message (or a batch).
///   `initialize` without `Mcp-Session-Id` opens a session and the answer
///   carries its id (a UUID); every other POST needs it (missing: 400,
///   unknown: 404). Notifications and responses: 202. Requests: an SSE
///   stream (200, `text/event-stream`: a priming event for 2025-11-25,
///   the messages for those requests, the response(s), then the body ends
///   and the connection is kept alive) or, with `json_response`, one
///   `application/json` body.
/// - `GET <path>`: the session's standalone stream (405 without
///   `get_stream`, 409 if one is open); with `Last-Event-ID` it resumes
///   any stream of the session from the ring of recent events.
/// - `DELETE <path>`: ends the session (200; then 404).
/// - `Accept` must list both types for a POST and `text/event-stream` for
///   a GET (406); a POST body must be `application/json` (415); an
///   unsupported `MCP-Protocol-Version` is 400; an `Origin` that is not a
///   loopback host is 403.
///
/// Each message goes through the same `mcp_handler` as on the legacy
/// transport: a POST gets a `session_context` of its own whose output is
/// that POST's answer; messages sent outside any request (`--notify`) go to
/// the standalone stream.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

namespace caf_mcp::transport {
class http_request;
class http_exchange;
} // namespace caf_mcp::transport

namespace caf_mcp::app::demo {

class mcp_handler;
class server_control;

/// Returns a random UUID (version 4, RFC 9562) in lowercase hex
/// (http_server.cpp).
std::string make_uuid();

/// How the Streamable HTTP endpoint answers.
struct streamable_options {
  /// The endpoint's path; a path ending in `/sse` replaces the legacy GET
  /// stream there.
  std::string path = "/mcp";

  /// Answer requests with one `application/json` body instead of an SSE
  /// stream.
  bool json_response = false;

  /// Offer the standalone GET stream (else GET gets 405).
  bool get_stream = true;
};

/// The endpoint: its sessions and their streams. Thread-safe.
class streamable_endpoint {
public:
  streamable_endpoint(const mcp_handler& handler, server_control& srv,
                      streamable_options opts, bool verbose);

  ~streamable_endpoint();

  /// Sets the executor sessions run on (a strand of it if `strands`);
  /// before the first request.
  void set_executor(const boost::asio::any_io_executor& ex, bool strands);

  const streamable_options& options() const noexcept;

  /// Answers a request to `options().path`.
  void on_request(transport::http_request& req, transport::http_exchange& ex);

  /// Ends every session (their ids become unknown); returns how many.
  size_t forget_all();

  /// Sessions opened since start.
  uint64_t sessions_opened() const noexcept;

  /// Sessions open now.
  size_t sessions_open() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace caf_mcp::app::demo
