#pragma once

/// The dashboard page's files (app/node/page/), compiled into the binary by
/// cmake/EmbedFiles.cmake: index.html is served at `/`, every other file
/// at `/assets/NAME`. The node needs no files at run time and no CDN.

#include <cstddef>
#include <string_view>

namespace caf_mcp::node {

struct page_asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

struct span_of_assets {
  const page_asset* first;
  size_t count;
  const page_asset* begin() const noexcept {
    return first;
  }
  const page_asset* end() const noexcept {
    return first + count;
  }
};

/// Every embedded file (generated).
span_of_assets page_assets() noexcept;

/// The asset served at `path` (`/`, `/index.html` or `/assets/NAME`), or
/// nullptr.
const page_asset* find_page_asset(std::string_view path) noexcept;

/// The Content-Security-Policy the page is served with: scripts, styles
/// and connections only from the node itself, images also from data: URLs
/// (tool results), nothing inline, no frames.
constexpr std::string_view page_csp
  = "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

} // namespace caf_mcp::node
