// The node's event stream: see event_hub.hpp.
#include "event_hub.hpp"

#include <algorithm>
#include <charconv>

namespace caf_mcp::node {

void event_ring::push(node_event ev) {
  events_.push_back(std::move(ev));
  while (events_.size() > capacity_)
    events_.pop_front();
}

std::vector<node_event> event_ring::since(uint64_t last_id) const {
  std::vector<node_event> out;
  if (events_.empty())
    return out;
  if (last_id > events_.back().id) {
    // An id from before a restart of the node: everything we have.
    out.assign(events_.begin(), events_.end());
    return out;
  }
  for (auto& ev : events_)
    if (ev.id > last_id)
      out.push_back(ev);
  return out;
}

std::string format_event(const node_event& ev) {
  std::string out;
  out.reserve(ev.data.size() + ev.kind.size() + 40);
  out += "id: ";
  out += std::to_string(ev.id);
  out += "\nevent: ";
  out += ev.kind;
  out += "\ndata: ";
  // Compact JSON has no line breaks; guard anyway: one data line each.
  for (auto c : ev.data) {
    if (c == '\n')
      out += "\ndata: ";
    else if (c != '\r')
      out += c;
  }
  out += "\n\n";
  return out;
}

uint64_t parse_last_event_id(std::string_view text) noexcept {
  uint64_t x = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), x);
  if (res.ec != std::errc{} || res.ptr != text.data() + text.size())
    return 0;
  return x;
}

void event_hub::send(const std::shared_ptr<transport::event_stream>& s,
                     std::shared_ptr<const std::string> text) {
  s->dispatch([s, text = std::move(text), max = max_pending_,
               dropped = dropped_] {
    if (!s->is_open())
      return;
    if (s->pending() > max) {
      dropped->fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s->append(*text);
  });
}

void event_hub::add(const std::shared_ptr<transport::event_stream>& s,
                    bool resume, uint64_t last_id) {
  std::string backlog = "retry: 2000\n\n";
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (resume)
      for (auto& ev : ring_.since(last_id))
        backlog += format_event(ev);
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                  [](const auto& x) { return !x->is_open(); }),
                   streams_.end());
    streams_.push_back(s);
  }
  send(s, std::make_shared<const std::string>(std::move(backlog)));
}

void event_hub::publish(node_event ev) {
  std::shared_ptr<const std::string> text;
  std::vector<std::shared_ptr<transport::event_stream>> targets;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                  [](const auto& x) { return !x->is_open(); }),
                   streams_.end());
    if (!streams_.empty()) {
      text = std::make_shared<const std::string>(format_event(ev));
      targets = streams_;
    }
    ring_.push(std::move(ev));
  }
  for (auto& s : targets)
    send(s, text);
}

void event_hub::keep_alive() {
  auto text = std::make_shared<const std::string>(": keep-alive\n\n");
  std::vector<std::shared_ptr<transport::event_stream>> targets;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    targets = streams_;
  }
  for (auto& s : targets)
    send(s, text);
}

size_t event_hub::subscribers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<size_t>(
    std::count_if(streams_.begin(), streams_.end(),
                  [](const auto& x) { return x->is_open(); }));
}

} // namespace caf_mcp::node
