#include "caf_mcp/messages/jsonrpc.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

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

/// Outcome of reading a JSON number as int64.
enum class int_status { ok, not_number, fractional, out_of_range };

int_status read_int64(const json::value& v, int64_t& out) noexcept {
  switch (v.kind()) {
    case json::kind::int64:
      out = v.get_int64();
      return int_status::ok;
    case json::kind::uint64:
      if (v.get_uint64()
          > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return int_status::out_of_range;
      out = static_cast<int64_t>(v.get_uint64());
      return int_status::ok;
    case json::kind::double_: {
      // JSON does not tell 1 from 1.0: accept numbers without fractional
      // part (e.g. 1.0 or 1e3) that fit into int64.
      auto d = v.get_double();
      if (!std::isfinite(d))
        return int_status::out_of_range;
      if (std::trunc(d) != d)
        return int_status::fractional;
      constexpr double lo = -9223372036854775808.0; // -2^63
      constexpr double hi = 9223372036854775808.0;  // 2^63
      if (d < lo || d >= hi)
        return int_status::out_of_range;
      out = static_cast<int64_t>(d);
      return int_status::ok;
    }
    default:
      return int_status::not_number;
  }
}

/// Reads a request id; on failure, `why` describes the problem and `code`
/// the matching Boost.JSON conversion error.
bool read_id(const json::value& v, request_id& out, const char*& why,
             json::error& code) noexcept {
  if (auto str = v.if_string()) {
    out = request_id{std::string{view(*str)}};
    return true;
  }
  int64_t num = 0;
  switch (read_int64(v, num)) {
    case int_status::ok:
      out = request_id{num};
      return true;
    case int_status::fractional:
      why = "\"id\" must be an integer, not a fractional number";
      code = json::error::not_exact;
      return false;
    case int_status::out_of_range:
      why = "\"id\" is beyond the int64 range";
      code = json::error::not_exact;
      return false;
    case int_status::not_number:
      break;
  }
  if (v.is_null()) {
    why = "\"id\" must not be null";
    code = json::error::not_number;
  } else {
    why = "\"id\" must be a string or an integer";
    code = json::error::not_number;
  }
  return false;
}

// -- decoder ------------------------------------------------------------------

constexpr size_t min_arena_size = 1024;

size_t arena_size(size_t text_size) noexcept {
  // A parsed document takes roughly 1-2x its text; one block for most.
  return std::max(min_arena_size, text_size + text_size / 2);
}

class decoder {
public:
  explicit decoder(decode_result& out) noexcept : out_(out) {
    // nop
  }

  void run(json::value& doc) {
    if (auto arr = doc.if_array()) {
      out_.batch = true;
      if (arr->empty()) {
        fail("empty batch", std::nullopt);
        return;
      }
      out_.messages.reserve(out_.messages.size() + arr->size());
      for (auto& element : *arr)
        one(element);
      return;
    }
    one(doc);
  }

private:
  void fail(std::string message, std::optional<request_id> id) {
    out_.errors.push_back(decode_error{jsonrpc_code::invalid_request,
                                       std::move(message), std::move(id)});
  }

  void one(json::value& v) {
    auto obj = v.if_object();
    if (obj == nullptr) {
      fail(out_.batch ? "batch element is not a JSON object"
                      : "not a JSON object",
           std::nullopt);
      return;
    }
    json::value* jsonrpc = nullptr;
    json::value* id = nullptr;
    json::value* method = nullptr;
    json::value* params = nullptr;
    json::value* result = nullptr;
    json::value* error = nullptr;
    // One pass over the keys, in whatever order they arrive; unknown keys are
    // ignored.
    for (auto& kvp : *obj) {
      auto key = view(kvp.key());
      switch (key.size()) {
        case 2:
          if (key == "id")
            id = &kvp.value();
          break;
        case 5:
          if (key == "error")
            error = &kvp.value();
          break;
        case 6:
          if (key == "method")
            method = &kvp.value();
          else if (key == "params")
            params = &kvp.value();
          else if (key == "result")
            result = &kvp.value();
          break;
        case 7:
          if (key == "jsonrpc")
            jsonrpc = &kvp.value();
          break;
        default:
          break;
      }
    }
    // Read the id first so that every later error can name it.
    std::optional<request_id> rid;
    const char* id_problem = nullptr;
    if (id != nullptr) {
      request_id tmp;
      auto ignored = json::error::not_number;
      if (read_id(*id, tmp, id_problem, ignored))
        rid = std::move(tmp);
    }
    if (jsonrpc == nullptr) {
      fail("missing \"jsonrpc\": \"2.0\"", std::move(rid));
      return;
    }
    if (auto version = jsonrpc->if_string();
        version == nullptr || view(*version) != jsonrpc_version) {
      fail("\"jsonrpc\" must be \"2.0\"", std::move(rid));
      return;
    }
    // "method" makes a request or notification, never "id".
    if (method != nullptr) {
      auto name = method->if_string();
      if (name == nullptr) {
        fail("\"method\" must be a string", std::move(rid));
        return;
      }
      std::optional<json::value> args;
      if (params != nullptr) {
        if (!params->is_object() && !params->is_array()
            && !params->is_null()) {
          fail("\"params\" must be an object or an array", std::move(rid));
          return;
        }
        args.emplace(std::move(*params));
      }
      if (id == nullptr) {
        out_.messages.emplace_back(
          notification{std::string{view(*name)}, std::move(args)});
        return;
      }
      if (!rid) {
        fail(id_problem, std::nullopt);
        return;
      }
      out_.messages.emplace_back(
        request{std::move(*rid), std::string{view(*name)}, std::move(args)});
      return;
    }
    if (result != nullptr && error != nullptr) {
      fail("both \"result\" and \"error\"", std::move(rid));
      return;
    }
    if (result != nullptr) {
      if (id == nullptr) {
        fail("missing \"id\" in a response", std::nullopt);
        return;
      }
      if (!rid) {
        fail(id_problem, std::nullopt);
        return;
      }
      out_.messages.emplace_back(
        response{std::move(*rid), std::move(*result)});
      return;
    }
    if (error != nullptr) {
      decode_error_object(*error, id, std::move(rid), id_problem);
      return;
    }
    fail("missing \"method\", \"result\" or \"error\"", std::move(rid));
  }

  void decode_error_object(json::value& error, json::value* id,
                           std::optional<request_id> rid,
                           const char* id_problem) {
    // A null or absent id is fine here: the peer could not read ours.
    if (id != nullptr && !id->is_null() && !rid) {
      fail(id_problem, std::nullopt);
      return;
    }
    auto obj = error.if_object();
    if (obj == nullptr) {
      fail("\"error\" must be an object", std::move(rid));
      return;
    }
    error_response msg;
    auto code = obj->if_contains("code");
    if (code == nullptr) {
      fail("missing \"error.code\"", std::move(rid));
      return;
    }
    if (read_int64(*code, msg.code) != int_status::ok) {
      fail("\"error.code\" must be an integer", std::move(rid));
      return;
    }
    auto message = obj->if_contains("message");
    if (message == nullptr) {
      fail("missing \"error.message\"", std::move(rid));
      return;
    }
    auto text = message->if_string();
    if (text == nullptr) {
      fail("\"error.message\" must be a string", std::move(rid));
      return;
    }
    msg.message.assign(text->data(), text->size());
    if (auto data = obj->if_contains("data"))
      msg.data.emplace(std::move(*data));
    msg.id = std::move(rid);
    out_.messages.emplace_back(std::move(msg));
  }

  decode_result& out_;
};

// -- encoder helpers ----------------------------------------------------------

void append_id(std::string& out, const request_id& id) {
  if (id.is_string())
    append_json_string(out, id.string());
  else
    append_json_int(out, id.integer());
}

void append_uint(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, static_cast<size_t>(res.ptr - buf));
}

