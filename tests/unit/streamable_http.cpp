#define CAF_SUITE streamable_http
#include "caf/test/unit_test.hpp"

#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/actors/transport_errors.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/streamable_http.hpp"

#include <string>
#include <vector>

using namespace caf_mcp;
using namespace caf_mcp::transport;

namespace {

struct collect final : message_sink {
  std::vector<std::string> messages;
  void on_message(std::string_view json) override {
    messages.emplace_back(json);
  }
};

/// Feeds `input` to a reader in pieces of `chunk` bytes (0: whole).
collect read_all(response_reader& r, const std::string& input, size_t chunk) {
  collect out;
  if (chunk == 0) {
    r.feed(input, out);
  } else {
    for (size_t i = 0; i < input.size(); i += chunk)
      r.feed(std::string_view{input}.substr(i, chunk), out);
  }
  r.finish(out);
  return out;
}

mcp_errc code_of(const caf::error& err) {
  mcp_errc code{};
  CAF_REQUIRE(get_mcp_errc(err, code));
  return code;
}

struct fixture {};

} // namespace

CAF_TEST_FIXTURE_SCOPE(streamable_http_tests, fixture)

CAF_TEST(answers are classified by status and media type) {
  CAF_CHECK(classify_response(200, "application/json")
            == response_kind::json);
  CAF_CHECK(classify_response(200, "application/json; charset=utf-8")
            == response_kind::json);
  CAF_CHECK(classify_response(200, " Text/Event-Stream ;charset=UTF-8")
            == response_kind::event_stream);
  CAF_CHECK(classify_response(202, "") == response_kind::accepted);
  CAF_CHECK(classify_response(202, "application/json")
            == response_kind::accepted);
  CAF_CHECK(classify_response(204, "") == response_kind::accepted);
  CAF_CHECK(classify_response(200, "", false) == response_kind::accepted);
  CAF_CHECK(classify_response(200, "", true)
            == response_kind::unexpected_content_type);
  CAF_CHECK(classify_response(200, "text/html")
            == response_kind::unexpected_content_type);
  CAF_CHECK(classify_response(200, "application/jsonx")
            == response_kind::unexpected_content_type);
  for (auto status : {301, 400, 401, 404, 405, 500, 503})
    CAF_CHECK(classify_response(status, "application/json")
              == response_kind::error);
  CAF_CHECK_EQUAL(media_type("  APPLICATION/JSON ; q=1"), "application/json");
  CAF_CHECK_EQUAL(media_type(""), "");
}

CAF_TEST(session ids are visible ASCII of bounded size) {
  CAF_CHECK(valid_session_id("26d43e7a-702b-4ee8-a333-fd00a6a65e94"));
  CAF_CHECK(valid_session_id("!~"));
  CAF_CHECK(!valid_session_id(""));
  CAF_CHECK(!valid_session_id("a b"));
  CAF_CHECK(!valid_session_id("a\tb"));
  CAF_CHECK(!valid_session_id("a\r\nX-Evil: 1"));
  CAF_CHECK(!valid_session_id(std::string{"a\x7f"}));
  CAF_CHECK(!valid_session_id("caf\xc3\xa9"));
  CAF_CHECK(valid_session_id(std::string(max_session_id_size, 'x')));
  CAF_CHECK(!valid_session_id(std::string(max_session_id_size + 1, 'x')));
}

CAF_TEST(request headers carry session id and version when known) {
  auto both = mcp_request_headers("abc", "2025-11-25");
  CAF_REQUIRE_EQUAL(both.size(), 2u);
  CAF_CHECK_EQUAL(both[0].first, "Mcp-Session-Id");
  CAF_CHECK_EQUAL(both[0].second, "abc");
  CAF_CHECK_EQUAL(both[1].first, "MCP-Protocol-Version");
  CAF_CHECK_EQUAL(both[1].second, "2025-11-25");
  auto none = mcp_request_headers("", "");
  CAF_CHECK(none.empty());
  auto stateless = mcp_request_headers("", "2025-06-18");
  CAF_REQUIRE_EQUAL(stateless.size(), 1u);
  CAF_CHECK_EQUAL(stateless[0].first, "MCP-Protocol-Version");
  CAF_CHECK(!sends_protocol_version_header("2024-11-05"));
  CAF_CHECK(!sends_protocol_version_header("2025-03-26"));
  CAF_CHECK(sends_protocol_version_header("2025-06-18"));
  CAF_CHECK(sends_protocol_version_header("2025-11-25"));
}

