#include "caf_mcp/messages/mcp.hpp"

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>

#include "caf/make_message.hpp"

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp {

namespace json = boost::json;

namespace {

// -- small helpers ------------------------------------------------------------

std::string_view view(json::string_view str) noexcept {
  return {str.data(), str.size()};
}

std::string_view view(const json::string& str) noexcept {
  return {str.data(), str.size()};
}

constexpr const char* log_level_names[] = {
  "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency",
};

constexpr const char* content_kind_names[] = {
  "text", "image", "audio", "resource", "resource_link",
};

bool is_space(char ch) noexcept {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

std::string_view trim(std::string_view str) noexcept {
  while (!str.empty() && is_space(str.front()))
    str.remove_prefix(1);
  while (!str.empty() && is_space(str.back()))
    str.remove_suffix(1);
  return str;
}

/// The members of a JSON object text without the braces ("" if none).
std::string_view object_members(std::string_view text) noexcept {
  text = trim(text);
  if (text.size() < 2 || text.front() != '{' || text.back() != '}')
    return {};
  return trim(text.substr(1, text.size() - 2));
}

// -- reading ------------------------------------------------------------------

/// Collects where (a path like `tools[2].inputSchema`) and why reading
/// failed. Every `read*` function returns false after calling `fail`.
class reader {
public:
  bool fail(json::error code, std::string_view key, std::string what) {
    code_ = code;
    path_.assign(key.data(), key.size());
    what_ = std::move(what);
    return false;
  }

  /// Prepends a path segment: a member name or an index like "[2]".
  bool nest(std::string_view segment) {
    if (path_.empty())
      path_.assign(segment.data(), segment.size());
    else if (path_.front() == '[')
      path_.insert(0, segment.data(), segment.size());
    else
      path_.insert(0, std::string{segment} + '.');
    return false;
  }

  json::error code() const noexcept {
    return code_;
  }

  std::string message() const {
    return path_.empty() ? what_ : path_ + ": " + what_;
  }

private:
  json::error code_ = json::error::not_object;
  std::string path_;
  std::string what_;
};

const json::value* field(const json::object& obj, std::string_view key) {
  return obj.if_contains(json::string_view{key.data(), key.size()});
}

/// The member `key` unless absent or null.
const json::value* present(const json::object& obj, std::string_view key) {
  auto v = field(obj, key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

const json::object* object_of(const json::value& v, reader& r) {
  auto obj = v.if_object();
  if (obj == nullptr)
    r.fail(json::error::not_object, {}, "expected an object");
  return obj;
}

bool read_string(const json::object& obj, std::string_view key,
                 std::string& out, reader& r) {
  auto v = field(obj, key);
  if (v == nullptr)
    return r.fail(json::error::not_found, key, "missing required field");
  auto str = v->if_string();
  if (str == nullptr)
    return r.fail(json::error::not_string, key, "expected a string");
  out.assign(str->data(), str->size());
  return true;
}

bool read_opt_string(const json::object& obj, std::string_view key,
                     caf::optional<std::string>& out, reader& r) {
  auto v = present(obj, key);
  if (v == nullptr) {
    out = caf::none;
    return true;
  }
  auto str = v->if_string();
  if (str == nullptr)
    return r.fail(json::error::not_string, key, "expected a string");
  out = std::string{view(*str)};
  return true;
}

bool read_opt_bool(const json::object& obj, std::string_view key, bool& out,
                   reader& r) {
  auto v = present(obj, key);
  if (v == nullptr) {
    out = false;
    return true;
  }
  if (!v->is_bool())
    return r.fail(json::error::not_bool, key, "expected a boolean");
  out = v->get_bool();
  return true;
}

bool read_number(const json::object& obj, std::string_view key, double& out,
                 reader& r) {
  auto v = field(obj, key);
  if (v == nullptr)
    return r.fail(json::error::not_found, key, "missing required field");
  if (!json_to_double(*v, out))
    return r.fail(json::error::not_number, key, "expected a number");
  return true;
}

bool read_opt_number(const json::object& obj, std::string_view key,
                     caf::optional<double>& out, reader& r) {
  auto v = present(obj, key);
  if (v == nullptr) {
    out = caf::none;
    return true;
  }
  double tmp = 0;
  if (!json_to_double(*v, tmp))
    return r.fail(json::error::not_number, key, "expected a number");
  out = tmp;
  return true;
}

bool read_opt_int(const json::object& obj, std::string_view key,
                  caf::optional<int64_t>& out, reader& r) {
  auto v = present(obj, key);
  if (v == nullptr) {
    out = caf::none;
    return true;
  }
  switch (v->kind()) {
    case json::kind::int64:
      out = v->get_int64();
      return true;
    case json::kind::uint64:
      if (v->get_uint64()
          <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        out = static_cast<int64_t>(v->get_uint64());
        return true;
      }
      break;
    case json::kind::double_: {
      auto d = v->get_double();
      if (std::isfinite(d) && std::trunc(d) == d && d >= -9.2e18
          && d <= 9.2e18) {
        out = static_cast<int64_t>(d);
        return true;
      }
      break;
    }
    default:
      return r.fail(json::error::not_number, key, "expected an integer");
  }
  return r.fail(json::error::not_exact, key, "expected an integer");
}

bool read_id(const json::object& obj, std::string_view key, request_id& out,
             reader& r) {
  auto v = field(obj, key);
  if (v == nullptr)
    return r.fail(json::error::not_found, key, "missing required field");
  auto res = tag_invoke(json::try_value_to_tag<request_id>{}, *v);
  if (!res)
    return r.fail(json::error::not_number, key,
                  "expected a string or an integer");
  out = std::move(*res);
  return true;
}

/// What a free-form JSON member must be.
enum class shape {
  /// A JSON object; null counts as absent.
  object,
  /// Any value; null is a value if the member is required, absent otherwise.
  any,
};

bool read_json_text(const json::object& obj, std::string_view key,
                    std::string& out, reader& r, bool required, shape kind) {
  out.clear();
  auto v = field(obj, key);
  if (v == nullptr) {
    if (required)
      return r.fail(json::error::not_found, key, "missing required field");
    return true;
  }
  if (kind == shape::object) {
    if (v->is_null() && !required)
      return true;
    if (!v->is_object())
      return r.fail(json::error::not_object, key, "expected an object");
  } else if (v->is_null() && !required) {
    return true;
  }
  append_json(out, *v);
  return true;
}

bool read_level(const json::object& obj, log_level& out, reader& r) {
  std::string name;
  if (!read_string(obj, "level", name, r))
    return false;
  if (!from_string(name, out))
    return r.fail(json::error::unknown_name, "level",
                  "unknown logging level \"" + name + "\"");
  return true;
}

// Forward declarations of the per-type readers (nested types call each
// other).
bool read(const json::value& v, implementation& x, reader& r);
bool read(const json::value& v, client_capabilities& x, reader& r);
bool read(const json::value& v, server_capabilities& x, reader& r);
bool read(const json::value& v, tool& x, reader& r);
bool read(const json::value& v, content_block& x, reader& r);
bool read(const json::value& v, root& x, reader& r);

template <class T>
bool read_nested(const json::object& obj, std::string_view key, T& out,
                 reader& r) {
  auto v = field(obj, key);
  if (v == nullptr)
    return r.fail(json::error::not_found, key, "missing required field");
  if (!read(*v, out, r))
    return r.nest(key);
  return true;
}

template <class T>
bool read_array(const json::object& obj, std::string_view key,
                std::vector<T>& out, reader& r) {
  auto v = field(obj, key);
  if (v == nullptr)
    return r.fail(json::error::not_found, key, "missing required field");
  auto arr = v->if_array();
  if (arr == nullptr)
    return r.fail(json::error::not_array, key, "expected an array");
  out.clear();
  out.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    T element;
    if (!read((*arr)[i], element, r)) {
      r.nest("[" + std::to_string(i) + "]");
      return r.nest(key);
    }
    out.push_back(std::move(element));
  }
  return true;
}

/// Reads an optional capability object: `present` is true if it is there.
const json::object* capability(const json::object& obj, std::string_view key,
                               bool& is_present, reader& r) {
  is_present = false;
  auto v = present(obj, key);
  if (v == nullptr)
    return nullptr;
  auto sub = v->if_object();
  if (sub == nullptr) {
    r.fail(json::error::not_object, key, "expected an object");
    return nullptr;
  }
  is_present = true;
  return sub;
}

bool read(const json::value& v, implementation& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_string(*obj, "name", x.name, r)
         && read_string(*obj, "version", x.version, r)
         && read_opt_string(*obj, "title", x.title, r);
}

bool read(const json::value& v, client_capabilities& x, reader& r) {
  auto obj = object_of(v, r);
  if (obj == nullptr)
    return false;
  auto roots = capability(*obj, "roots", x.roots, r);
  if (!x.roots && present(*obj, "roots") != nullptr)
    return false;
  if (roots != nullptr
      && !read_opt_bool(*roots, "listChanged", x.roots_list_changed, r))
    return r.nest("roots");
  if (!x.roots)
    x.roots_list_changed = false;
  return read_json_text(*obj, "sampling", x.sampling, r, false, shape::object)
         && read_json_text(*obj, "elicitation", x.elicitation, r, false,
                           shape::object)
         && read_json_text(*obj, "experimental", x.experimental, r, false,
                           shape::object);
}

bool read(const json::value& v, server_capabilities& x, reader& r) {
  auto obj = object_of(v, r);
  if (obj == nullptr)
    return false;
  // tools
  auto tools = capability(*obj, "tools", x.tools, r);
  if (!x.tools && present(*obj, "tools") != nullptr)
    return false;
  x.tools_list_changed = false;
  if (tools != nullptr
      && !read_opt_bool(*tools, "listChanged", x.tools_list_changed, r))
    return r.nest("tools");
  // resources
  auto resources = capability(*obj, "resources", x.resources, r);
  if (!x.resources && present(*obj, "resources") != nullptr)
    return false;
  x.resources_subscribe = false;
  x.resources_list_changed = false;
  if (resources != nullptr
      && (!read_opt_bool(*resources, "subscribe", x.resources_subscribe, r)
          || !read_opt_bool(*resources, "listChanged",
                            x.resources_list_changed, r)))
    return r.nest("resources");
  // prompts
  auto prompts = capability(*obj, "prompts", x.prompts, r);
  if (!x.prompts && present(*obj, "prompts") != nullptr)
    return false;
  x.prompts_list_changed = false;
  if (prompts != nullptr
      && !read_opt_bool(*prompts, "listChanged", x.prompts_list_changed, r))
    return r.nest("prompts");
  // flags without sub-fields we use
  capability(*obj, "logging", x.logging, r);
  if (!x.logging && present(*obj, "logging") != nullptr)
    return false;
  capability(*obj, "completions", x.completions, r);
  if (!x.completions && present(*obj, "completions") != nullptr)
    return false;
  return read_json_text(*obj, "experimental", x.experimental, r, false,
                        shape::object);
}

bool read(const json::value& v, initialize_params& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr
         && read_string(*obj, "protocolVersion", x.protocol_version, r)
         && read_nested(*obj, "capabilities", x.capabilities, r)
         && read_nested(*obj, "clientInfo", x.client_info, r);
}

bool read(const json::value& v, initialize_result& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr
         && read_string(*obj, "protocolVersion", x.protocol_version, r)
         && read_nested(*obj, "capabilities", x.capabilities, r)
         && read_nested(*obj, "serverInfo", x.server_info, r)
         && read_opt_string(*obj, "instructions", x.instructions, r)
         && read_json_text(*obj, "_meta", x.meta, r, false, shape::object);
}

bool read(const json::value& v, tool& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_string(*obj, "name", x.name, r)
         && read_opt_string(*obj, "title", x.title, r)
         && read_opt_string(*obj, "description", x.description, r)
         && read_json_text(*obj, "inputSchema", x.input_schema, r, true,
                           shape::object)
         && read_json_text(*obj, "outputSchema", x.output_schema, r, false,
                           shape::object)
         && read_json_text(*obj, "annotations", x.annotations, r, false,
                           shape::object)
         && read_json_text(*obj, "_meta", x.meta, r, false, shape::object);
}

bool read(const json::value& v, list_tools_params& x, reader& r) {
  // The params of tools/list are optional altogether.
  if (v.is_null()) {
    x.cursor = caf::none;
    return true;
  }
  auto obj = object_of(v, r);
  return obj != nullptr && read_opt_string(*obj, "cursor", x.cursor, r);
}

bool read(const json::value& v, list_tools_result& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_array(*obj, "tools", x.tools, r)
         && read_opt_string(*obj, "nextCursor", x.next_cursor, r);
}

bool read(const json::value& v, call_tool_params& x, reader& r) {
  auto obj = object_of(v, r);
  if (obj == nullptr || !read_string(*obj, "name", x.name, r)
      || !read_json_text(*obj, "arguments", x.arguments, r, false,
                         shape::object))
    return false;
  x.progress_token = caf::none;
  x.meta.clear();
  auto meta = present(*obj, "_meta");
  if (meta == nullptr)
    return true;
  auto meta_obj = meta->if_object();
  if (meta_obj == nullptr)
    return r.fail(json::error::not_object, "_meta", "expected an object");
  bool first = true;
  for (auto& kvp : *meta_obj) {
    if (view(kvp.key()) == "progressToken") {
      if (kvp.value().is_null())
        continue;
      auto token = tag_invoke(json::try_value_to_tag<request_id>{},
                              kvp.value());
      if (!token) {
        r.fail(json::error::not_number, "progressToken",
               "expected a string or an integer");
        return r.nest("_meta");
      }
      x.progress_token = std::move(*token);
      continue;
    }
    x.meta += first ? '{' : ',';
    first = false;
    append_json_string(x.meta, view(kvp.key()));
    x.meta += ':';
    append_json(x.meta, kvp.value());
  }
  if (!first)
    x.meta += '}';
  return true;
}

bool read(const json::value& v, content_block& x, reader& r) {
  auto obj = object_of(v, r);
  if (obj == nullptr)
    return false;
  std::string type;
  if (!read_string(*obj, "type", type, r))
    return false;
  if (!from_string(type, x.kind))
    return r.fail(json::error::unknown_name, "type",
                  "unknown content type \"" + type + "\"");
  if (!read_json_text(*obj, "annotations", x.annotations, r, false,
                      shape::object)
      || !read_json_text(*obj, "_meta", x.meta, r, false, shape::object))
    return false;
  switch (x.kind) {
    case content_kind::text:
      return read_string(*obj, "text", x.text, r);
    case content_kind::image:
    case content_kind::audio: {
      std::string mime;
      if (!read_string(*obj, "data", x.data, r)
          || !read_string(*obj, "mimeType", mime, r))
        return false;
      x.mime_type = std::move(mime);
      return true;
    }
    case content_kind::resource: {
      auto res = field(*obj, "resource");
      if (res == nullptr)
        return r.fail(json::error::not_found, "resource",
                      "missing required field");
      auto res_obj = res->if_object();
      if (res_obj == nullptr)
        return r.fail(json::error::not_object, "resource",
                      "expected an object");
      if (!read_string(*res_obj, "uri", x.uri, r)
          || !read_opt_string(*res_obj, "mimeType", x.mime_type, r))
        return r.nest("resource");
      if (present(*res_obj, "text") != nullptr) {
        x.blob = false;
        if (!read_string(*res_obj, "text", x.text, r))
          return r.nest("resource");
        return true;
      }
      if (present(*res_obj, "blob") != nullptr) {
        x.blob = true;
        if (!read_string(*res_obj, "blob", x.data, r))
          return r.nest("resource");
        return true;
      }
      r.fail(json::error::not_found, "text",
             "missing required field (\"text\" or \"blob\")");
      return r.nest("resource");
    }
    case content_kind::resource_link:
      return read_string(*obj, "uri", x.uri, r)
             && read_string(*obj, "name", x.name, r)
             && read_opt_string(*obj, "title", x.title, r)
             && read_opt_string(*obj, "description", x.description, r)
             && read_opt_string(*obj, "mimeType", x.mime_type, r)
             && read_opt_int(*obj, "size", x.size, r);
  }
  return true;
}

bool read(const json::value& v, call_tool_result& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_array(*obj, "content", x.content, r)
         && read_opt_bool(*obj, "isError", x.is_error, r)
         && read_json_text(*obj, "structuredContent", x.structured_content, r,
                           false, shape::any)
         && read_json_text(*obj, "_meta", x.meta, r, false, shape::object);
}

bool read(const json::value& v, progress_params& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr
         && read_id(*obj, "progressToken", x.progress_token, r)
         && read_number(*obj, "progress", x.progress, r)
         && read_opt_number(*obj, "total", x.total, r)
         && read_opt_string(*obj, "message", x.message, r);
}

bool read(const json::value& v, cancelled_params& x, reader& r) {
  auto obj = object_of(v, r);
  if (obj == nullptr)
    return false;
  x.request_id = caf::none;
  if (present(*obj, "requestId") != nullptr) {
    request_id id;
    if (!read_id(*obj, "requestId", id, r))
      return false;
    x.request_id = std::move(id);
  }
  return read_opt_string(*obj, "reason", x.reason, r);
}

bool read(const json::value& v, logging_message_params& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_level(*obj, x.level, r)
         && read_opt_string(*obj, "logger", x.logger, r)
         && read_json_text(*obj, "data", x.data, r, true, shape::any);
}

bool read(const json::value& v, set_level_params& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_level(*obj, x.level, r);
}

bool read(const json::value& v, root& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_string(*obj, "uri", x.uri, r)
         && read_opt_string(*obj, "name", x.name, r);
}

bool read(const json::value& v, list_roots_result& x, reader& r) {
  auto obj = object_of(v, r);
  return obj != nullptr && read_array(*obj, "roots", x.roots, r);
}

template <class T>
json::result<T> try_read(const json::value& jv) {
  T x;
  reader r;
  if (read(jv, x, r))
    return {boost::system::in_place_value, std::move(x)};
  return json::make_error_code(r.code());
}

template <class T>
caf::error read_or_error(const json::value& jv, T& x) {
  T tmp;
  reader r;
  if (!read(jv, tmp, r))
    return caf::make_error(mcp_errc::invalid_result, r.message());
  x = std::move(tmp);
  return caf::none;
}

// -- writing ------------------------------------------------------------------

/// Writes one JSON object member by member. Keys are our own constants and
/// need no escaping.
class object_writer {
public:
  explicit object_writer(std::string& out) : out_(out) {
    out_ += '{';
  }

  ~object_writer() {
    out_ += '}';
  }

  object_writer(const object_writer&) = delete;
  object_writer& operator=(const object_writer&) = delete;

  std::string& key(std::string_view name) {
    if (!first_)
      out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
    return out_;
  }

  void string(std::string_view name, std::string_view value) {
    append_json_string(key(name), value);
  }

  void opt_string(std::string_view name,
                  const caf::optional<std::string>& value) {
    if (value)
      string(name, *value);
  }

  void boolean(std::string_view name, bool value) {
    key(name) += value ? "true" : "false";
  }

  void number(std::string_view name, double value) {
    append_json_double(key(name), value);
  }

  void opt_number(std::string_view name, const caf::optional<double>& value) {
    if (value)
      number(name, *value);
  }

  void integer(std::string_view name, const caf::optional<int64_t>& value) {
    if (value)
      append_json_int(key(name), *value);
  }

  void id(std::string_view name, const request_id& value) {
    auto& out = key(name);
    if (value.is_string())
      append_json_string(out, value.string());
    else
      append_json_int(out, value.integer());
  }

  /// Copies JSON text verbatim, unless empty (absent).
  void raw(std::string_view name, std::string_view json_text) {
    if (!json_text.empty())
      key(name) += json_text;
  }

  template <class T>
  void nested(std::string_view name, const T& value) {
    append_json(key(name), value);
  }

  template <class T>
  void array(std::string_view name, const std::vector<T>& values) {
    auto& out = key(name);
    out += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0)
        out += ',';
      append_json(out, values[i]);
    }
    out += ']';
  }

private:
  std::string& out_;
  bool first_ = true;
};

/// A capability object with optional boolean members written only if true.
void capability(object_writer& w, std::string_view name,
                std::initializer_list<std::pair<std::string_view, bool>> flags) {
  auto& out = w.key(name);
  out += '{';
  bool first = true;
  for (auto& [flag, value] : flags) {
    if (!value)
      continue;
    if (!first)
      out += ',';
    first = false;
    out += '"';
    out += flag;
    out += "\":true";
  }
  out += '}';
}

template <class T>
void write_value(json::value& jv, const T& x) {
  auto text = to_json_text(x);
  json::error_code ec;
  auto result = parse_json(text, ec, jv.storage());
  if (ec)
    throw json::system_error(ec); // a JSON text member holds no valid JSON
  jv = std::move(result);
}

} // namespace

// -- protocol revisions and enums ---------------------------------------------

bool is_supported_protocol_version(std::string_view version) noexcept {
  for (auto supported : supported_protocol_versions)
    if (version == supported)
      return true;
  return false;
}

const char* to_string(log_level x) noexcept {
  auto index = static_cast<size_t>(x);
  return index < std::size(log_level_names) ? log_level_names[index]
                                            : "unknown";
}

bool from_string(std::string_view str, log_level& x) noexcept {
  for (size_t i = 0; i < std::size(log_level_names); ++i)
    if (str == log_level_names[i]) {
      x = static_cast<log_level>(i);
      return true;
    }
  return false;
}

const char* to_string(content_kind x) noexcept {
  auto index = static_cast<size_t>(x);
  return index < std::size(content_kind_names) ? content_kind_names[index]
                                               : "unknown";
}

bool from_string(std::string_view str, content_kind& x) noexcept {
  for (size_t i = 0; i < std::size(content_kind_names); ++i)
    if (str == content_kind_names[i]) {
      x = static_cast<content_kind>(i);
      return true;
    }
  return false;
}

// -- helpers ------------------------------------------------------------------

content_block make_text_content(std::string text) {
  content_block result;
  result.kind = content_kind::text;
  result.text = std::move(text);
  return result;
}

content_block make_image_content(std::string base64_data,
                                 std::string mime_type) {
  content_block result;
  result.kind = content_kind::image;
  result.data = std::move(base64_data);
  result.mime_type = std::move(mime_type);
  return result;
}

std::string joined_text(const call_tool_result& x) {
  std::string result;
  for (auto& block : x.content) {
    if (block.kind != content_kind::text)
      continue;
    if (!result.empty())
      result += '\n';
    result += block.text;
  }
  return result;
}

caf::error parse_json_text(std::string_view text, json::value& out) {
  json::error_code ec;
  auto result = parse_json(text, ec);
  if (ec)
    return caf::make_error(mcp_errc::malformed_json,
                           "invalid JSON: " + ec.message());
  out = std::move(result);
  return caf::none;
}

namespace {

/// A handler for json::basic_parser that keeps nothing: the parser alone
/// checks the grammar (and the depth), without building a value.
struct json_validator {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_key(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_string(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) {
    return true;
  }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    return true;
  }
  bool on_double(double, json::string_view, json::error_code&) {
    return true;
  }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

} // namespace

caf::error check_json_object_text(std::string_view text) {
  // Called for the arguments of every call (more than once on its way):
  // validate without building a value, then look at the first character.
  json::parse_options opts;
  opts.max_depth = 64; // as parse_json
  json::basic_parser<json_validator> p{opts};
  json::error_code ec;
  auto used = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size())
    ec = json::error::extra_data; // as json::parse: one value, nothing after
  if (ec)
    return caf::make_error(mcp_errc::invalid_argument,
                           "invalid JSON: " + ec.message());
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{')
    return caf::make_error(mcp_errc::invalid_argument,
                           "expected a JSON object");
  return caf::none;
}

// -- equality -----------------------------------------------------------------

bool operator==(const implementation& x, const implementation& y) noexcept {
  return x.name == y.name && x.version == y.version && x.title == y.title;
}

bool operator==(const client_capabilities& x,
                const client_capabilities& y) noexcept {
  return x.roots == y.roots && x.roots_list_changed == y.roots_list_changed
         && x.sampling == y.sampling && x.elicitation == y.elicitation
         && x.experimental == y.experimental;
}

bool operator==(const server_capabilities& x,
                const server_capabilities& y) noexcept {
  return x.tools == y.tools && x.tools_list_changed == y.tools_list_changed
         && x.resources == y.resources
         && x.resources_subscribe == y.resources_subscribe
         && x.resources_list_changed == y.resources_list_changed
         && x.prompts == y.prompts
         && x.prompts_list_changed == y.prompts_list_changed
         && x.logging == y.logging && x.completions == y.completions
         && x.experimental == y.experimental;
}

bool operator==(const initialize_params& x,
                const initialize_params& y) noexcept {
  return x.protocol_version == y.protocol_version
         && x.capabilities == y.capabilities && x.client_info == y.client_info;
}

bool operator==(const initialize_result& x,
                const initialize_result& y) noexcept {
  return x.protocol_version == y.protocol_version
         && x.capabilities == y.capabilities && x.server_info == y.server_info
         && x.instructions == y.instructions && x.meta == y.meta;
}

bool operator==(const tool& x, const tool& y) noexcept {
  return x.name == y.name && x.title == y.title
         && x.description == y.description && x.input_schema == y.input_schema
         && x.output_schema == y.output_schema
         && x.annotations == y.annotations && x.meta == y.meta;
}

bool operator==(const list_tools_params& x,
                const list_tools_params& y) noexcept {
  return x.cursor == y.cursor;
}

bool operator==(const list_tools_result& x,
                const list_tools_result& y) noexcept {
  return x.tools == y.tools && x.next_cursor == y.next_cursor;
}

bool operator==(const call_tool_params& x, const call_tool_params& y) noexcept {
  return x.name == y.name && x.arguments == y.arguments
         && x.progress_token == y.progress_token && x.meta == y.meta;
}

bool operator==(const content_block& x, const content_block& y) noexcept {
  return x.kind == y.kind && x.text == y.text && x.data == y.data
         && x.mime_type == y.mime_type && x.uri == y.uri && x.blob == y.blob
         && x.name == y.name && x.title == y.title
         && x.description == y.description && x.size == y.size
         && x.annotations == y.annotations && x.meta == y.meta;
}

bool operator==(const call_tool_result& x, const call_tool_result& y) noexcept {
  return x.content == y.content && x.is_error == y.is_error
         && x.structured_content == y.structured_content && x.meta == y.meta;
}

bool operator==(const progress_params& x, const progress_params& y) noexcept {
  return x.progress_token == y.progress_token && x.progress == y.progress
         && x.total == y.total && x.message == y.message;
}

bool operator==(const cancelled_params& x, const cancelled_params& y) noexcept {
  return x.request_id == y.request_id && x.reason == y.reason;
}

bool operator==(const logging_message_params& x,
                const logging_message_params& y) noexcept {
  return x.level == y.level && x.logger == y.logger && x.data == y.data;
}

bool operator==(const set_level_params& x, const set_level_params& y) noexcept {
  return x.level == y.level;
}

bool operator==(const root& x, const root& y) noexcept {
  return x.uri == y.uri && x.name == y.name;
}

bool operator==(const list_roots_result& x,
                const list_roots_result& y) noexcept {
  return x.roots == y.roots;
}

// -- writers ------------------------------------------------------------------

void append_json(std::string& out, const implementation& x) {
  object_writer w{out};
  w.string("name", x.name);
  w.opt_string("title", x.title);
  w.string("version", x.version);
}

void append_json(std::string& out, const client_capabilities& x) {
  object_writer w{out};
  w.raw("experimental", x.experimental);
  if (x.roots)
    capability(w, "roots", {{"listChanged", x.roots_list_changed}});
  w.raw("sampling", x.sampling);
  w.raw("elicitation", x.elicitation);
}

void append_json(std::string& out, const server_capabilities& x) {
  object_writer w{out};
  w.raw("experimental", x.experimental);
  if (x.logging)
    capability(w, "logging", {});
  if (x.completions)
    capability(w, "completions", {});
  if (x.prompts)
    capability(w, "prompts", {{"listChanged", x.prompts_list_changed}});
  if (x.resources)
    capability(w, "resources",
               {{"subscribe", x.resources_subscribe},
                {"listChanged", x.resources_list_changed}});
  if (x.tools)
    capability(w, "tools", {{"listChanged", x.tools_list_changed}});
}

void append_json(std::string& out, const initialize_params& x) {
  object_writer w{out};
  w.string("protocolVersion", x.protocol_version);
  w.nested("capabilities", x.capabilities);
  w.nested("clientInfo", x.client_info);
}

void append_json(std::string& out, const initialize_result& x) {
  object_writer w{out};
  w.string("protocolVersion", x.protocol_version);
  w.nested("capabilities", x.capabilities);
  w.nested("serverInfo", x.server_info);
  w.opt_string("instructions", x.instructions);
  w.raw("_meta", x.meta);
}

void append_json(std::string& out, const tool& x) {
  object_writer w{out};
  w.string("name", x.name);
  w.opt_string("title", x.title);
  w.opt_string("description", x.description);
  // Required by the schema: an empty schema means "no arguments".
  w.raw("inputSchema",
        x.input_schema.empty() ? std::string_view{R"({"type":"object"})"}
                               : std::string_view{x.input_schema});
  w.raw("outputSchema", x.output_schema);
  w.raw("annotations", x.annotations);
  w.raw("_meta", x.meta);
}

void append_json(std::string& out, const list_tools_params& x) {
  object_writer w{out};
  w.opt_string("cursor", x.cursor);
}

void append_json(std::string& out, const list_tools_result& x) {
  object_writer w{out};
  w.array("tools", x.tools);
  w.opt_string("nextCursor", x.next_cursor);
}

void append_json(std::string& out, const call_tool_params& x) {
  object_writer w{out};
  w.string("name", x.name);
  w.raw("arguments", x.arguments);
  auto members = object_members(x.meta);
  if (x.progress_token || !members.empty()) {
    auto& meta = w.key("_meta");
    meta += '{';
    if (x.progress_token) {
      meta += R"("progressToken":)";
      meta += to_string(*x.progress_token);
      if (!members.empty())
        meta += ',';
    }
    meta += members;
    meta += '}';
  }
}

void append_json(std::string& out, const content_block& x) {
  object_writer w{out};
  w.string("type", to_string(x.kind));
  switch (x.kind) {
    case content_kind::text:
      w.string("text", x.text);
      break;
    case content_kind::image:
    case content_kind::audio:
      w.string("data", x.data);
      w.opt_string("mimeType", x.mime_type);
      break;
    case content_kind::resource: {
      object_writer res{w.key("resource")};
      res.string("uri", x.uri);
      res.opt_string("mimeType", x.mime_type);
      if (x.blob)
        res.string("blob", x.data);
      else
        res.string("text", x.text);
      break;
    }
    case content_kind::resource_link:
      w.string("uri", x.uri);
      w.string("name", x.name);
      w.opt_string("title", x.title);
      w.opt_string("description", x.description);
      w.opt_string("mimeType", x.mime_type);
      w.integer("size", x.size);
      break;
  }
  w.raw("annotations", x.annotations);
  w.raw("_meta", x.meta);
}

void append_json(std::string& out, const call_tool_result& x) {
  object_writer w{out};
  w.array("content", x.content);
  w.raw("structuredContent", x.structured_content);
  if (x.is_error)
    w.boolean("isError", true);
  w.raw("_meta", x.meta);
}

void append_json(std::string& out, const progress_params& x) {
  object_writer w{out};
  w.id("progressToken", x.progress_token);
  w.number("progress", x.progress);
  w.opt_number("total", x.total);
  w.opt_string("message", x.message);
}

void append_json(std::string& out, const cancelled_params& x) {
  object_writer w{out};
  if (x.request_id)
    w.id("requestId", *x.request_id);
  w.opt_string("reason", x.reason);
}

void append_json(std::string& out, const logging_message_params& x) {
  object_writer w{out};
  w.string("level", to_string(x.level));
  w.opt_string("logger", x.logger);
  w.raw("data", x.data.empty() ? std::string_view{"null"}
                               : std::string_view{x.data});
}

void append_json(std::string& out, const set_level_params& x) {
  object_writer w{out};
  w.string("level", to_string(x.level));
}

void append_json(std::string& out, const root& x) {
  object_writer w{out};
  w.string("uri", x.uri);
  w.opt_string("name", x.name);
}

void append_json(std::string& out, const list_roots_result& x) {
  object_writer w{out};
  w.array("roots", x.roots);
}

// -- Boost.JSON conversions and from_json -------------------------------------

#define CAF_MCP_DEFINE_JSON(type)                                              \
  void tag_invoke(json::value_from_tag, json::value& jv, const type& x) {      \
    write_value(jv, x);                                                        \
  }                                                                            \
  json::result<type> tag_invoke(json::try_value_to_tag<type>,                  \
                                const json::value& jv) {                       \
    return try_read<type>(jv);                                                 \
  }                                                                            \
  caf::error from_json(const json::value& jv, type& x) {                       \
    return read_or_error(jv, x);                                               \
  }

CAF_MCP_DEFINE_JSON(implementation)
CAF_MCP_DEFINE_JSON(client_capabilities)
CAF_MCP_DEFINE_JSON(server_capabilities)
CAF_MCP_DEFINE_JSON(initialize_params)
CAF_MCP_DEFINE_JSON(initialize_result)
CAF_MCP_DEFINE_JSON(tool)
CAF_MCP_DEFINE_JSON(list_tools_params)
CAF_MCP_DEFINE_JSON(list_tools_result)
CAF_MCP_DEFINE_JSON(call_tool_params)
CAF_MCP_DEFINE_JSON(content_block)
CAF_MCP_DEFINE_JSON(call_tool_result)
CAF_MCP_DEFINE_JSON(progress_params)
CAF_MCP_DEFINE_JSON(cancelled_params)
CAF_MCP_DEFINE_JSON(logging_message_params)
CAF_MCP_DEFINE_JSON(set_level_params)
CAF_MCP_DEFINE_JSON(root)
CAF_MCP_DEFINE_JSON(list_roots_result)

#undef CAF_MCP_DEFINE_JSON

bool json_to_double(const json::value& v, double& out) noexcept {
  switch (v.kind()) {
    case json::kind::int64:
      out = static_cast<double>(v.get_int64());
      return true;
    case json::kind::uint64:
      out = static_cast<double>(v.get_uint64());
      return true;
    case json::kind::double_:
      out = v.get_double();
      return true;
    default:
      return false;
  }
}

} // namespace caf_mcp