constexpr char hex_digits[] = "0123456789abcdef";

} // namespace

// -- request_id ---------------------------------------------------------------

size_t request_id::hash() const noexcept {
  if (is_string_)
    return std::hash<std::string>{}(string_) ^ static_cast<size_t>(0x9e3779b9);
  return std::hash<int64_t>{}(number_);
}

int request_id::compare(const request_id& other) const noexcept {
  if (is_string_ != other.is_string_)
    return is_string_ ? 1 : -1;
  if (is_string_) {
    auto res = string_.compare(other.string_);
    return res < 0 ? -1 : (res > 0 ? 1 : 0);
  }
  return number_ < other.number_ ? -1 : (number_ > other.number_ ? 1 : 0);
}

std::string to_string(const request_id& x) {
  std::string result;
  append_id(result, x);
  return result;
}

void tag_invoke(json::value_from_tag, json::value& jv, const request_id& x) {
  if (x.is_string())
    jv.emplace_string().assign(x.string().data(), x.string().size());
  else
    jv.emplace_int64() = x.integer();
}

json::result<request_id> tag_invoke(json::try_value_to_tag<request_id>,
                                    const json::value& jv) {
  request_id result;
  const char* why = nullptr;
  auto code = json::error::not_number;
  if (read_id(jv, result, why, code))
    return result;
  return json::make_error_code(code);
}

