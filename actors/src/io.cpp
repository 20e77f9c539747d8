#include "caf_mcp/actors/io.hpp"

#include <mutex>

#include "caf_mcp/transport/http_client.hpp"

namespace caf_mcp {

std::shared_ptr<transport::io_runtime> shared_io_runtime(size_t threads) {
  static std::mutex mtx;
  static std::weak_ptr<transport::io_runtime> instance;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto ptr = instance.lock())
    return ptr;
  auto ptr = std::make_shared<transport::io_runtime>(threads);
  instance = ptr;
  return ptr;
}

} // namespace caf_mcp
