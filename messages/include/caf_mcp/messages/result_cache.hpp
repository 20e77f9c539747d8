#pragma once

/// The bookkeeping of the `cache` middleware (issue 14): successful
/// `tools/call` results keyed by (server, tool, canonical arguments), and
/// single-flight for identical calls in flight. Pure: no actors, no I/O, no
/// clock (every call that needs the time takes `now`), not thread-safe (one
/// actor owns it).
///
/// The flow for one call, as the actor layer drives it:
///
/// ```
///   args = canonical_json_text(params.arguments)     (absent: the caller's
///                                                    choice, e.g. "{}")
///   lookup(server, tool, args, now) ── hit ──> answer with the stored result
///        │ miss
///   begin(server, tool, args, waiter)
///        ├─ uncached ─> call upstream alone; no finish
///        ├─ joined ───> wait: the leader's finish names this waiter
///        └─ leader ───> call upstream, then on EVERY outcome (result,
///                       error, timeout, cancel):
///                       waiters = finish(server, tool, args, result or
///                                        nullptr, streamed_progress, now)
///                       answer each waiter with the same result or error
/// ```
///
/// Every `leader` must be followed by exactly one `finish` for the same
/// key, or its joiners are never answered. `clear_server` and `clear` never
/// drop flights (their waiters are still owed an answer), but a leader
/// whose server was cleared after its `begin` does not store its result:
/// it may predate the change that caused the clear.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "caf/optional.hpp"

#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp {

/// Settings of a `result_cache`. The node's
/// `{"type":"cache","ttl_s":30,"tools":["get_quote"]}` is `ttl = 30s`,
/// `tools = {"get_quote"}`.
struct result_cache_config {
  using duration = std::chrono::steady_clock::duration;

  /// TTL of every cached tool without its own (`ttl_s`).
  duration ttl = std::chrono::seconds{30};

  /// Absent: every tool is cached. Present: only these tools and those in
  /// `tool_ttl` are (`tools`).
  caf::optional<std::vector<std::string>> tools;

  /// Per-tool TTLs. A tool named here is cached with this TTL whether or
  /// not `tools` lists it; a TTL of zero or less means never cached (the
  /// way to leave out one tool when all are cached).
  std::map<std::string, duration, std::less<>> tool_ttl;

  /// Bound on the number of entries (0: nothing is stored).
  size_t max_entries = 1024;

  /// Bound on the bytes of all entries; an entry counts the sizes of the
  /// server name, the tool name and the arguments text plus the compact
  /// JSON text of its result (`append_json`).
  size_t max_bytes = size_t{16} << 20;
};

/// Counters and current size of one server's part of the cache.
struct result_cache_stats {
  /// Lookups answered from the cache.
  uint64_t hits = 0;

  /// Lookups of a cached tool that found nothing (or an expired entry).
  uint64_t misses = 0;

  /// Calls that joined an identical call in flight (`flight_role::joined`);
  /// each of them was also counted as a miss by its lookup.
  uint64_t joined = 0;

  /// Entries stored for the server now.
  size_t entries = 0;

  /// Bytes of those entries (see `result_cache_config::max_bytes`).
  size_t bytes = 0;
};

/// What `result_cache::begin` tells the caller to do.
enum class flight_role : uint8_t {
  /// No identical call in flight: call upstream, then `finish`.
  leader,
  /// An identical call is in flight: wait for its `finish`.
  joined,
  /// The tool is not cached: call upstream alone and do not `finish`.
  uncached,
};

/// The role's name, e.g. "leader".
const char* to_string(flight_role x) noexcept;

/// A TTL and LRU cache of tool results with single-flight bookkeeping.
class result_cache {
public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;
  using duration = clock_type::duration;
  using result_ptr = std::shared_ptr<const call_tool_result>;

  /// Names a call waiting for an identical call in flight (opaque to the
  /// cache: e.g. the index of a response promise in the actor's table).
  using waiter_id = uint64_t;

  explicit result_cache(result_cache_config cfg);

  result_cache(const result_cache&) = delete;
  result_cache& operator=(const result_cache&) = delete;

  const result_cache_config& config() const noexcept {
    return cfg_;
  }

  /// The TTL of `tool`; zero if the tool is not cached.
  duration ttl(std::string_view tool) const;

  /// True if results of `tool` are cached at all.
  bool caches(std::string_view tool) const {
    return ttl(tool) > duration::zero();
  }

  // -- entries ----------------------------------------------------------------

