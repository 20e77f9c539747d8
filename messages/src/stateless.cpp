// Stateless MCP 2026-07-28, JSON level: see stateless.hpp and
// docs/stateless.md.
#include "caf_mcp/messages/stateless.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <boost/json.hpp>

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp::stateless {

namespace json = boost::json;

namespace {

/// Parses `text` as an object (empty = `{}`); `code` names what is wrong.
caf::expected<json::object> parse_object(std::string_view text,
                                         const char* what, mcp_errc code) {
  if (text.empty())
    return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return caf::make_error(code, std::string{what} + " is not a JSON object");
  return std::move(v.as_object());
}

caf::optional<std::string> string_member(const json::object& obj,
                                         std::string_view key) {
  if (auto v = obj.if_contains(key); v != nullptr && v->is_string())
    return std::string{v->as_string()};
  return caf::none;
}

std::string lowercase(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

/// Largest integer JavaScript represents exactly (2^53 - 1).
constexpr int64_t max_safe_integer = 9007199254740991;

bool add_envelope(json::object& params, const request_meta& meta,
                  std::string& why) {
  if (meta.protocol_version.empty()) {
    why = "the protocol version is empty";
    return false;
  }
  if (meta.client_info.name.empty()) {
    why = "the client name is empty";
    return false;
  }
  auto caps = parse_object(meta.capabilities, "the client capabilities",
                           mcp_errc::invalid_argument);
  if (!caps) {
    why = "the client capabilities are not a JSON object";
    return false;
  }
  auto& slot = params["_meta"];
  if (slot.is_null())
    slot = json::object{};
  if (!slot.is_object()) {
    why = "params._meta is not an object";
    return false;
  }
  auto& m = slot.as_object();
  m[meta_protocol_version] = meta.protocol_version;
  m[meta_client_capabilities] = std::move(*caps);
  json::object info;
  info["name"] = meta.client_info.name;
  info["version"] = meta.client_info.version;
  if (meta.client_info.title)
    info["title"] = *meta.client_info.title;
  m[meta_client_info] = std::move(info);
  return true;
}

} // namespace

bool is_modern_protocol_version(std::string_view version) noexcept {
  for (auto v : modern_protocol_versions)
    if (v == version)
      return true;
  return false;
}

// -- request metadata ---------------------------------------------------------

caf::expected<std::string> with_request_meta(std::string_view params,
                                             const request_meta& meta) {
  auto obj = parse_object(params, "params", mcp_errc::invalid_argument);
  if (!obj)
    return obj.error();
  std::string why;
  if (!add_envelope(*obj, meta, why))
    return caf::make_error(mcp_errc::invalid_argument,
                           "request metadata: " + why);
  return json::serialize(*obj);
}

caf::expected<std::string> with_request_meta_in_request(std::string_view request,
                                                        const request_meta& meta) {
  auto req = parse_object(request, "the request", mcp_errc::invalid_argument);
  if (!req)
    return req.error();
  if (request.empty() || !string_member(*req, "method"))
    return caf::make_error(mcp_errc::invalid_argument,
                           "request metadata: not a JSON-RPC request (no "
                           "string method)");
  auto& params = (*req)["params"];
  if (params.is_null())
    params = json::object{};
  if (!params.is_object())
    return caf::make_error(mcp_errc::invalid_argument,
                           "request metadata: params is not an object");
  std::string why;
  if (!add_envelope(params.as_object(), meta, why))
    return caf::make_error(mcp_errc::invalid_argument,
                           "request metadata: " + why);
  return json::serialize(*req);
}

// -- standard request headers ---------------------------------------------------

caf::expected<request_routing> routing_of(std::string_view method,
                                          std::string_view params) {
  if (method.empty())
    return caf::make_error(mcp_errc::invalid_argument,
                           "request routing: empty method");
  request_routing result;
  result.method = std::string{method};
  const char* key = nullptr;
  if (method == methods::tools_call || method == "prompts/get")
    key = "name";
  else if (method == "resources/read")
    key = "uri";
  auto obj = parse_object(params, "params", mcp_errc::invalid_argument);
  if (!obj)
    return obj.error();
  if (key != nullptr) {
    auto name = string_member(*obj, key);
    if (!name)
      return caf::make_error(mcp_errc::invalid_argument,
                             "request routing: " + std::string{method}
                               + " needs a string params." + key);
    result.name = std::move(*name);
  }
  return result;
}

// -- x-mcp-header ------------------------------------------------------------------

namespace {

constexpr std::string_view annotation = "x-mcp-header";

struct mirror_walk {
  std::vector<header_mirror> found;
  std::vector<std::string> lower_names;
  std::string error;
  header_name_check check_name = nullptr;

  bool fail(std::string why) {
    if (error.empty())
      error = std::move(why);
    return false;
  }

  static std::string where(const std::vector<std::string>& path) {
    std::string result;
    for (auto& p : path) {
      if (!result.empty())
        result += '.';
      result += p;
    }
    return result.empty() ? "the schema root" : "property " + result;
  }

  /// Walks a schema object. `path` is set if it is reached from the root
  /// through `properties` keys only (the root itself: empty path, but
  /// annotating the root is not allowed: it is not a parameter).
  bool schema(const json::object& obj, const std::vector<std::string>* path) {
    if (auto a = obj.if_contains(annotation)) {
      if (path == nullptr || path->empty())
        return fail("x-mcp-header on a schema that is not statically "
                    "reachable through properties");
      if (!annotate(obj, *a, *path))
        return false;
    }
    for (auto& kvp : obj) {
      auto k = kvp.key();
      if (k == annotation || k == "const" || k == "enum" || k == "default"
          || k == "examples")
        continue;
      if (k == "properties" && kvp.value().is_object()) {
        for (auto& prop : kvp.value().as_object()) {
          if (!prop.value().is_object())
            continue;
          if (path != nullptr) {
            auto sub = *path;
            sub.emplace_back(prop.key());
            if (!schema(prop.value().as_object(), &sub))
              return false;
          } else if (!schema(prop.value().as_object(), nullptr)) {
            return false;
          }
        }
        continue;
      }
      if (!any(kvp.value()))
        return false;
    }
    return true;
  }

  /// Walks a value below a keyword other than `properties`: every object
  /// in it is a schema that is not statically reachable.
  bool any(const json::value& v) {
    if (v.is_object())
      return schema(v.as_object(), nullptr);
    if (v.is_array())
      for (auto& x : v.as_array())
        if (!any(x))
          return false;
    return true;
  }

  bool annotate(const json::object& obj, const json::value& a,
                const std::vector<std::string>& path) {
    if (!a.is_string())
      return fail("x-mcp-header of " + where(path) + " is not a string");
    std::string_view name = a.as_string();
    if (name.empty())
      return fail("x-mcp-header of " + where(path) + " is empty");
    if (auto why = check_name(name); !why.empty())
      return fail("x-mcp-header of " + where(path) + ": " + why);
    auto type = string_member(obj, "type");
    if (!type || (*type != "string" && *type != "integer"
                  && *type != "boolean"))
      return fail("x-mcp-header " + std::string{name} + " of " + where(path)
                  + " is on a parameter whose type is not string, integer "
                    "or boolean");
    auto lower = lowercase(name);
    if (std::find(lower_names.begin(), lower_names.end(), lower)
        != lower_names.end())
      return fail("x-mcp-header " + std::string{name} + " of " + where(path)
                  + " repeats another one (names compare case-insensitively)");
    lower_names.emplace_back(std::move(lower));
    found.push_back(header_mirror{std::string{name}, path, std::move(*type)});
    return true;
  }
};

} // namespace

caf::expected<std::vector<header_mirror>>
mirrored_parameters(std::string_view input_schema,
                    header_name_check check_name) {
  auto obj = parse_object(input_schema, "inputSchema",
                          mcp_errc::invalid_argument);
  if (!obj)
    return obj.error();
  if (check_name == nullptr)
    return caf::make_error(mcp_errc::invalid_argument,
                           "mirrored_parameters: no header name check");
  mirror_walk walk;
  walk.check_name = check_name;
  std::vector<std::string> root;
  if (!walk.schema(*obj, &root))
    return caf::make_error(mcp_errc::invalid_argument, walk.error);
  return std::move(walk.found);
}

std::vector<rejected_tool> drop_invalid_tools(std::vector<tool>& tools,
                                             header_name_check check_name) {
  std::vector<rejected_tool> rejected;
  auto keep = std::remove_if(tools.begin(), tools.end(), [&](const tool& t) {
    auto mirrors = mirrored_parameters(t.input_schema, check_name);
    if (mirrors)
      return false;
    rejected.push_back(rejected_tool{t.name, render(mirrors.error())});
    return true;
  });
  tools.erase(keep, tools.end());
  return rejected;
}

caf::expected<std::vector<std::pair<std::string, std::string>>>
mirrored_values(const std::vector<header_mirror>& mirrors,
                std::string_view arguments) {
  auto args = parse_object(arguments, "arguments", mcp_errc::invalid_argument);
  if (!args)
    return args.error();
  std::vector<std::pair<std::string, std::string>> result;
  for (auto& m : mirrors) {
    const json::value* v = nullptr;
    const json::object* at = &*args;
    for (size_t i = 0; i < m.path.size(); ++i) {
      v = at->if_contains(m.path[i]);
      if (v == nullptr)
        break;
      if (i + 1 < m.path.size()) {
        if (!v->is_object()) {
          v = nullptr;
          break;
        }
        at = &v->as_object();
      }
    }
    if (v == nullptr || v->is_null())
      continue;
    auto bad = [&](const char* what) {
      return caf::make_error(mcp_errc::invalid_argument,
                             "the argument mirrored as Mcp-Param-" + m.header
                               + " is " + what);
    };
    if (v->is_string()) {
      result.emplace_back(m.header, std::string{v->as_string()});
    } else if (v->is_bool()) {
      result.emplace_back(m.header, v->as_bool() ? "true" : "false");
    } else if (v->is_int64() || v->is_uint64() || v->is_double()) {
      int64_t n = 0;
      if (v->is_int64()) {
        n = v->as_int64();
      } else if (v->is_uint64()) {
        if (v->as_uint64() > static_cast<uint64_t>(max_safe_integer))
          return bad("an integer outside the safe range +-(2^53-1)");
        n = static_cast<int64_t>(v->as_uint64());
      } else {
        auto d = v->as_double();
        if (!std::isfinite(d) || std::floor(d) != d)
          return bad("a number that is not an integer");
        if (std::fabs(d) > static_cast<double>(max_safe_integer))
          return bad("an integer outside the safe range +-(2^53-1)");
        n = static_cast<int64_t>(d);
      }
      if (n > max_safe_integer || n < -max_safe_integer)
        return bad("an integer outside the safe range +-(2^53-1)");
      result.emplace_back(m.header, std::to_string(n));
    } else {
      return bad("an object or array (only strings, integers and booleans "
                 "are mirrored)");
    }
  }
  return result;
}

// -- discovery ----------------------------------------------------------------------

caf::expected<std::string> discover_request(int64_t id,
                                            const request_meta& meta) {
  json::object params;
  std::string why;
  if (!add_envelope(params, meta, why))
    return caf::make_error(mcp_errc::invalid_argument,
                           "request metadata: " + why);
  json::object req;
  req["jsonrpc"] = "2.0";
  req["id"] = id;
  req["method"] = discover_method;
  req["params"] = std::move(params);
  return json::serialize(req);
}

const char* to_string(cache_scope x) noexcept {
  switch (x) {
    case cache_scope::public_scope:
      return "public";
    case cache_scope::private_scope:
      return "private";
    default:
      return "unspecified";
  }
}

namespace {

cache_hints hints_of(const json::object& obj) {
  cache_hints result;
  if (auto ttl = obj.if_contains("ttlMs")) {
    if (ttl->is_int64() && ttl->as_int64() > 0)
      result.ttl_ms = static_cast<uint64_t>(ttl->as_int64());
    else if (ttl->is_uint64())
      result.ttl_ms = ttl->as_uint64();
    else if (ttl->is_double() && ttl->as_double() > 0
             && std::floor(ttl->as_double()) == ttl->as_double()
             && ttl->as_double() < 1.8e19)
      result.ttl_ms = static_cast<uint64_t>(ttl->as_double());
  }
  if (auto scope = string_member(obj, "cacheScope")) {
    if (*scope == "public")
      result.scope = cache_scope::public_scope;
    else if (*scope == "private")
      result.scope = cache_scope::private_scope;
  }
  return result;
}

} // namespace

cache_hints cache_hints_of(std::string_view result) {
  auto obj = parse_object(result, "result", mcp_errc::invalid_result);
  if (!obj)
    return {};
  return hints_of(*obj);
}

bool is_cacheable_method(std::string_view method) noexcept {
  return method == discover_method || method == "tools/list"
         || method == "prompts/list" || method == "resources/list"
         || method == "resources/templates/list" || method == "resources/read";
}

caf::expected<discover_result> parse_discover_result(std::string_view result) {
  auto obj = parse_object(result, "the server/discover result",
                          mcp_errc::invalid_result);
  if (!obj)
    return obj.error();
  auto not_modern = [](const char* why) {
    return caf::make_error(mcp_errc::invalid_result,
                           std::string{"server/discover: "} + why
                             + " (not a 2026-07-28 server)");
  };
  discover_result out;
  auto versions = obj->if_contains("supportedVersions");
  if (versions == nullptr || !versions->is_array()
      || versions->as_array().empty())
    return not_modern("no supportedVersions");
  for (auto& v : versions->as_array()) {
    if (!v.is_string())
      return not_modern("supportedVersions holds a non-string");
    out.supported_versions.emplace_back(v.as_string());
  }
  if (auto caps = obj->if_contains("capabilities")) {
    if (!caps->is_object())
      return caf::make_error(mcp_errc::invalid_result,
                             "server/discover: capabilities is not an object");
    if (auto err = from_json(*caps, out.capabilities))
      return err;
  }
  const json::value* info = nullptr;
  if (auto meta = obj->if_contains("_meta"); meta && meta->is_object())
    info = meta->as_object().if_contains(meta_server_info);
  if (info == nullptr)
    info = obj->if_contains("serverInfo");
  if (info != nullptr && info->is_object()) {
    // serverInfo is for display only: a malformed one is left empty.
    implementation impl;
    if (!from_json(*info, impl))
      out.server_info = std::move(impl);
  }
  out.instructions = string_member(*obj, "instructions");
  out.cache = hints_of(*obj);
  return out;
}

caf::optional<std::string>
choose_version(const std::vector<std::string>& theirs,
               const std::vector<std::string>& ours) {
  for (auto& v : ours)
    if (std::find(theirs.begin(), theirs.end(), v) != theirs.end())
      return v;
  return caf::none;
}

std::vector<std::string> our_modern_versions() {
  std::vector<std::string> result;
  for (auto v : modern_protocol_versions)
    result.emplace_back(v);
  return result;
}

// -- era detection ------------------------------------------------------------------

const char* to_string(modern_verdict x) noexcept {
  switch (x) {
    case modern_verdict::retry_with_version:
      return "retry_with_version";
    case modern_verdict::no_common_version:
      return "no_common_version";
    case modern_verdict::header_mismatch:
      return "header_mismatch";
    case modern_verdict::missing_capability:
      return "missing_capability";
    case modern_verdict::method_not_found:
      return "method_not_found";
    case modern_verdict::legacy:
      return "legacy";
    default:
      return "other";
  }
}

namespace {

std::vector<std::string> supported_of(const json::value* data) {
  std::vector<std::string> result;
  if (data == nullptr || !data->is_object())
    return result;
  auto sup = data->as_object().if_contains("supported");
  if (sup == nullptr || !sup->is_array())
    return result;
  for (auto& v : sup->as_array())
    if (v.is_string())
      result.emplace_back(v.as_string());
  return result;
}

} // namespace

modern_rejection classify_modern_answer(int status, std::string_view body,
                                        const std::vector<std::string>& ours) {
  modern_rejection result;
  if (status != 400 && status != 404 && status != 405)
    return result;
  result.verdict = modern_verdict::legacy;
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return result;
  auto err = v.as_object().if_contains("error");
  if (err == nullptr || !err->is_object())
    return result;
  auto& e = err->as_object();
  auto code = e.if_contains("code");
  if (code == nullptr || !code->is_int64())
    return result;
  result.code = code->as_int64();
  if (auto msg = string_member(e, "message"))
    result.message = std::move(*msg);
  switch (status) {
    case 400:
      if (result.code == unsupported_protocol_version_code) {
        result.supported = supported_of(e.if_contains("data"));
        if (auto ver = choose_version(result.supported, ours)) {
          result.verdict = modern_verdict::retry_with_version;
          result.version = std::move(*ver);
        } else {
          result.verdict = modern_verdict::no_common_version;
        }
      } else if (result.code == header_mismatch_code) {
        result.verdict = modern_verdict::header_mismatch;
      } else if (result.code == missing_required_client_capability_code) {
        result.verdict = modern_verdict::missing_capability;
      }
      break;
    case 404:
      if (result.code == -32601)
        result.verdict = modern_verdict::method_not_found;
      break;
    default:
      break;
  }
  return result;
}

caf::optional<std::string>
retry_version(int64_t code, std::string_view data,
              const std::vector<std::string>& ours) {
  if (code != unsupported_protocol_version_code || data.empty())
    return caf::none;
  boost::system::error_code ec;
  auto v = json::parse(data, ec);
  if (ec)
    return caf::none;
  return choose_version(supported_of(&v), ours);
}

// -- results ----------------------------------------------------------------------

const char* to_string(result_type x) noexcept {
  return x == result_type::complete ? "complete" : "input_required";
}

caf::expected<result_type> result_type_of(std::string_view result) {
  if (result.empty())
    return caf::make_error(mcp_errc::invalid_result, "result is empty");
  auto obj = parse_object(result, "the result", mcp_errc::invalid_result);
  if (!obj)
    return obj.error();
  auto rt = obj->if_contains("resultType");
  if (rt == nullptr)
    return result_type::complete;
  if (!rt->is_string())
    return caf::make_error(mcp_errc::invalid_result,
                           "resultType is not a string");
  if (rt->as_string() == "complete")
    return result_type::complete;
  if (rt->as_string() == "input_required")
    return result_type::input_required;
  return caf::make_error(mcp_errc::invalid_result,
                         "unknown resultType "
                           + std::string{rt->as_string()});
}

caf::expected<input_required_result>
parse_input_required(std::string_view result) {
  if (result.empty())
    return caf::make_error(mcp_errc::invalid_result, "result is empty");
  auto obj = parse_object(result, "the result", mcp_errc::invalid_result);
  if (!obj)
    return obj.error();
  auto bad = [](std::string why) {
    return caf::make_error(mcp_errc::invalid_result,
                           "input_required: " + std::move(why));
  };
  input_required_result out;
  auto reqs = obj->if_contains("inputRequests");
  if (reqs != nullptr) {
    if (!reqs->is_object())
      return bad("inputRequests is not an object");
    for (auto& kvp : reqs->as_object()) {
      std::string key{kvp.key()};
      if (!kvp.value().is_object())
        return bad("inputRequests." + key + " is not an object");
      auto& r = kvp.value().as_object();
      auto method = string_member(r, "method");
      if (!method)
        return bad("inputRequests." + key + " has no string method");
      if (*method != methods::elicitation_create
          && *method != methods::sampling_create_message
          && *method != methods::roots_list)
        return bad("inputRequests." + key + " asks for " + *method
                   + " (only elicitation/create, sampling/createMessage "
                     "and roots/list may be asked)");
      std::string params = "{}";
      if (auto p = r.if_contains("params"); p && !p->is_null()) {
        if (!p->is_object())
          return bad("inputRequests." + key + ".params is not an object");
        params = json::serialize(*p);
      }
      out.requests.push_back(
        input_request{std::move(key), std::move(*method), std::move(params)});
    }
  }
  if (auto st = obj->if_contains("requestState")) {
    if (!st->is_string())
      return bad("requestState is not a string");
    out.request_state = std::string{st->as_string()};
  }
  if (reqs == nullptr && !out.request_state)
    return bad("neither inputRequests nor requestState");
  return out;
}

caf::expected<std::string>
retry_params(std::string_view original,
             const std::vector<std::pair<std::string, std::string>>& responses,
             const caf::optional<std::string>& request_state) {
  auto params = parse_object(original, "the original params",
                             mcp_errc::invalid_argument);
  if (!params)
    return params.error();
  params->erase("inputResponses");
  params->erase("requestState");
  if (!responses.empty()) {
    json::object answers;
    for (auto& [key, text] : responses) {
      if (answers.contains(key))
        return caf::make_error(mcp_errc::invalid_argument,
                               "inputResponses: key " + key + " repeats");
      auto r = parse_object(text, "an input response",
                            mcp_errc::invalid_argument);
      if (!r)
        return caf::make_error(mcp_errc::invalid_argument,
                               "inputResponses." + key
                                 + " is not a JSON object");
      answers[key] = std::move(*r);
    }
    (*params)["inputResponses"] = std::move(answers);
  }
  if (request_state)
    (*params)["requestState"] = *request_state;
  return json::serialize(*params);
}

bool answers_all(const input_required_result& required,
                 const std::vector<std::pair<std::string, std::string>>& responses,
                 std::string& missing) {
  for (auto& r : required.requests) {
    auto i = std::find_if(responses.begin(), responses.end(),
                          [&](auto& x) { return x.first == r.key; });
    if (i == responses.end()) {
      missing = r.key;
      return false;
    }
  }
  return true;
}

} // namespace caf_mcp::stateless
