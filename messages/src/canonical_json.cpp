#include "caf_mcp/messages/canonical_json.hpp"

#include <boost/json/value.hpp>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp {

namespace json = boost::json;

void append_canonical_json(std::string& out, const json::value& v) {
  append_json(out, v, json_form::canonical);
}

std::string canonical_json(const json::value& v) {
  std::string result;
  append_canonical_json(result, v);
  return result;
}

caf::error canonical_json_text(std::string_view text, std::string& out) {
  json::value jv;
  if (auto err = parse_json_text(text, jv))
    return err;
  std::string result;
  result.reserve(text.size());
  append_canonical_json(result, jv);
  out = std::move(result);
  return caf::none;
}

} // namespace caf_mcp
