#define CAF_SUITE mcp_types
#include "caf/test/unit_test.hpp"

#include "caf_mcp/messages/mcp.hpp"

#include <string>
#include <vector>

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"
#include "caf/deep_to_string.hpp"

#include "caf_mcp/messages/error.hpp"

using namespace caf_mcp;

namespace json = boost::json;

namespace {

json::value parse(std::string_view text) {
  json::error_code ec;
  auto result = parse_json(text, ec);
  if (ec)
    CAF_FAIL("test JSON does not parse: " << text);
  return result;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// Decodes one JSON-RPC message of type T.
template <class T>
T decode_one(std::string_view text) {
  auto res = decode(text);
  if (!res.errors.empty())
    CAF_FAIL("unexpected decode error: " << res.errors.front().message);
  CAF_REQUIRE_EQUAL(res.messages.size(), 1u);
  auto ptr = std::get_if<T>(&res.messages.front());
  CAF_REQUIRE(ptr != nullptr);
  return std::move(*ptr);
}

/// Reads T from a JSON value, failing the test on error.
template <class T>
T read_as(const json::value& jv) {
  T result;
  if (auto err = from_json(jv, result))
    CAF_FAIL("from_json failed: " << render(err));
  return result;
}

/// Reads T from JSON text and returns the error (which must exist).
template <class T>
caf::error read_error(std::string_view text) {
  T result;
  auto err = from_json_text(text, result);
  CAF_REQUIRE(err);
  CAF_MESSAGE("error: " << render(err));
  return err;
}

/// Writes `x`, reads it back, compares; checks that no `null` was written
/// and that the Boost.JSON conversions agree with the text writer.
template <class T>
void check_round_trip(const T& x) {
  auto text = to_json_text(x);
  CAF_MESSAGE("JSON: " << text);
  CAF_CHECK(!contains(text, "null"));
  T y;
  auto err = from_json_text(text, y);
  CAF_REQUIRE(!err);
  CAF_CHECK(x == y);
  CAF_CHECK_EQUAL(to_json_text(y), text);
  auto jv = json::value_from(x);
  CAF_CHECK(jv == parse(text));
  auto z = json::try_value_to<T>(jv);
  CAF_REQUIRE(z.has_value());
  CAF_CHECK(*z == x);
}

/// Serializes `x` with CAF's binary serializer and reads it back.
template <class T>
void check_caf_round_trip(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  CAF_REQUIRE(!sink(x));
  T y;
  caf::binary_deserializer source{nullptr, buf};
  CAF_REQUIRE(!source(y));
  CAF_CHECK(x == y);
}

mcp_errc code_of(const caf::error& err) {
  mcp_errc code = mcp_errc::closed;
  if (!get_mcp_errc(err, code))
    CAF_FAIL("not an mcp error: " << render(err));
  return code;
}

} // namespace

// -- protocol revisions and constants -----------------------------------------

CAF_TEST(the four protocol revisions are supported) {
  CAF_CHECK(is_supported_protocol_version("2024-11-05"));
  CAF_CHECK(is_supported_protocol_version("2025-03-26"));
  CAF_CHECK(is_supported_protocol_version("2025-06-18"));
  CAF_CHECK(is_supported_protocol_version("2025-11-25"));
  CAF_CHECK(!is_supported_protocol_version("2024-10-07"));
  CAF_CHECK(!is_supported_protocol_version(""));
  CAF_CHECK(!is_supported_protocol_version("2025-11-25 "));
  CAF_CHECK_EQUAL(latest_protocol_version, "2025-11-25");
  CAF_CHECK_EQUAL(initialize_params{}.protocol_version, "2025-11-25");
}

CAF_TEST(method names match the specification) {
  CAF_CHECK_EQUAL(methods::initialize, "initialize");
  CAF_CHECK_EQUAL(methods::initialized, "notifications/initialized");
  CAF_CHECK_EQUAL(methods::tools_list, "tools/list");
  CAF_CHECK_EQUAL(methods::tools_call, "tools/call");
  CAF_CHECK_EQUAL(methods::ping, "ping");
  CAF_CHECK_EQUAL(methods::progress, "notifications/progress");
  CAF_CHECK_EQUAL(methods::cancelled, "notifications/cancelled");
  CAF_CHECK_EQUAL(methods::message, "notifications/message");
  CAF_CHECK_EQUAL(methods::tools_list_changed,
                  "notifications/tools/list_changed");
  CAF_CHECK_EQUAL(methods::roots_list, "roots/list");
  CAF_CHECK_EQUAL(methods::sampling_create_message, "sampling/createMessage");
  CAF_CHECK_EQUAL(methods::elicitation_create, "elicitation/create");
  CAF_CHECK_EQUAL(methods::logging_set_level, "logging/setLevel");
}

CAF_TEST(log levels and content kinds have their protocol names) {
  const char* levels[] = {"debug", "info",     "notice", "warning",
                          "error", "critical", "alert",  "emergency"};
  for (auto name : levels) {
    log_level level;
    CAF_REQUIRE(from_string(name, level));
    CAF_CHECK_EQUAL(std::string{to_string(level)}, name);
  }
  log_level level;
  CAF_CHECK(!from_string("fatal", level));
  const char* kinds[] = {"text", "image", "audio", "resource",
                         "resource_link"};
  for (auto name : kinds) {
    content_kind kind;
    CAF_REQUIRE(from_string(name, kind));
    CAF_CHECK_EQUAL(std::string{to_string(kind)}, name);
  }
  content_kind kind;
  CAF_CHECK(!from_string("video", kind));
}

// -- lifecycle: spec samples --------------------------------------------------

CAF_TEST(the 2024-11-05 initialize exchange) {
  auto req = decode_one<request>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
      "protocolVersion": "2024-11-05",
      "capabilities": {
        "roots": {
          "listChanged": true
        },
        "sampling": {}
      },
      "clientInfo": {
        "name": "ExampleClient",
        "version": "1.0.0"
      }
    }
  })");
  CAF_CHECK_EQUAL(req.method, methods::initialize);
  CAF_REQUIRE(req.params);
  auto params = read_as<initialize_params>(*req.params);
  CAF_CHECK_EQUAL(params.protocol_version, "2024-11-05");
  CAF_CHECK(params.capabilities.roots);
  CAF_CHECK(params.capabilities.roots_list_changed);
  CAF_CHECK_EQUAL(params.capabilities.sampling, "{}");
  CAF_CHECK_EQUAL(params.capabilities.elicitation, "");
  CAF_CHECK_EQUAL(params.client_info.name, "ExampleClient");
  CAF_CHECK_EQUAL(params.client_info.version, "1.0.0");
  CAF_CHECK(!params.client_info.title);
  check_round_trip(params);
  auto res = decode_one<response>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "result": {
      "protocolVersion": "2024-11-05",
      "capabilities": {
        "logging": {},
        "prompts": {
          "listChanged": true
        },
        "resources": {
          "subscribe": true,
          "listChanged": true
        },
        "tools": {
          "listChanged": true
        }
      },
      "serverInfo": {
        "name": "ExampleServer",
        "version": "1.0.0"
      }
    }
  })");
  auto result = read_as<initialize_result>(res.result);
  CAF_CHECK_EQUAL(result.protocol_version, "2024-11-05");
  auto& caps = result.capabilities;
  CAF_CHECK(caps.logging);
  CAF_CHECK(!caps.completions);
  CAF_CHECK(caps.prompts && caps.prompts_list_changed);
  CAF_CHECK(caps.resources && caps.resources_subscribe
            && caps.resources_list_changed);
  CAF_CHECK(caps.tools && caps.tools_list_changed);
  CAF_CHECK_EQUAL(result.server_info.name, "ExampleServer");
  CAF_CHECK(!result.instructions);
  check_round_trip(result);
}

