#pragma once

/// The `bearer_token` middleware (issue 14): the seed's
/// `TokenRefreshMiddleware` done properly.
///
/// - Sets `Authorization: Bearer TOKEN` on the POST of every `tools/call`
///   (`call_options::headers`) and, through `session_config::
///   async_header_provider`, on the SSE GET and every POST of each new
///   session of the client (each reconnect uses the token current at that
///   moment).
/// - The token comes from a provider: an actor answering `(get_atom)` with
///   the token as `std::string`, or a blocking function (a command, a file:
///   `token_from_command`, `token_from_file`) that runs on a thread of its
///   own, never in an actor; its result comes back by message. Either must
///   answer within `timeout`.
/// - Proactive refresh: with `refresh_interval` > 0, a token older than
///   that is fetched again before the next call.
/// - A call answered HTTP 401 (`unauthorized`; the server refused the POST,
///   so it never ran the call) makes it fetch a new token once and send the
///   call once more with it. A second 401 is the call's `unauthorized`
///   ("after a token refresh"): never a loop. Calls that fail together share
///   one fetch; a call whose token was already replaced retries with the
///   current one without fetching.
/// - A provider failure (command failed or timed out, file missing, empty
///   token, no answer in time) fails the calls waiting for it with
///   `middleware_failed`, naming the source but never a token.
/// - The first session of the client needs a token before any call: with a
///   function provider, the fetch starts when the client is made (on its
///   own thread) and a session that asks for its headers before it ended
///   gets them by message when it ends — no actor thread waits; the session
///   gives up after its `endpoint_timeout`. With an actor provider, put the
///   first token in `http.headers` or let the supervisor retry auth
///   failures (`retry_auth_failures`).
/// - Every later session of the client (a reconnect) fetches a fresh token
///   first with a function provider, so a token that rotated while no call
///   ran reaches the new SSE GET. The node also sets `retry_auth_failures`
///   for servers with a `bearer_token`, so a 401 on that GET is tried again
///   after the backoff rather than given up.
/// The token never reaches a log, an event or an error text.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/timespan.hpp"

#include "caf_mcp/actors/middleware.hpp"

namespace caf_mcp {

/// A blocking token source (runs on a thread of its own).
using token_fetch_fn = std::function<caf::expected<std::string>()>;

struct bearer_token_config {
  /// A blocking source, run off the actors; or ...
  token_fetch_fn fetch;
  /// ... an actor answering (get_atom) with the token (std::string).
  caf::actor provider;
  /// Longest wait for one answer of the provider.
  caf::timespan timeout = std::chrono::seconds{10};
  /// Fetch again before a call once the token is this old (0: only on 401).
  caf::timespan refresh_interval{0};
};

/// Runs `/bin/sh -c command`, the token is its stdout (trimmed); a failure
/// or a run longer than `timeout` is `middleware_failed`.
token_fetch_fn token_from_command(std::string command, caf::timespan timeout);

/// Reads the token from `path` (trimmed) on every fetch.
token_fetch_fn token_from_file(std::string path);

class bearer_token_middleware final : public middleware {
public:
  explicit bearer_token_middleware(bearer_token_config cfg);

  std::string_view name() const noexcept override;

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

  void configure_session(session_config& cfg) override;

  /// How often the provider was asked so far (tests, metrics).
  size_t fetches() const noexcept;

  struct state;

private:
  std::shared_ptr<state> st_;
};

} // namespace caf_mcp
