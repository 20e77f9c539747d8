#define CAF_SUITE jsonrpc
#include "caf/test/unit_test.hpp"

#include "caf_mcp/messages/jsonrpc.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

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

/// Decodes `text` and requires exactly one message of type T, no errors.
template <class T>
T decode_one(std::string_view text) {
  auto res = decode(text);
  if (!res.errors.empty())
    CAF_FAIL("unexpected decode error: " << res.errors.front().message
                                         << " in " << text);
  CAF_REQUIRE_EQUAL(res.messages.size(), 1u);
  auto ptr = std::get_if<T>(&res.messages.front());
  CAF_REQUIRE(ptr != nullptr);
  return std::move(*ptr);
}

/// Decodes `text` and requires exactly one error and no message.
decode_error decode_fail(std::string_view text) {
  auto res = decode(text);
  CAF_REQUIRE_EQUAL(res.messages.size(), 0u);
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_MESSAGE("error for " << text << ": " << res.errors.front().message);
  return res.errors.front();
}

/// Encodes `msg`, decodes the text and checks that nothing changed.
template <class T>
void check_round_trip(const T& msg) {
  auto text = encode(msg);
  auto res = decode(text);
  CAF_REQUIRE(res.ok());
  CAF_REQUIRE_EQUAL(res.messages.size(), 1u);
  auto ptr = std::get_if<T>(&res.messages.front());
  CAF_REQUIRE(ptr != nullptr);
  CAF_CHECK(*ptr == msg);
  // Encoding is deterministic: the same message, the same text.
  CAF_CHECK_EQUAL(encode(*ptr), text);
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

} // namespace

// -- request_id ---------------------------------------------------------------

CAF_TEST(request ids are integers or strings and never equal across kinds) {
  request_id a{1};
  request_id b{"1"};
  request_id c{int64_t{1}};
  CAF_CHECK(a.is_integer());
  CAF_CHECK(b.is_string());
  CAF_CHECK_EQUAL(a.integer(), 1);
  CAF_CHECK_EQUAL(b.string(), "1");
  CAF_CHECK_EQUAL(a, c);
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK(a < b); // integers order before strings
  CAF_CHECK(request_id{-5} < request_id{3});
  CAF_CHECK(request_id{"a"} < request_id{"b"});
  CAF_CHECK_EQUAL(to_string(a), "1");
  CAF_CHECK_EQUAL(to_string(b), "\"1\"");
  CAF_CHECK_EQUAL(to_string(request_id{"a\"b"}), R"("a\"b")");
  CAF_CHECK_EQUAL(request_id{}.integer(), 0);
}

CAF_TEST(request ids key an unordered map) {
  std::unordered_map<request_id, int> pending;
  pending.emplace(request_id{0}, 10);
  pending.emplace(request_id{"0"}, 20);
  pending.emplace(request_id{int64_t{7}}, 30);
  CAF_CHECK_EQUAL(pending.size(), 3u);
  CAF_CHECK_EQUAL(pending.at(request_id{0}), 10);
  CAF_CHECK_EQUAL(pending.at(request_id{"0"}), 20);
  CAF_CHECK_EQUAL(pending.at(request_id{7}), 30);
  CAF_CHECK_EQUAL(pending.count(request_id{"7"}), 0u);
}

CAF_TEST(request ids are inspectable) {
  CAF_CHECK_EQUAL(caf::deep_to_string(request_id{42}), "42");
  CAF_CHECK_EQUAL(caf::deep_to_string(request_id{"x"}), "\"x\"");
  for (auto& id : {request_id{-3}, request_id{"abc"}}) {
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    auto id_copy = id;
    CAF_REQUIRE(!sink(id_copy));
    request_id restored;
    caf::binary_deserializer source{nullptr, buf};
    CAF_REQUIRE(!source(restored));
    CAF_CHECK_EQUAL(restored, id);
  }
}

