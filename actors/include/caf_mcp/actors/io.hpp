#pragma once

/// Access to the io runtime (transport::io_runtime): the Asio threads that
/// run every socket of caf-mcp in this process.

#include <cstddef>
#include <memory>

namespace caf_mcp::transport {
class io_runtime;
} // namespace caf_mcp::transport

namespace caf_mcp {

/// Returns the process-wide io runtime, creating it with `threads` threads on
/// first use. It lives while someone holds the returned pointer; pass it in
/// configs to share it, or create your own `transport::io_runtime`.
std::shared_ptr<transport::io_runtime> shared_io_runtime(size_t threads = 1);

} // namespace caf_mcp
