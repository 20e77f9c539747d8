#define CAF_SUITE result_cache
#include "caf/test/unit_test.hpp"

#include "caf_mcp/messages/result_cache.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf_mcp/messages/canonical_json.hpp"
#include "caf_mcp/messages/mcp.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

using time_point = result_cache::time_point;
using result_ptr = result_cache::result_ptr;

/// An arbitrary start: tests only ever add to it.
const time_point t0 = time_point{} + 1000h;

/// The canonical text of `text`, failing the test if it is not JSON.
std::string canon(std::string_view text) {
  std::string result;
  if (auto err = canonical_json_text(text, result))
    CAF_FAIL("canonical_json_text failed on " << text << ": "
                                              << to_string(err));
  return result;
}

result_ptr text_result(std::string text) {
  auto result = std::make_shared<call_tool_result>();
  result->content.push_back(make_text_content(std::move(text)));
  return result;
}

result_ptr error_result(std::string text) {
  auto result = std::make_shared<call_tool_result>();
  result->content.push_back(make_text_content(std::move(text)));
  result->is_error = true;
  return result;
}

/// The bytes an entry counts (see result_cache_config::max_bytes).
size_t entry_bytes(std::string_view server, std::string_view tool,
                   std::string_view args, const call_tool_result& result) {
  return server.size() + tool.size() + args.size()
         + to_json_text(result).size();
}

result_cache_config config_all(std::chrono::seconds ttl = 30s) {
  result_cache_config cfg;
  cfg.ttl = ttl;
  return cfg;
}

/// The text of a hit, or "<miss>".
std::string text_of(const result_ptr& ptr) {
  return ptr ? joined_text(*ptr) : std::string{"<miss>"};
}

} // namespace

// -- keys ---------------------------------------------------------------------

CAF_TEST(a stored result is a hit for the same key and shared not copied) {
  result_cache cache{config_all()};
  auto args = canon(R"({"symbol":"ACME"})");
  CAF_CHECK(!cache.lookup("s", "get_quote", args, t0));
  auto result = text_result("42");
  CAF_CHECK(cache.store("s", "get_quote", args, result, false, t0));
  auto hit = cache.lookup("s", "get_quote", args, t0 + 1s);
  CAF_REQUIRE(hit);
  CAF_CHECK_EQUAL(hit.get(), result.get());
  CAF_CHECK_EQUAL(*hit, *result);
  CAF_CHECK_EQUAL(cache.size(), 1u);
}

CAF_TEST(key order and whitespace of the arguments do not matter) {
  result_cache cache{config_all()};
  CAF_CHECK(cache.store("s", "t", canon(R"({"a":1,"b":{"x":[1,2],"y":"z"}})"),
                        text_result("r"), false, t0));
  for (auto spelling : {R"({"b":{"y":"z","x":[1,2]},"a":1})",
                        " {\n \"b\" : { \"y\":\"\\u007a\", \"x\":[1, 2.0]},"
                        "\t\"a\":1.0 } "})
    CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", canon(spelling), t0)), "r");
}

CAF_TEST(different arguments tools or servers are different keys) {
  result_cache cache{config_all()};
  auto args = canon(R"({"a":1})");
  CAF_CHECK(cache.store("s", "t", args, text_result("r"), false, t0));
  CAF_CHECK(!cache.lookup("s", "t", canon(R"({"a":2})"), t0));
  CAF_CHECK(!cache.lookup("s", "t", canon(R"({"a":"1"})"), t0));
  CAF_CHECK(!cache.lookup("s", "t", canon(R"({"a":1,"b":null})"), t0));
  CAF_CHECK(!cache.lookup("s", "t", canon(R"({"A":1})"), t0));
  CAF_CHECK(!cache.lookup("s", "t", canon("{}"), t0));
  CAF_CHECK(!cache.lookup("s", "u", args, t0));
  CAF_CHECK(!cache.lookup("s2", "t", args, t0));
  CAF_CHECK(!cache.lookup("", "t", args, t0));
  // The tool name cannot run into the arguments.
  CAF_CHECK(cache.store("s", "t\"", "{}", text_result("q"), false, t0));
  CAF_CHECK(!cache.lookup("s", "t", "\"{}", t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t\"", "{}", t0)), "q");
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", args, t0)), "r");
}

// -- TTL and tool list --------------------------------------------------------

