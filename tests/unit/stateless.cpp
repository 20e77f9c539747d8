#define CAF_SUITE stateless
#include "caf/test/unit_test.hpp"

#include <boost/json.hpp>

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/stateless.hpp"
#include "caf_mcp/transport/stateless_http.hpp"

#include <string>
#include <vector>

using namespace caf_mcp;
using namespace caf_mcp::stateless;
namespace json = boost::json;
namespace tr = caf_mcp::transport;

namespace {

mcp_errc code_of(const caf::error& err) {
  mcp_errc code{};
  CAF_REQUIRE(get_mcp_errc(err, code));
  return code;
}

json::object obj(const std::string& text) {
  auto v = json::parse(text);
  CAF_REQUIRE(v.is_object());
  return v.as_object();
}

request_meta test_meta() {
  request_meta m;
  m.client_info.name = "caf-mcp";
  m.client_info.version = "1.2.3";
  m.capabilities = R"({"elicitation":{"form":{}}})";
  return m;
}

std::string header_of(const tr::header_list& hs, std::string_view name) {
  for (auto& [k, v] : hs)
    if (k == name)
      return v;
  return "<absent>";
}

std::vector<header_mirror> mirrors_of(const std::string& schema) {
  auto m = mirrored_parameters(schema, tr::mirrored_header_name_error);
  CAF_REQUIRE(m);
  return std::move(*m);
}

std::string reject_reason(const std::string& schema) {
  auto m = mirrored_parameters(schema, tr::mirrored_header_name_error);
  CAF_REQUIRE(!m);
  CAF_CHECK_EQUAL(code_of(m.error()), mcp_errc::invalid_argument);
  return render(m.error());
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

struct fixture {
  std::vector<std::string> ours = our_modern_versions();
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(stateless_tests, fixture)

// -- request metadata ---------------------------------------------------------

CAF_TEST(the envelope carries version capabilities and client info) {
  auto meta = test_meta();
  meta.client_info.title = std::string{"CAF MCP"};
  auto p = with_request_meta(R"({"name":"t","_meta":{"progressToken":7}})",
                             meta);
  CAF_REQUIRE(p);
  auto o = obj(*p);
  CAF_CHECK_EQUAL(o.at("name").as_string(), "t");
  auto& m = o.at("_meta").as_object();
  CAF_CHECK_EQUAL(m.at("progressToken").as_int64(), 7);
  CAF_CHECK_EQUAL(m.at("io.modelcontextprotocol/protocolVersion").as_string(),
                  "2026-07-28");
  CAF_CHECK(m.at("io.modelcontextprotocol/clientCapabilities")
            == obj(R"({"elicitation":{"form":{}}})"));
  CAF_CHECK(m.at("io.modelcontextprotocol/clientInfo")
            == obj(R"({"name":"caf-mcp","version":"1.2.3","title":"CAF MCP"})"));
}

CAF_TEST(empty params and empty capabilities give an object each) {
  auto meta = test_meta();
  meta.capabilities.clear();
  auto p = with_request_meta("", meta);
  CAF_REQUIRE(p);
  auto o = obj(*p);
  auto& m = o.at("_meta").as_object();
  CAF_CHECK(m.at("io.modelcontextprotocol/clientCapabilities").is_object());
  CAF_CHECK(m.at("io.modelcontextprotocol/clientCapabilities")
              .as_object().empty());
  CAF_CHECK(!m.at("io.modelcontextprotocol/clientInfo").as_object()
               .contains("title"));
}

CAF_TEST(an old envelope is replaced) {
  auto meta = test_meta();
  auto p = with_request_meta(
    R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01"}})",
    meta);
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(obj(*p).at("_meta").as_object()
                    .at("io.modelcontextprotocol/protocolVersion").as_string(),
                  "2026-07-28");
}

CAF_TEST(bad envelope input is refused with invalid_argument) {
  auto meta = test_meta();
  for (auto bad : {"[1]", "not json", R"({"_meta":3})"}) {
    auto p = with_request_meta(bad, meta);
    CAF_REQUIRE(!p);
    CAF_CHECK_EQUAL(code_of(p.error()), mcp_errc::invalid_argument);
  }
  auto caps = meta;
  caps.capabilities = "[]";
  CAF_CHECK(!with_request_meta("{}", caps));
  auto nameless = meta;
  nameless.client_info.name.clear();
  CAF_CHECK(!with_request_meta("{}", nameless));
  auto versionless = meta;
  versionless.protocol_version.clear();
  CAF_CHECK(!with_request_meta("{}", versionless));
}

CAF_TEST(a whole request gets the envelope in its params) {
  auto meta = test_meta();
  auto r = with_request_meta_in_request(
    R"({"jsonrpc":"2.0","id":4,"method":"tools/list"})", meta);
  CAF_REQUIRE(r);
  auto o = obj(*r);
  CAF_CHECK_EQUAL(o.at("id").as_int64(), 4);
  CAF_CHECK(o.at("params").as_object().at("_meta").as_object().contains(
    "io.modelcontextprotocol/clientInfo"));
  CAF_CHECK(!with_request_meta_in_request(R"({"id":1})", meta));
  CAF_CHECK(!with_request_meta_in_request("", meta));
  CAF_CHECK(!with_request_meta_in_request(
    R"({"method":"x","params":[1]})", meta));
}

// -- standard headers ---------------------------------------------------------

CAF_TEST(routing takes name for tools and prompts and uri for resources) {
  auto r = routing_of("tools/call", R"({"name":"my-hyphenated-tool"})");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->method, "tools/call");
  CAF_REQUIRE(r->name);
  CAF_CHECK_EQUAL(*r->name, "my-hyphenated-tool");
  r = routing_of("prompts/get", R"({"name":"test_prompt"})");
  CAF_REQUIRE(r && r->name);
  CAF_CHECK_EQUAL(*r->name, "test_prompt");
  r = routing_of("resources/read",
                 R"({"uri":"file:///path/to/file%20name.txt"})");
  CAF_REQUIRE(r && r->name);
  CAF_CHECK_EQUAL(*r->name, "file:///path/to/file%20name.txt");
  r = routing_of("tools/list", "");
  CAF_REQUIRE(r);
  CAF_CHECK(!r->name);
}

CAF_TEST(routing without the name a method needs is refused) {
  CAF_CHECK(!routing_of("tools/call", "{}"));
  CAF_CHECK(!routing_of("resources/read", R"({"name":"x"})"));
  CAF_CHECK(!routing_of("prompts/get", R"({"name":5})"));
  CAF_CHECK(!routing_of("", "{}"));
  auto r = routing_of("tools/list", "[]");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(code_of(r.error()), mcp_errc::invalid_argument);
}

CAF_TEST(standard headers keep the uri exactly and encode unsafe names) {
  auto hs = tr::stateless_request_headers(
    "2026-07-28", "resources/read",
    std::string{"file:///path/to/file%20name.txt"});
  CAF_REQUIRE_EQUAL(hs.size(), 3u);
  CAF_CHECK_EQUAL(hs[0].first, "MCP-Protocol-Version");
  CAF_CHECK_EQUAL(hs[0].second, "2026-07-28");
  CAF_CHECK_EQUAL(hs[1].first, "Mcp-Method");
  CAF_CHECK_EQUAL(hs[1].second, "resources/read");
  CAF_CHECK_EQUAL(hs[2].first, "Mcp-Name");
  CAF_CHECK_EQUAL(hs[2].second, "file:///path/to/file%20name.txt");
  hs = tr::stateless_request_headers("2026-07-28", "tools/list",
                                     std::nullopt);
  CAF_CHECK_EQUAL(hs.size(), 2u);
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Name"), "<absent>");
  hs = tr::stateless_request_headers("2026-07-28", "tools/call",
                                     std::string{"Hello, 世界"});
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Name"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
}

// -- value encoding -----------------------------------------------------------

CAF_TEST(header values follow the examples of the spec) {
  CAF_CHECK_EQUAL(tr::encode_header_value("us-west1"), "us-west1");
  CAF_CHECK_EQUAL(tr::encode_header_value("us west 1"), "us west 1");
  CAF_CHECK_EQUAL(tr::encode_header_value(""), "");
  CAF_CHECK_EQUAL(tr::encode_header_value("Hello, 世界"),
                  "=?base64?SGVsbG8sIOS4lueVjA==?=");
  CAF_CHECK_EQUAL(tr::encode_header_value(" padded "),
                  "=?base64?IHBhZGRlZCA=?=");
  CAF_CHECK_EQUAL(tr::encode_header_value(" us-west1"),
                  "=?base64?IHVzLXdlc3Qx?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("us-west1 "),
                  "=?base64?dXMtd2VzdDEg?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("line1\nline2"),
                  "=?base64?bGluZTEKbGluZTI=?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("line1\r\nline2"),
                  "=?base64?bGluZTENCmxpbmUy?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("\tindented"),
                  "=?base64?CWluZGVudGVk?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("=?base64?literal?="),
                  "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
  CAF_CHECK_EQUAL(tr::encode_header_value("a\tb"), "=?base64?YQli?=");
  CAF_CHECK_EQUAL(tr::encode_header_value(std::string_view{"a\0b", 3}),
                  "=?base64?YQBi?=");
}

CAF_TEST(encoded values decode to the original) {
  for (std::string x : {"", "plain", " padded ", "Hello, 世界", "line1\r\n",
                        "=?base64?literal?=", "ab", "abc", "abcd"}) {
    auto d = tr::decode_header_value(tr::encode_header_value(x));
    CAF_REQUIRE(d);
    CAF_CHECK_EQUAL(*d, x);
  }
  CAF_CHECK(!tr::decode_header_value("=?base64?abc?="));
  CAF_CHECK(!tr::decode_header_value("=?base64?a$==?="));
  CAF_CHECK(!tr::decode_header_value("=?base64?a=bc?="));
}

// -- x-mcp-header -------------------------------------------------------------

CAF_TEST(mirrored parameters are found on properties chains) {
  auto ms = mirrors_of(R"({"type":"object","properties":{
    "region":{"type":"string","x-mcp-header":"Region"},
    "query":{"type":"string"},
    "opts":{"type":"object","properties":{
      "verbose":{"type":"boolean","x-mcp-header":"Verbose"}}},
    "priority":{"type":"integer","x-mcp-header":"Priority"}}})");
  CAF_REQUIRE_EQUAL(ms.size(), 3u);
  CAF_CHECK_EQUAL(ms[0].header, "Region");
  CAF_CHECK_EQUAL(ms[0].type, "string");
  CAF_CHECK_EQUAL(ms[1].header, "Verbose");
  CAF_CHECK(ms[1].path == (std::vector<std::string>{"opts", "verbose"}));
  CAF_CHECK_EQUAL(ms[2].header, "Priority");
  CAF_CHECK(mirrors_of(R"({"type":"object"})").empty());
  CAF_CHECK(mirrors_of("").empty());
  // A property *named* x-mcp-header and data keywords are no annotations.
  CAF_CHECK(mirrors_of(R"({"properties":{"x-mcp-header":{"type":"string",
    "default":{"x-mcp-header":"No"}}},"examples":[{"x-mcp-header":"No"}]})")
              .empty());
}

