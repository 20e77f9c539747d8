#pragma once

/// Maps the transport layer's failures to `mcp_errc` errors. This is the
/// only place where transport (no CAF) meets the error category.

#include "caf/error.hpp"

#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

/// Where a transport failure happened: the SSE GET, a POST, or a
/// Streamable HTTP POST that carried no session id (a 404 there means a
/// wrong URL, not a session that is gone).
enum class http_phase { sse_get, post, post_without_session };

/// Classifies `err`: 401 -> unauthorized, 403 -> forbidden, 404 on a POST
/// -> session_expired (`post_without_session`: http_status), 429 -> rate_limited, 502/503/504 ->
/// service_unavailable, other statuses -> http_status, connect problems ->
/// connection_failed, TLS -> tls_error, stream end or read errors ->
/// connection_lost, and so on. The context is one line (already redacted),
/// followed by the Retry-After value when the server sent one.
caf::error to_error(const transport::transport_error& err, http_phase phase);

/// Classifies a failed URL parse or endpoint resolution.
caf::error to_error(const transport::url_result& res);

} // namespace caf_mcp
