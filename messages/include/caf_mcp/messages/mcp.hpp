#pragma once

/// MCP payload types (revisions 2024-11-05, 2025-03-26, 2025-06-18 and
/// 2025-11-25): what goes into the params and results of JSON-RPC messages.
///
/// Every type here crosses actors and CAF nodes, so each has `inspect` and
/// `operator==`, uses `caf::optional` for optional members, and carries
/// free-form JSON (schemas, arguments, annotations, structured content,
/// `_meta`, capability sub-objects) as compact JSON *text* in a `std::string`
/// (empty = absent). Conversions to and from JSON are hand-written: absent
/// optionals are left out of the output (never `null`), unknown fields are
/// ignored on input, missing required fields are errors.
///
/// JSON text members must hold valid JSON: the writers copy them verbatim.
/// Everything `from_json` produces satisfies this.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>
#include <boost/json/system_error.hpp>

#include "caf/error.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/optional.hpp"

#include "caf_mcp/messages/jsonrpc.hpp"

namespace caf_mcp {

// -- protocol revisions -------------------------------------------------------

/// The first revision (HTTP+SSE transport).
inline constexpr std::string_view protocol_version_2024_11_05 = "2024-11-05";

/// Adds tool annotations, audio content and progress messages.
inline constexpr std::string_view protocol_version_2025_03_26 = "2025-03-26";

/// Adds structured tool output, resource links, elicitation and titles.
inline constexpr std::string_view protocol_version_2025_06_18 = "2025-06-18";

/// Adds tasks, icons and optional request ids in cancellations.
inline constexpr std::string_view protocol_version_2025_11_25 = "2025-11-25";

/// The revision we ask for in `initialize`.
inline constexpr std::string_view latest_protocol_version
  = protocol_version_2025_11_25;

/// Every revision we speak, oldest first.
inline constexpr std::string_view supported_protocol_versions[] = {
  protocol_version_2024_11_05,
  protocol_version_2025_03_26,
  protocol_version_2025_06_18,
  protocol_version_2025_11_25,
};

/// True if `version` is one of `supported_protocol_versions`.
bool is_supported_protocol_version(std::string_view version) noexcept;

// -- method names -------------------------------------------------------------

/// JSON-RPC method names of MCP.
namespace methods {

inline constexpr std::string_view initialize = "initialize";
inline constexpr std::string_view initialized = "notifications/initialized";
inline constexpr std::string_view ping = "ping";
inline constexpr std::string_view tools_list = "tools/list";
inline constexpr std::string_view tools_call = "tools/call";
inline constexpr std::string_view progress = "notifications/progress";
inline constexpr std::string_view cancelled = "notifications/cancelled";
inline constexpr std::string_view message = "notifications/message";
inline constexpr std::string_view tools_list_changed
  = "notifications/tools/list_changed";
inline constexpr std::string_view resources_list_changed
  = "notifications/resources/list_changed";
inline constexpr std::string_view prompts_list_changed
  = "notifications/prompts/list_changed";
inline constexpr std::string_view roots_list_changed
  = "notifications/roots/list_changed";
inline constexpr std::string_view roots_list = "roots/list";
inline constexpr std::string_view sampling_create_message
  = "sampling/createMessage";
inline constexpr std::string_view elicitation_create = "elicitation/create";
inline constexpr std::string_view logging_set_level = "logging/setLevel";

} // namespace methods

// -- enums --------------------------------------------------------------------

/// Severity of a log message (RFC 5424 levels, as in the MCP schema).
enum class log_level : uint8_t {
  debug,
  info,
  notice,
  warning,
  error,
  critical,
  alert,
  emergency,
};

/// The level's name in the protocol, e.g. "warning".
const char* to_string(log_level x) noexcept;

/// Parses a level name; returns false for unknown names.
bool from_string(std::string_view str, log_level& x) noexcept;

/// The `type` of a content block.
enum class content_kind : uint8_t {
  /// `text`.
  text,
  /// `data` (base64) and `mime_type`.
  image,
  /// `data` (base64) and `mime_type`.
  audio,
  /// An embedded resource: `uri`, `mime_type`, and `text` or (if `blob`)
  /// base64 `data`.
  resource,
  /// A link: `uri`, `name`, `title`, `description`, `mime_type`, `size`.
  resource_link,
};

/// The kind's `type` string in the protocol, e.g. "resource_link".
const char* to_string(content_kind x) noexcept;

/// Parses a `type` string; returns false for unknown names.
bool from_string(std::string_view str, content_kind& x) noexcept;

/// The id type of progress tokens (string or integer, like request ids).
using progress_token = request_id;

// -- lifecycle ----------------------------------------------------------------

/// Name and version of a client or server (`Implementation`).
struct implementation {
  std::string name;
  std::string version;
  caf::optional<std::string> title;
};

/// What a client offers (`ClientCapabilities`).
struct client_capabilities {
  /// True if the client answers `roots/list`.
  bool roots = false;

