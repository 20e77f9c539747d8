#pragma once

/// Elicitation helpers for server-request handlers (`elicitation/create`,
/// docs/usage.md "Server requests"). Pure; unit suite `elicitation`.

#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace caf_mcp {

/// SEP-1034: fills in the `default` of every property of
/// `requested_schema` (the request's `requestedSchema`, JSON text of an
/// object with `properties`) that `content` (JSON text of an object, the
/// user's answer; empty = `{}`) leaves out. Properties the user gave keep
/// their values; properties without a default stay absent. Returns the new
/// content as JSON text; `invalid_argument` if either text is not a JSON
/// object.
caf::expected<std::string> apply_schema_defaults(std::string_view requested_schema,
                                                 std::string_view content);

/// The `ElicitResult` of an accepted form, `{"action":"accept","content":
/// CONTENT}`, with `apply_schema_defaults` applied to `content` first.
caf::expected<std::string>
accept_with_defaults(std::string_view elicit_params_json,
                     std::string_view content = {});

} // namespace caf_mcp
