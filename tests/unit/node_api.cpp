#define CAF_SUITE node_api
#include "caf/test/unit_test.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "caf_mcp/messages/error.hpp"

#include "node/api.hpp"
#include "node/event_hub.hpp"
#include "node/node_json.hpp"

using namespace caf_mcp;
using namespace caf_mcp::node;

namespace {

/// An event stream that runs dispatched work at once and whose pending
/// bytes the test sets: a client that reads slowly.
class fake_stream final : public transport::event_stream {
public:
  void append(std::string_view bytes) override {
    written += bytes;
  }
  std::string& buffer() override {
    return written;
  }
  void commit() override {
  }
  size_t pending() const noexcept override {
    return waiting;
  }
  bool is_open() const noexcept override {
    return open;
  }
  void close() override {
    open = false;
  }
  void close_after_write() override {
    open = false;
  }
  void dispatch(std::function<void()> fn) override {
    fn();
  }
  void on_close(std::function<void()>) override {
  }
  const void* native_executor() const noexcept override {
    return nullptr;
  }

  std::string written;
  size_t waiting = 0;
  bool open = true;
};

node_event ev(uint64_t id, std::string kind = "call") {
  return node_event{id, std::move(kind), "s", R"({"server":"s"})"};
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto i = text.find(part); i != std::string::npos;
       i = text.find(part, i + 1))
    ++n;
  return n;
}

} // namespace

CAF_TEST(routes of NODE.md) {
  CAF_CHECK(route_request("GET", "/").kind == route::page);
  CAF_CHECK(route_request("GET", "/healthz").kind == route::healthz);
  CAF_CHECK(route_request("GET", "/readyz").kind == route::readyz);
  CAF_CHECK(route_request("GET", "/metrics").kind == route::metrics);
  CAF_CHECK(route_request("GET", "/api/events").kind == route::events);
  CAF_CHECK(route_request("GET", "/api/nodes").kind == route::nodes);
  CAF_CHECK(route_request("GET", "/api/servers").kind == route::servers);
  CAF_CHECK(route_request("HEAD", "/api/servers").kind == route::method_not_allowed);
  auto one = route_request("GET", "/api/servers/a%2Eb");
  CAF_CHECK(one.kind == route::one_server);
  CAF_CHECK_EQUAL(one.server, "a.b");
  auto call = route_request("POST", "/api/servers/demo/tools/get%20quote/call");
  CAF_CHECK(call.kind == route::call);
  CAF_CHECK_EQUAL(call.server, "demo");
  CAF_CHECK_EQUAL(call.tool, "get quote");
}

CAF_TEST(wrong methods get 405 with the allowed one) {
  auto r = route_request("POST", "/api/servers");
  CAF_CHECK(r.kind == route::method_not_allowed);
  CAF_CHECK_EQUAL(r.allow, "GET");
  auto c = route_request("GET", "/api/servers/demo/tools/echo/call");
  CAF_CHECK(c.kind == route::method_not_allowed);
  CAF_CHECK_EQUAL(c.allow, "POST");
  CAF_CHECK(route_request("DELETE", "/metrics").kind == route::method_not_allowed);
}

CAF_TEST(malformed paths are not found) {
  for (auto p : {"/api/servers/demo/tools/echo", "/api/servers/demo/tools//call",
                 "/api/servers/demo/tools/a/b/call", "/api/servers/demo/x/echo/call",
                 "/api/server", "/apix", "/metrics/x", "/api/servers/demo/tools/call"})
    CAF_CHECK_EQUAL(static_cast<int>(route_request("POST", p).kind),
                    static_cast<int>(route::not_found));
}

CAF_TEST(bearer tokens) {
  CAF_CHECK(bearer_matches("Bearer abc", "abc"));
  CAF_CHECK(bearer_matches("bearer abc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer abd", "abc"));
  CAF_CHECK(!bearer_matches("Bearer abcd", "abc"));
  CAF_CHECK(!bearer_matches("Bearer ab", "abc"));
  CAF_CHECK(!bearer_matches("Basic abc", "abc"));
  CAF_CHECK(!bearer_matches("abc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer ", ""));
  CAF_CHECK(!bearer_matches("", ""));
}

