#pragma once

/// Pure pieces of the cluster (docs/cluster.md): `PEER:SERVER`
/// names, the bound on remote calls in flight per calling node (the
/// publishing side), and a peer's table of pending calls with deadlines
/// (the calling side). No actors, no sockets; unit-tested alone (suite
/// node_cluster).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace caf_mcp::cluster {

/// Splits "PEER:SERVER" at its first ':'; false if there is none or either
/// side is empty. Local server names never hold ':' (config rule).
bool split_peer_server(std::string_view name, std::string& peer,
                       std::string& server);

/// "PEER:SERVER".
std::string peer_server_name(std::string_view peer, std::string_view server);

/// A peer's connection as `/api/nodes` shows it.
enum class peer_state { connecting, up, down };

/// "connecting", "up" or "down".
const char* to_string(peer_state x) noexcept;

/// Counts remote calls in flight by calling node (its CAF node id as text)
/// and refuses one beyond `max_per_key`. Owned by one actor.
class in_flight_limiter {
public:
  explicit in_flight_limiter(size_t max_per_key) : max_(max_per_key) {
  }

  /// Counts one more call of `key`; false (and nothing counted) if `key`
  /// has `max_per_key` in flight already.
  bool try_acquire(const std::string& key);

  /// One call of `key` ended. Keys without calls are forgotten.
  void release(const std::string& key);

  size_t in_flight(const std::string& key) const;

  /// Keys with calls in flight.
  size_t keys() const noexcept {
    return counts_.size();
  }

  size_t max_per_key() const noexcept {
    return max_;
  }

private:
  size_t max_;
  std::unordered_map<std::string, size_t> counts_;
};

/// The calls a peer actor has sent to its remote node and not yet seen
/// answered, each with its deadline. An entry is `sent` (on the current
/// connection) or `waiting` (retryable, lost with its connection, to be
/// sent once more after the reconnect). `attempt` tells answers of an
/// earlier send from those of the current one.
template <class Payload>
class pending_table {
public:
  using clock = std::chrono::steady_clock;

  struct entry {
    clock::time_point deadline;
    bool retryable = false;
    /// Sent a second time already (retryable calls are resent once only).
    bool resent = false;
    bool waiting = false;
    uint32_t attempt = 1;
    Payload payload;
  };

  /// Adds a sent call; returns its id.
  uint64_t add(clock::time_point deadline, bool retryable, Payload payload) {
    auto id = ++next_id_;
    entry e;
    e.deadline = deadline;
    e.retryable = retryable;
    e.payload = std::move(payload);
    entries_.emplace(id, std::move(e));
    return id;
  }

  size_t size() const noexcept {
    return entries_.size();
  }

  entry* find(uint64_t id) {
    auto i = entries_.find(id);
    return i != entries_.end() ? &i->second : nullptr;
  }

  /// True if an answer of send number `attempt` of call `id` still counts.
  bool accepts(uint64_t id, uint32_t attempt) const {
    auto i = entries_.find(id);
    return i != entries_.end() && i->second.attempt == attempt
           && !i->second.waiting;
  }

  /// Removes call `id` and hands back its payload (answered, or failed by
  /// its deadline). False if it is not there.
  bool take(uint64_t id, Payload& out) {
    auto i = entries_.find(id);
    if (i == entries_.end())
      return false;
    out = std::move(i->second.payload);
    entries_.erase(i);
    return true;
  }

  /// The calls whose deadline is `now` or earlier (sent or waiting).
  std::vector<uint64_t> expired(clock::time_point now) const {
    std::vector<uint64_t> ids;
    for (auto& [id, e] : entries_)
      if (e.deadline <= now)
        ids.push_back(id);
    return ids;
  }
  /// The earliest deadline of all calls; false if there are none.
  bool earliest_deadline(clock::time_point& out) const {
    if (entries_.empty())
      return false;
    out = clock::time_point::max();
    for (auto& kvp : entries_)
      out = std::min(out, kvp.second.deadline);
    return true;
  }
  /// The connection is lost: every sent call that is retryable and not
  /// resent yet becomes waiting; every other sent call is removed and
  /// returned (to be failed now). Waiting calls stay waiting.
  std::vector<std::pair<uint64_t, Payload>> on_loss() {
    std::vector<std::pair<uint64_t, Payload>> failed;
    for (auto i = entries_.begin(); i != entries_.end();) {
      auto& e = i->second;
      if (e.waiting) {
        ++i;
      } else if (e.retryable && !e.resent) {
        e.waiting = true;
        ++i;
      } else {
        failed.emplace_back(i->first, std::move(e.payload));
        i = entries_.erase(i);
      }
    }
    return failed;
  }

  /// The connection is back: every waiting call is sent again (attempt
  /// counted, marked resent); returns their ids.
  std::vector<uint64_t> resend_waiting() {
    std::vector<uint64_t> ids;
    for (auto& [id, e] : entries_)
      if (e.waiting) {
        e.waiting = false;
        e.resent = true;
        ++e.attempt;
        ids.push_back(id);
      }
    return ids;
  }

private:
  uint64_t next_id_ = 0;
  std::map<uint64_t, entry> entries_;
};

} // namespace caf_mcp::cluster