CAF_TEST(request ids convert to and from Boost.JSON values) {
  CAF_CHECK_EQUAL(json::value_from(request_id{5}), json::value(5));
  CAF_CHECK_EQUAL(json::value_from(request_id{"q"}), json::value("q"));
  auto to_id = [](std::string_view text) {
    auto res = json::try_value_to<request_id>(parse(text));
    return res ? res.value() : request_id{"<error>"};
  };
  CAF_CHECK_EQUAL(to_id("17"), request_id{17});
  CAF_CHECK_EQUAL(to_id("\"s\""), request_id{"s"});
  CAF_CHECK_EQUAL(to_id("2.0"), request_id{2});
  CAF_CHECK(!json::try_value_to<request_id>(parse("null")));
  CAF_CHECK(!json::try_value_to<request_id>(parse("true")));
  CAF_CHECK(!json::try_value_to<request_id>(parse("1.5")));
  CAF_CHECK(!json::try_value_to<request_id>(parse("{}")));
  CAF_CHECK(!json::try_value_to<request_id>(parse("18446744073709551615")));
}

// -- round trips --------------------------------------------------------------

CAF_TEST(requests round trip with object array and absent params) {
  check_round_trip(
    request{request_id{1}, "tools/call", parse(R"({"name":"echo"})")});
  check_round_trip(request{request_id{"r-2"}, "sum", parse("[1,2,3]")});
  check_round_trip(request{request_id{3}, "ping", std::nullopt});
  auto text = encode(request{request_id{3}, "ping", std::nullopt});
  CAF_CHECK_EQUAL(text, R"({"jsonrpc":"2.0","id":3,"method":"ping"})");
  CAF_CHECK(!contains(text, "null"));
}

CAF_TEST(notifications round trip) {
  check_round_trip(notification{"notifications/initialized", std::nullopt});
  check_round_trip(notification{"notifications/progress",
                                parse(R"({"progressToken":1,"progress":0.5})")});
  CAF_CHECK_EQUAL(encode(notification{"notifications/initialized", {}}),
                  R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
}

CAF_TEST(responses round trip including null and scalar results) {
  check_round_trip(response{request_id{1}, parse(R"({"tools":[]})")});
  check_round_trip(response{request_id{"abc"}, parse("{}")});
  check_round_trip(response{request_id{2}, json::value{}});
  check_round_trip(response{request_id{3}, parse("\"done\"")});
  CAF_CHECK_EQUAL(encode(response{request_id{2}, json::value{}}),
                  R"({"jsonrpc":"2.0","id":2,"result":null})");
}

CAF_TEST(error responses round trip with and without id and data) {
  check_round_trip(error_response{request_id{1}, jsonrpc_code::method_not_found,
                                  "Method not found", std::nullopt});
  check_round_trip(error_response{request_id{"x"}, -32000, "boom",
                                  parse(R"({"detail":[1,2]})")});
  check_round_trip(error_response{std::nullopt, jsonrpc_code::parse_error,
                                  "Parse error", std::nullopt});
  auto text = encode(error_response{std::nullopt, -32700, "Parse error", {}});
  CAF_CHECK_EQUAL(
    text,
    R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
  // An absent id reads like a null id.
  auto msg = decode_one<error_response>(
    R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"bad"}})");
  CAF_CHECK(!msg.id);
  CAF_CHECK_EQUAL(msg.code, -32600);
  CAF_CHECK_EQUAL(msg.message, "bad");
}

CAF_TEST(the variant encodes like its alternatives) {
  jsonrpc_message msg = request{request_id{9}, "x", std::nullopt};
  CAF_CHECK_EQUAL(encode(msg), R"({"jsonrpc":"2.0","id":9,"method":"x"})");
  CAF_CHECK_EQUAL(method_of(msg), "x");
  CAF_REQUIRE(id_of(msg) != nullptr);
  CAF_CHECK_EQUAL(*id_of(msg), request_id{9});
  jsonrpc_message note = notification{"n", std::nullopt};
  CAF_CHECK(id_of(note) == nullptr);
  jsonrpc_message err = error_response{};
  CAF_CHECK(id_of(err) == nullptr);
  CAF_CHECK_EQUAL(method_of(err), "");
}