CAF_TEST(invalid annotations are refused with the reason) {
  auto prop = [](std::string type, std::string header) {
    return R"({"type":"object","properties":{"p":{"type":)" + type
           + R"(,"x-mcp-header":)" + header + "}}}";
  };
  CAF_CHECK(contains(reject_reason(prop("\"string\"", "\"\"")), "empty"));
  for (auto t : {"\"object\"", "\"array\"", "\"null\"", "\"number\"",
                 "[\"string\",\"null\"]"})
    CAF_CHECK(contains(reject_reason(prop(t, "\"X\"")),
                       "not string, integer or boolean"));
  for (auto n : {"\"My Region\"", "\"Region:Primary\"", "\"Région\"",
                 "\"Region\\t1\"", "\"A\\r\\nB\""})
    CAF_CHECK(contains(reject_reason(prop("\"string\"", n)), "HTTP token"));
  CAF_CHECK(contains(reject_reason(prop("\"string\"", "7")), "not a string"));
  CAF_CHECK(contains(reject_reason(R"({"properties":{
    "field1":{"type":"string","x-mcp-header":"Region"},
    "field2":{"type":"string","x-mcp-header":"Region"}}})"), "repeats"));
  CAF_CHECK(contains(reject_reason(R"({"properties":{
    "a":{"type":"string","x-mcp-header":"MyField"},
    "b":{"type":"string","x-mcp-header":"myfield"}}})"), "repeats"));
  for (auto unreachable : {
         R"({"properties":{"l":{"type":"array","items":{"type":"string","x-mcp-header":"I"}}}})",
         R"({"allOf":[{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}]})",
         R"({"if":{"properties":{"a":{"type":"string","x-mcp-header":"A"}}}})",
         R"({"$defs":{"d":{"type":"string","x-mcp-header":"D"}},"properties":{"a":{"$ref":"#/$defs/d"}}})",
         R"({"type":"string","x-mcp-header":"Root"})"})
    CAF_CHECK(contains(reject_reason(unreachable), "statically reachable"));
  auto r = mirrored_parameters("[1]", tr::mirrored_header_name_error);
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(code_of(r.error()), mcp_errc::invalid_argument);
  CAF_CHECK(!mirrored_parameters("{}", nullptr));
}

