#define CAF_SUITE node_api
#include "caf/test/unit_test.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "caf_mcp/messages/error.hpp"

#include "node/api.hpp"
#include "node/event_hub.hpp"
#include "node/node_json.hpp"
#include "node/page_assets.hpp"

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
  void finish() override {
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
  CAF_CHECK_EQUAL(std::string{error_code_name(
                    caf::make_error(mcp_errc::gave_up, "x"))},
                  "gave_up");
  CAF_CHECK_EQUAL(std::string{error_code_name(
                    caf::make_error(caf::sec::runtime_error))},
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
  CAF_CHECK(c.if_contains("meta") == nullptr);
  std::map<std::string, std::string> meta{{"cache", "hit"},
                                          {"logging.ms", "0.412"}};
  auto cm = boost::json::parse(call_event_json("s", "t", "ok", 0.5, meta))
              .as_object();
  CAF_CHECK_EQUAL(cm.at("meta").at("cache").as_string(), "hit");
  CAF_CHECK_EQUAL(cm.at("meta").at("logging.ms").as_string(), "0.412");
  CAF_CHECK_EQUAL(meta_header_value(meta), "cache=hit; logging.ms=0.412");
  // Nothing that could break the header line or its k=v form.
  meta["bad"] = "a\r\nInjected: 1";
  meta["semi"] = "a;b";
  meta[""] = "x";
  CAF_CHECK_EQUAL(meta_header_value(meta), "cache=hit; logging.ms=0.412");
  CAF_CHECK_EQUAL(meta_header_value({}), "");
  progress_params pp;
  pp.progress = 2;
  auto g = boost::json::parse(progress_event_json("s", "t", "id-1", pp)).as_object();
  CAF_CHECK_EQUAL(g.at("call").as_string(), "id-1");
  CAF_CHECK(g.at("total").is_null());
  auto cfg = boost::json::parse(config_event_json("rejected", {}, {}, {}, "bad")).as_object();
  CAF_CHECK_EQUAL(cfg.at("status").as_string(), "rejected");
  CAF_CHECK_EQUAL(cfg.at("error").as_string(), "bad");
}

// -- more routes, tokens, origins, events and JSON ------------------------------

namespace {

route::kind_t kind_of(std::string_view method, std::string_view path) {
  return route_request(method, path).kind;
}

bool is_405(std::string_view method, std::string_view path,
            const std::string& allow) {
  auto r = route_request(method, path);
  return r.kind == route::method_not_allowed && r.allow == allow;
}

} // namespace

CAF_TEST(every GET path answers GET and 405 to the rest) {
  std::vector<std::pair<std::string, route::kind_t>> paths{
    {"/", route::page},           {"/index.html", route::page},
    {"/assets/app.js", route::page},
    {"/healthz", route::healthz}, {"/readyz", route::readyz},
    {"/metrics", route::metrics}, {"/api/events", route::events},
    {"/api/nodes", route::nodes}, {"/api/servers", route::servers},
    {"/api/servers/", route::servers}, {"/api/servers/demo", route::one_server}};
  for (auto& [path, kind] : paths) {
    CAF_CHECK(kind_of("GET", path) == kind);
    // HEAD too: the server would send the body a HEAD answer must not have.
    for (auto m : {"HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", ""})
      CAF_CHECK(is_405(m, path, "GET"));
  }
}

CAF_TEST(the call path answers POST only) {
  auto path = "/api/servers/demo/tools/echo/call";
  for (auto m : {"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "post"})
    CAF_CHECK(is_405(m, path, "POST"));
  auto r = route_request("POST", path);
  CAF_CHECK(r.kind == route::call);
  CAF_CHECK_EQUAL(r.server, "demo");
  CAF_CHECK_EQUAL(r.tool, "echo");
  CAF_CHECK_EQUAL(r.allow, "");
}

CAF_TEST(server and tool names are percent decoded) {
  // A peer's server (NODE.md: PEER:SERVER).
  auto peer = route_request("POST", "/api/servers/node-b%3Abilling/tools/get_quote/call");
  CAF_CHECK(peer.kind == route::call);
  CAF_CHECK_EQUAL(peer.server, "node-b:billing");
  CAF_CHECK_EQUAL(peer.tool, "get_quote");
  CAF_CHECK_EQUAL(route_request("GET", "/api/servers/node-b:billing").server,
                  "node-b:billing");
  // A decoded slash is part of the name, not a separator.
  auto slash = route_request("POST", "/api/servers/a%2Fb/tools/c%2fd/call");
  CAF_CHECK(slash.kind == route::call);
  CAF_CHECK_EQUAL(slash.server, "a/b");
  CAF_CHECK_EQUAL(slash.tool, "c/d");
  // UTF-8, '+' (not a space in a path) and a bad escape kept as it is.
  auto odd = route_request("POST", "/api/servers/s/tools/caf%C3%A9+x%zz%4/call");
  CAF_CHECK(odd.kind == route::call);
  CAF_CHECK_EQUAL(odd.tool, "caf\xc3\xa9+x%zz%4");
  auto one = route_request("GET", "/api/servers/%64emo");
  CAF_CHECK(one.kind == route::one_server);
  CAF_CHECK_EQUAL(one.server, "demo");
}

CAF_TEST(more malformed paths are not found) {
  for (auto p : {"/api/servers/demo/tools/echo/call/", "/api/servers/demo/tools/echo/calls",
                 "/api/servers/demo/extra", "/api/servers/demo/", "/api/servers//",
                 "/API/servers", "/healthz/", "//healthz", "/api", "/api/", "",
                 "/api/servers/demo/tool/echo/call", "/api/serversx",
                 "/api/events/", "/index.htm"}) {
    auto r = route_request("GET", p);
    CAF_CHECK_EQUAL(static_cast<int>(r.kind), static_cast<int>(route::not_found));
    CAF_CHECK_EQUAL(r.server, "");
    CAF_CHECK_EQUAL(r.tool, "");
    CAF_CHECK_EQUAL(r.allow, "");
  }
}

CAF_TEST(a call path without a server name is not found) {
  for (auto p : {"/api/servers//tools/echo/call", "/api/servers//tools//call"}) {
    auto r = route_request("POST", p);
    CAF_CHECK_EQUAL(static_cast<int>(r.kind), static_cast<int>(route::not_found));
    CAF_CHECK_EQUAL(r.server, "");
  }
}

CAF_TEST(bearer token edges) {
  CAF_CHECK(bearer_matches("BEARER abc", "abc"));
  CAF_CHECK(bearer_matches("bEaReR abc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer ABC", "abc"));
  CAF_CHECK(!bearer_matches("Bearer  abc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer abc ", "abc"));
  CAF_CHECK(!bearer_matches(" Bearer abc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer\tabc", "abc"));
  CAF_CHECK(!bearer_matches("Bearerxabc", "abc"));
  CAF_CHECK(!bearer_matches("Bearer", "abc"));
  CAF_CHECK(!bearer_matches("", "abc"));
  CAF_CHECK(!bearer_matches("Bearer abc", ""));
  // A token is compared as it is, spaces included.
  CAF_CHECK(bearer_matches("Bearer  ", " "));
  std::string long_token(4096, 'k');
  CAF_CHECK(bearer_matches("Bearer " + long_token, long_token));
  auto other = long_token;
  other.back() = 'j';
  CAF_CHECK(!bearer_matches("Bearer " + other, long_token));
  CAF_CHECK(bearer_matches("Bearer a b=", "a b="));
}

CAF_TEST(origin edges) {
  // Default ports on either side.
  CAF_CHECK(origin_allowed("http://node.example", "node.example"));
  CAF_CHECK(origin_allowed("http://node.example", "node.example:80"));
  CAF_CHECK(origin_allowed("https://node.example", "node.example"));
  CAF_CHECK(origin_allowed("https://node.example", "node.example:443"));
  CAF_CHECK(!origin_allowed("http://node.example", "node.example:443"));
  CAF_CHECK(!origin_allowed("https://node.example", "node.example:80"));
  CAF_CHECK(!origin_allowed("http://node.example", "node.example:8080"));
  // IPv6.
  CAF_CHECK(origin_allowed("http://[::1]:8080", "[::1]:8080"));
  CAF_CHECK(!origin_allowed("http://[::1]:8081", "[::1]:8080"));
  // Another host name for the same address is another origin.
  CAF_CHECK(!origin_allowed("http://localhost:8080", "127.0.0.1:8080"));
  CAF_CHECK(!origin_allowed("http://127.0.0.1:8080", "localhost:8080"));
  // Other schemes, opaque origins and garbage.
  for (auto o : {"null", "ws://127.0.0.1:8080", "file://", "chrome-extension://abc",
                 "ftp://127.0.0.1:8080", "127.0.0.1:8080", "//127.0.0.1:8080",
                 "http:/127.0.0.1:8080", "http://", "http://127.0.0.1:8080@evil",
                 "http://evil@127.0.0.1:8080", "http://127.0.0.1:80800",
                 "http://127.0.0.1:8080.", "http://127.0.0.1"})
    CAF_CHECK(!origin_allowed(o, "127.0.0.1:8080"));
}

CAF_TEST(the event ring edges) {
  event_ring empty{4};
  CAF_CHECK(empty.since(0).empty());
  CAF_CHECK(empty.since(7).empty());
  CAF_CHECK_EQUAL(empty.size(), 0u);
  event_ring one{1};
  one.push(ev(1));
  one.push(ev(2));
  CAF_CHECK_EQUAL(one.size(), 1u);
  auto held = one.since(0);
  CAF_REQUIRE_EQUAL(held.size(), 1u);
  CAF_CHECK_EQUAL(held.front().id, 2u);
  // Ids with gaps: strictly above last_id, oldest first.
  event_ring gaps{8};
  for (uint64_t id : {10u, 20u, 30u})
    gaps.push(ev(id));
  auto after15 = gaps.since(15);
  CAF_REQUIRE_EQUAL(after15.size(), 2u);
  CAF_CHECK_EQUAL(after15[0].id, 20u);
  CAF_CHECK_EQUAL(after15[1].id, 30u);
  CAF_CHECK_EQUAL(gaps.since(20).size(), 1u);
  CAF_CHECK(gaps.since(30).empty());
  // An id below the oldest held (the ring lost some): all held.
  CAF_CHECK_EQUAL(gaps.since(5).size(), 3u);
  // An id above every held id (the node restarted since): all held.
  auto restarted = gaps.since(31);
  CAF_REQUIRE_EQUAL(restarted.size(), 3u);
  CAF_CHECK_EQUAL(restarted.front().id, 10u);
  CAF_CHECK_EQUAL(gaps.since(UINT64_MAX).size(), 3u);
  // The events come back whole.
  CAF_CHECK(restarted.front() == ev(10));
  // The default capacity is 1024.
  event_ring def;
  for (uint64_t i = 1; i <= 1100; ++i)
    def.push(ev(i));
  CAF_CHECK_EQUAL(def.size(), 1024u);
  CAF_CHECK_EQUAL(def.since(0).front().id, 77u);
  CAF_CHECK_EQUAL(def.since(1099).size(), 1u);
}

CAF_TEST(event framing edges) {
  CAF_CHECK_EQUAL(format_event(node_event{0, "server", "", ""}),
                  "id: 0\nevent: server\ndata: \n\n");
  CAF_CHECK_EQUAL(format_event(node_event{UINT64_MAX, "x", "", "a\r\nb\rc\n"}),
                  "id: 18446744073709551615\nevent: x\ndata: a\ndata: bc\ndata: \n\n");
  for (auto kind : {"server", "tools", "log", "progress", "call", "node", "config"})
    CAF_CHECK_EQUAL(format_event(node_event{3, kind, "s", "{}"}),
                    std::string{"id: 3\nevent: "} + kind + "\ndata: {}\n\n");
}

CAF_TEST(Last-Event-ID edges) {
  CAF_CHECK_EQUAL(parse_last_event_id("0"), 0u);
  CAF_CHECK_EQUAL(parse_last_event_id("007"), 7u);
  CAF_CHECK_EQUAL(parse_last_event_id("18446744073709551615"), UINT64_MAX);
  for (auto bad : {"18446744073709551616", " 42", "42 ", "+1", "0x10", "1.5", "1e3", "abc"})
    CAF_CHECK_EQUAL(parse_last_event_id(bad), 0u);
}

CAF_TEST(SERVER has exactly the fields of NODE.md and their types) {
  server_info x;
  x.name = "node-b:billing";
  x.url = "https://h/sse?token=REDACTED";
  x.transport = "sse";
  x.description = "line\nbreak \u00e9";
  x.state = health_state::degraded;
  x.phase = link_phase::backing_off;
  x.connected_since_ms = 1709251199999;
  x.reconnects = 18446744073709551615u;
  x.last_error = "connection_lost: \"eof\"\x01";
  x.rtt_ms = 12.0;
  x.in_flight = 3;
  x.calls_ok = 10;
  x.calls_failed = 4;
  x.calls_is_error = 1;
  x.tool_count = 7;
  x.node = "node-b";
  x.disabled = true;
  auto text = server_json(x);
  auto v = boost::json::parse(text).as_object();
  std::vector<std::string> keys;
  for (auto& kv : v)
    keys.emplace_back(kv.key());
  CAF_CHECK_EQUAL(keys, (std::vector<std::string>{
                          "name", "url", "transport", "description", "state",
                          "phase", "connected_since", "reconnects", "last_error",
                          "rtt_ms", "in_flight", "calls", "tool_count", "node",
                          "disabled"}));
  CAF_CHECK_EQUAL(v.at("name").as_string(), "node-b:billing");
  CAF_CHECK_EQUAL(v.at("url").as_string(), "https://h/sse?token=REDACTED");
  CAF_CHECK_EQUAL(v.at("description").as_string(), "line\nbreak \u00e9");
  CAF_CHECK_EQUAL(v.at("state").as_string(), "degraded");
  CAF_CHECK_EQUAL(v.at("phase").as_string(), "backing_off");
  CAF_CHECK_EQUAL(v.at("connected_since").as_string(), "2024-02-29T23:59:59.999Z");
  CAF_CHECK(v.at("reconnects").is_uint64() || v.at("reconnects").is_int64());
  CAF_CHECK_EQUAL(v.at("reconnects").to_number<uint64_t>(), 18446744073709551615u);
  CAF_CHECK_EQUAL(v.at("last_error").as_string(), "connection_lost: \"eof\"\x01");
  CAF_CHECK(text.find(R"("rtt_ms":12,)") != std::string::npos);
  CAF_CHECK_EQUAL(v.at("in_flight").to_number<uint64_t>(), 3u);
  auto& calls = v.at("calls").as_object();
  CAF_CHECK_EQUAL(calls.size(), 3u);
  for (auto& kv : calls)
    CAF_CHECK(kv.value().is_int64() || kv.value().is_uint64());
  CAF_CHECK_EQUAL(v.at("tool_count").to_number<uint64_t>(), 7u);
  CAF_CHECK_EQUAL(v.at("node").as_string(), "node-b");
  CAF_CHECK_EQUAL(v.at("disabled").as_bool(), true);
  // Only control characters are escaped: the text stays one line.
  CAF_CHECK(text.find('\n') == std::string::npos);
  // The state and phase names of NODE.md.
  for (auto [st, name] : std::vector<std::pair<health_state, std::string>>{
         {health_state::healthy, "healthy"}, {health_state::degraded, "degraded"},
         {health_state::down, "down"}}) {
    server_info y;
    y.state = st;
    CAF_CHECK_EQUAL(boost::json::parse(server_json(y)).at("state").as_string(), name);
  }
  for (auto [ph, name] : std::vector<std::pair<link_phase, std::string>>{
         {link_phase::connecting, "connecting"}, {link_phase::ready, "ready"},
         {link_phase::backing_off, "backing_off"}, {link_phase::gave_up, "gave_up"},
         {link_phase::closed, "closed"}}) {
    server_info y;
    y.phase = ph;
    CAF_CHECK_EQUAL(boost::json::parse(server_json(y)).at("phase").as_string(), name);
  }
}

CAF_TEST(a SERVER that never connected) {
  CAF_CHECK_EQUAL(server_json(server_info{}),
                  R"({"name":"","url":"","transport":"","description":"","state":"down",)"
                  R"("phase":"connecting","connected_since":null,"reconnects":0,)"
                  R"("last_error":null,"rtt_ms":null,"in_flight":0,)"
                  R"("calls":{"ok":0,"failed":0,"is_error":0},"tool_count":0,"node":"",)"
                  R"("disabled":false})");
}

CAF_TEST(servers_json keeps the order it is given) {
  CAF_CHECK_EQUAL(servers_json({}), R"({"servers":[]})");
  server_info a;
  a.name = "a";
  server_info b;
  b.name = "b";
  auto v = boost::json::parse(servers_json({a, b})).as_object();
  CAF_CHECK_EQUAL(v.size(), 1u);
  auto& xs = v.at("servers").as_array();
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK_EQUAL(xs[0].at("name").as_string(), "a");
  CAF_CHECK_EQUAL(xs[1].at("name").as_string(), "b");
  CAF_CHECK_EQUAL(boost::json::serialize(xs[0]), boost::json::serialize(
                                                   boost::json::parse(server_json(a))));
}

CAF_TEST(one SERVER with its tools as MCP gives them) {
  server_detail d;
  d.info.name = "demo";
  tool t;
  t.name = "echo";
  t.title = std::string{"Echo"};
  t.description = std::string{"says it back"};
  t.input_schema = R"({"type":"object","properties":{"text":{"type":"string"}}})";
  d.tools.push_back(t);
  tool u;
  u.name = "now";
  u.input_schema = R"({"type":"object"})";
  d.tools.push_back(u);
  auto v = boost::json::parse(server_detail_json(d)).as_object();
  CAF_CHECK_EQUAL(v.at("name").as_string(), "demo");
  CAF_CHECK(v.contains("calls"));
  auto& tools = v.at("tools").as_array();
  CAF_REQUIRE_EQUAL(tools.size(), 2u);
  CAF_CHECK_EQUAL(tools[0].at("name").as_string(), "echo");
  CAF_CHECK_EQUAL(tools[0].at("title").as_string(), "Echo");
  CAF_CHECK_EQUAL(tools[0].at("description").as_string(), "says it back");
  CAF_CHECK_EQUAL(tools[0].at("inputSchema").at("properties").at("text").at("type").as_string(),
                  "string");
  CAF_CHECK_EQUAL(tools[1].at("name").as_string(), "now");
  CAF_CHECK(!tools[1].as_object().contains("description"));
  server_detail none;
  CAF_CHECK(boost::json::parse(server_detail_json(none)).at("tools").as_array().empty());
}

CAF_TEST(error bodies exactly) {
  CAF_CHECK_EQUAL(error_json("timeout", "m"), R"({"error":{"code":"timeout","message":"m"}})");
  CAF_CHECK_EQUAL(error_json("", ""), R"({"error":{"code":"","message":""}})");
  auto v = boost::json::parse(error_json("invalid_argument", "a\nb\x01\"\\\xc3\xa9"));
  CAF_CHECK_EQUAL(v.at("error").at("message").as_string(), "a\nb\x01\"\\\xc3\xa9");
}

CAF_TEST(the status and code name of every mcp_errc) {
  std::map<mcp_errc, unsigned> want{
    {mcp_errc::invalid_argument, 404},    {mcp_errc::unknown_tool, 404},
    {mcp_errc::service_unavailable, 503}, {mcp_errc::closed, 503},
    {mcp_errc::gave_up, 503},             {mcp_errc::connection_failed, 503},
    {mcp_errc::queue_timeout, 503},       {mcp_errc::queue_full, 503},
    {mcp_errc::node_down, 503},         {mcp_errc::timeout, 504}};
  for (size_t i = 1; i < mcp_errc_count; ++i) {
    auto code = static_cast<mcp_errc>(i);
    auto err = caf::make_error(code, "context");
    auto i_want = want.count(code) ? want[code] : 502u;
    CAF_CHECK_EQUAL(call_error_status(err), i_want);
    CAF_CHECK_EQUAL(std::string{error_code_name(err)},
                    std::string{to_string(code)});
  }
  CAF_CHECK_EQUAL(call_error_status(caf::make_error(caf::sec::request_timeout)), 502u);
  CAF_CHECK_EQUAL(std::string{error_code_name(
                    caf::make_error(caf::sec::request_timeout))},
                  "internal");
}

CAF_TEST(append_number edges) {
  auto num = [](double x) {
    std::string out;
    append_number(out, x);
    return out;
  };
  CAF_CHECK_EQUAL(num(0), "0");
  CAF_CHECK_EQUAL(num(-0.0), "0");
  CAF_CHECK_EQUAL(num(100), "100");
  CAF_CHECK_EQUAL(num(10.10), "10.1");
  CAF_CHECK_EQUAL(num(0.5), "0.5");
  CAF_CHECK_EQUAL(num(-1.5), "-1.5");
  CAF_CHECK_EQUAL(num(1234.5678), "1234.568");
  CAF_CHECK_EQUAL(num(0.9999), "1");
  CAF_CHECK_EQUAL(num(0.00051), "0.001");
  CAF_CHECK_EQUAL(num(-0.0004), "0");
  CAF_CHECK_EQUAL(num(1e21), "1000000000000000000000");
  CAF_CHECK_EQUAL(num(-1e15), "-1000000000000000");
  // Large values whole, up to the largest double.
  auto big = num(1e300);
  CAF_CHECK_EQUAL(big.size(), 301u);
  CAF_CHECK(big.find_first_not_of("0123456789") == std::string::npos);
  CAF_CHECK_EQUAL(boost::json::parse(big).to_number<double>(), 1e300);
  auto most = num(-1.7976931348623157e308);
  CAF_CHECK_EQUAL(most.size(), 310u);
  CAF_CHECK_EQUAL(boost::json::parse(most).to_number<double>(), -1.7976931348623157e308);
  CAF_CHECK_EQUAL(num(std::nan("")), "null");
  CAF_CHECK_EQUAL(num(-1.0 / 0.0), "null");
  // It appends.
  std::string out = "[";
  append_number(out, 2.5);
  CAF_CHECK_EQUAL(out, "[2.5");
  // Every output parses as the same number, rounded to 3 decimals.
  for (double x : {0.001, 3.14159, 99.9995, 42.0, 7e-4, 123456.0001}) {
    auto text = num(x);
    CAF_CHECK(text.find_first_of("eE") == std::string::npos);
    auto back = boost::json::parse(text).to_number<double>();
    CAF_CHECK(std::abs(back - x) <= 0.0005 + 1e-12);
  }
}

CAF_TEST(iso_time edges) {
  CAF_CHECK_EQUAL(iso_time(999), "1970-01-01T00:00:00.999Z");
  CAF_CHECK_EQUAL(iso_time(1000), "1970-01-01T00:00:01.000Z");
  CAF_CHECK_EQUAL(iso_time(1709251199999), "2024-02-29T23:59:59.999Z");
  CAF_CHECK_EQUAL(iso_time(2147483648000), "2038-01-19T03:14:08.000Z");
  CAF_CHECK_EQUAL(iso_time(4102444800001), "2100-01-01T00:00:00.001Z");
}

CAF_TEST(event data edges) {
  // A tools diff names tools only.
  tools_diff d;
  for (auto n : {"a", "b"}) {
    d.removed.push_back(tool{});
    d.removed.back().name = n;
    d.removed.back().input_schema = R"({"type":"object"})";
  }
  auto t = boost::json::parse(tools_event_json("s", d, 0)).as_object();
  CAF_CHECK_EQUAL(boost::json::serialize(t),
                  R"({"server":"s","added":[],"removed":["a","b"],"changed":[],"tool_count":0})");
  // A log line with a logger, and with empty data (a string).
  logging_message_params p;
  p.level = log_level::error;
  p.logger = std::string{"db"};
  p.data = "";
  auto l = boost::json::parse(log_event_json("s", p)).as_object();
  CAF_CHECK_EQUAL(l.at("logger").as_string(), "db");
  CAF_CHECK_EQUAL(l.at("data").as_string(), "");
  p.data = "[1,2]";
  CAF_CHECK(boost::json::parse(log_event_json("s", p)).at("data").is_array());
  p.data = "\"quoted\"";
  CAF_CHECK_EQUAL(boost::json::parse(log_event_json("s", p)).at("data").as_string(), "quoted");
  // Two JSON values are not one: kept as a string.
  p.data = "1 2";
  CAF_CHECK_EQUAL(boost::json::parse(log_event_json("s", p)).at("data").as_string(), "1 2");
  // A call event's duration has no exponent.
  auto c = call_event_json("s", "t", "timeout", 0.000123);
  CAF_CHECK_EQUAL(c, R"({"server":"s","tool":"t","outcome":"timeout","duration_ms":0})");
  // Progress with total and message.
  progress_params pp;
  pp.progress = 0.5;
  pp.total = 2.0;
  pp.message = std::string{"half"};
  CAF_CHECK_EQUAL(progress_event_json("s", "t", "c1", pp),
                  R"({"server":"s","tool":"t","call":"c1","progress":0.5,"total":2,"message":"half"})");
  // A reload.
  CAF_CHECK_EQUAL(config_event_json("reloaded", {"d"}, {"c"}, {"b"}, ""),
                  R"({"status":"reloaded","added":["d"],"removed":["c"],"changed":["b"],"error":null})");
}

CAF_TEST(a node without a token answers loopback Host names only) {
  for (auto h : {"127.0.0.1:8080", "127.0.0.1", "localhost:8080", "localhost",
                 "[::1]:8080", "[::1]", "127.1.2.3:9"})
    CAF_CHECK(loopback_host_header(h));
  for (auto h : {"rebind.attacker.example:8080", "evil.com", "", "[::2]:80",
                 "127.0.0.1.evil.com:80", "0.0.0.0:8080", "[::1"})
    CAF_CHECK(!loopback_host_header(h));
}

CAF_TEST(the page and every file it references are embedded) {
  auto* index = find_page_asset("/");
  CAF_REQUIRE(index != nullptr);
  CAF_CHECK_EQUAL(find_page_asset("/index.html"), index);
  CAF_CHECK_EQUAL(index->content_type, "text/html; charset=utf-8");
  CAF_CHECK(index->body.find("<!doctype html>") != std::string_view::npos
            || index->body.find("<!DOCTYPE html>") != std::string_view::npos);
  // Every src= and href= of index.html that is a path on the node names an
  // embedded file (a missing one would be a 404 and a console error).
  size_t refs = 0;
  for (std::string_view attr : {"src=\"", "href=\""}) {
    for (auto i = index->body.find(attr); i != std::string_view::npos;
         i = index->body.find(attr, i + 1)) {
      auto start = i + attr.size();
      auto end = index->body.find('"', start);
      CAF_REQUIRE(end != std::string_view::npos);
      auto ref = index->body.substr(start, end - start);
      if (ref.substr(0, 1) != "/")
        continue; // data: icon, #fragments
      ++refs;
      CAF_MESSAGE("index.html references " << std::string{ref});
      CAF_CHECK(find_page_asset(ref) != nullptr);
    }
  }
  CAF_CHECK_GREATER_OR_EQUAL(refs, 2u); // the script and the style sheet
  auto* js = find_page_asset("/assets/app.js");
  CAF_REQUIRE(js != nullptr);
  CAF_CHECK_EQUAL(js->content_type, "text/javascript; charset=utf-8");
  CAF_CHECK(!js->body.empty());
  auto* css = find_page_asset("/assets/style.css");
  CAF_REQUIRE(css != nullptr);
  CAF_CHECK_EQUAL(css->content_type, "text/css; charset=utf-8");
  CAF_CHECK_EQUAL(find_page_asset("/assets/nope.js"), nullptr);
  CAF_CHECK_EQUAL(find_page_asset("/assets/"), nullptr);
  CAF_CHECK_EQUAL(find_page_asset("/assets/../index.html"), nullptr);
  // No byte is lost or added by the embedding: the last byte of each file
  // is the file's own (the generator appends a 0 outside the size).
  for (auto& a : page_assets())
    CAF_CHECK(!a.body.empty() && a.body.back() != '\0');
}

CAF_TEST(the page policy allows nothing inline and nothing foreign) {
  std::string_view csp = page_csp;
  CAF_CHECK(csp.find("default-src 'none'") != std::string_view::npos);
  CAF_CHECK(csp.find("script-src 'self'") != std::string_view::npos);
  CAF_CHECK(csp.find("unsafe") == std::string_view::npos);
  CAF_CHECK(csp.find("http") == std::string_view::npos);
  CAF_CHECK(csp.find("frame-ancestors 'none'") != std::string_view::npos);
}
