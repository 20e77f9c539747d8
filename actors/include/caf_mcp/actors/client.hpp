#pragma once

/// The client facade: the seed's `SSEMCPClient` as an actor.
///
/// Owns: its configuration, its connection pool (keep-alive mode), the tool
/// list and one tool_proxy actor per tool, the subscribers.
/// Receives: init / list / call / ping / proxies / subscribe / cleanup /
/// stats from callers; tool diffs, link status and logs from its pool.
/// Keep-alive mode (default) holds a connection pool of supervised sessions
/// (`pool.min_members`, default 1): a lost session is replaced with backoff,
/// calls wait while it reconnects, retryable calls are sent once more (see
/// supervisor.hpp). One-shot mode opens a fresh, unsupervised session for
/// every operation and closes it afterwards, as the seed describes.
/// Monitors: its pool (a dead pool is dropped; the next use starts a new
/// one) and its tool proxies. Tool proxies call through the pool.

#include <map>
#include <string>
#include <vector>

#include "caf_mcp/actors/connection_pool.hpp"
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
  /// Keep-alive mode: members, backoff, queue bound, auth retries of the
  /// pool (`pool.member.session` is replaced by `session`).
  pool_config pool;
};

struct client_state {
  client_config cfg;
  /// `cfg.session` for the one-shot sessions (made on first use).
  session_config_ptr shared_session;
  pool_actor pool;
  std::vector<tool> tools;
  std::map<std::string, tool_handle> proxies;
  std::vector<caf::actor> subscribers;
  /// Closes the pool when the client goes away.
  ~client_state();
  static inline const char* name = "caf_mcp.client";
};

/// Spawn with `system.spawn(client, cfg)`.
client_actor::behavior_type
client(client_actor::stateful_pointer<client_state> self, client_config cfg);

/// A tool proxy: forwards calls for one tool to its client's pool
/// (keep-alive mode) or to its client (one-shot mode).
struct tool_proxy_state {
  tool descriptor;
  client_actor owner;
  pool_actor pool;
  static inline const char* name = "caf_mcp.tool_proxy";
};

tool_proxy_actor::behavior_type
tool_proxy(tool_proxy_actor::stateful_pointer<tool_proxy_state> self,
           tool descriptor, client_actor owner, pool_actor pool);

} // namespace caf_mcp
