#define CAF_SUITE elicitation
#include "caf/test/unit_test.hpp"

#include <string>

#include <boost/json.hpp>

#include "caf_mcp/messages/elicitation.hpp"
#include "caf_mcp/messages/error.hpp"

using namespace caf_mcp;

namespace {

boost::json::value parsed(const std::string& text) {
  return boost::json::parse(text);
}

constexpr const char* schema = R"({"type":"object","required":[],
  "properties":{
    "name":{"type":"string","default":"John Doe"},
    "age":{"type":"integer","default":30},
    "score":{"type":"number","default":95.5},
    "status":{"type":"string","enum":["active","inactive"],"default":"active"},
    "verified":{"type":"boolean","default":true},
    "note":{"type":"string"}}})";

} // namespace

CAF_TEST(defaults fill what the user left out and nothing else) {
  auto out = apply_schema_defaults(schema, R"({"name":"Ann","note":"x"})");
  CAF_REQUIRE(out);
  auto v = parsed(*out);
  CAF_CHECK_EQUAL(v.at("name").as_string(), "Ann");
  CAF_CHECK_EQUAL(v.at("note").as_string(), "x");
  CAF_CHECK_EQUAL(v.at("age").as_int64(), 30);
  CAF_CHECK_EQUAL(v.at("score").as_double(), 95.5);
  CAF_CHECK_EQUAL(v.at("status").as_string(), "active");
  CAF_CHECK_EQUAL(v.at("verified").as_bool(), true);
  auto empty = apply_schema_defaults(schema, "");
  CAF_REQUIRE(empty);
  CAF_CHECK(!parsed(*empty).as_object().contains("note"));
  CAF_CHECK_EQUAL(parsed(*empty).as_object().size(), 5u);
}

CAF_TEST(an accepted form carries the defaults) {
  std::string params = std::string{R"({"message":"m","requestedSchema":)"}
                       + schema + "}";
  auto res = accept_with_defaults(params);
  CAF_REQUIRE(res);
  auto v = parsed(*res);
  CAF_CHECK_EQUAL(v.at("action").as_string(), "accept");
  CAF_CHECK_EQUAL(v.at("content").at("name").as_string(), "John Doe");
}

CAF_TEST(text that is no JSON object is invalid_argument) {
  auto bad = apply_schema_defaults("[1]", "{}");
  CAF_REQUIRE(!bad);
  mcp_errc code{};
  CAF_CHECK(get_mcp_errc(bad.error(), code)
            && code == mcp_errc::invalid_argument);
  CAF_CHECK(!apply_schema_defaults(schema, "nope"));
  CAF_CHECK(!accept_with_defaults("{"));
}