CAF_TEST(batches encode as arrays and decode element by element) {
  std::vector<jsonrpc_message> msgs{
    request{request_id{1}, "a", std::nullopt},
    notification{"b", parse("[]")},
    response{request_id{"2"}, parse("{}")},
  };
  auto text = encode(msgs);
  CAF_CHECK_EQUAL(text.front(), '[');
  auto res = decode(text);
  CAF_CHECK(res.batch);
  CAF_REQUIRE(res.ok());
  CAF_REQUIRE_EQUAL(res.messages.size(), 3u);
  CAF_CHECK(res.messages == msgs);
}

// -- decoding real-world shapes -----------------------------------------------

CAF_TEST(keys arrive in any order) {
  auto res = decode_one<response>(R"({"result":{},"jsonrpc":"2.0","id":3})");
  CAF_CHECK_EQUAL(res.id, request_id{3});
  CAF_CHECK(res.result.is_object());
  auto req = decode_one<request>(
    R"({"params":{"a":1},"method":"m","id":"z","jsonrpc":"2.0"})");
  CAF_CHECK_EQUAL(req.id, request_id{"z"});
  CAF_CHECK_EQUAL(req.method, "m");
  CAF_REQUIRE(req.params);
  CAF_CHECK_EQUAL(*req.params, parse(R"({"a":1})"));
  auto err = decode_one<error_response>(
    R"({"error":{"message":"m","data":null,"code":-1},"id":4,"jsonrpc":"2.0"})");
  CAF_CHECK_EQUAL(err.code, -1);
  CAF_REQUIRE(err.data);
  CAF_CHECK(err.data->is_null());
}

CAF_TEST(string and integer ids both decode) {
  CAF_CHECK_EQUAL(
    decode_one<response>(R"({"jsonrpc":"2.0","id":"a-1","result":1})").id,
    request_id{"a-1"});
  CAF_CHECK_EQUAL(
    decode_one<response>(R"({"jsonrpc":"2.0","id":-12,"result":1})").id,
    request_id{-12});
  CAF_CHECK_EQUAL(decode_one<response>(
                    R"({"jsonrpc":"2.0","id":9223372036854775807,"result":1})")
                    .id,
                  request_id{std::numeric_limits<int64_t>::max()});
  // JSON does not tell 1 from 1.0.
  CAF_CHECK_EQUAL(
    decode_one<response>(R"({"jsonrpc":"2.0","id":1.0,"result":1})").id,
    request_id{1});
  CAF_CHECK_EQUAL(
    decode_one<request>(R"({"jsonrpc":"2.0","id":"","method":"m"})").id,
    request_id{""});
}

CAF_TEST(a server request with id 0 is told from a response to our id 0) {
  auto res = decode(R"([
    {"jsonrpc":"2.0","id":0,"result":{"tools":[]}},
    {"jsonrpc":"2.0","id":0,"method":"roots/list"}
  ])");
  CAF_REQUIRE(res.ok());
  CAF_REQUIRE_EQUAL(res.messages.size(), 2u);
  auto resp = std::get_if<response>(&res.messages[0]);
  auto req = std::get_if<request>(&res.messages[1]);
  CAF_REQUIRE(resp != nullptr);
  CAF_REQUIRE(req != nullptr);
  CAF_CHECK_EQUAL(resp->id, request_id{0});
  CAF_CHECK_EQUAL(req->id, request_id{0});
  CAF_CHECK_EQUAL(req->method, "roots/list");
  CAF_CHECK(!req->params);
}

CAF_TEST(unknown members are tolerated) {
  auto req = decode_one<request>(
    R"({"jsonrpc":"2.0","id":1,"method":"m","extra":{"x":[1]},"_ts":5})");
  CAF_CHECK_EQUAL(req.method, "m");
  auto notif = decode_one<notification>(
    R"({"jsonrpc":"2.0","method":"n","foo":null})");
  CAF_CHECK_EQUAL(notif.method, "n");
  // A message with "method" is a request even if it also has "result".
  auto odd = decode_one<request>(
    R"({"jsonrpc":"2.0","id":1,"method":"m","result":{}})");
  CAF_CHECK_EQUAL(odd.method, "m");
}