CAF_TEST(invalid tools are dropped from a tool list with one reason each) {
  // The tools of the conformance scenario http-invalid-tool-headers.
  auto t = [](std::string name, std::string props) {
    tool x;
    x.name = std::move(name);
    x.input_schema = R"({"type":"object","properties":)" + props + "}";
    return x;
  };
  std::vector<tool> tools{
    t("valid_tool", R"({"region":{"type":"string","x-mcp-header":"Region"}})"),
    t("invalid_empty_header", R"({"value":{"type":"string","x-mcp-header":""}})"),
    t("invalid_object_header", R"({"data":{"type":"object","x-mcp-header":"Data"}})"),
    t("invalid_array_header", R"({"items":{"type":"array","x-mcp-header":"Items"}})"),
    t("invalid_null_header", R"({"nil":{"type":"null","x-mcp-header":"Nil"}})"),
    t("invalid_number_header", R"({"score":{"type":"number","x-mcp-header":"Score"}})"),
    t("invalid_duplicate_same_case", R"({"field1":{"type":"string","x-mcp-header":"Region"},"field2":{"type":"string","x-mcp-header":"Region"}})"),
    t("invalid_duplicate_diff_case", R"({"a":{"type":"string","x-mcp-header":"MyField"},"b":{"type":"string","x-mcp-header":"myfield"}})"),
    t("invalid_space_in_name", R"({"r":{"type":"string","x-mcp-header":"My Region"}})"),
    t("invalid_colon_in_name", R"({"r":{"type":"string","x-mcp-header":"Region:Primary"}})"),
    t("invalid_non_ascii_name", R"({"r":{"type":"string","x-mcp-header":"Région"}})"),
    t("invalid_control_char_name", R"({"r":{"type":"string","x-mcp-header":"Region\t1"}})"),
    t("plain_tool", R"({"q":{"type":"string"}})"),
  };
  auto rejected = drop_invalid_tools(tools, tr::mirrored_header_name_error);
  CAF_REQUIRE_EQUAL(tools.size(), 2u);
  CAF_CHECK_EQUAL(tools[0].name, "valid_tool");
  CAF_CHECK_EQUAL(tools[1].name, "plain_tool");
  CAF_REQUIRE_EQUAL(rejected.size(), 11u);
  CAF_CHECK_EQUAL(rejected[0].name, "invalid_empty_header");
  CAF_CHECK_EQUAL(rejected[10].name, "invalid_control_char_name");
  for (auto& r : rejected)
    CAF_CHECK(contains(r.reason, "x-mcp-header"));
  tools.push_back(tool{"bad_schema", {}, {}, "not json", {}, {}, {}});
  rejected = drop_invalid_tools(tools, tr::mirrored_header_name_error);
  CAF_REQUIRE_EQUAL(rejected.size(), 1u);
  CAF_CHECK_EQUAL(rejected[0].name, "bad_schema");
}

