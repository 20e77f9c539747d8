#include "caf_mcp/actors/headers_middleware.hpp"

#include <algorithm>

#include <boost/algorithm/string/predicate.hpp>

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/headers.hpp"

namespace caf_mcp {

void set_header(header_pairs& hs, std::string name, std::string value) {
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [&name](const auto& h) {
                            return boost::iequals(h.first, name);
                          }),
           hs.end());
  hs.emplace_back(std::move(name), std::move(value));
}

headers_middleware::headers_middleware(header_pairs headers, hook_fn hook)
  : headers_(std::move(headers)), hook_(std::move(hook)) {
  // nop
}

std::string_view headers_middleware::name() const noexcept {
  return "headers";
}

void headers_middleware::call(const mw_context&, mw_request req,
                              mw_next next, mw_done done) {
  auto& hs = req.opts.headers;
  for (auto& h : headers_)
    set_header(hs, h.first, h.second);
  if (hook_)
    hook_(req, hs);
  for (auto& h : hs) {
    auto why = transport::check_header(h.first, h.second);
    if (!why.empty()) {
      done(mw_outcome{caf::make_error(mcp_errc::invalid_argument,
                                      "middleware headers: " + why),
                      {}});
      return;
    }
  }
  next(std::move(req), std::move(done));
}

} // namespace caf_mcp