CAF_TEST(null params are kept apart from absent params) {
  auto with_null = decode_one<notification>(
    R"({"jsonrpc":"2.0","method":"n","params":null})");
  CAF_REQUIRE(with_null.params);
  CAF_CHECK(with_null.params->is_null());
  auto without = decode_one<notification>(R"({"jsonrpc":"2.0","method":"n"})");
  CAF_CHECK(!without.params);
  CAF_CHECK(with_null != without);
}

CAF_TEST(a large message decodes and whitespace is allowed) {
  std::string text = " \r\n{\"jsonrpc\" : \"2.0\", \"id\" : 1, \"result\" : {\"tools\":[";
  for (int i = 0; i < 200; ++i) {
    if (i > 0)
      text += ',';
    text += R"({"name":"tool_)" + std::to_string(i)
            + R"(","inputSchema":{"type":"object"}})";
  }
  text += "]}}\n";
  auto res = decode_one<response>(text);
  CAF_CHECK_EQUAL(res.result.at("tools").as_array().size(), 200u);
}

CAF_TEST(decoding an already parsed document moves its parts) {
  auto res = decode_value(parse(R"({"jsonrpc":"2.0","id":2,"result":[1,2]})"));
  CAF_REQUIRE(res.ok());
  CAF_REQUIRE_EQUAL(res.messages.size(), 1u);
  CAF_CHECK(std::get<response>(res.messages[0]).result == parse("[1,2]"));
}

CAF_TEST(decoded values outlive the decode result) {
  json::value kept;
  {
    auto req = decode_one<request>(
      R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"k":"v"}})");
    kept = std::move(*req.params);
  }
  CAF_CHECK_EQUAL(kept, parse(R"({"k":"v"})"));
}

CAF_TEST(decoding into an arena gives the same messages) {
  std::string text = R"([{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,2,{"b":"c"}]}},{"jsonrpc":"2.0","id":2,"result":{"x":1}}])";
  decode_result in_arena;
  decode(text, make_decode_arena(text.size()), in_arena);
  auto on_heap = decode(text);
  CAF_REQUIRE(in_arena.ok());
  CAF_CHECK(in_arena.messages == on_heap.messages);
  // decode(text, sp, out) appends.
  decode(R"({"jsonrpc":"2.0","method":"n"})", {}, in_arena);
  CAF_CHECK_EQUAL(in_arena.messages.size(), 3u);
  // A value moved out of the result keeps the arena alive.
  std::optional<json::value> kept;
  {
    decode_result res;
    decode(text, make_decode_arena(text.size()), res);
    kept.emplace(std::move(*std::get<request>(res.messages[0]).params));
  }
  CAF_CHECK_EQUAL(*kept, parse(R"({"a":[1,2,{"b":"c"}]})"));
}

// -- batches ------------------------------------------------------------------

CAF_TEST(batch elements are valid or invalid independently) {
  auto res = decode(R"([
    {"jsonrpc":"2.0","id":1,"result":"ok"},
    {"jsonrpc":"1.0","id":2,"method":"m"},
    42,
    {"jsonrpc":"2.0","method":"notifications/initialized"},
    {"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}
  ])");
  CAF_CHECK(res.batch);
  CAF_REQUIRE_EQUAL(res.messages.size(), 3u);
  CAF_REQUIRE_EQUAL(res.errors.size(), 2u);
  CAF_CHECK(std::holds_alternative<response>(res.messages[0]));
  CAF_CHECK(std::holds_alternative<notification>(res.messages[1]));
  CAF_CHECK(std::holds_alternative<error_response>(res.messages[2]));
  CAF_CHECK_EQUAL(res.errors[0].code, jsonrpc_code::invalid_request);
  CAF_REQUIRE(res.errors[0].id);
  CAF_CHECK_EQUAL(*res.errors[0].id, request_id{2});
  CAF_CHECK_EQUAL(res.errors[1].code, jsonrpc_code::invalid_request);
  CAF_CHECK(!res.errors[1].id);
}

CAF_TEST(an empty batch is one invalid request) {
  auto err = decode_fail("[]");
  CAF_CHECK_EQUAL(err.code, jsonrpc_code::invalid_request);
  CAF_CHECK(contains(err.message, "empty batch"));
  auto res = decode("[]");
  CAF_CHECK(res.batch);
}