CAF_TEST(mirrored values follow the http custom headers scenario) {
  auto ms = mirrors_of(R"({"type":"object","properties":{
    "region":{"type":"string","x-mcp-header":"Region"},
    "priority":{"type":"integer","x-mcp-header":"Priority"},
    "verbose":{"type":"boolean","x-mcp-header":"Verbose"},
    "debug":{"type":"boolean","x-mcp-header":"Debug"},
    "empty_val":{"type":"string","x-mcp-header":"EmptyVal"},
    "method_val":{"type":"string","x-mcp-header":"Method"},
    "non_ascii_val":{"type":"string","x-mcp-header":"NonAscii"},
    "whitespace_val":{"type":"string","x-mcp-header":"Whitespace"},
    "internal_space_val":{"type":"string","x-mcp-header":"InternalSpace"},
    "crlf_val":{"type":"string","x-mcp-header":"CrLf"},
    "tab_val":{"type":"string","x-mcp-header":"Tab"},
    "float_val":{"type":"number"},
    "query":{"type":"string"}}})");
  auto vs = mirrored_values(ms, R"({"region":"us-west1","priority":42,
    "verbose":false,"debug":true,"empty_val":"","method_val":"test-method",
    "float_val":3.14159,"non_ascii_val":"Hello, 世界",
    "whitespace_val":" padded ","internal_space_val":"us west 1",
    "crlf_val":"line1\r\nline2","tab_val":"\tindented",
    "query":"SELECT * FROM users"})");
  CAF_REQUIRE(vs);
  auto hs = tr::stateless_request_headers(
    "2026-07-28", "tools/call", std::string{"test_custom_headers"}, *vs);
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Method"), "tools/call");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Name"), "test_custom_headers");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Region"), "us-west1");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Priority"), "42");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Verbose"), "false");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Debug"), "true");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-EmptyVal"), "");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Method"), "test-method");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-NonAscii"),
                  "=?base64?SGVsbG8sIOS4lueVjA==?=");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Whitespace"),
                  "=?base64?IHBhZGRlZCA=?=");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-InternalSpace"), "us west 1");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-CrLf"),
                  "=?base64?bGluZTENCmxpbmUy?=");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Tab"), "=?base64?CWluZGVudGVk?=");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-FloatVal"), "<absent>");
  CAF_CHECK_EQUAL(header_of(hs, "Mcp-Param-Query"), "<absent>");
  CAF_CHECK_EQUAL(hs.size(), 3u + 11u);
}

