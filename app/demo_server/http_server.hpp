#pragma once

/// The HTTP side of `caf-mcp demo-server`: the legacy MCP HTTP+SSE transport
/// (revision 2024-11-05) on Boost.Beast. Beast stays in http_server.cpp.
///
/// - `GET .../sse` opens a session: 200, `text/event-stream`, chunked; the
///   first event is `event: endpoint` with `/message?sessionId=<uuid v4>`,
///   then one `event: message` per JSON-RPC message (LF framing, like the
///   TypeScript SDK server). The session ends when the connection closes.
/// - `POST .../message?sessionId=ID` takes one JSON-RPC message or a batch:
///   404 "Session not found", 400 for a body that is not JSON or holds no
///   valid message, else 202 "Accepted" at once; answers go to the stream.
/// - Any other path goes to `mcp_handler::on_control` (404 by default).

#include <cstddef>
#include <cstdint>
#include <string>

namespace caf_mcp::app::demo {

class mcp_handler;

/// Where and how to listen.
struct server_options {
  /// An address or a host name (the first address it resolves to is used).
  std::string host = "127.0.0.1";

  /// 0 = any free port.
  uint16_t port = 0;

  /// Io threads; 1 keeps every session on one thread without strands.
  size_t threads = 1;

  /// One line per HTTP error on stderr.
  bool verbose = false;

  /// If set, the bound port and a newline are written to this file once
  /// listening (written to FILE.tmp, then renamed: readers never see half).
  std::string port_file;
};

/// Listens (SO_REUSEADDR: a restarted server gets the port of a killed one at
/// once), prints `listening on http://HOST:PORT/sse` on stdout, and serves
/// until SIGINT or SIGTERM. Returns the process exit status: 0 after a
/// signal, `exit_failure` if it cannot listen (the reason on stderr).
int run_http_server(const server_options& opts, const mcp_handler& handler);

} // namespace caf_mcp::app::demo