CAF_TEST(an SSE answer yields its message events in any chunking) {
  // A priming event (id, retry, empty data), a notification, an event of
  // another type, and the response; CRLF and LF line ends mixed.
  std::string input = "id: s1_0\r\nretry: 100\r\ndata: \r\n\r\n"
                      "event: message\nid: s1_1\n"
                      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                      "progress\",\"params\":{}}\n\n"
                      "event: other\ndata: ignored\n\n"
                      "id: s1_2\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,"
                      "\"result\":{}}\n\n";
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{0}}) {
    CAF_MESSAGE("chunk size " << chunk);
    response_reader r{response_kind::event_stream, 1 << 20};
    auto out = read_all(r, input, chunk);
    CAF_REQUIRE_EQUAL(out.messages.size(), 2u);
    CAF_CHECK(out.messages[0].find("notifications/progress")
              != std::string::npos);
    CAF_CHECK_EQUAL(out.messages[1],
                    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
    CAF_CHECK_EQUAL(r.last_event_id(), "s1_2");
    CAF_CHECK_EQUAL(r.retry_ms(), 100u);
    CAF_CHECK(!r.overflowed());
  }
}

CAF_TEST(a cut SSE answer keeps the last event id for resumption) {
  std::string input = "id: p0\nretry: 250\ndata: \n\n"
                      "data: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\nid: p1\n\n"
                      "data: {\"jsonrpc\":\"2.0\",\"id\":1,"; // cut here
  response_reader r{response_kind::event_stream, 1 << 20};
  auto out = read_all(r, input, 3);
  CAF_CHECK_EQUAL(out.messages.size(), 1u);
  CAF_CHECK_EQUAL(r.last_event_id(), "p1");
  CAF_CHECK_EQUAL(r.retry_ms(), 250u);
}

CAF_TEST(a JSON answer is one message at the end in any chunking) {
  std::string body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"x\":1}}";
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{0}}) {
    response_reader r{response_kind::json, 1 << 20};
    collect out;
    if (chunk == 0)
      r.feed(body, out);
    else
      for (size_t i = 0; i < body.size(); i += chunk)
        r.feed(std::string_view{body}.substr(i, chunk), out);
    CAF_CHECK(out.messages.empty()); // nothing before the end
    r.finish(out);
    CAF_REQUIRE_EQUAL(out.messages.size(), 1u);
    CAF_CHECK_EQUAL(out.messages[0], body);
  }
}

CAF_TEST(a JSON answer over the limit is dropped and reported) {
  response_reader r{response_kind::json, 16};
  auto out = read_all(r, std::string(17, ' '), 4);
  CAF_CHECK(out.messages.empty());
  CAF_CHECK(r.overflowed());
  response_reader ok{response_kind::json, 16};
  auto out2 = read_all(ok, std::string(16, ' '), 4);
  CAF_CHECK_EQUAL(out2.messages.size(), 1u);
  CAF_CHECK(!ok.overflowed());
}

CAF_TEST(a 404 means an expired session only if the request carried one) {
  transport_error err;
  err.code = transport_errc::http_status;
  err.status = 404;
  err.message = "POST http://127.0.0.1:1/mcp -> 404";
  CAF_CHECK(code_of(to_error(err, http_phase::post))
            == mcp_errc::session_expired);
  CAF_CHECK(code_of(to_error(err, http_phase::post_without_session))
            == mcp_errc::http_status);
  err.status = 429;
  CAF_CHECK(code_of(to_error(err, http_phase::post_without_session))
            == mcp_errc::rate_limited);
  transport_error cut;
  cut.code = transport_errc::read_failed;
  cut.request_sent = true;
  CAF_CHECK(code_of(to_error(cut, http_phase::post_without_session))
            == mcp_errc::outcome_unknown);
  cut.request_sent = false;
  CAF_CHECK(code_of(to_error(cut, http_phase::post_without_session))
            == mcp_errc::connection_failed);
}

CAF_TEST(transport names read and print) {
  session_transport t = session_transport::sse;
  CAF_CHECK(from_string("http", t));
  CAF_CHECK(t == session_transport::streamable_http);
  CAF_CHECK_EQUAL(std::string{to_string(t)}, "streamable_http");
  for (auto name : {"streamable_http", "streamable-http", "streamableHttp"}) {
    t = session_transport::sse;
    CAF_CHECK(from_string(name, t));
    CAF_CHECK(t == session_transport::streamable_http);
  }
  CAF_CHECK(from_string("sse", t));
  CAF_CHECK(t == session_transport::sse);
  CAF_CHECK(from_string("auto", t));
  CAF_CHECK(t == session_transport::automatic);
  CAF_CHECK_EQUAL(std::string{to_string(t)}, "auto");
  CAF_CHECK(!from_string("Auto", t));
  CAF_CHECK(!from_string("HTTP", t));
  CAF_CHECK(!from_string("", t));
}

CAF_TEST_FIXTURE_SCOPE_END()
