#pragma once

// What the actor benchmarks (stalled-server, longrun) share: the process
// RSS, the entries on CAF's clock, and an actor system on the io scheduler.

#include <fstream>
#include <memory>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/detail/simple_actor_clock.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp::bench {

/// VmRSS of this process in KiB (-1 if unknown).
inline long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

/// Entries on the actor system's clock (timers not yet due). A racy read
/// of a size, for a diagnostic only.
inline size_t clock_entries(caf::actor_system& sys) {
  if (auto c = dynamic_cast<caf::detail::simple_actor_clock*>(&sys.clock()))
    return c->schedule().size();
  return 0;
}

/// Our types registered, actors on the io threads of `io`.
struct io_config : caf::actor_system_config {
  explicit io_config(std::shared_ptr<transport::io_runtime> io) {
    register_types(*this);
    use_io_scheduler(*this, std::move(io));
  }
};

} // namespace caf_mcp::bench