// -- message kinds ------------------------------------------------------------

bool operator==(const request& x, const request& y) noexcept {
  return x.id == y.id && x.method == y.method && x.params == y.params;
}

bool operator==(const notification& x, const notification& y) noexcept {
  return x.method == y.method && x.params == y.params;
}

bool operator==(const response& x, const response& y) noexcept {
  return x.id == y.id && x.result == y.result;
}

bool operator==(const error_response& x, const error_response& y) noexcept {
  return x.id == y.id && x.code == y.code && x.message == y.message
         && x.data == y.data;
}

std::string_view method_of(const jsonrpc_message& msg) noexcept {
  if (auto req = std::get_if<request>(&msg))
    return req->method;
  if (auto notif = std::get_if<notification>(&msg))
    return notif->method;
  return {};
}

const request_id* id_of(const jsonrpc_message& msg) noexcept {
  if (auto req = std::get_if<request>(&msg))
    return &req->id;
  if (auto res = std::get_if<response>(&msg))
    return &res->id;
  if (auto err = std::get_if<error_response>(&msg))
    return err->id ? &*err->id : nullptr;
  return nullptr;
}

// -- decoding -----------------------------------------------------------------

bool operator==(const decode_error& x, const decode_error& y) noexcept {
  return x.code == y.code && x.message == y.message && x.id == y.id;
}

json::value parse_json(std::string_view text, json::error_code& ec,
                       json::storage_ptr sp) {
  json::parse_options opts;
  opts.max_depth = 64;
  return json::parse(json::string_view{text.data(), text.size()}, ec,
                     std::move(sp), opts);
}

