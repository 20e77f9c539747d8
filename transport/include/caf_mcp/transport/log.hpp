#pragma once

/// caf-mcp's one logging facility: levels and a pluggable sink. No CAF, no
/// I/O of its own: the library only formats lines and hands them to the
/// sink the application installed (the CLI's `-v` installs a stderr sink;
/// the node plugs in its own). Without a sink nothing is formatted at all:
/// `CAF_MCP_LOG` checks one relaxed atomic before it builds the text.
///
/// Rules for every caller (see docs/architecture.md "Logging"): URLs go
/// through `transport::redact` first, header values and tokens never appear,
/// server-controlled text is passed as it is (the sink escapes control
/// characters before it writes to a terminal).

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace caf_mcp::log {

enum class level : uint8_t { trace, debug, info, warn, error, off };

/// "trace", "debug", "info", "warn", "error" or "off".
const char* to_string(level x) noexcept;

/// Parses a level name (as `to_string` prints it); false if unknown.
bool from_string(std::string_view text, level& out) noexcept;

/// Receives one finished line: its level, the component that wrote it
/// ("session", "supervisor", "post", ...) and the text. Called on the
/// thread that logs (io threads and actors alike): it must be thread-safe
/// and must not block for long.
using sink = std::function<void(level, std::string_view component,
                                 std::string_view text)>;

/// Installs `s` for lines at `min` or above (a null sink or `level::off`
/// turns logging off). Thread-safe; lines already being written may still
/// reach the previous sink.
void set_sink(sink s, level min);

/// Turns logging off (same as `set_sink(nullptr, level::off)`).
void reset();

/// True if a line at `x` would be written. One relaxed atomic load.
bool enabled(level x) noexcept;

/// Hands a line to the sink if `x` is enabled.
void write(level x, std::string_view component, std::string_view text);

/// A sink that writes `LEVEL component: text` lines to stderr, one
/// `write(2)` per line, with control characters (other than tab) escaped
/// as `\xHH` so server-controlled text cannot drive the terminal.
sink stderr_sink();

/// Escapes C0 controls (but tab, and LF if `keep_newlines`), DEL, C1
/// controls and the Unicode bidirectional overrides (U+202A..U+202E,
/// U+2066..U+2069) as `\xHH` or `\u{HHHH}`. Used for every
/// server-controlled text a human reads on a terminal.
std::string escape_controls(std::string_view text, bool keep_newlines = false);

} // namespace caf_mcp::log

/// Logs `expr` (anything `std::ostream <<` takes, chained with `<<`) at
/// `lvl` (`caf_mcp::log::level::info` etc.) under `component`, building
/// the text only if that level is enabled.
#define CAF_MCP_LOG(lvl, component, expr)                                      \
  do {                                                                         \
    if (::caf_mcp::log::enabled(lvl)) {                                        \
      std::ostringstream caf_mcp_log_os_;                                      \
      caf_mcp_log_os_ << expr;                                                 \
      ::caf_mcp::log::write(lvl, component, caf_mcp_log_os_.str());            \
    }                                                                          \
  } while (false)

#define CAF_MCP_LOG_DEBUG(component, expr)                                     \
  CAF_MCP_LOG(::caf_mcp::log::level::debug, component, expr)
#define CAF_MCP_LOG_INFO(component, expr)                                      \
  CAF_MCP_LOG(::caf_mcp::log::level::info, component, expr)
#define CAF_MCP_LOG_WARN(component, expr)                                      \
  CAF_MCP_LOG(::caf_mcp::log::level::warn, component, expr)
#define CAF_MCP_LOG_ERROR(component, expr)                                     \
  CAF_MCP_LOG(::caf_mcp::log::level::error, component, expr)
