#pragma once

/// The `headers` middleware (issue 14): extra HTTP headers on the POST of
/// every `tools/call` of a client.
///
/// - `headers`: static (name, value) pairs, set on each call's
///   `call_options::headers` (replacing a header of the same name, any
///   case, that an earlier middleware or the caller set);
/// - `hook` (optional): called for each call after the static headers are
///   set; it reads the request and may add, change or remove headers.
///   It runs in the client actor: it must not block. An exception fails
///   that call only (`middleware_failed`).
/// Every header is checked like the CLI's -H (`transport::check_header`):
/// a bad one fails the call with `invalid_argument`, naming the header but
/// never its value. Values are never logged.
///
/// Per-call headers go on the call's POST only, not on the SSE GET (use
/// `session_config::http.headers` for headers of every request).

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf_mcp/actors/middleware.hpp"

namespace caf_mcp {

/// (name, value) pairs, as in `call_options::headers`.
using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// Sets `name: value` in `hs`, replacing every header of that name (any
/// case).
void set_header(header_pairs& hs, std::string name, std::string value);

class headers_middleware final : public middleware {
public:
  using hook_fn = std::function<void(const mw_request&, header_pairs&)>;

  explicit headers_middleware(header_pairs headers, hook_fn hook = {});

  std::string_view name() const noexcept override;

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

private:
  header_pairs headers_;
  hook_fn hook_;
};

} // namespace caf_mcp