CAF_TEST(an entry expires after its TTL and is removed) {
  result_cache cache{config_all(30s)};
  CAF_CHECK(cache.store("s", "t", "{}", text_result("r"), false, t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", "{}", t0 + 30s - 1ns)), "r");
  CAF_CHECK_EQUAL(cache.size(), 1u);
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0 + 30s));
  CAF_CHECK_EQUAL(cache.size(), 0u);
  CAF_CHECK_EQUAL(cache.bytes(), 0u);
  auto st = cache.stats("s");
  CAF_CHECK_EQUAL(st.hits, 1u);
  CAF_CHECK_EQUAL(st.misses, 1u);
  // A lookup does not extend the TTL; storing again starts it anew.
  CAF_CHECK(cache.store("s", "t", "{}", text_result("r2"), false, t0 + 40s));
  CAF_CHECK(cache.lookup("s", "t", "{}", t0 + 60s));
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0 + 70s));
}

CAF_TEST(remove_expired sweeps only expired entries) {
  result_cache_config cfg;
  cfg.ttl = 10s;
  cfg.tool_ttl.emplace("long", 60s);
  result_cache cache{cfg};
  CAF_CHECK(cache.store("s", "short", "1", text_result("a"), false, t0));
  CAF_CHECK(cache.store("s", "short", "2", text_result("b"), false, t0 + 5s));
  CAF_CHECK(cache.store("s", "long", "1", text_result("c"), false, t0));
  CAF_CHECK_EQUAL(cache.remove_expired(t0 + 9s), 0u);
  CAF_CHECK_EQUAL(cache.remove_expired(t0 + 10s), 1u);
  CAF_CHECK_EQUAL(cache.size(), 2u);
  CAF_CHECK_EQUAL(cache.remove_expired(t0 + 15s), 1u);
  CAF_CHECK_EQUAL(cache.size(), 1u);
  CAF_CHECK_EQUAL(cache.bytes(),
                  entry_bytes("s", "long", "1", *text_result("c")));
  CAF_CHECK_EQUAL(cache.stats("s").misses, 0u); // sweeping is not a lookup
}

CAF_TEST(per tool TTLs override the default) {
  result_cache_config cfg;
  cfg.ttl = 30s;
  cfg.tool_ttl.emplace("fast", 5s);
  cfg.tool_ttl.emplace("never", 0s);
  result_cache cache{cfg};
  CAF_CHECK_EQUAL(cache.ttl("other"), result_cache::duration{30s});
  CAF_CHECK_EQUAL(cache.ttl("fast"), result_cache::duration{5s});
  CAF_CHECK_EQUAL(cache.ttl("never"), result_cache::duration::zero());
  CAF_CHECK(cache.store("s", "fast", "{}", text_result("f"), false, t0));
  CAF_CHECK(cache.store("s", "other", "{}", text_result("o"), false, t0));
  CAF_CHECK(!cache.store("s", "never", "{}", text_result("n"), false, t0));
  CAF_CHECK(cache.lookup("s", "fast", "{}", t0 + 4s));
  CAF_CHECK(!cache.lookup("s", "fast", "{}", t0 + 5s));
  CAF_CHECK(cache.lookup("s", "other", "{}", t0 + 29s));
  CAF_CHECK(!cache.lookup("s", "never", "{}", t0));
  // Lookups of a tool that is never cached are not counted.
  auto st = cache.stats("s");
  CAF_CHECK_EQUAL(st.hits, 2u);
  CAF_CHECK_EQUAL(st.misses, 1u);
}

CAF_TEST(with a tool list only the listed tools are cached) {
  // {"type":"cache","ttl_s":30,"tools":["get_quote"]}
  result_cache_config cfg;
  cfg.ttl = 30s;
  cfg.tools = std::vector<std::string>{"get_quote"};
  cfg.tool_ttl.emplace("get_rate", 5s);
  result_cache cache{cfg};
  CAF_CHECK(cache.caches("get_quote"));
  CAF_CHECK(cache.caches("get_rate")); // an override lists the tool too
  CAF_CHECK(!cache.caches("place_order"));
  CAF_CHECK(!cache.caches("get_quot"));
  CAF_CHECK_EQUAL(cache.ttl("get_quote"), result_cache::duration{30s});
  CAF_CHECK(cache.store("s", "get_quote", "{}", text_result("q"), false, t0));
  CAF_CHECK(cache.store("s", "get_rate", "{}", text_result("r"), false, t0));
  CAF_CHECK(
    !cache.store("s", "place_order", "{}", text_result("o"), false, t0));
  CAF_CHECK(!cache.lookup("s", "place_order", "{}", t0));
  CAF_CHECK(cache.lookup("s", "get_quote", "{}", t0 + 29s));
  CAF_CHECK(!cache.lookup("s", "get_rate", "{}", t0 + 5s));
  CAF_CHECK_EQUAL(cache.stats("s").hits, 1u);
  CAF_CHECK_EQUAL(cache.stats("s").misses, 1u);
  // And an empty list caches nothing.
  result_cache_config none;
  none.tools = std::vector<std::string>{};
  result_cache empty{none};
  CAF_CHECK(!empty.caches("get_quote"));
  CAF_CHECK(!empty.store("s", "get_quote", "{}", text_result("q"), false, t0));
}