/// For text that is not valid JSON: the id of a *response* whose top-level
/// `"id"` member is complete before the text breaks off, e.g.
/// `{"jsonrpc":"2.0","id":4,"result":` -> 4, so the caller waiting for it
/// fails at once instead of timing out. Only when a top-level "result" or
/// "error" key was seen and no "method" key (server requests number their
/// ids like we do; a broken request must never fail one of our calls).
std::optional<request_id> salvage_response_id(std::string_view text) {
  size_t i = 0;
  auto n = text.size();
  auto skip_ws = [&] {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'
                     || text[i] == '\r'))
      ++i;
  };
  // Reads a string starting at text[i] == '"'; false if it is cut off.
  auto read_string = [&](std::string* out) {
    ++i;
    while (i < n) {
      auto c = text[i++];
      if (c == '"')
        return true;
      if (c == '\\') {
        if (i >= n)
          return false;
        if (out != nullptr)
          out->push_back('\\');
        c = text[i++];
      }
      if (out != nullptr)
        out->push_back(c);
    }
    return false;
  };
  skip_ws();
  if (i >= n || text[i] != '{')
    return std::nullopt;
  ++i;
  std::optional<request_id> id;
  bool response_key = false;
  int depth = 1;
  bool expect_key = true;
  while (i < n) {
    skip_ws();
    if (i >= n)
      break;
    auto c = text[i];
    if (depth == 1 && expect_key) {
      if (c != '"')
        break;
      std::string key;
      if (!read_string(&key))
        break;
      skip_ws();
      if (i >= n || text[i] != ':')
        break;
      ++i;
      skip_ws();
      expect_key = false;
      if (key == "method")
        return std::nullopt;
      if (key == "result" || key == "error")
        response_key = true;
      if (key == "id" && i < n) {
        if (text[i] == '"') {
          std::string str;
          if (!read_string(&str) || str.find('\\') != std::string::npos)
            break;
          id = request_id{std::move(str)};
        } else if (text[i] == '-' || (text[i] >= '0' && text[i] <= '9')) {
          auto first = i;
          if (text[i] == '-')
            ++i;
          while (i < n && text[i] >= '0' && text[i] <= '9')
            ++i;
          if (i >= n || (text[i] != ',' && text[i] != '}' && text[i] != ' '))
            break; // cut off inside the number, or not an integer
          auto digits = std::string{text.substr(first, i - first)};
          try {
            id = request_id{static_cast<int64_t>(std::stoll(digits))};
          } catch (...) {
            break;
          }
        }
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!read_string(nullptr))
          i = n;
        continue;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        --depth;
        break;
      case ',':
        if (depth == 1)
          expect_key = true;
        break;
      default:
        break;
    }
    ++i;
  }
  if (response_key && id)
    return id;
  return std::nullopt;
}

void decode(std::string_view text, json::storage_ptr sp, decode_result& out) {
  try {
    json::error_code ec;
    // Initialized in place: assigning to a value of another storage would
    // copy the whole document.
    auto doc = parse_json(text, ec, std::move(sp));
    if (ec) {
      out.errors.push_back(decode_error{jsonrpc_code::parse_error,
                                        "invalid JSON: " + ec.message(),
                                        salvage_response_id(text)});
      return;
    }
    decoder{out}.run(doc);
  } catch (const std::bad_alloc&) {
    out.errors.push_back(decode_error{jsonrpc_code::parse_error,
                                      "out of memory", std::nullopt});
  }
}

decode_result decode(std::string_view text) {
  decode_result result;
  decode(text, json::storage_ptr{}, result);
  return result;
}

json::storage_ptr make_decode_arena(size_t text_size) {
  return json::make_shared_resource<json::monotonic_resource>(
    arena_size(text_size));
}

decode_result decode_value(json::value&& doc) {
  decode_result result;
  decoder{result}.run(doc);
  return result;
}

caf::error to_error(const decode_error& err) {
  auto code = err.code == jsonrpc_code::parse_error
                ? mcp_errc::malformed_json
                : mcp_errc::malformed_jsonrpc;
  auto context = err.message;
  if (err.id) {
    context += " (id ";
    context += to_string(*err.id);
    context += ')';
  }
  return caf::make_error(code, std::move(context));
}

caf::error to_error(const error_response& err) {
  if (err.data)
    return caf::make_error(mcp_errc::jsonrpc_error, err.code, err.message,
                           to_json_text(*err.data));
  return caf::make_error(mcp_errc::jsonrpc_error, err.code, err.message);
}

// -- encoding -----------------------------------------------------------------

void encode_into(std::string& out, const request& msg) {
  out += R"({"jsonrpc":"2.0","id":)";
  append_id(out, msg.id);
  out += R"(,"method":)";
  append_json_string(out, msg.method);
  if (msg.params) {
    out += R"(,"params":)";
    append_json(out, *msg.params);
  }
  out += '}';
}