CAF_TEST(a single message is not a batch) {
  auto res = decode(R"({"jsonrpc":"2.0","method":"n"})");
  CAF_CHECK(!res.batch);
  auto batch = decode(R"([{"jsonrpc":"2.0","method":"n"}])");
  CAF_CHECK(batch.batch);
  CAF_CHECK_EQUAL(batch.messages.size(), 1u);
}

// -- malformed input ----------------------------------------------------------

CAF_TEST(text that is not JSON is a parse error) {
  for (auto text : {"", "not json", "{", R"({"jsonrpc":"2.0","id":1,"resu)",
                    R"({"jsonrpc":"2.0"} trailing)", "{'a':1}", "[1,]",
                    "\"\xff\xfe\""}) {
    auto err = decode_fail(text);
    CAF_CHECK_EQUAL(err.code, jsonrpc_code::parse_error);
    CAF_CHECK(contains(err.message, "invalid JSON"));
    CAF_CHECK(!err.id);
  }
}

CAF_TEST(valid JSON that is not JSON-RPC is an invalid request) {
  struct case_t {
    const char* text;
    const char* expected;
  };
  case_t cases[] = {
    {"42", "not a JSON object"},
    {"null", "not a JSON object"},
    {R"("text")", "not a JSON object"},
    {R"({"id":1,"method":"m"})", R"(missing "jsonrpc": "2.0")"},
    {R"({"jsonrpc":"1.0","id":1,"method":"m"})", R"("jsonrpc" must be "2.0")"},
    {R"({"jsonrpc":2.0,"id":1,"method":"m"})", R"("jsonrpc" must be "2.0")"},
    {R"({"jsonrpc":"2.0","id":1})", R"(missing "method", "result" or "error")"},
    {R"({"jsonrpc":"2.0"})", R"(missing "method", "result" or "error")"},
    {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}})",
     R"(both "result" and "error")"},
    {R"({"jsonrpc":"2.0","id":null,"method":"m"})", "must not be null"},
    {R"({"jsonrpc":"2.0","id":1.5,"method":"m"})", "fractional"},
    {R"({"jsonrpc":"2.0","id":true,"method":"m"})",
     "must be a string or an integer"},
    {R"({"jsonrpc":"2.0","id":{},"method":"m"})",
     "must be a string or an integer"},
    {R"({"jsonrpc":"2.0","id":[1],"method":"m"})",
     "must be a string or an integer"},
    {R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"m"})",
     "int64 range"},
    {R"({"jsonrpc":"2.0","id":1e30,"method":"m"})", "int64 range"},
    {R"({"jsonrpc":"2.0","id":1,"method":5})", R"("method" must be a string)"},
    {R"({"jsonrpc":"2.0","id":1,"method":"m","params":"x"})",
     R"("params" must be an object or an array)"},
    {R"({"jsonrpc":"2.0","method":"m","params":7})",
     R"("params" must be an object or an array)"},
    {R"({"jsonrpc":"2.0","result":{}})", R"(missing "id")"},
    {R"({"jsonrpc":"2.0","id":null,"result":{}})", "must not be null"},
    {R"({"jsonrpc":"2.0","id":1,"error":{"message":"m"}})",
     R"(missing "error.code")"},
    {R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}})",
     R"("error.code" must be an integer)"},
    {R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}})",
     R"("error.code" must be an integer)"},
    {R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})",
     R"(missing "error.message")"},
    {R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":null}})",
     R"("error.message" must be a string)"},
    {R"({"jsonrpc":"2.0","id":1,"error":"boom"})",
     R"("error" must be an object)"},
    {R"({"jsonrpc":"2.0","id":false,"error":{"code":1,"message":"m"}})",
     "must be a string or an integer"},
  };
  for (auto& c : cases) {
    auto err = decode_fail(c.text);
    CAF_CHECK_EQUAL(err.code, jsonrpc_code::invalid_request);
    if (!contains(err.message, c.expected))
      CAF_FAIL("for " << c.text << ": expected '" << c.expected << "', got '"
                      << err.message << "'");
  }
}

