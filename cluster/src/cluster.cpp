// Pure pieces of the node's cluster: see cluster.hpp.
#include "caf_mcp/cluster/cluster.hpp"

namespace caf_mcp::cluster {

bool split_peer_server(std::string_view name, std::string& peer,
                       std::string& server) {
  auto colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0
      || colon + 1 == name.size())
    return false;
  peer = std::string{name.substr(0, colon)};
  server = std::string{name.substr(colon + 1)};
  return true;
}

std::string peer_server_name(std::string_view peer, std::string_view server) {
  std::string out;
  out.reserve(peer.size() + 1 + server.size());
  out += peer;
  out += ':';
  out += server;
  return out;
}

const char* to_string(peer_state x) noexcept {
  switch (x) {
    case peer_state::connecting:
      return "connecting";
    case peer_state::up:
      return "up";
    case peer_state::down:
      return "down";
  }
  return "down";
}

bool in_flight_limiter::try_acquire(const std::string& key) {
  auto& n = counts_[key];
  if (n >= max_) {
    if (n == 0)
      counts_.erase(key);
    return false;
  }
  ++n;
  return true;
}

void in_flight_limiter::release(const std::string& key) {
  auto i = counts_.find(key);
  if (i == counts_.end())
    return;
  if (--i->second == 0)
    counts_.erase(i);
}

size_t in_flight_limiter::in_flight(const std::string& key) const {
  auto i = counts_.find(key);
  return i != counts_.end() ? i->second : 0;
}

} // namespace caf_mcp::cluster
