#pragma once

/// UTF-8 validation and WHATWG-conformant repair (each maximal invalid
/// subpart becomes one U+FFFD), as the "UTF-8 decode" step of the
/// EventSource rules requires.

#include <cstddef>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// The replacement character U+FFFD, UTF-8 encoded.
inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";

/// Returns true if `bytes` is well-formed UTF-8 (no surrogates, no overlong
/// forms, nothing above U+10FFFF, no truncated sequence at the end).
bool utf8_valid(std::string_view bytes) noexcept;

/// Appends `bytes` to `out`, replacing every maximal invalid subpart with
/// U+FFFD exactly as the WHATWG Encoding Standard's UTF-8 decoder does
/// (a truncated sequence at the end counts as one invalid subpart).
void utf8_repair_append(std::string& out, std::string_view bytes);

/// Convenience wrapper around `utf8_repair_append`.
std::string utf8_repair(std::string_view bytes);

} // namespace caf_mcp::transport