CAF_TEST(the 2025-06-18 initialize exchange) {
  auto req = decode_one<request>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
      "protocolVersion": "2025-06-18",
      "capabilities": {
        "roots": {
          "listChanged": true
        },
        "sampling": {},
        "elicitation": {}
      },
      "clientInfo": {
        "name": "ExampleClient",
        "title": "Example Client Display Name",
        "version": "1.0.0"
      }
    }
  })");
  auto params = read_as<initialize_params>(*req.params);
  CAF_CHECK_EQUAL(params.capabilities.elicitation, "{}");
  CAF_CHECK_EQUAL(params.client_info.title,
                  caf::optional<std::string>{"Example Client Display Name"});
  check_round_trip(params);
  auto res = decode_one<response>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "result": {
      "protocolVersion": "2025-06-18",
      "capabilities": {
        "logging": {},
        "prompts": {
          "listChanged": true
        },
        "resources": {
          "subscribe": true,
          "listChanged": true
        },
        "tools": {
          "listChanged": true
        }
      },
      "serverInfo": {
        "name": "ExampleServer",
        "title": "Example Server Display Name",
        "version": "1.0.0"
      },
      "instructions": "Optional instructions for the client"
    }
  })");
  auto result = read_as<initialize_result>(res.result);
  CAF_CHECK_EQUAL(result.server_info.title,
                  caf::optional<std::string>{"Example Server Display Name"});
  CAF_CHECK_EQUAL(result.instructions,
                  caf::optional<std::string>{
                    "Optional instructions for the client"});
  check_round_trip(result);
}