CAF_TEST(null and absent values are omitted and nested paths are read) {
  auto ms = mirrors_of(R"({"properties":{
    "region":{"type":"string","x-mcp-header":"Region"},
    "verbose":{"type":"boolean","x-mcp-header":"Verbose"},
    "o":{"type":"object","properties":{"n":{"type":"integer","x-mcp-header":"N"}}}}})");
  auto vs = mirrored_values(ms, R"({"region":"us-east1","verbose":null})");
  CAF_REQUIRE(vs);
  CAF_REQUIRE_EQUAL(vs->size(), 1u);
  CAF_CHECK_EQUAL((*vs)[0].first, "Region");
  vs = mirrored_values(ms, R"({"o":{"n":-7}})");
  CAF_REQUIRE(vs && vs->size() == 1u);
  CAF_CHECK_EQUAL((*vs)[0].second, "-7");
  vs = mirrored_values(ms, R"({"o":5})");
  CAF_REQUIRE(vs);
  CAF_CHECK(vs->empty());
  vs = mirrored_values(ms, R"({"o":{"n":42.0}})");
  CAF_REQUIRE(vs && vs->size() == 1u);
  CAF_CHECK_EQUAL((*vs)[0].second, "42");
  vs = mirrored_values(ms, "");
  CAF_REQUIRE(vs);
  CAF_CHECK(vs->empty());
}

CAF_TEST(values that cannot be mirrored are refused) {
  auto ms = mirrors_of(R"({"properties":{
    "n":{"type":"integer","x-mcp-header":"N"}}})");
  for (auto bad : {R"({"n":3.5})", R"({"n":{"a":1}})", R"({"n":[1]})",
                   R"({"n":9007199254740992})", R"({"n":-9007199254740992})",
                   R"({"n":18446744073709551615})", R"({"n":1e300})", "[]",
                   "nope"}) {
    auto vs = mirrored_values(ms, bad);
    CAF_CHECK(!vs);
    if (!vs)
      CAF_CHECK_EQUAL(code_of(vs.error()), mcp_errc::invalid_argument);
  }
  auto vs = mirrored_values(ms, R"({"n":9007199254740991})");
  CAF_REQUIRE(vs && vs->size() == 1u);
  CAF_CHECK_EQUAL((*vs)[0].second, "9007199254740991");
}

// -- discovery ----------------------------------------------------------------

CAF_TEST(the discover request has only the envelope as params) {
  auto r = discover_request(1, test_meta());
  CAF_REQUIRE(r);
  auto o = obj(*r);
  CAF_CHECK_EQUAL(o.at("jsonrpc").as_string(), "2.0");
  CAF_CHECK_EQUAL(o.at("id").as_int64(), 1);
  CAF_CHECK_EQUAL(o.at("method").as_string(), "server/discover");
  auto& params = o.at("params").as_object();
  CAF_CHECK_EQUAL(params.size(), 1u);
  CAF_CHECK_EQUAL(params.at("_meta").as_object().size(), 3u);
  auto bad = test_meta();
  bad.capabilities = "7";
  CAF_CHECK(!discover_request(1, bad));
}

