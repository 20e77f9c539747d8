#pragma once

/// Access to the io runtime (transport::io_runtime): the Asio threads that
/// run every socket of caf-mcp in this process, and, optionally, the CAF
/// actors too.

#include <chrono>
#include <cstddef>
#include <memory>

#include "caf/fwd.hpp"

namespace caf_mcp::transport {
class io_runtime;
} // namespace caf_mcp::transport

namespace caf_mcp {

/// Returns the process-wide io runtime, creating it with `threads` threads
/// and a `busy_poll` window (see transport::io_runtime) on first use; later
/// calls return the same runtime whatever they ask for. It lives while
/// someone holds the returned pointer; pass it in configs to share it, or
/// create your own `transport::io_runtime`.
std::shared_ptr<transport::io_runtime>
shared_io_runtime(size_t threads = 1,
                  std::chrono::microseconds busy_poll = std::chrono::microseconds{0});

/// Makes the actor system built from `cfg` run its scheduled actors on the
/// io threads of `io` instead of CAF's own worker threads: one event loop
/// per thread runs both socket completions and actors, so a message from an
/// io callback to a session, or from one actor to the next, runs on the same
/// thread without waking another (a sequential tool call then costs about
/// one thread wake-up instead of ten). An actor runs on the io thread that
/// last made it ready; an actor made ready from any other thread goes to
/// the threads in turn. Timers use CAF's own clock thread.
///
/// An actor handles at most `scheduler.max-throughput` messages per turn
/// (default 256 here, unlimited in CAF) before the sockets and actors
/// queued behind it get theirs.
///
/// Use it for I/O-bound systems (the command line and the node do); keep
/// CAF's scheduler where actors compute for long, since a busy actor here
/// delays the sockets of its thread. Detached actors keep their own
/// threads. The actor system must be destroyed on a thread that is not one
/// of `io`'s, and before `io` is stopped (its shutdown waits until no actor
/// work is queued on the io threads any more).
void use_io_scheduler(caf::actor_system_config& cfg,
                      std::shared_ptr<transport::io_runtime> io);

namespace detail {

/// Test seam: the io scheduler calls `probe` (if set) while it admits a job,
/// between counting it and checking whether the scheduler stops, on the
/// thread that posts. The race test of tests/integration/io_scheduler.cpp
/// holds one post there across `stop()`. Null by default (one relaxed
/// atomic load per job).
void set_io_admit_probe(void (*probe)()) noexcept;

} // namespace detail

} // namespace caf_mcp