void encode_into(std::string& out, const notification& msg) {
  out += R"({"jsonrpc":"2.0","method":)";
  append_json_string(out, msg.method);
  if (msg.params) {
    out += R"(,"params":)";
    append_json(out, *msg.params);
  }
  out += '}';
}

void encode_into(std::string& out, const response& msg) {
  out += R"({"jsonrpc":"2.0","id":)";
  append_id(out, msg.id);
  out += R"(,"result":)";
  append_json(out, msg.result);
  out += '}';
}

void encode_into(std::string& out, const error_response& msg) {
  out += R"({"jsonrpc":"2.0","id":)";
  if (msg.id)
    append_id(out, *msg.id);
  else
    out += "null";
  out += R"(,"error":{"code":)";
  append_json_int(out, msg.code);
  out += R"(,"message":)";
  append_json_string(out, msg.message);
  if (msg.data) {
    out += R"(,"data":)";
    append_json(out, *msg.data);
  }
  out += "}}";
}

void encode_into(std::string& out, const jsonrpc_message& msg) {
  std::visit([&out](const auto& x) { encode_into(out, x); }, msg);
}

std::string encode(const jsonrpc_message& msg) {
  std::string result;
  encode_into(result, msg);
  return result;
}

std::string encode(const request& msg) {
  std::string result;
  encode_into(result, msg);
  return result;
}

std::string encode(const notification& msg) {
  std::string result;
  encode_into(result, msg);
  return result;
}

std::string encode(const response& msg) {
  std::string result;
  encode_into(result, msg);
  return result;
}

std::string encode(const error_response& msg) {
  std::string result;
  encode_into(result, msg);
  return result;
}

std::string encode(const std::vector<jsonrpc_message>& msgs) {
  std::string result;
  result += '[';
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i > 0)
      result += ',';
    encode_into(result, msgs[i]);
  }
  result += ']';
  return result;
}

void encode_request_into(std::string& out, const request_id& id,
                         std::string_view method,
                         std::string_view params_json) {
  out += R"({"jsonrpc":"2.0","id":)";
  append_id(out, id);
  out += R"(,"method":)";
  append_json_string(out, method);
  if (!params_json.empty()) {
    out += R"(,"params":)";
    out += params_json;
  }
  out += '}';
}

void encode_notification_into(std::string& out, std::string_view method,
                              std::string_view params_json) {
  out += R"({"jsonrpc":"2.0","method":)";
  append_json_string(out, method);
  if (!params_json.empty()) {
    out += R"(,"params":)";
    out += params_json;
  }
  out += '}';
}

void encode_response_into(std::string& out, const request_id& id,
                          std::string_view result_json) {
  out += R"({"jsonrpc":"2.0","id":)";
  append_id(out, id);
  out += R"(,"result":)";
  if (result_json.empty())
    out += "{}";
  else
    out += result_json;
  out += '}';
}

void encode_error_into(std::string& out, const std::optional<request_id>& id,
                       int64_t code, std::string_view message,
                       std::string_view data_json) {
  out += R"({"jsonrpc":"2.0","id":)";
  if (id)
    append_id(out, *id);
  else
    out += "null";
  out += R"(,"error":{"code":)";
  append_json_int(out, code);
  out += R"(,"message":)";
  append_json_string(out, message);
  if (!data_json.empty()) {
    out += R"(,"data":)";
    out += data_json;
  }
  out += "}}";
}

// -- JSON text utilities ------------------------------------------------------