CAF_TEST(a discover result is parsed with server info and cache hints) {
  auto d = parse_discover_result(R"({"resultType":"complete",
    "supportedVersions":["2026-07-28","2027-01-01"],
    "capabilities":{"tools":{"listChanged":true},"resources":{}},
    "_meta":{"io.modelcontextprotocol/serverInfo":{"name":"conformance-mock-server","version":"1.0.0"}},
    "instructions":"be nice","ttlMs":3600000,"cacheScope":"public"})");
  CAF_REQUIRE(d);
  CAF_CHECK_EQUAL(d->supported_versions.size(), 2u);
  CAF_CHECK(d->capabilities.tools);
  CAF_CHECK(d->capabilities.tools_list_changed);
  CAF_CHECK(d->capabilities.resources);
  CAF_CHECK(!d->capabilities.prompts);
  CAF_CHECK_EQUAL(d->server_info.name, "conformance-mock-server");
  CAF_REQUIRE(d->instructions);
  CAF_CHECK_EQUAL(*d->instructions, "be nice");
  CAF_CHECK_EQUAL(d->cache.ttl_ms, 3600000u);
  CAF_CHECK(d->cache.scope == cache_scope::public_scope);
  // The MRTR mock sends serverInfo at the top level.
  d = parse_discover_result(R"({"supportedVersions":["2026-07-28"],
    "capabilities":{"tools":{}},"serverInfo":{"name":"mrtr-mock-server","version":"1.0.0"}})");
  CAF_REQUIRE(d);
  CAF_CHECK_EQUAL(d->server_info.name, "mrtr-mock-server");
  CAF_CHECK_EQUAL(d->cache.ttl_ms, 0u);
}

CAF_TEST(an empty discover answer is not taken for a modern server) {
  for (auto x : {"{}", R"({"supportedVersions":[]})",
                 R"({"supportedVersions":"2026-07-28"})",
                 R"({"supportedVersions":[2026]})", "[]", "", "nope"}) {
    auto d = parse_discover_result(x);
    CAF_CHECK(!d);
    if (!d)
      CAF_CHECK_EQUAL(code_of(d.error()), mcp_errc::invalid_result);
  }
  CAF_CHECK(!parse_discover_result(
    R"({"supportedVersions":["2026-07-28"],"capabilities":[]})"));
}

CAF_TEST(the version is the first of ours the server supports) {
  auto v = choose_version({"2025-11-25", "2026-07-28"}, ours);
  CAF_REQUIRE(v);
  CAF_CHECK_EQUAL(*v, "2026-07-28");
  CAF_CHECK(!choose_version({"2025-11-25"}, ours));
  CAF_CHECK(!choose_version({}, ours));
  CAF_CHECK(is_modern_protocol_version("2026-07-28"));
  CAF_CHECK(!is_modern_protocol_version("2025-11-25"));
}

// -- era detection and version negotiation ------------------------------------

CAF_TEST(an unsupported version error asks for a retry even with the same) {
  auto r = classify_modern_answer(400, R"({"jsonrpc":"2.0","id":1,"error":{
    "code":-32022,"message":"Unsupported protocol version",
    "data":{"supported":["2026-07-28"],"requested":"2026-07-28"}}})", ours);
  CAF_CHECK(r.verdict == modern_verdict::retry_with_version);
  CAF_CHECK_EQUAL(r.version, "2026-07-28");
  CAF_CHECK_EQUAL(r.code, -32022);
  r = classify_modern_answer(400, R"({"error":{"code":-32022,"message":"x",
    "data":{"supported":["1900-01-01"]}}})", ours);
  CAF_CHECK(r.verdict == modern_verdict::no_common_version);
  CAF_CHECK_EQUAL(r.supported.size(), 1u);
  r = classify_modern_answer(400, R"({"error":{"code":-32022,"message":"x"}})",
                             ours);
  CAF_CHECK(r.verdict == modern_verdict::no_common_version);
  auto v = retry_version(-32022, R"({"supported":["2026-07-28"]})", ours);
  CAF_REQUIRE(v);
  CAF_CHECK_EQUAL(*v, "2026-07-28");
  CAF_CHECK(!retry_version(-32000, R"({"supported":["2026-07-28"]})", ours));
  CAF_CHECK(!retry_version(-32022, "", ours));
  CAF_CHECK(!retry_version(-32022, "{not json", ours));
  CAF_CHECK(!retry_version(-32022, R"({"supported":"2026-07-28"})", ours));
}