CAF_TEST(our initialize request encodes as the spec shows) {
  initialize_params params;
  params.protocol_version = std::string{protocol_version_2024_11_05};
  params.capabilities.roots = true;
  params.capabilities.roots_list_changed = true;
  params.client_info = implementation{"caf-mcp", "0.1.0", caf::none};
  std::string out;
  encode_request_into(out, request_id{0}, methods::initialize,
                      to_json_text(params));
  CAF_CHECK_EQUAL(
    out,
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"caf-mcp","version":"0.1.0"}}})");
  auto req = decode_one<request>(out);
  CAF_CHECK(read_as<initialize_params>(*req.params) == params);
}

CAF_TEST(capabilities without sub fields and unknown capabilities) {
  auto caps = read_as<server_capabilities>(parse(
    R"({"tools":{},"completions":{},"tasks":{"list":{}},"experimental":{"x":{"y":1}}})"));
  CAF_CHECK(caps.tools);
  CAF_CHECK(!caps.tools_list_changed);
  CAF_CHECK(caps.completions);
  CAF_CHECK(!caps.logging);
  CAF_CHECK(!caps.resources);
  CAF_CHECK_EQUAL(caps.experimental, R"({"x":{"y":1}})");
  check_round_trip(caps);
  auto empty = read_as<server_capabilities>(parse("{}"));
  CAF_CHECK(empty == server_capabilities{});
  CAF_CHECK_EQUAL(to_json_text(empty), "{}");
  CAF_CHECK_EQUAL(to_json_text(client_capabilities{}), "{}");
  auto err = read_error<server_capabilities>(R"({"tools":true})");
  CAF_CHECK_EQUAL(code_of(err), mcp_errc::invalid_result);
  CAF_CHECK(contains(render(err), "tools: expected an object"));
  err = read_error<server_capabilities>(R"({"tools":{"listChanged":1}})");
  CAF_CHECK(contains(render(err), "tools.listChanged: expected a boolean"));
}

// -- tools --------------------------------------------------------------------

CAF_TEST(tools list with cursor and next cursor) {
  auto req = decode_one<request>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/list",
    "params": {
      "cursor": "optional-cursor-value"
    }
  })");
  auto params = read_as<list_tools_params>(*req.params);
  CAF_CHECK_EQUAL(params.cursor,
                  caf::optional<std::string>{"optional-cursor-value"});
  check_round_trip(params);
  CAF_CHECK_EQUAL(to_json_text(list_tools_params{}), "{}");
  auto res = decode_one<response>(R"({
    "jsonrpc": "2.0",
    "id": 1,
    "result": {
      "tools": [
        {
          "name": "get_weather",
          "title": "Weather Information Provider",
          "description": "Get current weather information for a location",
          "inputSchema": {
            "type": "object",
            "properties": {
              "location": {
                "type": "string",
                "description": "City name or zip code"
              }
            },
            "required": ["location"]
          }
        }
      ],
      "nextCursor": "next-page-cursor"
    }
  })");
  auto result = read_as<list_tools_result>(res.result);
  CAF_REQUIRE_EQUAL(result.tools.size(), 1u);
  auto& t = result.tools[0];
  CAF_CHECK_EQUAL(t.name, "get_weather");
  CAF_CHECK_EQUAL(t.title,
                  caf::optional<std::string>{"Weather Information Provider"});
  CAF_CHECK_EQUAL(t.description,
                  caf::optional<std::string>{
                    "Get current weather information for a location"});
  CAF_CHECK_EQUAL(
    t.input_schema,
    R"({"type":"object","properties":{"location":{"type":"string","description":"City name or zip code"}},"required":["location"]})");
  CAF_CHECK(t.output_schema.empty());
  CAF_CHECK(t.annotations.empty());
  CAF_CHECK_EQUAL(result.next_cursor,
                  caf::optional<std::string>{"next-page-cursor"});
  check_round_trip(result);
  // The last page has no nextCursor (some servers send null).
  auto last = read_as<list_tools_result>(
    parse(R"({"tools":[],"nextCursor":null})"));
  CAF_CHECK(!last.next_cursor);
  CAF_CHECK_EQUAL(to_json_text(last), R"({"tools":[]})");
}

