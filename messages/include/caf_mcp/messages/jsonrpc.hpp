#pragma once

/// JSON-RPC 2.0 envelope codec: request ids, the four message kinds, a
/// non-throwing decoder (single messages and batches) and a compact encoder.
/// Pure functions, no I/O, no actors. The MCP payload types live in mcp.hpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/system_error.hpp>
#include <boost/json/value.hpp>

#include "caf/error.hpp"
#include "caf/meta/type_name.hpp"

namespace caf_mcp {

// -- standard error codes -----------------------------------------------------

/// The error codes reserved by JSON-RPC 2.0.
namespace jsonrpc_code {

/// Invalid JSON was received.
constexpr int parse_error = -32700;

/// The JSON sent is not a valid request object.
constexpr int invalid_request = -32600;

/// The method does not exist or is not available.
constexpr int method_not_found = -32601;

/// Invalid method parameters.
constexpr int invalid_params = -32602;

/// Internal JSON-RPC error.
constexpr int internal_error = -32603;

} // namespace jsonrpc_code

/// The value of the `"jsonrpc"` member of every message.
constexpr std::string_view jsonrpc_version = "2.0";

// -- request_id ---------------------------------------------------------------

/// A JSON-RPC request id: an integer (int64) or a string, never null. Ids of
/// different kinds never compare equal (`1` is not `"1"`).
class request_id {
public:
  /// Constructs the integer id 0.
  request_id() noexcept = default;

  /// Constructs an integer id (any integer type but bool; values beyond
  /// int64 wrap).
  template <class Integer,
            class = std::enable_if_t<std::is_integral<Integer>::value
                                     && !std::is_same<Integer, bool>::value>>
  explicit request_id(Integer value) noexcept
    : number_(static_cast<int64_t>(value)) {
    // nop
  }

  /// Constructs a string id.
  explicit request_id(std::string value) noexcept
    : is_string_(true), string_(std::move(value)) {
    // nop
  }

  /// Constructs a string id.
  explicit request_id(const char* value)
    : is_string_(true), string_(value) {
    // nop
  }

  /// True if the id is an integer.
  bool is_integer() const noexcept {
    return !is_string_;
  }

  /// True if the id is a string.
  bool is_string() const noexcept {
    return is_string_;
  }

  /// The integer value; 0 for string ids.
  int64_t integer() const noexcept {
    return is_string_ ? 0 : number_;
  }

  /// The string value; empty for integer ids.
  const std::string& string() const noexcept {
    return string_;
  }

  /// A hash that agrees with `operator==`.
  size_t hash() const noexcept;

  /// Three-way comparison: integers order before strings.
  int compare(const request_id& other) const noexcept;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f,
                                                 request_id& x) {
    return f(caf::meta::type_name("request_id"), x.is_string_, x.number_,
             x.string_);
  }

private:
  bool is_string_ = false;
  int64_t number_ = 0;
  std::string string_;
};

/// @relates request_id
inline bool operator==(const request_id& x, const request_id& y) noexcept {
  return x.compare(y) == 0;
}

/// @relates request_id
inline bool operator!=(const request_id& x, const request_id& y) noexcept {
  return x.compare(y) != 0;
}

/// @relates request_id
inline bool operator<(const request_id& x, const request_id& y) noexcept {
  return x.compare(y) < 0;
}

/// Renders the id as JSON: `42` or `"abc"` (quoted, so 1 and "1" differ).
/// @relates request_id
std::string to_string(const request_id& x);

/// Writes the id as a JSON number or string.
/// @relates request_id
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                const request_id& x);

/// Reads an id: a string, an integer within int64, or a number without
/// fractional part within int64. Null, bool, objects and arrays fail.
/// @relates request_id
boost::json::result<request_id>
tag_invoke(boost::json::try_value_to_tag<request_id>,
           const boost::json::value& jv);

// -- message kinds ------------------------------------------------------------

/// A call that expects a response (`id` and `method`).
struct request {
  /// Chosen by the sender; echoed by the response.
  request_id id;

  /// The method name, e.g. "tools/call".
  std::string method;

  /// Absent (nullopt) or a JSON object or array. A received `"params": null`
  /// is kept as a present null.
  std::optional<boost::json::value> params;
};

