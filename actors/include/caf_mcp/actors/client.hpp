#pragma once

/// The client facade: the seed's `SSEMCPClient` as an actor.
///
/// Owns: its configuration, its connection pool (keep-alive mode), the tool
/// list and one tool_proxy actor per tool, the subscribers.
/// Receives: init / list / call / ping / proxies / subscribe / unsubscribe
/// / cleanup / stats from callers; tool diffs, link status and logs from
/// its pool, tool lists and logs from its one-shot sessions (from nobody
/// else: checked by sender), which it passes on to its subscribers. It is
/// the only subscriber of its pool, so a new pool needs no re-subscribing.
/// Keep-alive mode (default) holds a connection pool of supervised sessions
/// (`pool.min_members`, default 1): a lost session is replaced with backoff,
/// calls wait while it reconnects, retryable calls are sent once more (see
/// supervisor.hpp). One-shot mode opens a fresh, unsupervised session for
/// every operation and closes it afterwards, as the seed describes.
/// Monitors: its pool (a dead pool is dropped with its tool list; the next
/// use starts a new one, whose first listing is taken as the whole list),
/// its tool proxies (one killed by somebody else is made again on the next
/// `proxies` request) and its subscribers (dropped when they end).
/// Tool proxies call through the client: every call takes the one live
/// path (client -> current pool), so a proxy never holds a dead pool.

#include <map>
#include <string>
#include <vector>

#include "caf_mcp/actors/connection_pool.hpp"
#include "caf_mcp/actors/middleware.hpp"
#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

/// Configuration of one MCP server client, after the seed's SSEMCPClient.
struct client_config {
  /// Name of the server, e.g. "realtime_server".
  std::string name;
  /// What the server is for.
  std::string desc;
  /// Client-side middlewares, in order, around every `tools/call` (see
  /// middleware.hpp). Empty: calls go straight to the pool or session.
  std::vector<middleware_ptr> middlewares;
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
  /// One-shot sessions in use (their logs and tool lists are taken).
  std::vector<session_actor> one_shot;
  /// Sorted by name, shared with every holder of an equal list
  /// (intern_tools); null = none yet.
  tool_list_ptr tools;
  std::map<std::string, tool_handle> proxies;
  subscriber_set subscribers;
  /// `cfg.middlewares`, shared with the calls running through it (null if
  /// empty).
  std::shared_ptr<const std::vector<middleware_ptr>> chain;
  /// Each new session (a link that becomes ready again): its ready time,
  /// to tell middlewares once per session.
  std::map<uint32_t, int64_t> ready_since;
  /// Closes the pool when the client goes away.
  ~client_state();
  static inline const char* name = "caf_mcp.client";
};

/// Spawn with `system.spawn(client, cfg)`.
client_impl_actor::behavior_type
client(client_impl_actor::stateful_pointer<client_state> self, client_config cfg);

/// A tool proxy: forwards calls for one tool to its client (which sends
/// them to its current pool, or a one-shot session). Ends with its client.
struct tool_proxy_state {
  tool descriptor;
  client_actor owner;
  static inline const char* name = "caf_mcp.tool_proxy";
};

tool_proxy_actor::behavior_type
tool_proxy(tool_proxy_actor::stateful_pointer<tool_proxy_state> self,
           tool descriptor, client_actor owner);

} // namespace caf_mcp