CAF_TEST(tools with output schema annotations meta and unknown fields) {
  auto t = read_as<tool>(parse(R"({
    "name": "get_weather_data",
    "title": "Weather Data Retriever",
    "description": "Get current weather data for a location",
    "inputSchema": {"type": "object", "properties": {"location": {"type": "string"}}},
    "outputSchema": {"type": "object", "properties": {"temperature": {"type": "number"}}, "required": ["temperature"]},
    "annotations": {"title": "Weather", "readOnlyHint": true, "openWorldHint": true},
    "_meta": {"vendor/x": 1},
    "icons": [{"src": "https://example.com/i.png"}],
    "execution": {"taskSupport": "optional"}
  })"));
  CAF_CHECK_EQUAL(
    t.output_schema,
    R"({"type":"object","properties":{"temperature":{"type":"number"}},"required":["temperature"]})");
  CAF_CHECK_EQUAL(t.annotations,
                  R"({"title":"Weather","readOnlyHint":true,"openWorldHint":true})");
  CAF_CHECK_EQUAL(t.meta, R"({"vendor/x":1})");
  check_round_trip(t);
  auto text = to_json_text(t);
  CAF_CHECK(!contains(text, "icons"));
}

CAF_TEST(a minimal tool writes no absent optionals) {
  tool t;
  t.name = "echo";
  t.input_schema = R"({"type":"object"})";
  CAF_CHECK_EQUAL(to_json_text(t),
                  R"({"name":"echo","inputSchema":{"type":"object"}})");
  check_round_trip(t);
  tool no_schema;
  no_schema.name = "x";
  CAF_CHECK_EQUAL(to_json_text(no_schema),
                  R"({"name":"x","inputSchema":{"type":"object"}})");
}

CAF_TEST(missing required tool fields are errors with a path) {
  auto err = read_error<list_tools_result>(
    R"({"tools":[{"name":"a","inputSchema":{}},{"name":"b"}]})");
  CAF_CHECK_EQUAL(code_of(err), mcp_errc::invalid_result);
  CAF_CHECK(contains(render(err), "tools[1].inputSchema: missing required field"));
  err = read_error<list_tools_result>(R"({"tools":[{"inputSchema":{}}]})");
  CAF_CHECK(contains(render(err), "tools[0].name: missing required field"));
  err = read_error<list_tools_result>(R"({"nextCursor":"x"})");
  CAF_CHECK(contains(render(err), "tools: missing required field"));
  err = read_error<list_tools_result>(R"({"tools":{}})");
  CAF_CHECK(contains(render(err), "tools: expected an array"));
  err = read_error<tool>(R"({"name":"a","inputSchema":"object"})");
  CAF_CHECK(contains(render(err), "inputSchema: expected an object"));
  err = read_error<tool>(R"({"name":7,"inputSchema":{}})");
  CAF_CHECK(contains(render(err), "name: expected a string"));
  err = read_error<tool>("[]");
  CAF_CHECK(contains(render(err), "expected an object"));
  err = read_error<tool>("{not json");
  CAF_CHECK_EQUAL(code_of(err), mcp_errc::malformed_json);
}

CAF_TEST(boost json conversions fail without throwing) {
  auto bad = json::try_value_to<tool>(parse(R"({"name":"x"})"));
  CAF_CHECK(bad.has_error());
  CAF_CHECK(bad.error() == json::error::not_found);
  auto wrong = json::try_value_to<tool>(parse(R"({"name":1,"inputSchema":{}})"));
  CAF_CHECK(wrong.error() == json::error::not_string);
  auto tools = json::try_value_to<std::vector<tool>>(
    parse(R"([{"name":"a","inputSchema":{}},{"name":"b","inputSchema":{}}])"));
  CAF_REQUIRE(tools.has_value());
  CAF_CHECK_EQUAL(tools->size(), 2u);
  CAF_CHECK_EQUAL(tools->at(1).name, "b");
  auto jv = json::value_from(std::vector<tool>{tools.value()});
  CAF_CHECK(jv.is_array());
}

CAF_TEST(tools call request from the spec) {
  auto req = decode_one<request>(R"({
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {
      "name": "get_weather",
      "arguments": {
        "location": "New York"
      }
    }
  })");
  auto params = read_as<call_tool_params>(*req.params);
  CAF_CHECK_EQUAL(params.name, "get_weather");
  CAF_CHECK_EQUAL(params.arguments, R"({"location":"New York"})");
  CAF_CHECK(!params.progress_token);
  CAF_CHECK(params.meta.empty());
  check_round_trip(params);
  call_tool_params no_args;
  no_args.name = "now";
  CAF_CHECK_EQUAL(to_json_text(no_args), R"({"name":"now"})");
  check_round_trip(no_args);
}

