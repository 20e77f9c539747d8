#pragma once

// A real actor system, a shared io runtime and a blocking helper for the
// integration suites (real sockets, real servers on 127.0.0.1).

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/transport/http_client.hpp"

namespace caf_mcp::test {

/// Reads the first line of STATE/NAME.url (or another suffix) written by
/// the fixture that started the peer; empty if it is missing.
inline std::string peer_file(const std::string& name,
                             const std::string& suffix = ".url") {
  const char* dir = std::getenv("CAF_MCP_PEERS_STATE");
  if (dir == nullptr)
    return {};
  std::ifstream in{std::string{dir} + "/" + name + suffix};
  std::string line;
  std::getline(in, line);
  return line;
}

/// Our types registered; with CAF_MCP_TEST_SCHEDULER=io in the
/// environment the actors run on the io threads (use_io_scheduler), else
/// on CAF's own scheduler. CTest runs the client suites both ways.
struct live_config : caf::actor_system_config {
  explicit live_config(std::shared_ptr<transport::io_runtime> io) {
    register_types(*this);
    auto mode = std::getenv("CAF_MCP_TEST_SCHEDULER");
    if (mode != nullptr && std::string{mode} == "io")
      use_io_scheduler(*this, std::move(io));
  }
};

/// The outcome of a blocking request.
template <class T>
struct answer {
  bool ok = false;
  T value{};
  caf::error err;
};

struct live_fixture {
  std::shared_ptr<transport::io_runtime> io = shared_io_runtime();
  live_config cfg{io};
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  /// A session config for `url` with short, test-friendly timeouts.
  session_config make_session_config(const std::string& url) {
    session_config sc;
    sc.server_name = "test";
    sc.sse_url = url;
    sc.io = io;
    sc.request_timeout = std::chrono::seconds{20};
    sc.endpoint_timeout = std::chrono::seconds{10};
    sc.http.connect_timeout = std::chrono::milliseconds{5000};
    sc.http.post_timeout = std::chrono::milliseconds{10000};
    return sc;
  }

  client_actor make_client(session_config sc, bool keep_alive = true) {
    client_config cc;
    cc.name = sc.server_name;
    cc.is_keep_alive = keep_alive;
    cc.session = std::move(sc);
    // Quick, short reconnects: a refused server gives up within ~60 ms.
    cc.pool.member.backoff.base = std::chrono::milliseconds{20};
    cc.pool.member.backoff.max_attempts = 2;
    auto c = sys.spawn(client, std::move(cc));
    spawned.push_back(caf::actor_cast<caf::actor>(c));
    return c;
  }

  /// A session that starts (and opens its stream) with the first message
  /// it gets: a request sent right after this call is in its mailbox before
  /// its stream can fail (a session that failed has quit, and a request
  /// arriving after that learns only CAF's request_receiver_down).
  session_actor make_session(session_config sc) {
    auto s = sys.spawn<caf::lazy_init>(session, share(std::move(sc)));
    spawned.push_back(caf::actor_cast<caf::actor>(s));
    return s;
  }

  /// Everything a test spawned; stopped before the system shuts down.
  std::vector<caf::actor> spawned;

  /// Sends a request and waits for its answer (bounded: 60 s).
  template <class T, class Handle, class... Ts>
  answer<T> ask(const Handle& dest, Ts&&... xs) {
    answer<T> out;
    self->request(dest, std::chrono::seconds{60}, std::forward<Ts>(xs)...)
      .receive(
        [&](T& value) {
          out.ok = true;
          out.value = std::move(value);
        },
        [&](caf::error& err) { out.err = std::move(err); });
    return out;
  }

  ~live_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

inline bool has_code(const caf::error& err, mcp_errc code) {
  mcp_errc got{};
  return get_mcp_errc(err, got) && got == code;
}

} // namespace caf_mcp::test
