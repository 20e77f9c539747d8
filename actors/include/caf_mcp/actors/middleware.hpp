#pragma once

/// Client middlewares (issue 14): the seed's `async def __call__(request,
/// call_next)` in CAF terms.
///
/// A chain is an ordered list of `middleware` objects held by one client
/// (`client_config::middlewares`). Every `tools/call` the client handles —
/// from its callers, its tool proxies and the node's API — and every
/// `tools/list` asked of the client (`list_atom`) runs through it in
/// order, in keep-alive and one-shot mode; the last `next` sends the
/// request to the pool (or a one-shot session). (The listings a session
/// makes by itself, at its start and on `list_changed`, do not.) A middleware runs inside the
/// client actor, so it must not block; it:
/// - reads and changes the request (`tool`, `args`, `opts`);
/// - may do asynchronous work first: `ctx.self` is the client actor, whose
///   `request(...).then(...)` handlers run in the client again, where the
///   middleware calls `next` (or `done`) later;
/// - may answer without calling `next` (a cache hit, a refusal with a
///   code) by calling `done` itself;
/// - sees and may change the outcome on the way back by passing its own
///   `done` to `next`, and may attach metadata (`meta`) that middlewares
///   before it read on the way back; the client copies it into the
///   result's `call_tool_result::client_meta` for the caller, and the node
///   into its `call` events.
/// `done` must be called exactly once; later calls are ignored. An
/// exception thrown by a middleware fails that call only, with
/// `middleware_failed` naming the middleware.
///
/// With an empty chain the client takes the path it took before chains
/// existed (one `empty()` test per call; no allocation).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp {

struct session_config;

/// One request going through the chain: a `tools/call`, or a `tools/list`
/// asked of the client (`list_atom`; `tool` and `args` empty, the tools
/// come back in `mw_outcome::tools`). Middlewares that only concern calls
/// pass other methods on unchanged.
struct mw_request {
  /// "tools/call" or "tools/list".
  std::string method = "tools/call";
  /// The client's server name (read-only by convention).
  std::string server;
  std::string tool;
  /// The arguments as JSON text (an object).
  std::string args;
  call_options opts;
};

/// What comes back: the result or the error, and metadata middlewares
/// attached on the way (`"cache":"hit"`, `"logging.ms":"0.31"`, ...).
struct mw_outcome {
  mw_outcome() = default;

  mw_outcome(caf::expected<call_tool_result> v,
             std::map<std::string, std::string> m = {},
             std::vector<tool> ts = {})
    : value(std::move(v)), meta(std::move(m)), tools(std::move(ts)) {
    // nop
  }

  caf::expected<call_tool_result> value{call_tool_result{}};
  std::map<std::string, std::string> meta;
  /// The listed tools of a successful "tools/list" (`value` then holds an
  /// empty result).
  std::vector<tool> tools;
};

/// True for a `tools/call` request.
inline bool is_call(const mw_request& req) {
  return req.method == "tools/call";
}

using mw_done = std::function<void(mw_outcome)>;
using mw_next = std::function<void(mw_request, mw_done)>;

/// What a middleware may use while it handles a call.
struct mw_context {
  /// The client actor running the chain (for asynchronous requests whose
  /// handlers run in the client).
  client_impl_actor::pointer self;
  /// The client's tool list when the call entered the chain (sorted by
  /// name; null before the first listing): annotations such as
  /// `idempotentHint` for the `retry` middleware.
  tool_list_ptr tools;
};

/// The tool named `name` in `ctx.tools`, or null.
const tool* find_tool(const mw_context& ctx, std::string_view name);

class middleware {
public:
  virtual ~middleware();

  /// A short name for logs and errors ("cache", "logging", ...).
  virtual std::string_view name() const noexcept = 0;

  /// Handles one call: eventually `done(outcome)`, usually by
  /// `next(std::move(req), done_or_a_wrapper)`.
  virtual void call(const mw_context& ctx, mw_request req, mw_next next,
                    mw_done done)
    = 0;

  /// The server's tool list changed (`tools/list_changed`) or the client
  /// got a new session: cached knowledge about the server is stale.
  virtual void on_tools_changed(std::string_view server);

  /// Called once by the client that gets this middleware, before it makes
  /// any session: a middleware may set what every session of the client
  /// uses (`bearer_token` installs an `async_header_provider`, so each reconnect's
  /// SSE GET carries the current token). Default: nothing.
  virtual void configure_session(session_config& cfg);
};

using middleware_ptr = std::shared_ptr<middleware>;

/// Runs `req` through `chain` starting at `index`; `terminal` is the last
/// `next` (it sends the call upstream). Exceptions of a middleware become
/// `middleware_failed` for this call; `done` runs at most once.
void run_chain(mw_context ctx,
               std::shared_ptr<const std::vector<middleware_ptr>> chain,
               size_t index, mw_request req, mw_next terminal, mw_done done);

} // namespace caf_mcp