CAF_TEST(tools call params carry a progress token in meta) {
  call_tool_params params;
  params.name = "slow";
  params.arguments = R"({"n":3})";
  params.progress_token = progress_token{7};
  CAF_CHECK_EQUAL(to_json_text(params),
                  R"({"name":"slow","arguments":{"n":3},"_meta":{"progressToken":7}})");
  check_round_trip(params);
  auto read = read_as<call_tool_params>(parse(
    R"({"name":"s","_meta":{"vendor":"x","progressToken":"tok","more":[1]}})"));
  CAF_CHECK_EQUAL(read.progress_token, caf::optional<progress_token>{
                                         progress_token{"tok"}});
  CAF_CHECK_EQUAL(read.meta, R"({"vendor":"x","more":[1]})");
  CAF_CHECK_EQUAL(
    to_json_text(read),
    R"({"name":"s","_meta":{"progressToken":"tok","vendor":"x","more":[1]}})");
  check_round_trip(read);
  auto err = read_error<call_tool_params>(
    R"({"name":"s","_meta":{"progressToken":true}})");
  CAF_CHECK(contains(render(err), "_meta.progressToken"));
  err = read_error<call_tool_params>(R"({"name":"s","arguments":[1]})");
  CAF_CHECK(contains(render(err), "arguments: expected an object"));
}

CAF_TEST(tools call result with text content from the spec) {
  auto res = decode_one<response>(R"({
    "jsonrpc": "2.0",
    "id": 2,
    "result": {
      "content": [
        {
          "type": "text",
          "text": "Current weather in New York:\nTemperature: 72°F\nConditions: Partly cloudy"
        }
      ],
      "isError": false
    }
  })");
  auto result = read_as<call_tool_result>(res.result);
  CAF_REQUIRE_EQUAL(result.content.size(), 1u);
  CAF_CHECK_EQUAL(result.content[0].kind, content_kind::text);
  CAF_CHECK_EQUAL(result.content[0].text, "Current weather in New York:\n"
                                          "Temperature: 72\xc2\xb0"
                                          "F\nConditions: Partly cloudy");
  CAF_CHECK(!result.is_error);
  CAF_CHECK_EQUAL(joined_text(result), result.content[0].text);
  check_round_trip(result);
  // isError: false is the default and left out.
  CAF_CHECK(!contains(to_json_text(result), "isError"));
}

CAF_TEST(a tool error is a result with isError true) {
  auto res = decode_one<response>(R"({
    "jsonrpc": "2.0",
    "id": 4,
    "result": {
      "content": [
        {
          "type": "text",
          "text": "Failed to fetch weather data: API rate limit exceeded"
        }
      ],
      "isError": true
    }
  })");
  auto result = read_as<call_tool_result>(res.result);
  CAF_CHECK(result.is_error);
  CAF_CHECK_EQUAL(joined_text(result),
                  "Failed to fetch weather data: API rate limit exceeded");
  check_round_trip(result);
  CAF_CHECK(contains(to_json_text(result), R"("isError":true)"));
}

CAF_TEST(image and audio content) {
  auto result = read_as<call_tool_result>(parse(R"({
    "content": [
      {
        "type": "image",
        "data": "base64-encoded-data",
        "mimeType": "image/png",
        "annotations": {"audience": ["user"], "priority": 0.9}
      },
      {
        "type": "audio",
        "data": "base64-encoded-audio-data",
        "mimeType": "audio/wav"
      },
      {"type": "text", "text": "caption"}
    ]
  })"));
  CAF_REQUIRE_EQUAL(result.content.size(), 3u);
  auto& img = result.content[0];
  CAF_CHECK_EQUAL(img.kind, content_kind::image);
  CAF_CHECK_EQUAL(img.data, "base64-encoded-data");
  CAF_CHECK_EQUAL(img.mime_type, caf::optional<std::string>{"image/png"});
  CAF_CHECK_EQUAL(img.annotations, R"({"audience":["user"],"priority":0.9})");
  auto& audio = result.content[1];
  CAF_CHECK_EQUAL(audio.kind, content_kind::audio);
  CAF_CHECK_EQUAL(audio.mime_type, caf::optional<std::string>{"audio/wav"});
  CAF_CHECK_EQUAL(joined_text(result), "caption");
  check_round_trip(result);
  auto made = make_image_content("AAAA", "image/jpeg");
  CAF_CHECK_EQUAL(to_json_text(made),
                  R"({"type":"image","data":"AAAA","mimeType":"image/jpeg"})");
  auto err = read_error<content_block>(R"({"type":"image","data":"x"})");
  CAF_CHECK(contains(render(err), "mimeType: missing required field"));
}

