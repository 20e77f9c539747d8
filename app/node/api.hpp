#pragma once

/// The node's HTTP API on the shared HTTP server (transport/http_server):
/// every path of NODE.md. The handler runs on io threads and never blocks:
/// it answers what it can at once (health, auth and input errors) and
/// hands the rest, with the exchange, to the API bridge actor, which asks
/// the registry and answers the exchange when the reply comes. The bridge
/// is also the registry's event subscriber feeding the event hub.
///
/// Security (NODE.md): with a token, `/api/*` and `/metrics` need
/// `Authorization: Bearer TOKEN` (compared in constant time); a POST whose
/// `Origin` is not this node's own origin (the request's Host) is refused
/// with 403 `forbidden`. A node without a token answers only requests whose
/// Host is a loopback name or address (DNS rebinding; 403 `forbidden`).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/http_server.hpp"

#include "event_hub.hpp"
#include "registry.hpp"

namespace caf_mcp::node {

/// What the API routes a request to (pure; unit-tested).
struct route {
  enum kind_t {
    not_found,
    method_not_allowed,
    page,
    healthz,
    readyz,
    servers,
    one_server,
    call,
    events,
    nodes,
    metrics,
  } kind = not_found;
  /// Percent-decoded path segments.
  std::string server;
  std::string tool;
  /// For method_not_allowed: the allowed method.
  std::string allow;
};

route route_request(std::string_view method, std::string_view path);

/// True if `header` is exactly "Bearer TOKEN" (transport/headers.hpp; the
/// demo server's token mode uses it too).
using transport::bearer_matches;

/// True if a POST with this Origin (may be empty: not a browser) to a node
/// reached as `host` (the Host header) may change state.
bool origin_allowed(std::string_view origin, std::string_view host);

/// True if a node without a token (so: on loopback) may answer a request
/// with this Host header: a loopback name or address (`localhost`,
/// 127.x.y.z, `[::1]`, with any port). Anything else is a browser that
/// reached 127.0.0.1 through a name it rebound (DNS rebinding): refused.
bool loopback_host_header(std::string_view host);

struct api_config {
  std::string token;
  std::string node_name;
  registry_impl_actor registry;
  std::shared_ptr<event_hub> hub;
};

/// Spawns the bridge actor. The caller subscribes it to the registry's
/// events (`caf::subscribe_atom`), before it lets the registry start anything
/// (the first `reload`), so that no event goes out before it listens.
caf::actor spawn_api_bridge(caf::actor_system& sys, const api_config& cfg);

class api_handler final : public transport::http_handler {
public:
  api_handler(api_config cfg, caf::actor bridge);

  void on_request(transport::http_request& req,
                  transport::http_exchange& ex) override;

  /// Calls are refused with 503 from now on (the node drains).
  void set_draining() noexcept {
    draining_.store(true);
  }

  /// Requests handed to the bridge whose answer is not written yet.
  int64_t unanswered() const noexcept {
    return pending_->load();
  }

private:
  api_config cfg_;
  caf::actor bridge_;
  std::atomic<bool> draining_{false};
  std::shared_ptr<std::atomic<int64_t>> pending_;
};

} // namespace caf_mcp::node