CAF_TEST(errors carry the id when it could be read) {
  auto err = decode_fail(R"({"jsonrpc":"2.0","id":"q7","method":1})");
  CAF_REQUIRE(err.id);
  CAF_CHECK_EQUAL(*err.id, request_id{"q7"});
  err = decode_fail(R"({"id":8,"method":"m"})");
  CAF_REQUIRE(err.id);
  CAF_CHECK_EQUAL(*err.id, request_id{8});
  err = decode_fail(R"({"jsonrpc":"2.0","id":true,"method":"m"})");
  CAF_CHECK(!err.id);
}

CAF_TEST(deeply nested JSON is refused without crashing) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto err = decode_fail(deep);
  CAF_CHECK_EQUAL(err.code, jsonrpc_code::parse_error);
  std::string ok_depth = R"({"jsonrpc":"2.0","method":"m","params":)";
  ok_depth += std::string(40, '[') + std::string(40, ']') + "}";
  CAF_CHECK(decode(ok_depth).ok());
}

// -- caf::error mapping -------------------------------------------------------

CAF_TEST(decode errors map to mcp error codes) {
  auto parse_err = to_error(decode_fail("{"));
  CAF_CHECK_EQUAL(parse_err, caf::make_error(mcp_errc::malformed_json));
  auto rpc_err = to_error(decode_fail(R"({"jsonrpc":"2.0","id":5})"));
  mcp_errc code;
  CAF_REQUIRE(get_mcp_errc(rpc_err, code));
  CAF_CHECK_EQUAL(code, mcp_errc::malformed_jsonrpc);
  auto text = render(rpc_err);
  CAF_MESSAGE("rendered: " << text);
  CAF_CHECK(contains(text, "malformed_jsonrpc"));
  CAF_CHECK(contains(text, R"(missing "method")"));
  CAF_CHECK(contains(text, "id 5"));
}

CAF_TEST(error responses map to jsonrpc_error with code and message) {
  auto err = to_error(error_response{request_id{1}, -32601, "Method not found",
                                     std::nullopt});
  mcp_errc code;
  CAF_REQUIRE(get_mcp_errc(err, code));
  CAF_CHECK_EQUAL(code, mcp_errc::jsonrpc_error);
  auto& ctx = err.context();
  CAF_REQUIRE_EQUAL(ctx.size(), 2u);
  CAF_REQUIRE(ctx.match_element<int64_t>(0));
  CAF_CHECK_EQUAL(ctx.get_as<int64_t>(0), -32601);
  CAF_CHECK_EQUAL(ctx.get_as<std::string>(1), "Method not found");
  auto with_data = to_error(
    error_response{std::nullopt, -1, "x", parse(R"({"why":"because"})")});
  CAF_REQUIRE_EQUAL(with_data.context().size(), 3u);
  CAF_CHECK_EQUAL(with_data.context().get_as<std::string>(2),
                  R"({"why":"because"})");
}

// -- fast-path writers --------------------------------------------------------