/// A call without response (`method`, no `id`).
struct notification {
  /// The method name, e.g. "notifications/progress".
  std::string method;

  /// Absent (nullopt) or a JSON object or array (see `request::params`).
  std::optional<boost::json::value> params;
};

/// A successful response (`id` and `result`).
struct response {
  /// The id of the request this answers.
  request_id id;

  /// Any JSON value, including null.
  boost::json::value result;
};

/// A failed response (`id` and `error`).
struct error_response {
  /// The id of the failed request; nullopt when the peer could not read it
  /// (written as `"id": null`; an absent id is read as nullopt too).
  std::optional<request_id> id;

  /// The error code, e.g. `jsonrpc_code::method_not_found`.
  int64_t code = 0;

  /// A short description.
  std::string message;

  /// Optional extra information (any JSON value).
  std::optional<boost::json::value> data;
};

/// Any JSON-RPC 2.0 message.
using jsonrpc_message
  = std::variant<request, notification, response, error_response>;

bool operator==(const request& x, const request& y) noexcept;
bool operator==(const notification& x, const notification& y) noexcept;
bool operator==(const response& x, const response& y) noexcept;
bool operator==(const error_response& x, const error_response& y) noexcept;

/// @relates request
inline bool operator!=(const request& x, const request& y) noexcept {
  return !(x == y);
}

/// @relates notification
inline bool operator!=(const notification& x, const notification& y) noexcept {
  return !(x == y);
}

/// @relates response
inline bool operator!=(const response& x, const response& y) noexcept {
  return !(x == y);
}

/// @relates error_response
inline bool operator!=(const error_response& x,
                       const error_response& y) noexcept {
  return !(x == y);
}

/// The method of a request or notification; empty for responses.
std::string_view method_of(const jsonrpc_message& msg) noexcept;

/// The id of a request, response or error response, if any.
const request_id* id_of(const jsonrpc_message& msg) noexcept;

// -- decoding -----------------------------------------------------------------

/// Why one message (or the whole input) could not be decoded.
struct decode_error {
  /// `jsonrpc_code::parse_error` for text that is not JSON,
  /// `jsonrpc_code::invalid_request` for JSON that is not a JSON-RPC message.
  int code = jsonrpc_code::invalid_request;

  /// What is wrong, e.g. `missing "jsonrpc": "2.0"`.
  std::string message;

  /// The id of the offending message, if it could be read.
  std::optional<request_id> id;
};

/// @relates decode_error
bool operator==(const decode_error& x, const decode_error& y) noexcept;

/// Everything found in one JSON text. A batch (JSON array) is split into its
/// elements; each element is decoded independently, so one text may yield
/// messages and errors at once.
struct decode_result {
  /// The valid messages, in input order.
  std::vector<jsonrpc_message> messages;

  /// The invalid elements (or the one parse error), in input order.
  std::vector<decode_error> errors;

  /// True if the input was a JSON array (a batch).
  bool batch = false;

  /// True if the input yielded no error.
  bool ok() const noexcept {
    return errors.empty();
  }
};

/// Decodes one JSON text: a single message or a batch. Never throws on bad
/// input (only `std::bad_alloc` is caught and reported as an error). JSON
/// values in the result use the default heap storage.
decode_result decode(std::string_view text);

/// Like `decode(text)`, but places JSON values in `sp` and appends to `out`
/// (which callers may reuse; `batch` is set, never cleared). With
/// `make_decode_arena` large documents decode about a quarter faster.
void decode(std::string_view text, boost::json::storage_ptr sp,
            decode_result& out);

/// Returns a ref-counted monotonic arena sized for a text of `text_size`
/// bytes. All values decoded into it share it: it is freed when the last of
/// them is gone, and it is not thread-safe, so copying or changing these
/// values from two threads at once is a data race. To hand a part to
/// another thread or keep it for long, copy it into its own storage
/// (`boost::json::value{x, {}}`).
boost::json::storage_ptr make_decode_arena(size_t text_size);

/// Decodes an already parsed JSON document (object or array), moving its
/// parts into the result.
decode_result decode_value(boost::json::value&& doc);

