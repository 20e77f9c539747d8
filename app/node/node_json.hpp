#pragma once

/// The JSON the node writes: SERVER objects, error bodies and event data
/// (NODE.md). Pure code, unit-tested alone; Boost.JSON stays in the .cpp.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/protocol.hpp"

namespace caf_mcp::node {

/// One SERVER object (NODE.md), plus "description" and "disabled".
std::string server_json(const server_info& x);

/// `{"servers":[SERVER...]}`.
std::string servers_json(const std::vector<server_info>& xs);

/// One cluster peer (NODE.md `/api/nodes`): name, address, state
/// (up|down|connecting), since (ISO time or null), last_error (or null),
/// rtt_ms (or null before the first listing).
std::string node_json(const node_info& x);

/// `{"nodes":[NODE...]}`.
std::string nodes_json(const std::vector<node_info>& xs);

/// A SERVER object with "tools": the descriptors as MCP gives them.
std::string server_detail_json(const server_detail& x);

/// Appends a number with at most 3 decimals and no exponent ("0.731",
/// "12"); null if not finite.
void append_number(std::string& out, double x);

/// `{"error":{"code":CODE,"message":MESSAGE}}`.
std::string error_json(std::string_view code, std::string_view message);

// The code name of an error: `error_code_name` in caf_mcp/messages/error.hpp
// (the mcp_errc name for ours, else "internal").

/// The HTTP status for a failed call (NODE.md): invalid_argument and
/// unknown_tool 404 (unknown server or tool), service_unavailable, closed,
/// gave_up, connection_failed, queue_timeout, queue_full, node_down 503
/// (down, draining or full),
/// timeout 504, anything else 502.
unsigned call_error_status(const caf::error& err) noexcept;

/// Event data (one JSON object each).
std::string tools_event_json(const std::string& server, const tools_diff& d,
                             size_t tool_count);
std::string log_event_json(const std::string& server,
                           const logging_message_params& p);
/// The value of the `Caf-Mcp-Meta` header of a call's answer: what the
/// middlewares attached, as `k=v; k=v` (sorted by key). Entries with
/// characters outside visible ASCII, `;` or `=` are left out.
std::string meta_header_value(const std::map<std::string, std::string>& meta);

/// A `call` event; `meta` is what the client's middlewares attached
/// (`"cache":"hit"`, `"retry.attempts":"2"`, ...), as `"meta":{...}` when
/// not empty.
std::string call_event_json(const std::string& server, const std::string& tool,
                            const std::string& outcome, double duration_ms,
                            const std::map<std::string, std::string>& meta
                            = {});
std::string progress_event_json(const std::string& server,
                                const std::string& tool,
                                const std::string& call,
                                const progress_params& p);
/// A reload: status "reloaded" with the names, or "rejected" with the
/// error line.
std::string config_event_json(const std::string& status,
                              const std::vector<std::string>& added,
                              const std::vector<std::string>& removed,
                              const std::vector<std::string>& changed,
                              const std::string& error);

/// ISO 8601 UTC with milliseconds ("2026-12-05T09:41:00.123Z").
std::string iso_time(int64_t ms_since_epoch);

} // namespace caf_mcp::node
