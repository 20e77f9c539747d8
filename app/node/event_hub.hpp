#pragma once

/// The node's event stream (`GET /api/events`): a bounded ring of recent
/// events for `Last-Event-ID` resumption, and the open streams.
///
/// Slow clients: an event for a stream that still has more than
/// `max_pending` bytes waiting is dropped for that stream and counted
/// (`dropped()`, the metric caf_mcp_events_dropped_total); the stream is
/// never allowed to grow the node's memory beyond that bound. A client
/// that reconnects with its last id gets what the ring still holds.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/http_server.hpp"

namespace caf_mcp::node {

/// The last `capacity` events (pure).
class event_ring {
public:
  explicit event_ring(size_t capacity = 1024) : capacity_(capacity) {
    // nop
  }

  void push(node_event ev);

  /// Events with an id above `last_id`, oldest first. A `last_id` above
  /// every id held (the node restarted since) gives all of them.
  std::vector<node_event> since(uint64_t last_id) const;

  size_t size() const noexcept {
    return events_.size();
  }

private:
  size_t capacity_;
  std::deque<node_event> events_;
};

/// `id: N`, `event: KIND`, `data: JSON` and a blank line (data holds no
/// line breaks: it is compact JSON).
std::string format_event(const node_event& ev);

/// Parses a Last-Event-ID header value; 0 if absent or not a number.
uint64_t parse_last_event_id(std::string_view text) noexcept;

/// Thread-safe: the bridge actor publishes, io threads add streams.
class event_hub {
public:
  explicit event_hub(size_t ring_capacity = 1024,
                     size_t max_pending = 1024 * 1024)
    : ring_(ring_capacity), max_pending_(max_pending) {
    // nop
  }

  /// Adds an open stream; if `resume`, first sends what the ring holds
  /// after `last_id`.
  void add(const std::shared_ptr<transport::event_stream>& s, bool resume,
           uint64_t last_id);

  /// Keeps `ev` in the ring and sends it to every open stream; formats it
  /// only when there is one (the node publishes an event per call).
  void publish(node_event ev);

  /// Sends an SSE comment to every stream (keeps proxies from closing
  /// idle streams).
  void keep_alive();

  /// Events dropped for slow streams so far.
  uint64_t dropped() const noexcept {
    return dropped_->load(std::memory_order_relaxed);
  }

  /// Open streams.
  size_t subscribers() const;

private:
  void send(const std::shared_ptr<transport::event_stream>& s,
            std::shared_ptr<const std::string> text);

  mutable std::mutex mtx_;
  event_ring ring_;
  std::vector<std::shared_ptr<transport::event_stream>> streams_;
  size_t max_pending_;
  /// Shared with the work queued on the streams' io threads, which may run
  /// after the hub is gone.
  std::shared_ptr<std::atomic<uint64_t>> dropped_
    = std::make_shared<std::atomic<uint64_t>>(0);
};

} // namespace caf_mcp::node