CAF_TEST(embedded resources with text or blob) {
  auto text_res = read_as<content_block>(parse(R"({
    "type": "resource",
    "resource": {
      "uri": "file:///project/src/main.rs",
      "title": "Project Rust Main File",
      "mimeType": "text/x-rust",
      "text": "fn main() {\n    println!(\"Hello world!\");\n}"
    },
    "annotations": {"audience": ["user", "assistant"], "priority": 0.7}
  })"));
  CAF_CHECK_EQUAL(text_res.kind, content_kind::resource);
  CAF_CHECK_EQUAL(text_res.uri, "file:///project/src/main.rs");
  CAF_CHECK_EQUAL(text_res.mime_type, caf::optional<std::string>{"text/x-rust"});
  CAF_CHECK(!text_res.blob);
  CAF_CHECK(contains(text_res.text, "Hello world!"));
  check_round_trip(text_res);
  auto blob_res = read_as<content_block>(parse(
    R"({"type":"resource","resource":{"uri":"file:///a.bin","blob":"AAEC"}})"));
  CAF_CHECK(blob_res.blob);
  CAF_CHECK_EQUAL(blob_res.data, "AAEC");
  CAF_CHECK(!blob_res.mime_type);
  CAF_CHECK_EQUAL(to_json_text(blob_res),
                  R"({"type":"resource","resource":{"uri":"file:///a.bin","blob":"AAEC"}})");
  check_round_trip(blob_res);
  auto err = read_error<content_block>(
    R"({"type":"resource","resource":{"uri":"file:///a"}})");
  CAF_CHECK(contains(render(err), "resource.text"));
  err = read_error<content_block>(R"({"type":"resource"})");
  CAF_CHECK(contains(render(err), "resource: missing required field"));
}

CAF_TEST(resource links and structured content) {
  auto result = read_as<call_tool_result>(parse(R"({
    "content": [
      {
        "type": "resource_link",
        "uri": "file:///project/src/main.rs",
        "name": "main.rs",
        "description": "Primary application entry point",
        "mimeType": "text/x-rust",
        "size": 1024,
        "annotations": {"audience": ["assistant"], "priority": 0.9, "lastModified": "2025-05-03T14:30:00Z"}
      },
      {
        "type": "text",
        "text": "{\"temperature\": 22.5, \"conditions\": \"Partly cloudy\", \"humidity\": 65}"
      }
    ],
    "structuredContent": {
      "temperature": 22.5,
      "conditions": "Partly cloudy",
      "humidity": 65
    }
  })"));
  CAF_REQUIRE_EQUAL(result.content.size(), 2u);
  auto& link = result.content[0];
  CAF_CHECK_EQUAL(link.kind, content_kind::resource_link);
  CAF_CHECK_EQUAL(link.uri, "file:///project/src/main.rs");
  CAF_CHECK_EQUAL(link.name, "main.rs");
  CAF_CHECK(!link.title);
  CAF_CHECK_EQUAL(link.description,
                  caf::optional<std::string>{"Primary application entry point"});
  CAF_CHECK_EQUAL(link.size, caf::optional<int64_t>{1024});
  CAF_CHECK_EQUAL(
    result.structured_content,
    R"({"temperature":22.5,"conditions":"Partly cloudy","humidity":65})");
  check_round_trip(result);
  auto err = read_error<content_block>(
    R"({"type":"resource_link","uri":"u","name":"n","size":1.5})");
  CAF_CHECK(contains(render(err), "size: expected an integer"));
  err = read_error<content_block>(R"({"type":"video","uri":"u"})");
  CAF_CHECK(contains(render(err), "unknown content type \"video\""));
  err = read_error<call_tool_result>(R"({"isError":true})");
  CAF_CHECK(contains(render(err), "content: missing required field"));
  err = read_error<call_tool_result>(R"({"content":[{"type":"text"}]})");
  CAF_CHECK(contains(render(err), "content[0].text: missing required field"));
}

// -- notifications ------------------------------------------------------------

CAF_TEST(progress notifications with string and integer tokens) {
  auto note = decode_one<notification>(R"({
    "jsonrpc": "2.0",
    "method": "notifications/progress",
    "params": {
      "progressToken": "abc123",
      "progress": 50,
      "total": 100,
      "message": "Reticulating splines..."
    }
  })");
  CAF_CHECK_EQUAL(note.method, methods::progress);
  auto params = read_as<progress_params>(*note.params);
  CAF_CHECK_EQUAL(params.progress_token, progress_token{"abc123"});
  CAF_CHECK_EQUAL(params.progress, 50.0);
  CAF_CHECK_EQUAL(params.total, caf::optional<double>{100.0});
  CAF_CHECK_EQUAL(params.message,
                  caf::optional<std::string>{"Reticulating splines..."});
  check_round_trip(params);
  auto minimal = read_as<progress_params>(
    parse(R"({"progressToken":7,"progress":0.25})"));
  CAF_CHECK_EQUAL(minimal.progress_token, progress_token{7});
  CAF_CHECK(!minimal.total);
  CAF_CHECK_EQUAL(to_json_text(minimal),
                  R"({"progressToken":7,"progress":0.25})");
  auto err = read_error<progress_params>(R"({"progress":1})");
  CAF_CHECK(contains(render(err), "progressToken: missing required field"));
  err = read_error<progress_params>(R"({"progressToken":1,"progress":"1"})");
  CAF_CHECK(contains(render(err), "progress: expected a number"));
}

CAF_TEST(cancelled notifications) {
  auto note = decode_one<notification>(R"({
    "jsonrpc": "2.0",
    "method": "notifications/cancelled",
    "params": {
      "requestId": "123",
      "reason": "User requested cancellation"
    }
  })");
  auto params = read_as<cancelled_params>(*note.params);
  CAF_CHECK_EQUAL(params.request_id,
                  caf::optional<request_id>{request_id{"123"}});
  CAF_CHECK_EQUAL(params.reason,
                  caf::optional<std::string>{"User requested cancellation"});
  check_round_trip(params);
  cancelled_params ours;
  ours.request_id = request_id{5};
  CAF_CHECK_EQUAL(to_json_text(ours), R"({"requestId":5})");
  check_round_trip(ours);
  // 2025-11-25: requestId may be absent.
  auto no_id = read_as<cancelled_params>(parse(R"({"reason":"x"})"));
  CAF_CHECK(!no_id.request_id);
  auto err = read_error<cancelled_params>(R"({"requestId":1.5})");
  CAF_CHECK(contains(render(err), "requestId"));
}

CAF_TEST(logging message notifications) {
  auto note = decode_one<notification>(R"({
    "jsonrpc": "2.0",
    "method": "notifications/message",
    "params": {
      "level": "error",
      "logger": "database",
      "data": {
        "error": "Connection failed",
        "details": {
          "host": "localhost",
          "port": 5432
        }
      }
    }
  })");
  CAF_CHECK_EQUAL(note.method, methods::message);
  auto params = read_as<logging_message_params>(*note.params);
  CAF_CHECK_EQUAL(params.level, log_level::error);
  CAF_CHECK_EQUAL(params.logger, caf::optional<std::string>{"database"});
  CAF_CHECK_EQUAL(
    params.data,
    R"({"error":"Connection failed","details":{"host":"localhost","port":5432}})");
  check_round_trip(params);
  auto text_data = read_as<logging_message_params>(
    parse(R"({"level":"info","data":"started"})"));
  CAF_CHECK_EQUAL(text_data.data, R"("started")");
  auto null_data = read_as<logging_message_params>(
    parse(R"({"level":"debug","data":null})"));
  CAF_CHECK_EQUAL(null_data.data, "null");
  auto err = read_error<logging_message_params>(R"({"level":"info"})");
  CAF_CHECK(contains(render(err), "data: missing required field"));
  err = read_error<logging_message_params>(R"({"level":"fatal","data":1})");
  CAF_CHECK(contains(render(err), "unknown logging level"));
  set_level_params set_level{log_level::warning};
  CAF_CHECK_EQUAL(to_json_text(set_level), R"({"level":"warning"})");
  check_round_trip(set_level);
}

CAF_TEST(ping and list changed carry no params) {
  auto ping = decode_one<request>(
    R"({"jsonrpc":"2.0","id":"123","method":"ping"})");
  CAF_CHECK_EQUAL(ping.method, methods::ping);
  CAF_CHECK(!ping.params);
  std::string out;
  encode_response_into(out, ping.id, "{}");
  CAF_CHECK_EQUAL(out, R"({"jsonrpc":"2.0","id":"123","result":{}})");
  auto pong = decode_one<response>(out);
  CAF_CHECK_EQUAL(pong.id, request_id{"123"});
  CAF_CHECK(pong.result.is_object() && pong.result.get_object().empty());
  auto changed = decode_one<notification>(
    R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})");
  CAF_CHECK_EQUAL(changed.method, methods::tools_list_changed);
}