CAF_TEST(modern errors are recognized and anything else is legacy) {
  CAF_CHECK(classify_modern_answer(400, R"({"error":{"code":-32020,
    "message":"Missing MCP-Protocol-Version header"}})", ours).verdict
            == modern_verdict::header_mismatch);
  CAF_CHECK(classify_modern_answer(400, R"({"error":{"code":-32021,
    "message":"m"}})", ours).verdict == modern_verdict::missing_capability);
  CAF_CHECK(classify_modern_answer(404, R"({"error":{"code":-32601,
    "message":"Method not found"}})", ours).verdict
            == modern_verdict::method_not_found);
  // SDK 1.x stateful servers: a legacy -32000 for an unknown header version.
  auto r = classify_modern_answer(400, R"({"jsonrpc":"2.0","id":null,
    "error":{"code":-32000,"message":"Bad Request: Unsupported protocol version: 2026-07-28"}})",
                                  ours);
  CAF_CHECK(r.verdict == modern_verdict::legacy);
  CAF_CHECK_EQUAL(r.code, -32000);
  for (auto body : {"", "<html>Cannot POST</html>", "{}", "[]",
                    R"({"error":"x"})", R"({"error":{"code":"a"}})"})
    for (int status : {400, 404, 405})
      CAF_CHECK(classify_modern_answer(status, body, ours).verdict
                == modern_verdict::legacy);
  // A -32601 with 400 or a -32022 with 404 is not what the spec names.
  CAF_CHECK(classify_modern_answer(400, R"({"error":{"code":-32601}})", ours)
              .verdict == modern_verdict::legacy);
  CAF_CHECK(classify_modern_answer(404, R"({"error":{"code":-32022}})", ours)
              .verdict == modern_verdict::legacy);
  for (int status : {200, 401, 403, 429, 500, 503})
    CAF_CHECK(classify_modern_answer(status, "", ours).verdict
              == modern_verdict::other);
}

// -- results ------------------------------------------------------------------

CAF_TEST(result types default to complete and unknown ones are invalid) {
  CAF_CHECK(result_type_of(R"({"content":[]})") == result_type::complete);
  CAF_CHECK(result_type_of(R"({"resultType":"complete"})")
            == result_type::complete);
  CAF_CHECK(result_type_of(R"({"resultType":"input_required"})")
            == result_type::input_required);
  for (auto bad : {R"({"resultType":"task"})", R"({"resultType":1})", "[]",
                   "", "nope"}) {
    auto r = result_type_of(bad);
    CAF_CHECK(!r);
    if (!r)
      CAF_CHECK_EQUAL(code_of(r.error()), mcp_errc::invalid_result);
  }
}

CAF_TEST(an input required result is parsed in order with its state) {
  auto r = parse_input_required(R"({"resultType":"input_required",
    "inputRequests":{
      "confirm":{"method":"elicitation/create","params":{"message":"Please confirm"}},
      "roots":{"method":"roots/list"},
      "llm":{"method":"sampling/createMessage","params":{"messages":[]}}},
    "requestState":"{\"nonce\":\"n\",\"originalId\":3}"})");
  CAF_REQUIRE(r);
  CAF_REQUIRE_EQUAL(r->requests.size(), 3u);
  CAF_CHECK_EQUAL(r->requests[0].key, "confirm");
  CAF_CHECK_EQUAL(r->requests[0].method, "elicitation/create");
  CAF_CHECK(obj(r->requests[0].params) == obj(R"({"message":"Please confirm"})"));
  CAF_CHECK_EQUAL(r->requests[1].params, "{}");
  CAF_CHECK_EQUAL(r->requests[2].method, "sampling/createMessage");
  CAF_REQUIRE(r->request_state);
  CAF_CHECK_EQUAL(*r->request_state, R"({"nonce":"n","originalId":3})");
  r = parse_input_required(R"({"resultType":"input_required","inputRequests":{
    "c":{"method":"elicitation/create","params":{}}}})");
  CAF_REQUIRE(r);
  CAF_CHECK(!r->request_state);
  r = parse_input_required(R"({"requestState":"only state"})");
  CAF_REQUIRE(r);
  CAF_CHECK(r->requests.empty());
}

