#pragma once

/// The HTTP-level rules of stateless MCP 2026-07-28 (streamable-http.mdx
/// "Request Metadata"): the standard request headers `MCP-Protocol-Version`,
/// `Mcp-Method`, `Mcp-Name`, the mirrored parameter headers
/// `Mcp-Param-<Name>`, and the Base64 sentinel encoding of values that
/// cannot travel as plain header values. No JSON and no CAF: the values come
/// from caf_mcp/messages/stateless.hpp (`routing_of`, `mirrored_values`).
/// See docs/stateless.md; unit suite `stateless`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf_mcp/transport/http_client.hpp"

namespace caf_mcp::transport {

/// The header that mirrors the JSON-RPC `method`.
inline constexpr std::string_view mcp_method_header = "Mcp-Method";

/// The header that mirrors `params.name` (tools/call, prompts/get) or
/// `params.uri` (resources/read).
inline constexpr std::string_view mcp_name_header = "Mcp-Name";

/// The prefix of a mirrored parameter header (`x-mcp-header` value after it).
inline constexpr std::string_view mcp_param_header_prefix = "Mcp-Param-";

/// True if `value` may travel as a plain header value: every byte is
/// 0x20..0x7E (no control character, tab included, and no non-ASCII), it
/// neither starts nor ends with a space, and it does not look like a
/// sentinel (`=?base64?...?=`). The empty string is plain.
bool is_plain_header_value(std::string_view value) noexcept;

/// `value` as it goes into `Mcp-Name` or `Mcp-Param-*`: itself if
/// `is_plain_header_value`, else `=?base64?<Base64 of its bytes>?=`
/// (the markers lowercase, exactly so).
std::string encode_header_value(std::string_view value);

/// Decodes a header value written by `encode_header_value` (a plain value
/// is returned as it is). None if it has the sentinel markers but its
/// Base64 is malformed. For tests and for servers that check headers.
std::optional<std::string> decode_header_value(std::string_view value);

/// Why `name` may not be an `x-mcp-header` value (empty: it may): it must
/// be a non-empty HTTP token, so that `Mcp-Param-<name>` is a valid header
/// name. Pass it to messages' `mirrored_parameters`/`drop_invalid_tools`.
std::string mirrored_header_name_error(std::string_view name);

/// The headers of one stateless request, in this order:
/// `MCP-Protocol-Version: <version>`, `Mcp-Method: <method>`, `Mcp-Name:
/// <encoded name>` if `name` is set, then `Mcp-Param-<name>: <encoded
/// value>` for each of `params` (raw values from messages'
/// `mirrored_values`). No `Mcp-Session-Id`: stateless servers have none.
header_list stateless_request_headers(
  std::string_view version, std::string_view method,
  const std::optional<std::string>& name,
  const std::vector<std::pair<std::string, std::string>>& params = {});

} // namespace caf_mcp::transport