// -- what is stored -----------------------------------------------------------

CAF_TEST(isError results and calls that streamed progress are never stored) {
  result_cache cache{config_all()};
  CAF_CHECK(!cache.store("s", "t", "{}", error_result("boom"), false, t0));
  CAF_CHECK(!cache.store("s", "t", "{}", text_result("r"), true, t0));
  CAF_CHECK(!cache.store("s", "t", "{}", error_result("boom"), true, t0));
  CAF_CHECK(!cache.store("s", "t", "{}", nullptr, false, t0));
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0));
  CAF_CHECK_EQUAL(cache.size(), 0u);
  CAF_CHECK_EQUAL(cache.bytes(), 0u);
  // A rejected store leaves an earlier entry for the key alone.
  CAF_CHECK(cache.store("s", "t", "{}", text_result("ok"), false, t0));
  CAF_CHECK(!cache.store("s", "t", "{}", error_result("boom"), false, t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", "{}", t0)), "ok");
}

CAF_TEST(storing the same key again replaces the entry and its bytes) {
  result_cache cache{config_all()};
  CAF_CHECK(cache.store("s", "t", "{}", text_result("short"), false, t0));
  auto longer = text_result(std::string(500, 'x'));
  CAF_CHECK(cache.store("s", "t", "{}", longer, false, t0 + 20s));
  CAF_CHECK_EQUAL(cache.size(), 1u);
  CAF_CHECK_EQUAL(cache.bytes(), entry_bytes("s", "t", "{}", *longer));
  CAF_CHECK_EQUAL(cache.stats("s").bytes, cache.bytes());
  // The replacement's TTL counts from its own store.
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", "{}", t0 + 45s)),
                  std::string(500, 'x'));
}

CAF_TEST(bytes count server tool arguments and the serialized result) {
  result_cache cache{config_all()};
  auto r1 = text_result("hello");
  auto r2 = std::make_shared<call_tool_result>();
  r2->content.push_back(make_text_content("a"));
  r2->content.push_back(make_image_content("AAAA", "image/png"));
  r2->structured_content = R"({"v":1})";
  auto args = canon(R"({"k":"v"})");
  CAF_CHECK(cache.store("srv", "tool", args, r1, false, t0));
  CAF_CHECK(cache.store("other", "x", "{}", r2, false, t0));
  auto b1 = entry_bytes("srv", "tool", args, *r1);
  auto b2 = entry_bytes("other", "x", "{}", *r2);
  // Spelled out once, so a change to entry_bytes cannot hide a change here.
  CAF_CHECK_EQUAL(b1, 3u + 4u + 9u
                        + std::string_view{
                          R"({"content":[{"type":"text","text":"hello"}]})"}
                            .size());
  CAF_CHECK_EQUAL(cache.bytes(), b1 + b2);
  CAF_CHECK_EQUAL(cache.stats("srv").bytes, b1);
  CAF_CHECK_EQUAL(cache.stats("other").bytes, b2);
  CAF_CHECK_EQUAL(cache.stats("srv").entries, 1u);
}

// -- LRU bounds ---------------------------------------------------------------

