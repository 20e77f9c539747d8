#include <algorithm>
#include "caf_mcp/actors/recovery.hpp"

#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "caf/message.hpp"

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/backoff.hpp"

namespace caf_mcp {

loss_action on_session_end(const caf::error& reason,
                           bool retry_auth_failures) noexcept {
  mcp_errc code{};
  if (!get_mcp_errc(reason, code))
    return loss_action::restart;
  switch (code) {
    case mcp_errc::unauthorized:
    case mcp_errc::forbidden:
      return retry_auth_failures ? loss_action::restart : loss_action::give_up;
    case mcp_errc::endpoint_origin_mismatch:
    case mcp_errc::invalid_endpoint:
    case mcp_errc::invalid_argument:
    case mcp_errc::unsupported_protocol_version:
    case mcp_errc::tls_error:
      return loss_action::give_up;
    default:
      // Network trouble, timeouts, expired sessions, 429/503, any other HTTP
      // status (a gateway's 502 page, a 500 during a deploy), malformed
      // streams and content types (maintenance pages): try again.
      return loss_action::restart;
  }
}

call_fate classify_call_error(const caf::error& err) noexcept {
  mcp_errc code{};
  if (!get_mcp_errc(err, code))
    return call_fate::deliver;
  switch (code) {
    case mcp_errc::connection_failed:
    case mcp_errc::session_expired:
    case mcp_errc::rate_limited:
    case mcp_errc::service_unavailable:
    case mcp_errc::not_initialized:
      return call_fate::resend_later;
    case mcp_errc::connection_lost:
      return call_fate::session_lost;
    default:
      return call_fate::deliver;
  }
}

bool ends_session(const caf::error& err) noexcept {
  mcp_errc code{};
  if (!get_mcp_errc(err, code))
    return false;
  return code == mcp_errc::connection_lost
         || code == mcp_errc::session_expired;
}

std::optional<std::chrono::nanoseconds>
retry_after(const caf::error& err, std::chrono::system_clock::time_point now) {
  if (!err || !is_mcp_error(err))
    return std::nullopt;
  auto& ctx = err.context();
  std::optional<std::chrono::nanoseconds> out;
  if (ctx.size() >= 2 && ctx.match_element<std::string>(1))
    if (auto res = transport::parse_retry_after(ctx.get_as<std::string>(1),
                                                now))
      out = std::chrono::duration_cast<std::chrono::nanoseconds>(*res);
  // The SSE `retry` field (ms), stored by the connection as element 2.
  constexpr std::string_view prefix = "sse_retry_ms=";
  if (ctx.size() >= 3 && ctx.match_element<std::string>(2)) {
    auto& str = ctx.get_as<std::string>(2);
    if (str.compare(0, prefix.size(), prefix) == 0) {
      // A huge `retry` asks for the longest wait there is: it saturates
      // (the backoff clamps every floor to its cap) instead of being
      // ignored. 12 digits are ~31 years of milliseconds.
      constexpr uint64_t max_ms = 999'999'999'999;
      uint64_t ms = 0;
      auto digits = std::string_view{str}.substr(prefix.size());
      auto ok = !digits.empty();
      for (auto c : digits) {
        if (c < '0' || c > '9') {
          ok = false;
          break;
        }
        ms = ms >= max_ms / 10 ? max_ms
                               : ms * 10 + static_cast<uint64_t>(c - '0');
      }
      ms = std::min(ms, max_ms);
      if (ok) {
        auto d = std::chrono::nanoseconds{std::chrono::milliseconds{ms}};
        if (!out || d > *out)
          out = d;
      }
    }
  }
  return out;
}

size_t pick_member(const std::vector<member_load>& members, size_t& cursor) {
  auto n = members.size();
  if (n == 0)
    return 0;
  auto any_ready = false;
  for (auto& m : members)
    if (m.ready) {
      any_ready = true;
      break;
    }
  size_t best = n;
  for (size_t k = 0; k < n; ++k) {
    auto i = (cursor + k) % n;
    auto& m = members[i];
    if (any_ready && !m.ready)
      continue;
    if (best == n || m.in_flight < members[best].in_flight)
      best = i;
  }
  cursor = (best + 1) % n;
  return best;
}

} // namespace caf_mcp

namespace caf_mcp {

retry_safety classify_for_retry(const caf::error& err) noexcept {
  // The supervisor's own rule first: what it would send again, the server
  // never ran.
  if (classify_call_error(err) == call_fate::resend_later)
    return retry_safety::never_ran;
  mcp_errc code{};
  if (!get_mcp_errc(err, code))
    return retry_safety::never;
  switch (code) {
    case mcp_errc::queue_full:
    case mcp_errc::queue_timeout:
    case mcp_errc::endpoint_timeout:
      return retry_safety::never_ran;
    case mcp_errc::connection_lost:
    case mcp_errc::outcome_unknown:
    case mcp_errc::timeout:
      return retry_safety::maybe_ran;
    default:
      return retry_safety::never;
  }
}

bool is_idempotent_tool(const std::string& annotations) noexcept {
  if (annotations.empty())
    return false;
  boost::system::error_code ec;
  auto val = boost::json::parse(annotations, ec);
  if (ec || !val.is_object())
    return false;
  auto& obj = val.get_object();
  auto is_true = [&obj](const char* key) {
    auto i = obj.find(key);
    return i != obj.end() && i->value().is_bool() && i->value().get_bool();
  };
  return is_true("idempotentHint") || is_true("readOnlyHint");
}

} // namespace caf_mcp
