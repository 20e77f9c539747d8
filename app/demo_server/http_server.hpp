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
/// - The Streamable HTTP endpoint (streamable.hpp; default `/mcp`) on the
///   same port; its path wins over the legacy suffixes.
/// - Any other path goes to `mcp_handler::on_control` (404 by default).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "streamable.hpp"

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

  /// The Streamable HTTP endpoint.
  streamable_options streamable;
};

/// Listens (SO_REUSEADDR: a restarted server gets the port of a killed one at
/// once), prints `listening on http://HOST:PORT/sse` on stdout, and serves
/// until SIGINT or SIGTERM. Returns the process exit status: 0 after a
/// signal, `exit_failure` if it cannot listen (the reason on stderr).
int run_http_server(const server_options& opts, const mcp_handler& handler);

/// A demo server on a thread of its own, inside another program (the
/// node's embedded default). `opts.threads`, `port_file` and signals are
/// ignored: one thread, stopped by the destructor.
class background_server {
public:
  /// Listens and starts the thread; null (and `error`) if it cannot listen.
  /// `handler` must outlive the server.
  static std::unique_ptr<background_server>
  start(const server_options& opts, const mcp_handler& handler,
        std::string& error);

  /// Closes every session and stops the thread.
  ~background_server();

  uint16_t port() const noexcept;

  struct impl;

private:
  explicit background_server(std::unique_ptr<impl> x);

  std::unique_ptr<impl> impl_;
};

} // namespace caf_mcp::app::demo
