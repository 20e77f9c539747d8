// Elicitation helpers: see elicitation.hpp.
#include "caf_mcp/messages/elicitation.hpp"

#include <boost/json.hpp>

#include "caf_mcp/messages/error.hpp"

namespace caf_mcp {

namespace {

caf::expected<boost::json::object> parse_object(std::string_view text,
                                                const char* what) {
  if (text.empty())
    return boost::json::object{};
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    return caf::make_error(mcp_errc::invalid_argument,
                           std::string{what} + " is not a JSON object");
  return std::move(v.as_object());
}

} // namespace

caf::expected<std::string> apply_schema_defaults(std::string_view requested_schema,
                                                 std::string_view content) {
  auto schema = parse_object(requested_schema, "requestedSchema");
  if (!schema)
    return schema.error();
  auto out = parse_object(content, "the elicitation content");
  if (!out)
    return out.error();
  if (auto props = schema->if_contains("properties");
      props != nullptr && props->is_object())
    for (auto& kvp : props->as_object()) {
      if (!kvp.value().is_object() || out->contains(kvp.key()))
        continue;
      if (auto def = kvp.value().as_object().if_contains("default"))
        (*out)[kvp.key()] = *def;
    }
  return boost::json::serialize(*out);
}

caf::expected<std::string>
accept_with_defaults(std::string_view elicit_params_json,
                     std::string_view content) {
  auto params = parse_object(elicit_params_json, "the elicitation request");
  if (!params)
    return params.error();
  std::string schema = "{}";
  if (auto s = params->if_contains("requestedSchema"))
    schema = boost::json::serialize(*s);
  auto filled = apply_schema_defaults(schema, content);
  if (!filled)
    return filled.error();
  return R"({"action":"accept","content":)" + *filled + "}";
}

} // namespace caf_mcp