CAF_TEST(the entry bound evicts the least recently used entry) {
  auto cfg = config_all();
  cfg.max_entries = 3;
  result_cache cache{cfg};
  CAF_CHECK(cache.store("s", "t", "1", text_result("a"), false, t0));
  CAF_CHECK(cache.store("s", "t", "2", text_result("b"), false, t0));
  CAF_CHECK(cache.store("s", "t", "3", text_result("c"), false, t0));
  // A lookup refreshes "1": "2" is now the least recently used.
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  CAF_CHECK(cache.store("s", "t", "4", text_result("d"), false, t0));
  CAF_CHECK_EQUAL(cache.size(), 3u);
  CAF_CHECK(!cache.lookup("s", "t", "2", t0));
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  CAF_CHECK(cache.lookup("s", "t", "3", t0));
  CAF_CHECK(cache.lookup("s", "t", "4", t0));
  // Least to most recently used: 1, 3, 4. Replacing "1" refreshes it, so
  // "3" is the one to go.
  CAF_CHECK(cache.store("s", "t", "1", text_result("a2"), false, t0));
  CAF_CHECK(cache.store("s", "t", "5", text_result("e"), false, t0));
  CAF_CHECK(!cache.lookup("s", "t", "3", t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", "1", t0)), "a2");
  CAF_CHECK(cache.lookup("s", "t", "4", t0));
  CAF_CHECK(cache.lookup("s", "t", "5", t0));
  CAF_CHECK_EQUAL(cache.size(), 3u);
}

CAF_TEST(the byte bound evicts least recently used entries) {
  auto one = entry_bytes("s", "t", "1", *text_result("aaaaaaaaaa"));
  auto cfg = config_all();
  cfg.max_bytes = 3 * one; // exactly three entries of this size
  result_cache cache{cfg};
  CAF_CHECK(cache.store("s", "t", "1", text_result("aaaaaaaaaa"), false, t0));
  CAF_CHECK(cache.store("s", "t", "2", text_result("bbbbbbbbbb"), false, t0));
  CAF_CHECK(cache.store("s", "t", "3", text_result("cccccccccc"), false, t0));
  CAF_CHECK_EQUAL(cache.bytes(), 3 * one);
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  // Twice the size: "2" and "3" must go, "1" (used last) stays.
  auto big = text_result(std::string(10 + one, 'x'));
  CAF_REQUIRE_EQUAL(entry_bytes("s", "t", "4", *big), 2 * one);
  CAF_CHECK(cache.store("s", "t", "4", big, false, t0));
  CAF_CHECK_EQUAL(cache.size(), 2u);
  CAF_CHECK_EQUAL(cache.bytes(), 3 * one);
  CAF_CHECK(!cache.lookup("s", "t", "2", t0));
  CAF_CHECK(!cache.lookup("s", "t", "3", t0));
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  CAF_CHECK(cache.lookup("s", "t", "4", t0));
  // One byte more than the bound with everything: the LRU entry ("1") goes.
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  CAF_CHECK(cache.lookup("s", "t", "4", t0));
  CAF_CHECK(cache.store("s", "t", "5", text_result("e"), false, t0));
  CAF_CHECK(!cache.lookup("s", "t", "1", t0));
  CAF_CHECK(cache.lookup("s", "t", "4", t0));
  CAF_CHECK(cache.bytes() <= cfg.max_bytes);
}

CAF_TEST(a result larger than the byte bound is not stored and evicts nothing) {
  auto cfg = config_all();
  auto small = text_result("s");
  auto huge = text_result(std::string(1000, 'h'));
  cfg.max_bytes = entry_bytes("s", "t", "{}", *huge) - 1;
  result_cache cache{cfg};
  CAF_CHECK(cache.store("s", "t", "1", small, false, t0));
  CAF_CHECK(!cache.store("s", "t", "{}", huge, false, t0));
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0));
  CAF_CHECK(cache.lookup("s", "t", "1", t0));
  CAF_CHECK_EQUAL(cache.size(), 1u);
  // Exactly at the bound fits.
  cfg.max_bytes += 1;
  result_cache exact{cfg};
  CAF_CHECK(exact.store("s", "t", "{}", huge, false, t0));
  CAF_CHECK_EQUAL(exact.bytes(), cfg.max_bytes);
}

CAF_TEST(max_entries zero stores nothing) {
  auto cfg = config_all();
  cfg.max_entries = 0;
  result_cache cache{cfg};
  CAF_CHECK(!cache.store("s", "t", "{}", text_result("r"), false, t0));
  CAF_CHECK_EQUAL(cache.size(), 0u);
}

// -- clearing and counters ----------------------------------------------------