CAF_TEST(a malformed input required result is invalid) {
  for (auto bad : {R"({"resultType":"input_required"})",
                   R"({"inputRequests":[]})",
                   R"({"inputRequests":{"a":1}})",
                   R"({"inputRequests":{"a":{"params":{}}}})",
                   R"({"inputRequests":{"a":{"method":"tools/call"}}})",
                   R"({"inputRequests":{"a":{"method":"roots/list","params":[]}}})",
                   R"({"requestState":{"a":1}})", "[]", ""}) {
    auto r = parse_input_required(bad);
    CAF_CHECK(!r);
    if (!r)
      CAF_CHECK_EQUAL(code_of(r.error()), mcp_errc::invalid_result);
  }
}

CAF_TEST(the retry params echo the state exactly and answer every key) {
  std::string state = R"({"nonce":"é\u0001","originalId":3})";
  auto p = retry_params(
    R"({"name":"test_mrtr_echo_state","arguments":{"a":1},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}})",
    {{"confirm", R"({"action":"accept","content":{"confirmed":true}})"}},
    state);
  CAF_REQUIRE(p);
  auto o = obj(*p);
  CAF_CHECK_EQUAL(o.at("name").as_string(), "test_mrtr_echo_state");
  CAF_CHECK(o.at("arguments") == obj(R"({"a":1})"));
  CAF_CHECK(o.at("_meta").as_object().contains(
    "io.modelcontextprotocol/protocolVersion"));
  CAF_CHECK(o.at("inputResponses")
            == obj(R"({"confirm":{"action":"accept","content":{"confirmed":true}}})"));
  CAF_CHECK_EQUAL(std::string{o.at("requestState").as_string()}, state);
  // A second round replaces the first round's fields; no state: none sent.
  p = retry_params(*p, {{"again", "{}"}}, caf::none);
  CAF_REQUIRE(p);
  o = obj(*p);
  CAF_CHECK(!o.contains("requestState"));
  CAF_CHECK(o.at("inputResponses") == obj(R"({"again":{}})"));
  p = retry_params(*p, {}, std::string{"s"});
  CAF_REQUIRE(p);
  o = obj(*p);
  CAF_CHECK(!o.contains("inputResponses"));
  CAF_CHECK_EQUAL(o.at("requestState").as_string(), "s");
}

CAF_TEST(bad retry input is refused) {
  CAF_CHECK(!retry_params("[]", {}, caf::none));
  CAF_CHECK(!retry_params("{}", {{"a", "[]"}}, caf::none));
  CAF_CHECK(!retry_params("{}", {{"a", "nope"}}, caf::none));
  auto p = retry_params("{}", {{"a", "{}"}, {"a", "{}"}}, caf::none);
  CAF_REQUIRE(!p);
  CAF_CHECK_EQUAL(code_of(p.error()), mcp_errc::invalid_argument);
}

CAF_TEST(answers all tells the first missing key) {
  input_required_result req;
  req.requests.push_back({"a", "roots/list", "{}"});
  req.requests.push_back({"b", "roots/list", "{}"});
  std::string missing;
  CAF_CHECK(answers_all(req, {{"b", "{}"}, {"a", "{}"}, {"x", "{}"}}, missing));
  CAF_CHECK(!answers_all(req, {{"a", "{}"}}, missing));
  CAF_CHECK_EQUAL(missing, "b");
}

// -- caching hints ------------------------------------------------------------

CAF_TEST(caching hints default to stale and ignore nonsense) {
  auto h = cache_hints_of(R"({"ttlMs":300000,"cacheScope":"private"})");
  CAF_CHECK_EQUAL(h.ttl_ms, 300000u);
  CAF_CHECK(h.scope == cache_scope::private_scope);
  for (auto x : {R"({"ttlMs":-5})", R"({"ttlMs":"100"})", R"({"ttlMs":1.5})",
                 R"({})", "[]", "", "nope"}) {
    h = cache_hints_of(x);
    CAF_CHECK_EQUAL(h.ttl_ms, 0u);
    CAF_CHECK(h.scope == cache_scope::unspecified);
  }
  CAF_CHECK(cache_hints_of(R"({"cacheScope":"shared"})").scope
            == cache_scope::unspecified);
  CAF_CHECK(is_cacheable_method("tools/list"));
  CAF_CHECK(is_cacheable_method("server/discover"));
  CAF_CHECK(is_cacheable_method("resources/read"));
  CAF_CHECK(!is_cacheable_method("tools/call"));
  CAF_CHECK_EQUAL(std::string{to_string(cache_scope::public_scope)}, "public");
}

CAF_TEST_FIXTURE_SCOPE_END()
