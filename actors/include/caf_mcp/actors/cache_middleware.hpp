#pragma once

/// The `cache` middleware (issue 14): the seed's `CachedSSEClient` done
/// properly, on `result_cache` (messages/result_cache.hpp).
///
/// - Key: server + tool + canonical JSON of the arguments (key order and
///   whitespace do not matter). Arguments that are not JSON pass through
///   uncached (the server answers them).
/// - Stored: successful results that are not `isError`, of cached tools
///   (`result_cache_config::tools` / `tool_ttl`), with the tool's TTL,
///   bounded by entries and bytes (LRU).
/// - Calls that ask for progress (`call_options::listener`) may be answered
///   from the cache but never store their result and never share a call in
///   flight (their progress is theirs).
/// - Identical calls in flight at the same time share one upstream call:
///   the first goes upstream, the others get its result or its error.
/// - Emptied for a server on `tools/list_changed` and on a new session
///   (`on_tools_changed`).
/// - `meta["cache"]` on the outcome: "hit", "miss", "shared" or "bypass".
///
/// One instance belongs to one client (it runs inside that client actor;
/// not thread-safe). `stats()` may be read from other threads (a copy under
/// a lock) for metrics.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "caf_mcp/actors/middleware.hpp"
#include "caf_mcp/messages/result_cache.hpp"

namespace caf_mcp {

class cache_middleware final : public middleware {
public:
  using clock_fn = std::function<result_cache::time_point()>;

  /// `clock` (tests) replaces `steady_clock::now`.
  explicit cache_middleware(result_cache_config cfg, clock_fn clock = {});

  std::string_view name() const noexcept override {
    return "cache";
  }

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

  void on_tools_changed(std::string_view server) override;

  /// Hits, misses and size for `server` (thread-safe).
  result_cache_stats stats(std::string_view server) const;

  struct state;

private:
  std::shared_ptr<state> st_;
};

} // namespace caf_mcp