CAF_TEST(clear_server clears only that server and keeps its counters) {
  result_cache cache{config_all()};
  CAF_CHECK(cache.store("a", "t", "1", text_result("a1"), false, t0));
  CAF_CHECK(cache.store("a", "t", "2", text_result("a2"), false, t0));
  CAF_CHECK(cache.store("b", "t", "1", text_result("b1"), false, t0));
  CAF_CHECK(cache.lookup("a", "t", "1", t0));
  CAF_CHECK_EQUAL(cache.clear_server("a"), 2u);
  CAF_CHECK_EQUAL(cache.clear_server("a"), 0u);
  CAF_CHECK_EQUAL(cache.clear_server("nobody"), 0u);
  CAF_CHECK(!cache.lookup("a", "t", "1", t0));
  CAF_CHECK(!cache.lookup("a", "t", "2", t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("b", "t", "1", t0)), "b1");
  CAF_CHECK_EQUAL(cache.size(), 1u);
  CAF_CHECK_EQUAL(cache.bytes(), entry_bytes("b", "t", "1", *text_result("b1")));
  auto st = cache.stats("a");
  CAF_CHECK_EQUAL(st.hits, 1u);
  CAF_CHECK_EQUAL(st.misses, 2u);
  CAF_CHECK_EQUAL(st.entries, 0u);
  CAF_CHECK_EQUAL(st.bytes, 0u);
  // The server is usable again afterwards.
  CAF_CHECK(cache.store("a", "t", "1", text_result("new"), false, t0));
  CAF_CHECK_EQUAL(text_of(cache.lookup("a", "t", "1", t0)), "new");
}

CAF_TEST(clear removes everything and keeps counters) {
  result_cache cache{config_all()};
  CAF_CHECK(cache.store("a", "t", "1", text_result("a1"), false, t0));
  CAF_CHECK(cache.store("b", "t", "1", text_result("b1"), false, t0));
  CAF_CHECK(cache.lookup("b", "t", "1", t0));
  cache.clear();
  CAF_CHECK_EQUAL(cache.size(), 0u);
  CAF_CHECK_EQUAL(cache.bytes(), 0u);
  CAF_CHECK(!cache.lookup("a", "t", "1", t0));
  CAF_CHECK(!cache.lookup("b", "t", "1", t0));
  CAF_CHECK_EQUAL(cache.stats("b").hits, 1u);
  CAF_CHECK_EQUAL(cache.stats("b").misses, 1u);
  CAF_CHECK_EQUAL(cache.stats("b").entries, 0u);
}

CAF_TEST(hits and misses are counted per server) {
  result_cache cache{config_all()};
  CAF_CHECK(!cache.lookup("a", "t", "1", t0));
  CAF_CHECK(!cache.lookup("a", "t", "1", t0));
  CAF_CHECK(cache.store("a", "t", "1", text_result("r"), false, t0));
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(cache.lookup("a", "t", "1", t0));
  CAF_CHECK(!cache.lookup("b", "t", "1", t0));
  auto a = cache.stats("a");
  auto b = cache.stats("b");
  CAF_CHECK_EQUAL(a.hits, 5u);
  CAF_CHECK_EQUAL(a.misses, 2u);
  CAF_CHECK_EQUAL(a.entries, 1u);
  CAF_CHECK_EQUAL(b.hits, 0u);
  CAF_CHECK_EQUAL(b.misses, 1u);
  CAF_CHECK_EQUAL(b.entries, 0u);
  auto none = cache.stats("never-seen");
  CAF_CHECK_EQUAL(none.hits + none.misses + none.joined + none.entries, 0u);
}

// -- single flight ------------------------------------------------------------

CAF_TEST(sixteen identical calls give one leader and fifteen joiners) {
  result_cache cache{config_all()};
  auto args = canon(R"({"symbol":"ACME"})");
  std::vector<result_cache::waiter_id> expected;
  CAF_CHECK_EQUAL(cache.begin("s", "get_quote", args, 100), flight_role::leader);
  for (result_cache::waiter_id id = 101; id < 116; ++id) {
    CAF_CHECK_EQUAL(cache.begin("s", "get_quote", args, id),
                    flight_role::joined);
    expected.push_back(id);
  }
  CAF_CHECK_EQUAL(cache.flights(), 1u);
  CAF_CHECK_EQUAL(cache.stats("s").joined, 15u);
  auto result = text_result("42");
  auto waiters = cache.finish("s", "get_quote", args, result, false, t0);
  CAF_CHECK_EQUAL(waiters, expected);
  CAF_CHECK_EQUAL(cache.flights(), 0u);
  // The result is stored; a later begin (after the TTL, say) leads anew.
  CAF_CHECK_EQUAL(cache.lookup("s", "get_quote", args, t0 + 1s).get(),
                  result.get());
  CAF_CHECK_EQUAL(cache.begin("s", "get_quote", args, 200),
                  flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "get_quote", args, 201),
                  flight_role::joined);
  CAF_CHECK_EQUAL(cache.finish("s", "get_quote", args, result, false, t0),
                  std::vector<result_cache::waiter_id>{201});
}

