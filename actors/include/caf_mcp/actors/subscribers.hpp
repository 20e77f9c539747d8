#pragma once

/// The subscribers of one actor: each at most once, monitored, dropped when
/// it ends or unsubscribes. Every publishing actor (session, supervisor,
/// pool, client, health monitor) keeps one of these instead of a vector
/// that only grows, so a node that lives for months while subscribers come
/// and go holds only the live ones.
///
/// Usage inside an actor:
///   - `(subscribe_atom, sub)`:   `if (st.subs.add(self, sub)) ...greet...`
///   - `(unsubscribe_atom, sub)`: `st.subs.remove(self, sub.address())`
///   - in the down handler, first: `if (st.subs.on_down(msg.source)) return;`
///   - publishing: `for (auto& sub : st.subs) ...`
///
/// The process-wide count of entries in all sets is
/// `subscriber_set::live_entries()` (the long-run soak watches it).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_addr.hpp"

namespace caf_mcp {

class subscriber_set {
public:
  subscriber_set() = default;
  subscriber_set(const subscriber_set&) = delete;
  subscriber_set& operator=(const subscriber_set&) = delete;

  ~subscriber_set() {
    count().fetch_sub(subs_.size(), std::memory_order_relaxed);
  }

  /// Adds `sub` (monitored by `self`) unless it is null or already in.
  /// Returns true if it was added.
  template <class Self>
  bool add(Self* self, const caf::actor& sub) {
    if (!sub || contains(sub.address()))
      return false;
    self->monitor(sub);
    subs_.push_back(sub);
    count().fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /// Removes `who` and stops monitoring it. Returns true if it was in.
  template <class Self>
  bool remove(Self* self, const caf::actor_addr& who) {
    if (!erase(who))
      return false;
    self->demonitor(who);
    return true;
  }

  /// A monitored actor ended: drops it if it was a subscriber. Returns true
  /// if it was (the down message is then fully handled).
  bool on_down(const caf::actor_addr& who) {
    return erase(who);
  }

  bool contains(const caf::actor_addr& who) const {
    return std::any_of(subs_.begin(), subs_.end(),
                       [&](const caf::actor& x) { return x.address() == who; });
  }

  size_t size() const noexcept {
    return subs_.size();
  }

  bool empty() const noexcept {
    return subs_.empty();
  }

  auto begin() const noexcept {
    return subs_.begin();
  }

  auto end() const noexcept {
    return subs_.end();
  }

  /// Entries in every subscriber set of the process.
  static size_t live_entries() noexcept {
    return count().load(std::memory_order_relaxed);
  }

private:
  bool erase(const caf::actor_addr& who) {
    auto i = std::find_if(subs_.begin(), subs_.end(),
                          [&](const caf::actor& x) {
                            return x.address() == who;
                          });
    if (i == subs_.end())
      return false;
    subs_.erase(i);
    count().fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  static std::atomic<size_t>& count() noexcept {
    static std::atomic<size_t> n{0};
    return n;
  }

  std::vector<caf::actor> subs_;
};

} // namespace caf_mcp
