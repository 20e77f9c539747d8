// Calling tools on a caf-mcp node from a CAF program: see connect.hpp.
#include "caf_mcp/cluster/connect.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp::cluster {

caf::timespan silence_limit(const system_options& opts) {
  return std::max(opts.connection_timeout - opts.heartbeat,
                  2 * opts.heartbeat);
}

void configure(caf::actor_system_config& cfg, const system_options& opts) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", opts.heartbeat);
  cfg.set("middleman.connection-timeout", silence_limit(opts));
  cfg.set("middleman.app-identifiers",
          std::vector<std::string>{opts.app_identifier});
  if (opts.multiplexer_on_io)
    cfg.set("middleman.manual-multiplexing", true);
  if (opts.tls) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", opts.tls->certificate);
    cfg.set("openssl.key", opts.tls->key);
    if (!opts.tls->cafile.empty())
      cfg.set("openssl.cafile", opts.tls->cafile);
  }
}

std::string unreadable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return std::strerror(EISDIR);
  errno = 0;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::strerror(errno != 0 ? errno : ENOENT);
  return {};
}

caf::error check_tls_files(const tls_options& tls, const std::string& what) {
  std::pair<const char*, const std::string*> files[] = {
    {"certificate", &tls.certificate},
    {"key", &tls.key},
    {"cafile", &tls.cafile},
  };
  for (auto& [key, path] : files) {
    if (path->empty()) {
      if (std::string_view{key} == "cafile")
        continue;
      return caf::make_error(mcp_errc::invalid_argument,
                             what + key + " is missing");
    }
    if (auto why = unreadable(*path); !why.empty())
      return caf::make_error(mcp_errc::invalid_argument,
                             what + key + ": cannot read " + *path + ": "
                               + why);
  }
  return caf::none;
}

transport::backoff_config default_peer_backoff(caf::timespan cap) {
  transport::backoff_config b;
  b.cap = std::chrono::duration_cast<transport::backoff_config::duration>(cap);
  b.base = std::min<transport::backoff_config::duration>(
    std::chrono::milliseconds{100}, b.cap);
  b.max_attempts = 0;
  b.stable_period = std::chrono::seconds{10};
  return b;
}

std::string node_address(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

caf::expected<remote_registry_actor>
connect_node(caf::actor_system& sys, std::string host, uint16_t port,
             connect_options opts) {
  if (host.empty())
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: the host is empty");
  if (port == 0)
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: port 0");
  if (!sys.has_middleman())
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: the actor system has no "
                           "middleman (call caf_mcp::cluster::configure "
                           "on its config)");
  if (opts.tls && !sys.has_openssl_manager())
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: tls asked for, but the actor "
                           "system has no openssl manager (configure with "
                           "system_options::tls)");
  peer_config pc;
  pc.backoff = opts.backoff ? *opts.backoff : default_peer_backoff();
  if (auto why = transport::validate(pc.backoff); !why.empty())
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: backoff: " + why);
  if (opts.poll.count() <= 0 || opts.connect_timeout.count() <= 0
      || opts.call_timeout.count() <= 0)
    return caf::make_error(mcp_errc::invalid_argument,
                           "connect_node: poll, connect_timeout and "
                           "call_timeout must be positive");
  pc.name = opts.name.empty() ? node_address(host, port) : opts.name;
  pc.host = std::move(host);
  pc.port = port;
  pc.tls = opts.tls;
  pc.connect_timeout = opts.connect_timeout;
  pc.call_timeout = opts.call_timeout;
  pc.poll = opts.poll;
  pc.max_pending = opts.max_pending;
  pc.hidden = true;
  return remote_registry_actor{spawn_peer(sys, std::move(pc))};
}

} // namespace caf_mcp::cluster