  /// Returns the stored result for the key, or null. A hit makes the entry
  /// the most recently used; an expired entry (`now >= stored + ttl`) is
  /// removed and is a miss. Counts a hit or a miss for `server`, except for
  /// tools that are not cached (always null, not counted).
  /// `args` must be canonical (`canonical_json_text`).
  result_ptr lookup(std::string_view server, std::string_view tool,
                    std::string_view args, time_point now);

  /// Stores `result` for the key with the tool's TTL from `now`, replacing
  /// an entry for the same key, then evicts least recently used entries
  /// until both bounds hold. Stores nothing and returns false (leaving the
  /// cache as it was) if `result` is null or `is_error`, if the call
  /// streamed progress, if the tool is not cached, or if the entry alone
  /// exceeds `max_bytes`.
  bool store(std::string_view server, std::string_view tool,
             std::string_view args, result_ptr result, bool streamed_progress,
             time_point now);

  /// Removes the server's entries (on `tools/list_changed` and on a new
  /// session); its counters stay (they are exported as totals) and calls in
  /// flight for it will not store their results. Returns how many entries
  /// went.
  size_t clear_server(std::string_view server);

  /// Removes every entry, as `clear_server` for every server.
  void clear();

  /// Removes every expired entry (for a periodic sweep; lookups remove
  /// expired entries they meet anyway). Returns how many went.
  size_t remove_expired(time_point now);

  // -- single flight ----------------------------------------------------------

  /// Registers a call about to go upstream for the key: the first becomes
  /// the `leader`, calls for the same key until its `finish` are `joined`
  /// and `waiter` is recorded. Tools that are not cached are `uncached`
  /// (never shared: a tool that is not cached may change something).
  flight_role begin(std::string_view server, std::string_view tool,
                    std::string_view args, waiter_id waiter);

  /// Ends the flight for the key: returns its waiters (in `begin` order),
  /// to be answered with the leader's outcome, and stores `result` as
  /// `store` would unless `result` is null (the leader failed: nothing is
  /// stored, the waiters get its error) or the server was cleared after
  /// the leader's `begin`. Without a flight for the key: returns nothing
  /// and stores nothing.
  std::vector<waiter_id> finish(std::string_view server, std::string_view tool,
                                std::string_view args, result_ptr result,
                                bool streamed_progress, time_point now);

  // -- observers --------------------------------------------------------------

  /// Counters and size of `server` (zeros for a server never seen).
  result_cache_stats stats(std::string_view server) const;

  /// Number of entries.
  size_t size() const noexcept {
    return lru_.size();
  }

  /// Bytes of all entries.
  size_t bytes() const noexcept {
    return bytes_;
  }

  /// Number of flights (keys with a leader in flight).
  size_t flights() const noexcept;

private:
  struct server_state;

  struct entry {
    /// The tool as a JSON string followed by the arguments: unambiguous,
    /// and the only copy of the key (the index holds a view of it).
    std::string key;
    result_ptr result;
    time_point expires;
    size_t bytes;
    server_state* server;
  };

  /// Front: most recently used. Owns the entries; nodes never move, so
  /// views of `entry::key` and iterators stay valid until the erase.
  using lru_list = std::list<entry>;

  struct flight {
    /// `server_state::generation` at the leader's `begin`.
    uint64_t generation;
    std::vector<waiter_id> waiters;
  };

  struct server_state {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t joined = 0;
    size_t bytes = 0;
    /// Bumped by every clear of this server.
    uint64_t generation = 0;
    std::unordered_map<std::string_view, lru_list::iterator> index;
    std::unordered_map<std::string, flight> flights;
  };

  /// Finds or adds the state of `server` (node-based: addresses stay).
  server_state& state_of(std::string_view server);

  /// Writes the per-server key of (tool, args) into `key_`.
  void make_key(std::string_view tool, std::string_view args);

  void erase(lru_list::iterator pos);

  result_cache_config cfg_;
  /// Tools with their own TTL (listed tools and overrides).
  std::map<std::string, duration, std::less<>> ttl_by_tool_;
  /// TTL of tools not in `ttl_by_tool_`: `cfg_.ttl`, or zero with a list.
  duration other_ttl_;
  std::map<std::string, server_state, std::less<>> servers_;
  lru_list lru_;
  size_t bytes_ = 0;
  /// Reused buffers: the key being looked up, a result being sized.
  std::string key_;
  std::string sizing_;
};

} // namespace caf_mcp
