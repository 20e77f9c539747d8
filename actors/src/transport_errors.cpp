#include "caf_mcp/actors/transport_errors.hpp"

#include <string>

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp {

namespace {

mcp_errc classify_status(int status, http_phase phase) {
  switch (status) {
    case 401:
      return mcp_errc::unauthorized;
    case 403:
      return mcp_errc::forbidden;
    case 404:
      return phase == http_phase::post ? mcp_errc::session_expired
                                       : mcp_errc::http_status;
    case 429:
      return mcp_errc::rate_limited;
    case 502:
    case 503:
    case 504:
      return mcp_errc::service_unavailable;
    default:
      return mcp_errc::http_status;
  }
}

mcp_errc classify(const transport::transport_error& err, http_phase phase) {
  using transport::transport_errc;
  switch (err.code) {
    case transport_errc::resolve_failed:
    case transport_errc::connect_failed:
      return mcp_errc::connection_failed;
    case transport_errc::tls_failed:
      return mcp_errc::tls_error;
    case transport_errc::timeout:
      return mcp_errc::timeout;
    case transport_errc::http_status:
      return classify_status(err.status, phase);
    case transport_errc::bad_content_type:
      return mcp_errc::bad_content_type;
    case transport_errc::stream_ended:
    case transport_errc::read_failed:
    case transport_errc::write_failed:
    case transport_errc::protocol_error:
      if (phase != http_phase::sse_get)
        // The POST's connection broke, not the session's stream: if any of
        // the request left, the server may have run it; if none did, it
        // provably did not (sent again like a refused connect).
        return err.request_sent ? mcp_errc::outcome_unknown
                                : mcp_errc::connection_failed;
      return mcp_errc::connection_lost;
    case transport_errc::event_too_large:
      return mcp_errc::event_too_large;
    case transport_errc::cancelled:
      return mcp_errc::cancelled;
  }
  return mcp_errc::connection_lost;
}

} // namespace

caf::error to_error(const transport::transport_error& err, http_phase phase) {
  auto code = classify(err, phase);
  std::string what = err.message;
  if (what.empty())
    what = transport::to_string(err.code);
  if (code == mcp_errc::outcome_unknown)
    what += " (the request was sent: the server may have run it)";
  if (err.status != 0 && what.find(std::to_string(err.status))
                           == std::string::npos)
    what += " (HTTP " + std::to_string(err.status) + ")";
  if (!err.body_excerpt.empty()) {
    what += ": ";
    what += err.body_excerpt.substr(0, transport::shown_excerpt);
  }
  if (err.retry_ms > 0)
    // The SSE `retry` field: a floor for the reconnect delay (recovery.hpp
    // reads it back). Element 1 stays the HTTP Retry-After (maybe empty).
    return caf::make_error(code, std::move(what), err.retry_after,
                           "sse_retry_ms=" + std::to_string(err.retry_ms));
  if (!err.retry_after.empty())
    return caf::make_error(code, std::move(what), err.retry_after);
  return caf::make_error(code, std::move(what));
}

caf::error to_error(const transport::url_result& res) {
  using transport::url_errc;
  switch (res.code) {
    case url_errc::ok:
      return caf::error{};
    case url_errc::origin_mismatch:
      return caf::make_error(mcp_errc::endpoint_origin_mismatch, res.message);
    case url_errc::invalid_endpoint:
      return caf::make_error(mcp_errc::invalid_endpoint, res.message);
    default:
      return caf::make_error(mcp_errc::invalid_argument, res.message);
  }
}

} // namespace caf_mcp