CAF_TEST(text writers produce decodable messages) {
  std::string out;
  encode_request_into(out, request_id{5}, "tools/call",
                      R"({"name":"echo","arguments":{"m":"hi"}})");
  auto req = decode_one<request>(out);
  CAF_CHECK_EQUAL(req.id, request_id{5});
  CAF_CHECK_EQUAL(req.method, "tools/call");
  CAF_CHECK_EQUAL(req.params->at("name"), json::value("echo"));
  out.clear();
  encode_request_into(out, request_id{"p"}, "ping");
  CAF_CHECK_EQUAL(out, R"({"jsonrpc":"2.0","id":"p","method":"ping"})");
  out.clear();
  encode_notification_into(out, "notifications/initialized");
  CAF_CHECK_EQUAL(out,
                  R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  out.clear();
  encode_response_into(out, request_id{0}, "");
  CAF_CHECK_EQUAL(out, R"({"jsonrpc":"2.0","id":0,"result":{}})");
  out.clear();
  encode_error_into(out, request_id{0}, jsonrpc_code::method_not_found,
                    "Method not found: roots/list");
  auto err = decode_one<error_response>(out);
  CAF_CHECK_EQUAL(err.code, jsonrpc_code::method_not_found);
  CAF_CHECK_EQUAL(err.message, "Method not found: roots/list");
  CAF_CHECK(!err.data);
  out.clear();
  encode_error_into(out, std::nullopt, -32700, "Parse error", "[1]");
  CAF_CHECK_EQUAL(
    out,
    R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":[1]}})");
}

CAF_TEST(encode_into appends) {
  std::string out = "prefix:";
  encode_into(out, notification{"n", std::nullopt});
  CAF_CHECK_EQUAL(out, R"(prefix:{"jsonrpc":"2.0","method":"n"})");
}

// -- JSON text utilities ------------------------------------------------------

CAF_TEST(strings are escaped and read back unchanged) {
  std::string nasty = "quote\" backslash\\ nl\n cr\r tab\t bs\b ff\f ctl\x01"
                      "\x1f del\x7f utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  std::string out;
  append_json_string(out, nasty);
  CAF_CHECK(contains(out, R"(\u0001)"));
  CAF_CHECK(contains(out, R"(\u001f)"));
  CAF_CHECK(contains(out, R"(\")"));
  CAF_CHECK(contains(out, R"(\n)"));
  auto v = parse(out);
  CAF_REQUIRE(v.is_string());
  CAF_CHECK_EQUAL(std::string(v.get_string().c_str()), nasty);
  check_round_trip(request{request_id{nasty}, nasty, std::nullopt});
}

CAF_TEST(numbers keep their kind and value) {
  CAF_CHECK_EQUAL(to_json_text(json::value(1.0)), "1.0");
  CAF_CHECK_EQUAL(to_json_text(json::value(-0.0)), "-0.0");
  CAF_CHECK_EQUAL(to_json_text(json::value(0.1)), "0.1");
  CAF_CHECK_EQUAL(to_json_text(json::value(1e300)), "1e+300");
  CAF_CHECK_EQUAL(to_json_text(json::value(int64_t{-7})), "-7");
  CAF_CHECK_EQUAL(to_json_text(json::value(uint64_t{18446744073709551615u})),
                  "18446744073709551615");
  CAF_CHECK_EQUAL(
    to_json_text(json::value(std::numeric_limits<double>::quiet_NaN())),
    "null");
  auto inf = to_json_text(json::value(std::numeric_limits<double>::infinity()));
  auto v = parse(inf);
  CAF_CHECK(v.is_double() && std::isinf(v.get_double()));
  auto v1 = parse(to_json_text(json::value(1.0)));
  CAF_CHECK(v1.is_double());
  CAF_CHECK_EQUAL(to_json_text(parse(R"({"a":[true,false,null,"s",{}]})")),
                  R"({"a":[true,false,null,"s",{}]})");
}

CAF_TEST(a cut off response keeps its id when the id came before the cut) {
  auto res = decode(R"({"jsonrpc":"2.0","id":4,"result":)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_REQUIRE(res.errors[0].id);
  CAF_CHECK_EQUAL(*res.errors[0].id, request_id{4});
  res = decode(R"({"id":"a-1","error":{"code":1,"mess)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_REQUIRE(res.errors[0].id);
  CAF_CHECK_EQUAL(*res.errors[0].id, request_id{std::string{"a-1"}});
  // Nested "id" keys do not count, only the top-level one.
  res = decode(R"({"result":{"id":9,"content":[)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_CHECK(!res.errors[0].id);
  // Cut inside the number: unknown.
  res = decode(R"({"result":{},"id":12)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_CHECK(!res.errors[0].id);
  // A broken server request never names one of our ids.
  res = decode(R"({"jsonrpc":"2.0","id":3,"method":"roots/list","par)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_CHECK(!res.errors[0].id);
  res = decode(R"({"jsonrpc":"2.0","id":3,"params":{)");
  CAF_REQUIRE_EQUAL(res.errors.size(), 1u);
  CAF_CHECK(!res.errors[0].id);
}
