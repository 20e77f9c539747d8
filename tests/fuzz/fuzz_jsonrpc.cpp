// Fuzz target for the JSON-RPC codec (and the MCP type readers behind it).
//
// Properties checked on every input:
// - decode never throws or crashes, and every error is -32700 or -32600;
// - every decoded message re-encodes to text that decodes to exactly one
//   equal message (doubles may differ in the last bits: Boost.JSON 1.81 does
//   not parse every double exactly, so they compare with a tiny tolerance;
//   and it reads 0e400 as NaN, which we write as null);
// - the decoded messages re-encode as a batch that decodes to as many
//   messages;
// - MCP params/results that read successfully write text that reads again.
// A violated property calls abort().

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace json = boost::json;

namespace {

bool same_double(double x, double y) {
  if (x == y)
    return true;
  if (std::isnan(x) || std::isnan(y) || std::isinf(x) || std::isinf(y))
    return false;
  auto scale = std::fmax(std::fabs(x), std::fabs(y));
  return std::fabs(x - y) <= scale * 1e-14 || std::fabs(x - y) < 1e-300;
}

bool same_json(const json::value& x, const json::value& y) {
  // Boost.JSON 1.81 reads 0e400 as NaN, which JSON cannot express: we write
  // NaN as null (like JavaScript's JSON.stringify).
  if (x.is_double() && std::isnan(x.get_double()))
    return y.is_null();
  if (x.kind() != y.kind())
    return false;
  switch (x.kind()) {
    case json::kind::double_:
      return same_double(x.get_double(), y.get_double());
    case json::kind::array: {
      auto& xs = x.get_array();
      auto& ys = y.get_array();
      if (xs.size() != ys.size())
        return false;
      for (size_t i = 0; i < xs.size(); ++i)
        if (!same_json(xs[i], ys[i]))
          return false;
      return true;
    }
    case json::kind::object: {
      auto& xs = x.get_object();
      auto& ys = y.get_object();
      if (xs.size() != ys.size())
        return false;
      for (auto& kvp : xs) {
        auto other = ys.if_contains(kvp.key());
        if (other == nullptr || !same_json(kvp.value(), *other))
          return false;
      }
      return true;
    }
    default:
      return x == y;
  }
}

bool same_json(const std::optional<json::value>& x,
               const std::optional<json::value>& y) {
  if (x.has_value() != y.has_value())
    return false;
  return !x || same_json(*x, *y);
}

bool same(const caf_mcp::jsonrpc_message& x,
          const caf_mcp::jsonrpc_message& y) {
  using namespace caf_mcp;
  if (x.index() != y.index())
    return false;
  if (auto a = std::get_if<request>(&x)) {
    auto& b = std::get<request>(y);
    return a->id == b.id && a->method == b.method
           && same_json(a->params, b.params);
  }
  if (auto a = std::get_if<notification>(&x)) {
    auto& b = std::get<notification>(y);
    return a->method == b.method && same_json(a->params, b.params);
  }
  if (auto a = std::get_if<response>(&x)) {
    auto& b = std::get<response>(y);
    return a->id == b.id && same_json(a->result, b.result);
  }
  auto& a = std::get<error_response>(x);
  auto& b = std::get<error_response>(y);
  return a.id == b.id && a.code == b.code && a.message == b.message
         && same_json(a.data, b.data);
}

/// Reads `jv` as T; if that works, the written text must read again.
template <class T>
void check_mcp(const json::value& jv) {
  T x;
  if (caf_mcp::from_json(jv, x))
    return;
  auto text = caf_mcp::to_json_text(x);
  T y;
  if (caf_mcp::from_json_text(text, y))
    abort();
  // Writing is deterministic for texts without doubles; at least the shape
  // of what we wrote must survive a second pass.
  auto again = caf_mcp::to_json_text(y);
  T z;
  if (caf_mcp::from_json_text(again, z))
    abort();
}

void check_mcp_payload(const caf_mcp::jsonrpc_message& msg) {
  using namespace caf_mcp;
  if (auto req = std::get_if<request>(&msg); req != nullptr && req->params) {
    if (req->method == methods::initialize)
      check_mcp<initialize_params>(*req->params);
    else if (req->method == methods::tools_call)
      check_mcp<call_tool_params>(*req->params);
    else if (req->method == methods::tools_list)
      check_mcp<list_tools_params>(*req->params);
    else if (req->method == methods::logging_set_level)
      check_mcp<set_level_params>(*req->params);
  } else if (auto note = std::get_if<notification>(&msg);
             note != nullptr && note->params) {
    if (note->method == methods::progress)
      check_mcp<progress_params>(*note->params);
    else if (note->method == methods::cancelled)
      check_mcp<cancelled_params>(*note->params);
    else if (note->method == methods::message)
      check_mcp<logging_message_params>(*note->params);
  } else if (auto res = std::get_if<response>(&msg)) {
    // A response does not say what it answers: try every result type.
    check_mcp<initialize_result>(res->result);
    check_mcp<list_tools_result>(res->result);
    check_mcp<call_tool_result>(res->result);
    check_mcp<list_roots_result>(res->result);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto res = caf_mcp::decode(text);
  for (auto& err : res.errors)
    if (err.code != caf_mcp::jsonrpc_code::parse_error
        && err.code != caf_mcp::jsonrpc_code::invalid_request)
      abort();
  for (auto& msg : res.messages) {
    auto encoded = caf_mcp::encode(msg);
    auto again = caf_mcp::decode(encoded);
    if (!again.errors.empty() || again.messages.size() != 1 || again.batch
        || !same(msg, again.messages.front()))
      abort();
    check_mcp_payload(msg);
  }
  if (!res.messages.empty()) {
    auto batch = caf_mcp::decode(caf_mcp::encode(res.messages));
    if (!batch.ok() || !batch.batch
        || batch.messages.size() != res.messages.size())
      abort();
  }
  return 0;
}