CAF_TEST(roots list results) {
  list_roots_result roots;
  roots.roots.push_back(root{"file:///home/user/projects/myproject",
                             std::string{"My Project"}});
  roots.roots.push_back(root{"file:///tmp", caf::none});
  CAF_CHECK_EQUAL(
    to_json_text(roots),
    R"({"roots":[{"uri":"file:///home/user/projects/myproject","name":"My Project"},{"uri":"file:///tmp"}]})");
  check_round_trip(roots);
  check_round_trip(list_roots_result{});
}

// -- CAF inspection -----------------------------------------------------------

CAF_TEST(mcp types are inspectable) {
  tool t;
  t.name = "echo";
  t.description = std::string{"Echoes"};
  t.input_schema = R"({"type":"object"})";
  auto str = caf::deep_to_string(t);
  CAF_MESSAGE("deep_to_string: " << str);
  CAF_CHECK(contains(str, "tool"));
  CAF_CHECK(contains(str, "echo"));
  CAF_CHECK(contains(str, "Echoes"));
  call_tool_result result;
  result.content.push_back(make_text_content("hi"));
  CAF_CHECK(contains(caf::deep_to_string(result), "text"));
  CAF_CHECK(contains(caf::deep_to_string(result), "hi"));
  check_caf_round_trip(t);
  auto full = read_as<call_tool_result>(parse(R"({
    "content": [
      {"type": "text", "text": "a", "annotations": {"priority": 1}},
      {"type": "image", "data": "AA", "mimeType": "image/png"},
      {"type": "resource", "resource": {"uri": "u", "blob": "AA"}},
      {"type": "resource_link", "uri": "u", "name": "n", "size": 3}
    ],
    "isError": true,
    "structuredContent": {"k": [1, 2]}
  })"));
  check_caf_round_trip(full);
  check_caf_round_trip(call_tool_params{"t", R"({"a":1})",
                                        progress_token{"p"}, ""});
  check_caf_round_trip(progress_params{progress_token{3}, 0.5, 1.0,
                                       std::string{"half"}});
  check_caf_round_trip(cancelled_params{request_id{"r"}, caf::none});
  check_caf_round_trip(logging_message_params{log_level::alert,
                                              std::string{"l"}, "[1]"});
  initialize_result init;
  init.protocol_version = "2025-06-18";
  init.capabilities.tools = true;
  init.server_info = implementation{"s", "1", std::string{"S"}};
  init.instructions = std::string{"be nice"};
  check_caf_round_trip(init);
  initialize_params params;
  params.capabilities.roots = true;
  params.capabilities.sampling = "{}";
  check_caf_round_trip(params);
  list_tools_result list;
  list.tools.push_back(t);
  list.next_cursor = std::string{"c"};
  check_caf_round_trip(list);
  check_caf_round_trip(list_roots_result{{root{"u", caf::none}}});
  check_caf_round_trip(set_level_params{log_level::debug});
}

// -- errors -------------------------------------------------------------------

CAF_TEST(json-rpc error responses become jsonrpc_error) {
  auto err_msg = decode_one<error_response>(
    R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Unknown tool: invalid_tool_name"}})");
  auto err = to_error(err_msg);
  CAF_CHECK_EQUAL(code_of(err), mcp_errc::jsonrpc_error);
  auto text = render(err);
  CAF_MESSAGE("rendered: " << text);
  CAF_CHECK(contains(text, "-32602"));
  CAF_CHECK(contains(text, "Unknown tool: invalid_tool_name"));
}

CAF_TEST(command line arguments are checked as JSON objects) {
  CAF_CHECK(!check_json_object_text(R"({"a":1})"));
  CAF_CHECK_EQUAL(code_of(check_json_object_text("[1]")),
                  mcp_errc::invalid_argument);
  CAF_CHECK_EQUAL(code_of(check_json_object_text("{a:1}")),
                  mcp_errc::invalid_argument);
  // The check builds no value: it must still agree with parse_json_text on
  // what is one valid JSON object and nothing else.
  std::string deep(63, '['); // with the object: depth 64, the limit
  deep += std::string(63, ']');
  std::string too_deep(64, '[');
  too_deep += std::string(64, ']');
  std::vector<std::pair<std::string, bool>> cases{
    {" \n{\"a\":[1,2.5,-3e2,true,null,{\"b\":\"\\u00e9\"}]}\t ", true},
    {"{}", true},
    {R"({"a":1,"a":2})", true},
    {R"({"a":)" + deep + "}", true},
    {"", false},
    {"   ", false},
    {"{", false},
    {"{} {}", false},
    {"{} x", false},
    {R"({"a":1,})", false},
    {R"({"a":01})", false},
    {"{\"a\":\"\xff\"}", false},
    {"{/*c*/}", false},
    {R"({"a":)" + too_deep + "}", false},
    {R"("text")", false},
    {"null", false},
    {"7", false},
  };
  for (auto& [text, object] : cases) {
    json::value parsed;
    auto parse_err = parse_json_text(text, parsed);
    auto is_object = !parse_err && parsed.is_object();
    CAF_MESSAGE("case: " << text);
    CAF_CHECK_EQUAL(is_object, object);
    auto err = check_json_object_text(text);
    CAF_CHECK_EQUAL(!err, object);
    if (err) {
      CAF_CHECK_EQUAL(code_of(err), mcp_errc::invalid_argument);
    }
  }
}

CAF_TEST(from_json leaves the target unchanged on failure) {
  tool t;
  t.name = "kept";
  CAF_CHECK(from_json_text(R"({"name":"other"})", t));
  CAF_CHECK_EQUAL(t.name, "kept");
}
