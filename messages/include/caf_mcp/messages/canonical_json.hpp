#pragma once

/// Canonical JSON text: one text per JSON value, so that two texts that mean
/// the same value (key order, whitespace, escapes, `1` vs `1.0`) compare
/// equal as strings. The result cache keys tool arguments with it.
///
/// The normal form:
/// - no whitespace; object members sorted by the UTF-8 bytes of their
///   (unescaped) keys, compared as unsigned bytes (RFC 8785 sorts by UTF-16
///   code units instead; the two differ only between U+E000..U+FFFF and
///   characters beyond U+FFFF); arrays keep their order;
/// - strings written by `append_json_string`: `\"`, `\\`, `\b`, `\f`, `\n`,
///   `\r`, `\t`, `\u00XX` for other control characters, everything else as
///   raw UTF-8 (`"\u0041"` and `"A"` are one key, `"\/"` and `"/"` too);
/// - numbers by value: a number with an integral value in [-2^63, 2^64)
///   is written as an integer, exactly (`1`, `1.0`, `1e0` and `10e-1` are
///   `1`; `-0` and `-0.0` are `0`); any other number as the shortest text
///   that reads back as the same double (`append_json_double`: `0.5`,
///   `1e+300`; infinities from overflowing input, e.g. `1e400`, as
///   `1e99999`). Integers are never rounded to doubles, so
///   9007199254740993 and 9007199254740992 stay two keys. JSON Schema (the
///   language of a tool's `inputSchema`) makes the same choice: `1.0` is an
///   integer and equal to `1`.
/// - duplicate keys: the parser keeps the last one (as JavaScript's
///   `JSON.parse` does).

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "caf/error.hpp"

namespace caf_mcp {

/// Appends the canonical text of `v` to `out`. Recursion depth is the
/// nesting depth of `v` (at most 64 for values from `parse_json`).
void append_canonical_json(std::string& out, const boost::json::value& v);

/// Returns the canonical text of `v`.
std::string canonical_json(const boost::json::value& v);

/// Parses `text` (as `parse_json_text`: depth limit 64) and stores its
/// canonical text in `out`; on failure returns `mcp_errc::malformed_json`
/// ("invalid JSON: ...") and leaves `out` unchanged.
caf::error canonical_json_text(std::string_view text, std::string& out);

} // namespace caf_mcp