void append_json_string(std::string& out, std::string_view str) {
  out.reserve(out.size() + str.size() + 2);
  out += '"';
  auto first = str.data();
  auto last = first + str.size();
  auto run = first;
  for (auto i = first; i != last; ++i) {
    auto ch = static_cast<unsigned char>(*i);
    if (ch >= 0x20 && ch != '"' && ch != '\\')
      continue;
    out.append(run, static_cast<size_t>(i - run));
    run = i + 1;
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char esc[] = {'\\', 'u', '0', '0', hex_digits[ch >> 4],
                      hex_digits[ch & 0x0F]};
        out.append(esc, sizeof(esc));
      }
    }
  }
  out.append(run, static_cast<size_t>(last - run));
  out += '"';
}

void append_json_int(std::string& out, int64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, static_cast<size_t>(res.ptr - buf));
}

void append_json_double(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "null";
    return;
  }
  if (std::isinf(x)) {
    // Not JSON's to express; this reads back as an infinity.
    out += x > 0 ? "1e99999" : "-1e99999";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  std::string_view str{buf, static_cast<size_t>(res.ptr - buf)};
  out += str;
  // Keep doubles doubles: "1" would read back as an integer.
  if (str.find_first_of(".e") == std::string_view::npos)
    out += ".0";
}

namespace {

/// A double with an integral value in [-2^63, 2^64) as that integer,
/// anything else in shortest round-trip form (json_form::canonical).
void append_canonical_number(std::string& out, double x) {
  constexpr double two_63 = 9223372036854775808.0;
  constexpr double two_64 = 18446744073709551616.0;
  if (std::isfinite(x) && std::trunc(x) == x && x >= -two_63 && x < two_64) {
    // Both conversions are exact: x is integral and in range. -0.0 is 0.
    if (x < two_63)
      append_json_int(out, static_cast<int64_t>(x));
    else
      append_uint(out, static_cast<uint64_t>(x));
    return;
  }
  append_json_double(out, x);
}

std::string_view key_view(const json::key_value_pair& kvp) noexcept {
  return {kvp.key().data(), kvp.key().size()};
}

void append_member(std::string& out, const json::key_value_pair& kvp,
                   json_form form) {
  append_json_string(out, key_view(kvp));
  out += ':';
  append_json(out, kvp.value(), form);
}

} // namespace

void append_json(std::string& out, const json::value& v) {
  append_json(out, v, json_form::compact);
}

void append_json(std::string& out, const json::value& v, json_form form) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      append_json_int(out, v.get_int64());
      break;
    case json::kind::uint64:
      append_uint(out, v.get_uint64());
      break;
    case json::kind::double_:
      if (form == json_form::canonical)
        append_canonical_number(out, v.get_double());
      else
        append_json_double(out, v.get_double());
      break;
    case json::kind::string:
      append_json_string(out, view(v.get_string()));
      break;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (auto& element : v.get_array()) {
        if (!first)
          out += ',';
        first = false;
        append_json(out, element, form);
      }
      out += ']';
      break;
    }
    case json::kind::object: {
      auto& obj = v.get_object();
      // string_view compares as unsigned bytes (memcmp): UTF-8 byte order.
      auto less = [](const json::key_value_pair& x,
                     const json::key_value_pair& y) {
        return key_view(x) < key_view(y);
      };
      out += '{';
      // Objects already in order (written by a canonical writer) need no
      // sort and no allocation.
      if (form == json_form::compact
          || std::is_sorted(obj.begin(), obj.end(), less)) {
        bool first = true;
        for (auto& kvp : obj) {
          if (!first)
            out += ',';
          first = false;
          append_member(out, kvp, form);
        }
      } else {
        std::vector<const json::key_value_pair*> members;
        members.reserve(obj.size());
        for (auto& kvp : obj)
          members.push_back(&kvp);
        std::sort(members.begin(), members.end(),
                  [&](auto* x, auto* y) { return less(*x, *y); });
        bool first = true;
        for (auto* member : members) {
          if (!first)
            out += ',';
          first = false;
          append_member(out, *member, form);
        }
      }
      out += '}';
      break;
    }
  }
}

std::string to_json_text(const json::value& v) {
  std::string result;
  append_json(result, v);
  return result;
}

} // namespace caf_mcp
