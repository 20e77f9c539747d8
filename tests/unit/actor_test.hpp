#pragma once

// Helpers shared by the deterministic actor tests (test_coordinator_fixture):
// the config, the outcome of a request made from a helper actor, and our
// error codes.

#include <memory>
#include <utility>

#include "caf/all.hpp"

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp::test {

/// The actor system config of the actor suites: our types registered.
struct config : caf::actor_system_config {
  config() {
    register_types(*this);
  }
};

/// What a request made through `ask_via_helper` ended with.
template <class T>
struct outcome {
  bool done = false;
  T value{};
  caf::error err;
};

inline bool has_code(const caf::error& err, mcp_errc code) {
  mcp_errc got{};
  return get_mcp_errc(err, got) && got == code;
}

/// Spawns a helper actor that sends a request to `dest` once the scheduler
/// runs it; the outcome fills in as the scheduler runs.
template <class T, class Fixture, class Handle, class... Ts>
std::shared_ptr<outcome<T>> spawn_asker(Fixture& fx, const Handle& dest,
                                        Ts... xs) {
  auto out = std::make_shared<outcome<T>>();
  fx.sys.spawn([out, dest, xs...](caf::event_based_actor* helper) {
    helper->request(dest, caf::infinite, xs...)
      .then(
        [out](T& value) {
          out->done = true;
          out->value = std::move(value);
        },
        [out](caf::error& err) {
          out->done = true;
          out->err = std::move(err);
        });
  });
  return out;
}

/// Sends a request to `dest` from a fresh helper actor and runs the
/// scheduler; the outcome fills in as the scheduler runs (now or later).
template <class T, class Fixture, class Handle, class... Ts>
std::shared_ptr<outcome<T>> ask_via_helper(Fixture& fx, const Handle& dest,
                                           Ts... xs) {
  auto out = spawn_asker<T>(fx, dest, xs...);
  fx.sched.run();
  return out;
}

} // namespace caf_mcp::test
