#pragma once

/// The client facade: the seed's `SSEMCPClient` as an actor.
///
/// Owns: its configuration, the current session (keep-alive mode), the tool
/// list and one tool_proxy actor per tool, the subscribers.
/// Receives: init / list / call / ping / proxies / subscribe / cleanup from
/// callers; tool-list changes from its session.
/// Keep-alive mode (default) holds one session and opens a new one on the
/// next use after the old one ended. One-shot mode opens a fresh session for
/// every operation and closes it afterwards.
/// Monitors: its session (a dead session is dropped; the next call starts a
/// new one) and its tool proxies. Supervision with backoff, queues while
/// reconnecting and retries are the supervisor's job (a later layer).

#include <map>
#include <string>
#include <vector>

#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

/// Configuration of one MCP server client, after the seed's SSEMCPClient.
struct client_config {
  /// Name of the server, e.g. "realtime_server".
  std::string name;
  /// What the server is for.
  std::string desc;
  /// Client-side middlewares. Reserved: the middleware chain arrives with a
  /// later release; `init` refuses a non-empty list (invalid_argument)
  /// rather than ignoring it.
  std::vector<caf::actor> middlewares;
  /// Hold one session (true) or open one per operation (false).
  bool is_keep_alive = true;
  /// Everything a session needs: sse_url, headers (http.headers), timeouts,
  /// protocol version, client info, TLS.
  session_config session;
};

struct client_state {
  client_config cfg;
  session_actor session;
  std::vector<tool> tools;
  std::map<std::string, tool_handle> proxies;
  std::vector<caf::actor> subscribers;
  /// Closes the session when the client goes away.
  ~client_state();
  static inline const char* name = "caf_mcp.client";
};

/// Spawn with `system.spawn(client, cfg)`.
client_actor::behavior_type
client(client_actor::stateful_pointer<client_state> self, client_config cfg);

/// A tool proxy: forwards calls for one tool to its client.
struct tool_proxy_state {
  tool descriptor;
  client_actor owner;
  static inline const char* name = "caf_mcp.tool_proxy";
};

tool_proxy_actor::behavior_type
tool_proxy(tool_proxy_actor::stateful_pointer<tool_proxy_state> self,
           tool descriptor, client_actor owner);

} // namespace caf_mcp
