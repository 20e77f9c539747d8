#include "caf_mcp/messages/error.hpp"

#include <cstring>

#include "caf/actor_system_config.hpp"
#include "caf/atom.hpp"
#include "caf/message.hpp"

namespace caf_mcp {

namespace {

constexpr const char* names[] = {
  "none",
  "connection_failed",
  "unauthorized",
  "forbidden",
  "session_expired",
  "rate_limited",
  "service_unavailable",
  "http_status",
  "bad_content_type",
  "timeout",
  "connection_lost",
  "endpoint_timeout",
  "endpoint_origin_mismatch",
  "invalid_endpoint",
  "malformed_sse",
  "event_too_large",
  "malformed_json",
  "malformed_jsonrpc",
  "unknown_response_id",
  "jsonrpc_error",
  "invalid_result",
  "unsupported_protocol_version",
  "queue_full",
  "cancelled",
  "invalid_argument",
  "not_initialized",
  "unknown_tool",
  "tls_error",
  "gave_up",
  "closed",
  "queue_timeout",
  "outcome_unknown",
  "limit_exceeded",
  "middleware_failed",
  "node_down",
};

static_assert(sizeof(names) / sizeof(names[0]) == mcp_errc_count,
              "every mcp_errc needs a name");

std::string render_context(const caf::message& ctx) {
  std::string out;
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (ctx.match_element<std::string>(i)) {
      auto& str = ctx.get_as<std::string>(i);
      if (str.empty())
        continue;
      if (!out.empty())
        out += ' ';
      out += str;
    } else {
      if (!out.empty())
        out += ' ';
      out += ctx.stringify(i);
    }
  }
  return out;
}

} // namespace

const char* to_string(mcp_errc code) noexcept {
  auto i = static_cast<size_t>(code);
  return i < mcp_errc_count ? names[i] : "unknown_mcp_errc";
}

bool from_string(const std::string& name, mcp_errc& code) noexcept {
  for (size_t i = 1; i < mcp_errc_count; ++i)
    if (name == names[i]) {
      code = static_cast<mcp_errc>(i);
      return true;
    }
  return false;
}

bool is_recoverable(mcp_errc code) noexcept {
  switch (code) {
    case mcp_errc::connection_failed:
    case mcp_errc::session_expired:
    case mcp_errc::rate_limited:
    case mcp_errc::service_unavailable:
    case mcp_errc::timeout:
    case mcp_errc::connection_lost:
    case mcp_errc::endpoint_timeout:
    case mcp_errc::malformed_sse:
    case mcp_errc::event_too_large:
    case mcp_errc::queue_full:
    case mcp_errc::queue_timeout:
    case mcp_errc::node_down:
      return true;
    default:
      return false;
  }
}

caf::atom_value mcp_category() noexcept {
  return caf::atom("mcp");
}

bool is_mcp_error(const caf::error& err) noexcept {
  return err && err.category() == mcp_category();
}

bool get_mcp_errc(const caf::error& err, mcp_errc& code) noexcept {
  if (!is_mcp_error(err))
    return false;
  code = static_cast<mcp_errc>(err.code());
  return true;
}

const char* error_code_name(const caf::error& err) noexcept {
  mcp_errc code{};
  if (get_mcp_errc(err, code))
    return to_string(code);
  return "internal";
}

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  if (!is_mcp_error(err))
    return caf::to_string(err);
  std::string out = to_string(static_cast<mcp_errc>(err.code()));
  if (!err.context().empty()) {
    out += ": ";
    out += render_context(err.context());
  }
  return out;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(mcp_category(),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out = to_string(
                             static_cast<mcp_errc>(code));
                           if (!ctx.empty()) {
                             out += ": ";
                             out += render_context(ctx);
                           }
                           return out;
                         });
}

} // namespace caf_mcp