CAF_TEST(origins of POSTs) {
  CAF_CHECK(origin_allowed("", "127.0.0.1:8080"));
  CAF_CHECK(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
  CAF_CHECK(origin_allowed("http://127.0.0.1:8080/", "127.0.0.1:8080"));
  CAF_CHECK(origin_allowed("http://localhost", "localhost:80"));
  CAF_CHECK(origin_allowed("http://localhost:80", "localhost"));
  CAF_CHECK(!origin_allowed("http://evil.example", "127.0.0.1:8080"));
  CAF_CHECK(!origin_allowed("http://127.0.0.1:8081", "127.0.0.1:8080"));
  CAF_CHECK(!origin_allowed("null", "127.0.0.1:8080"));
  CAF_CHECK(!origin_allowed("file://x", "127.0.0.1:8080"));
  CAF_CHECK(!origin_allowed("https://127.0.0.1:8080.evil", "127.0.0.1:8080"));
}

CAF_TEST(the event ring keeps the newest and resumes after an id) {
  event_ring ring{3};
  for (uint64_t i = 1; i <= 5; ++i)
    ring.push(ev(i));
  CAF_CHECK_EQUAL(ring.size(), 3u);
  auto all = ring.since(0);
  CAF_REQUIRE_EQUAL(all.size(), 3u);
  CAF_CHECK_EQUAL(all.front().id, 3u);
  auto after4 = ring.since(4);
  CAF_REQUIRE_EQUAL(after4.size(), 1u);
  CAF_CHECK_EQUAL(after4.front().id, 5u);
  CAF_CHECK(ring.since(5).empty());
  // An id from before a restart of the node: everything held.
  CAF_CHECK_EQUAL(ring.since(99).size(), 3u);
}

CAF_TEST(events are SSE text) {
  CAF_CHECK_EQUAL(format_event(ev(7, "log")),
                  "id: 7\nevent: log\ndata: {\"server\":\"s\"}\n\n");
  node_event two_lines{1, "x", "", "a\nb"};
  CAF_CHECK_EQUAL(format_event(two_lines), "id: 1\nevent: x\ndata: a\ndata: b\n\n");
  CAF_CHECK_EQUAL(parse_last_event_id("42"), 42u);
  CAF_CHECK_EQUAL(parse_last_event_id(""), 0u);
  CAF_CHECK_EQUAL(parse_last_event_id("4x"), 0u);
  CAF_CHECK_EQUAL(parse_last_event_id("-1"), 0u);
}

CAF_TEST(the hub resumes a stream and drops events for a slow one) {
  event_hub hub{16, 100};
  hub.publish(ev(1));
  hub.publish(ev(2));
  auto fresh = std::make_shared<fake_stream>();
  hub.add(fresh, false, 0);
  CAF_CHECK_EQUAL(count_of(fresh->written, "id: "), 0u);
  auto resumed = std::make_shared<fake_stream>();
  hub.add(resumed, true, 1);
  CAF_CHECK_EQUAL(count_of(resumed->written, "id: "), 1u);
  CAF_CHECK_EQUAL(count_of(resumed->written, "id: 2\n"), 1u);
  CAF_CHECK_EQUAL(hub.subscribers(), 2u);
  // The fresh stream's client stops reading: more than 100 bytes wait.
  fresh->waiting = 101;
  hub.publish(ev(3));
  hub.publish(ev(4));
  CAF_CHECK_EQUAL(count_of(fresh->written, "id: "), 0u);
  CAF_CHECK_EQUAL(count_of(resumed->written, "id: "), 3u);
  CAF_CHECK_EQUAL(hub.dropped(), 2u);
  // It reads again: events flow again, the gap shows in the ids.
  fresh->waiting = 0;
  hub.publish(ev(5));
  CAF_CHECK_EQUAL(count_of(fresh->written, "id: 5\n"), 1u);
  // A closed stream is forgotten.
  resumed->open = false;
  hub.publish(ev(6));
  CAF_CHECK_EQUAL(hub.subscribers(), 1u);
  CAF_CHECK_EQUAL(count_of(resumed->written, "id: 6\n"), 0u);
}

CAF_TEST(server JSON has every field of NODE.md) {
  server_info x;
  x.name = "demo";
  x.url = "http://h/sse?token=REDACTED";
  x.transport = "sse";
  x.description = "d \"quoted\"";
  x.state = health_state::healthy;
  x.phase = link_phase::ready;
  x.connected_since_ms = 1796464088123;
  x.reconnects = 2;
  x.rtt_ms = 0.4126;
  x.in_flight = 1;
  x.calls_ok = 5;
  x.calls_failed = 1;
  x.calls_is_error = 2;
  x.tool_count = 4;
  x.node = "node-a";
  auto text = server_json(x);
  auto v = boost::json::parse(text).as_object();
  CAF_CHECK_EQUAL(v.at("name").as_string(), "demo");
  CAF_CHECK_EQUAL(v.at("url").as_string(), "http://h/sse?token=REDACTED");
  CAF_CHECK_EQUAL(v.at("transport").as_string(), "sse");
  CAF_CHECK_EQUAL(v.at("description").as_string(), "d \"quoted\"");
  CAF_CHECK_EQUAL(v.at("state").as_string(), "healthy");
  CAF_CHECK_EQUAL(v.at("phase").as_string(), "ready");
  CAF_CHECK_EQUAL(v.at("connected_since").as_string(), "2026-12-05T09:48:08.123Z");
  CAF_CHECK_EQUAL(v.at("reconnects").to_number<uint64_t>(), 2u);
  CAF_CHECK(v.at("last_error").is_null());
  CAF_CHECK_EQUAL(v.at("rtt_ms").to_number<double>(), 0.413);
  CAF_CHECK_EQUAL(v.at("in_flight").to_number<uint64_t>(), 1u);
  auto calls = v.at("calls").as_object();
  CAF_CHECK_EQUAL(calls.at("ok").to_number<uint64_t>(), 5u);
  CAF_CHECK_EQUAL(calls.at("failed").to_number<uint64_t>(), 1u);
  CAF_CHECK_EQUAL(calls.at("is_error").to_number<uint64_t>(), 2u);
  CAF_CHECK_EQUAL(v.at("tool_count").to_number<uint64_t>(), 4u);
  CAF_CHECK_EQUAL(v.at("node").as_string(), "node-a");
  CAF_CHECK_EQUAL(v.at("disabled").as_bool(), false);
  // Numbers as people write them (Boost.JSON would write 4.126E-1).
  CAF_CHECK(text.find(R"("rtt_ms":0.413,)") != std::string::npos);
  server_info idle;
  auto w = boost::json::parse(server_json(idle)).as_object();
  CAF_CHECK(w.at("connected_since").is_null());
  CAF_CHECK(w.at("rtt_ms").is_null());
  auto list = boost::json::parse(servers_json({x, idle})).as_object();
  CAF_CHECK_EQUAL(list.at("servers").as_array().size(), 2u);
}

CAF_TEST(error bodies and call statuses) {
  auto v = boost::json::parse(error_json("timeout", "no \"answer\"")).as_object();
  CAF_CHECK_EQUAL(v.at("error").at("code").as_string(), "timeout");
  CAF_CHECK_EQUAL(v.at("error").at("message").as_string(), "no \"answer\"");
  auto status = [](mcp_errc c) {
    return call_error_status(caf::make_error(c, "x"));
  };
  CAF_CHECK_EQUAL(status(mcp_errc::invalid_argument), 404u);
  CAF_CHECK_EQUAL(status(mcp_errc::unknown_tool), 404u);
  CAF_CHECK_EQUAL(status(mcp_errc::timeout), 504u);
  for (auto c : {mcp_errc::service_unavailable, mcp_errc::closed,
                 mcp_errc::gave_up, mcp_errc::connection_failed,
                 mcp_errc::queue_timeout, mcp_errc::queue_full})
    CAF_CHECK_EQUAL(status(c), 503u);
  for (auto c : {mcp_errc::outcome_unknown, mcp_errc::jsonrpc_error,
                 mcp_errc::connection_lost, mcp_errc::malformed_json,
                 mcp_errc::unauthorized})
    CAF_CHECK_EQUAL(status(c), 502u);
  CAF_CHECK_EQUAL(error_code_name(caf::make_error(mcp_errc::gave_up, "x")),
                  "gave_up");
  CAF_CHECK_EQUAL(error_code_name(caf::make_error(caf::sec::runtime_error)),
                  "internal");
}

CAF_TEST(numbers without exponents) {
  auto num = [](double x) {
    std::string out;
    append_number(out, x);
    return out;
  };
  CAF_CHECK_EQUAL(num(0.731784), "0.732");
  CAF_CHECK_EQUAL(num(12.0), "12");
  CAF_CHECK_EQUAL(num(0.1), "0.1");
  CAF_CHECK_EQUAL(num(1e-9), "0");
  CAF_CHECK_EQUAL(num(123456789.5), "123456789.5");
  CAF_CHECK_EQUAL(num(-0.0001), "0");
  CAF_CHECK_EQUAL(num(1.0 / 0.0), "null");
  CAF_CHECK_EQUAL(iso_time(0), "1970-01-01T00:00:00.000Z");
}

CAF_TEST(event data is one JSON object each) {
  tools_diff d;
  d.added.push_back(tool{});
  d.added.back().name = "a";
  auto t = boost::json::parse(tools_event_json("s", d, 3)).as_object();
  CAF_CHECK_EQUAL(t.at("added").as_array().size(), 1u);
  CAF_CHECK_EQUAL(t.at("tool_count").to_number<int>(), 3);
  logging_message_params p;
  p.level = log_level::warning;
  p.data = R"({"k":1})";
  auto l = boost::json::parse(log_event_json("s", p)).as_object();
  CAF_CHECK_EQUAL(l.at("level").as_string(), "warning");
  CAF_CHECK(l.at("data").is_object());
  p.data = "not json";
  auto l2 = boost::json::parse(log_event_json("s", p)).as_object();
  CAF_CHECK_EQUAL(l2.at("data").as_string(), "not json");
  auto c = boost::json::parse(call_event_json("s", "t", "ok", 0.5)).as_object();
  CAF_CHECK_EQUAL(c.at("duration_ms").to_number<double>(), 0.5);
  progress_params pp;
  pp.progress = 2;
  auto g = boost::json::parse(progress_event_json("s", "t", "id-1", pp)).as_object();
  CAF_CHECK_EQUAL(g.at("call").as_string(), "id-1");
  CAF_CHECK(g.at("total").is_null());
  auto cfg = boost::json::parse(config_event_json("rejected", {}, {}, {}, "bad")).as_object();
  CAF_CHECK_EQUAL(cfg.at("status").as_string(), "rejected");
  CAF_CHECK_EQUAL(cfg.at("error").as_string(), "bad");
}