CAF_TEST(a leader failure goes to all waiters and is not cached) {
  result_cache cache{config_all()};
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 1), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 2), flight_role::joined);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 3), flight_role::joined);
  auto waiters = cache.finish("s", "t", "{}", nullptr, false, t0);
  CAF_CHECK_EQUAL(waiters, (std::vector<result_cache::waiter_id>{2, 3}));
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0));
  CAF_CHECK_EQUAL(cache.size(), 0u);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 4), flight_role::leader);
}

CAF_TEST(an isError or streaming leader result is shared but not cached) {
  result_cache cache{config_all()};
  CAF_CHECK_EQUAL(cache.begin("s", "t", "1", 1), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "1", 2), flight_role::joined);
  CAF_CHECK_EQUAL(cache.finish("s", "t", "1", error_result("no"), false, t0),
                  std::vector<result_cache::waiter_id>{2});
  CAF_CHECK(!cache.lookup("s", "t", "1", t0));
  CAF_CHECK_EQUAL(cache.begin("s", "t", "2", 1), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "2", 2), flight_role::joined);
  CAF_CHECK_EQUAL(cache.finish("s", "t", "2", text_result("p"), true, t0),
                  std::vector<result_cache::waiter_id>{2});
  CAF_CHECK(!cache.lookup("s", "t", "2", t0));
  CAF_CHECK_EQUAL(cache.size(), 0u);
}

CAF_TEST(flights are per key and uncached tools never share a call) {
  result_cache_config cfg;
  cfg.tools = std::vector<std::string>{"get"};
  result_cache cache{cfg};
  CAF_CHECK_EQUAL(cache.begin("s", "get", "1", 1), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "get", "2", 2), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s2", "get", "1", 3), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "post", "1", 4), flight_role::uncached);
  CAF_CHECK_EQUAL(cache.begin("s", "post", "1", 5), flight_role::uncached);
  CAF_CHECK_EQUAL(cache.flights(), 3u);
  CAF_CHECK(cache.finish("s", "get", "2", nullptr, false, t0).empty());
  CAF_CHECK(cache.finish("s", "post", "1", text_result("x"), false, t0).empty());
  CAF_CHECK(!cache.lookup("s", "post", "1", t0));
  CAF_CHECK_EQUAL(cache.flights(), 2u);
  // finish without a flight stores nothing.
  CAF_CHECK(cache.finish("s", "get", "9", text_result("x"), false, t0).empty());
  CAF_CHECK(!cache.lookup("s", "get", "9", t0));
}

CAF_TEST(a flight that began before a clear does not store its result) {
  result_cache cache{config_all()};
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 1), flight_role::leader);
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 2), flight_role::joined);
  CAF_CHECK_EQUAL(cache.begin("other", "t", "{}", 3), flight_role::leader);
  cache.clear_server("s"); // tools/list_changed while the call runs
  // The flight survives (its waiter is still owed an answer).
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 4), flight_role::joined);
  CAF_CHECK_EQUAL(cache.finish("s", "t", "{}", text_result("old"), false, t0),
                  (std::vector<result_cache::waiter_id>{2, 4}));
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0));
  // Another server's flight is not affected.
  CAF_CHECK(cache.finish("other", "t", "{}", text_result("o"), false, t0)
              .empty());
  CAF_CHECK(cache.lookup("other", "t", "{}", t0));
  // The same after clear().
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 5), flight_role::leader);
  cache.clear();
  CAF_CHECK(cache.finish("s", "t", "{}", text_result("x"), false, t0).empty());
  CAF_CHECK(!cache.lookup("s", "t", "{}", t0));
  // A flight that begins after the clear stores again.
  CAF_CHECK_EQUAL(cache.begin("s", "t", "{}", 6), flight_role::leader);
  CAF_CHECK(cache.finish("s", "t", "{}", text_result("new"), false, t0).empty());
  CAF_CHECK_EQUAL(text_of(cache.lookup("s", "t", "{}", t0)), "new");
}