  /// True if the client sends `notifications/roots/list_changed`.
  bool roots_list_changed = false;

  /// The `sampling` object as JSON text (empty = not offered).
  std::string sampling;

  /// The `elicitation` object as JSON text (empty = not offered).
  std::string elicitation;

  /// The `experimental` object as JSON text (empty = absent).
  std::string experimental;
};

/// What a server offers (`ServerCapabilities`).
struct server_capabilities {
  bool tools = false;
  bool tools_list_changed = false;
  bool resources = false;
  bool resources_subscribe = false;
  bool resources_list_changed = false;
  bool prompts = false;
  bool prompts_list_changed = false;
  /// True if the server takes `logging/setLevel` and sends log messages.
  bool logging = false;
  /// True if the server offers argument completions.
  bool completions = false;
  /// The `experimental` object as JSON text (empty = absent).
  std::string experimental;
};

/// Params of `initialize`.
struct initialize_params {
  std::string protocol_version{latest_protocol_version};
  client_capabilities capabilities;
  implementation client_info;
};

/// Result of `initialize`.
struct initialize_result {
  std::string protocol_version;
  server_capabilities capabilities;
  implementation server_info;
  caf::optional<std::string> instructions;
  /// `_meta` as JSON text (empty = absent).
  std::string meta;
};

// -- tools --------------------------------------------------------------------

/// A tool description from `tools/list` (`Tool`).
struct tool {
  std::string name;
  caf::optional<std::string> title;
  caf::optional<std::string> description;
  /// JSON Schema of the arguments, as JSON text of an object (required).
  std::string input_schema;
  /// JSON Schema of `structuredContent` (empty = absent).
  std::string output_schema;
  /// `ToolAnnotations` as JSON text (empty = absent).
  std::string annotations;
  /// `_meta` as JSON text (empty = absent).
  std::string meta;
};

/// Params of `tools/list` (optional altogether).
struct list_tools_params {
  caf::optional<std::string> cursor;
};

/// Result of `tools/list`.
struct list_tools_result {
  std::vector<tool> tools;
  /// Present if there are more pages: pass it as the next `cursor`.
  caf::optional<std::string> next_cursor;
};

/// Params of `tools/call`.
struct call_tool_params {
  std::string name;
  /// The arguments as JSON text of an object (empty = absent).
  std::string arguments;
  /// `_meta.progressToken`: asks the server for progress notifications.
  caf::optional<caf_mcp::progress_token> progress_token;
  /// The other members of `_meta` as JSON text of an object (empty = none).
  std::string meta;
};

/// One element of a tool result's `content` (`ContentBlock`). Members that
/// do not belong to `kind` stay empty.
struct content_block {
  content_kind kind = content_kind::text;
  /// text: the text; resource: the text contents (unless `blob`).
  std::string text;
  /// image, audio: base64 data; resource: the base64 blob (if `blob`).
  std::string data;
  /// image, audio (required); resource, resource_link (optional).
  caf::optional<std::string> mime_type;
  /// resource, resource_link.
  std::string uri;
  /// True if an embedded resource carries `blob` instead of `text`.
  bool blob = false;
  /// resource_link (required).
  std::string name;
  /// resource_link.
  caf::optional<std::string> title;
  /// resource_link.
  caf::optional<std::string> description;
  /// resource_link: size in bytes.
  caf::optional<int64_t> size;
  /// `annotations` as JSON text (empty = absent).
  std::string annotations;
  /// `_meta` as JSON text (empty = absent).
  std::string meta;
};

/// Returns a text content block.
content_block make_text_content(std::string text);

/// Returns an image content block.
content_block make_image_content(std::string base64_data,
                                 std::string mime_type);

/// Result of `tools/call`. `is_error` is a result, not a failure: the
/// content explains what went wrong.
struct call_tool_result {
  std::vector<content_block> content;
  bool is_error = false;
  /// `structuredContent` as JSON text (empty = absent).
  std::string structured_content;
  /// `_meta` as JSON text (empty = absent).
  std::string meta;
  /// What the client's middlewares attached on the way back, by name
  /// (`"cache":"hit"`, `"logging.ms":"0.412"`, `"retry.attempts":"2"`).
  /// Never from the server and never encoded into MCP JSON; not part of
  /// `==` (two results with the same MCP content are equal).
  std::map<std::string, std::string> client_meta;
};

/// The text of all text blocks of `x`, joined by newlines.
std::string joined_text(const call_tool_result& x);

// -- notifications and small requests -----------------------------------------

/// Params of `notifications/progress`.
struct progress_params {
  caf_mcp::progress_token progress_token;
  double progress = 0;
  caf::optional<double> total;
  caf::optional<std::string> message;
};

/// Params of `notifications/cancelled`.
struct cancelled_params {
  /// The request to cancel (optional since 2025-11-25, for tasks).
  caf::optional<caf_mcp::request_id> request_id;
  caf::optional<std::string> reason;
};

/// Params of `notifications/message`.
struct logging_message_params {
  log_level level = log_level::info;
  caf::optional<std::string> logger;
  /// Any JSON value, as JSON text (required; `null` is a value).
  std::string data;
};

/// Params of `logging/setLevel`.
struct set_level_params {
  log_level level = log_level::info;
};

/// A root the client exposes (`Root`).
struct root {
  std::string uri;
  caf::optional<std::string> name;
};

/// Result of `roots/list`.
struct list_roots_result {
  std::vector<root> roots;
};

// -- equality -----------------------------------------------------------------

bool operator==(const implementation& x, const implementation& y) noexcept;
bool operator==(const client_capabilities& x,
                const client_capabilities& y) noexcept;
bool operator==(const server_capabilities& x,
                const server_capabilities& y) noexcept;
bool operator==(const initialize_params& x,
                const initialize_params& y) noexcept;
bool operator==(const initialize_result& x,
                const initialize_result& y) noexcept;
bool operator==(const tool& x, const tool& y) noexcept;
bool operator==(const list_tools_params& x,
                const list_tools_params& y) noexcept;
bool operator==(const list_tools_result& x,
                const list_tools_result& y) noexcept;
bool operator==(const call_tool_params& x, const call_tool_params& y) noexcept;
bool operator==(const content_block& x, const content_block& y) noexcept;
bool operator==(const call_tool_result& x, const call_tool_result& y) noexcept;
bool operator==(const progress_params& x, const progress_params& y) noexcept;
bool operator==(const cancelled_params& x, const cancelled_params& y) noexcept;
bool operator==(const logging_message_params& x,
                const logging_message_params& y) noexcept;
bool operator==(const set_level_params& x, const set_level_params& y) noexcept;
bool operator==(const root& x, const root& y) noexcept;
bool operator==(const list_roots_result& x,
                const list_roots_result& y) noexcept;

#define CAF_MCP_NOT_EQUAL(type)                                                \
  inline bool operator!=(const type& x, const type& y) noexcept {              \
    return !(x == y);                                                          \
  }

CAF_MCP_NOT_EQUAL(implementation)
CAF_MCP_NOT_EQUAL(client_capabilities)
CAF_MCP_NOT_EQUAL(server_capabilities)
CAF_MCP_NOT_EQUAL(initialize_params)
CAF_MCP_NOT_EQUAL(initialize_result)
CAF_MCP_NOT_EQUAL(tool)
CAF_MCP_NOT_EQUAL(list_tools_params)
CAF_MCP_NOT_EQUAL(list_tools_result)
CAF_MCP_NOT_EQUAL(call_tool_params)
CAF_MCP_NOT_EQUAL(content_block)
CAF_MCP_NOT_EQUAL(call_tool_result)
CAF_MCP_NOT_EQUAL(progress_params)
CAF_MCP_NOT_EQUAL(cancelled_params)
CAF_MCP_NOT_EQUAL(logging_message_params)
CAF_MCP_NOT_EQUAL(set_level_params)
CAF_MCP_NOT_EQUAL(root)
CAF_MCP_NOT_EQUAL(list_roots_result)

#undef CAF_MCP_NOT_EQUAL

// -- inspection (CAF 0.17) ----------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, implementation& x) {
  return f(caf::meta::type_name("implementation"), x.name, x.version,
           x.title);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_capabilities& x) {
  return f(caf::meta::type_name("client_capabilities"), x.roots,
           x.roots_list_changed, x.sampling, x.elicitation, x.experimental);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_capabilities& x) {
  return f(caf::meta::type_name("server_capabilities"), x.tools,
           x.tools_list_changed, x.resources, x.resources_subscribe,
           x.resources_list_changed, x.prompts, x.prompts_list_changed,
           x.logging, x.completions, x.experimental);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, initialize_params& x) {
  return f(caf::meta::type_name("initialize_params"), x.protocol_version,
           x.capabilities, x.client_info);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, initialize_result& x) {
  return f(caf::meta::type_name("initialize_result"), x.protocol_version,
           x.capabilities, x.server_info, x.instructions, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tool& x) {
  return f(caf::meta::type_name("tool"), x.name, x.title, x.description,
           x.input_schema, x.output_schema, x.annotations, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_tools_params& x) {
  return f(caf::meta::type_name("list_tools_params"), x.cursor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_tools_result& x) {
  return f(caf::meta::type_name("list_tools_result"), x.tools, x.next_cursor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_tool_params& x) {
  return f(caf::meta::type_name("call_tool_params"), x.name, x.arguments,
           x.progress_token, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, content_block& x) {
  return f(caf::meta::type_name("content_block"), x.kind, x.text, x.data,
           x.mime_type, x.uri, x.blob, x.name, x.title, x.description, x.size,
           x.annotations, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_tool_result& x) {
  return f(caf::meta::type_name("call_tool_result"), x.content, x.is_error,
           x.structured_content, x.meta, x.client_meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress_params& x) {
  return f(caf::meta::type_name("progress_params"), x.progress_token,
           x.progress, x.total, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancelled_params& x) {
  return f(caf::meta::type_name("cancelled_params"), x.request_id, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        logging_message_params& x) {
  return f(caf::meta::type_name("logging_message_params"), x.level, x.logger,
           x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_level_params& x) {
  return f(caf::meta::type_name("set_level_params"), x.level);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, root& x) {
  return f(caf::meta::type_name("root"), x.uri, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_roots_result& x) {
  return f(caf::meta::type_name("list_roots_result"), x.roots);
}

// -- JSON conversions ---------------------------------------------------------

/// Declares, for one MCP type: Boost.JSON `value_from` (throws
/// `boost::system::system_error` only if a JSON text member is not valid
/// JSON) and non-throwing `try_value_to` support, a direct text writer, and
/// `from_json`, which says what is wrong (mcp_errc::invalid_result with a
/// context like `tools[2].inputSchema: missing required field`).
#define CAF_MCP_DECLARE_JSON(type)                                             \
  void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,         \
                  const type& x);                                              \
  boost::json::result<type> tag_invoke(boost::json::try_value_to_tag<type>,    \
                                       const boost::json::value& jv);          \
  void append_json(std::string& out, const type& x);                           \
  caf::error from_json(const boost::json::value& jv, type& x);

CAF_MCP_DECLARE_JSON(implementation)
CAF_MCP_DECLARE_JSON(client_capabilities)
CAF_MCP_DECLARE_JSON(server_capabilities)
CAF_MCP_DECLARE_JSON(initialize_params)
CAF_MCP_DECLARE_JSON(initialize_result)
CAF_MCP_DECLARE_JSON(tool)
CAF_MCP_DECLARE_JSON(list_tools_params)
CAF_MCP_DECLARE_JSON(list_tools_result)
CAF_MCP_DECLARE_JSON(call_tool_params)
CAF_MCP_DECLARE_JSON(content_block)
CAF_MCP_DECLARE_JSON(call_tool_result)
CAF_MCP_DECLARE_JSON(progress_params)
CAF_MCP_DECLARE_JSON(cancelled_params)
CAF_MCP_DECLARE_JSON(logging_message_params)
CAF_MCP_DECLARE_JSON(set_level_params)
CAF_MCP_DECLARE_JSON(root)
CAF_MCP_DECLARE_JSON(list_roots_result)

#undef CAF_MCP_DECLARE_JSON

/// Returns `x` as compact JSON text.
template <class T>
std::string to_json_text(const T& x) {
  std::string result;
  append_json(result, x);
  return result;
}

/// Parses `text` into a JSON value; mcp_errc::malformed_json on failure.
caf::error parse_json_text(std::string_view text, boost::json::value& out);

/// Reads `x` from JSON text: mcp_errc::malformed_json if the text is not
/// JSON, mcp_errc::invalid_result if it does not match the schema. `x` is
/// left unchanged on failure.
template <class T>
caf::error from_json_text(std::string_view text, T& x) {
  boost::json::value jv;
  if (auto err = parse_json_text(text, jv))
    return err;
  return from_json(jv, x);
}

/// Checks that `text` is the JSON text of an object (e.g. tool arguments
/// from a command line); mcp_errc::invalid_argument otherwise.
caf::error check_json_object_text(std::string_view text);

} // namespace caf_mcp