/// Maps a decode error to a `caf::error`: `mcp_errc::malformed_json` for
/// parse errors, `mcp_errc::malformed_jsonrpc` otherwise; the context is the
/// description (and the id, if known).
caf::error to_error(const decode_error& err);

/// Maps a received JSON-RPC error to a `caf::error` with code
/// `mcp_errc::jsonrpc_error` and context (int64 code, message[, data as JSON
/// text]).
caf::error to_error(const error_response& err);

// -- encoding -----------------------------------------------------------------

/// Appends the compact JSON text of `msg` to `out`. Absent params and data
/// are left out; an error response without id is written with `"id":null`.
void encode_into(std::string& out, const jsonrpc_message& msg);

/// @copydoc encode_into
void encode_into(std::string& out, const request& msg);

/// @copydoc encode_into
void encode_into(std::string& out, const notification& msg);

/// @copydoc encode_into
void encode_into(std::string& out, const response& msg);

/// @copydoc encode_into
void encode_into(std::string& out, const error_response& msg);

/// Returns the compact JSON text of `msg`.
std::string encode(const jsonrpc_message& msg);

/// @copydoc encode(const jsonrpc_message&)
std::string encode(const request& msg);

/// @copydoc encode(const jsonrpc_message&)
std::string encode(const notification& msg);

/// @copydoc encode(const jsonrpc_message&)
std::string encode(const response& msg);

/// @copydoc encode(const jsonrpc_message&)
std::string encode(const error_response& msg);

/// Returns a batch (JSON array) of `msgs`; JSON-RPC forbids empty batches.
std::string encode(const std::vector<jsonrpc_message>& msgs);

/// Appends a request whose params are already JSON text (an object or array;
/// empty = absent). The text is copied verbatim: callers must pass valid
/// JSON, e.g. produced by `to_json_text`.
void encode_request_into(std::string& out, const request_id& id,
                         std::string_view method,
                         std::string_view params_json = {});

/// Appends a notification with params as JSON text (see
/// `encode_request_into`).
void encode_notification_into(std::string& out, std::string_view method,
                              std::string_view params_json = {});

/// Appends a response whose result is JSON text (empty = `{}`).
void encode_response_into(std::string& out, const request_id& id,
                          std::string_view result_json);

/// Appends an error response; `data_json` is JSON text (empty = absent).
void encode_error_into(std::string& out, const std::optional<request_id>& id,
                       int64_t code, std::string_view message,
                       std::string_view data_json = {});

// -- JSON text utilities ------------------------------------------------------

/// Appends `v` as compact JSON. Doubles are written in shortest round-trip
/// form and always as doubles (`1.0`, not `1`); infinities as `1e99999` /
/// `-1e99999` (read back as infinities); NaN as `null`.
void append_json(std::string& out, const boost::json::value& v);

/// How `append_json` writes a value.
enum class json_form {
  /// As above: members in their order, doubles stay doubles.
  compact,
  /// One text per value (cache keys, canonical_json.hpp): members sorted by
  /// the UTF-8 bytes of their keys, numbers by value (an integral value in
  /// [-2^63, 2^64) as that integer, so 1.0 is 1 and -0.0 is 0; anything
  /// else in shortest round-trip form).
  canonical,
};

/// Appends `v` in `form`.
void append_json(std::string& out, const boost::json::value& v,
                 json_form form);

/// Appends `str` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view str);

/// Appends an integer.
void append_json_int(std::string& out, int64_t x);

/// Appends a double (see `append_json`).
void append_json_double(std::string& out, double x);

/// Reads a JSON number (int64, uint64 or double) as a double, as JavaScript
/// would; returns false for any other kind.
bool json_to_double(const boost::json::value& v, double& out) noexcept;

/// Returns `v` as compact JSON text.
std::string to_json_text(const boost::json::value& v);

/// Parses `text` as one JSON value without throwing; returns a null value
/// and sets `ec` on failure. Depth limit: 64.
boost::json::value parse_json(std::string_view text,
                              boost::json::error_code& ec,
                              boost::json::storage_ptr sp = {});

} // namespace caf_mcp

namespace std {

template <>
struct hash<caf_mcp::request_id> {
  size_t operator()(const caf_mcp::request_id& x) const noexcept {
    return x.hash();
  }
};

} // namespace std
