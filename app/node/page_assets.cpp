#include "page_assets.hpp"

namespace caf_mcp::node {

const page_asset* find_page_asset(std::string_view path) noexcept {
  if (path == "/index.html")
    path = "/";
  for (auto& asset : page_assets())
    if (asset.path == path)
      return &asset;
  return nullptr;
}

} // namespace caf_mcp::node
