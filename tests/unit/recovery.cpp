#define CAF_SUITE recovery
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "caf/sec.hpp"

#include "caf_mcp/actors/recovery.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/protocol.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

caf::error err(mcp_errc code) {
  return caf::make_error(code, "context");
}

tool make_tool(const std::string& name, const std::string& schema) {
  tool t;
  t.name = name;
  t.input_schema = schema;
  return t;
}

} // namespace

CAF_TEST(network trouble restarts and configuration trouble gives up) {
  for (auto code : {mcp_errc::connection_failed, mcp_errc::connection_lost,
                    mcp_errc::session_expired, mcp_errc::rate_limited,
                    mcp_errc::service_unavailable, mcp_errc::timeout,
                    mcp_errc::endpoint_timeout, mcp_errc::malformed_sse,
                    mcp_errc::event_too_large, mcp_errc::http_status,
                    mcp_errc::bad_content_type})
    CAF_CHECK(on_session_end(err(code), false) == loss_action::restart);
  for (auto code : {mcp_errc::endpoint_origin_mismatch,
                    mcp_errc::invalid_endpoint, mcp_errc::invalid_argument,
                    mcp_errc::unsupported_protocol_version,
                    mcp_errc::tls_error})
    CAF_CHECK(on_session_end(err(code), true) == loss_action::give_up);
  CAF_CHECK(on_session_end(err(mcp_errc::unauthorized), false)
            == loss_action::give_up);
  CAF_CHECK(on_session_end(err(mcp_errc::forbidden), false)
            == loss_action::give_up);
  CAF_CHECK(on_session_end(err(mcp_errc::unauthorized), true)
            == loss_action::restart);
  // CAF's own errors (an actor that died unexpectedly) restart.
  CAF_CHECK(on_session_end(caf::make_error(caf::sec::runtime_error), false)
            == loss_action::restart);
}

CAF_TEST(calls the server never executed are sent again) {
  for (auto code : {mcp_errc::connection_failed, mcp_errc::session_expired,
                    mcp_errc::rate_limited, mcp_errc::service_unavailable,
                    mcp_errc::not_initialized})
    CAF_CHECK(classify_call_error(err(code)) == call_fate::resend_later);
  CAF_CHECK(classify_call_error(err(mcp_errc::connection_lost))
            == call_fate::session_lost);
  for (auto code : {mcp_errc::timeout, mcp_errc::jsonrpc_error,
                    mcp_errc::invalid_result, mcp_errc::malformed_json,
                    mcp_errc::invalid_argument})
    CAF_CHECK(classify_call_error(err(code)) == call_fate::deliver);
  CAF_CHECK(ends_session(err(mcp_errc::session_expired)));
  CAF_CHECK(ends_session(err(mcp_errc::connection_lost)));
  CAF_CHECK(!ends_session(err(mcp_errc::rate_limited)));
}

CAF_TEST(retry after comes from the second context element) {
  auto now = std::chrono::system_clock::now();
  auto e = caf::make_error(mcp_errc::rate_limited, "HTTP 429",
                           std::string{"7"});
  auto ra = retry_after(e, now);
  CAF_REQUIRE(ra);
  CAF_CHECK_EQUAL(*ra, std::chrono::nanoseconds{7s});
  CAF_CHECK(!retry_after(err(mcp_errc::rate_limited), now));
  CAF_CHECK(!retry_after(caf::make_error(mcp_errc::rate_limited, "x",
                                         std::string{"soon"}),
                         now));
  CAF_CHECK(!retry_after(caf::error{}, now));
  // The SSE retry field (element 2) is a floor too; the larger one wins.
  auto sse = caf::make_error(mcp_errc::connection_lost, "stream ended",
                             std::string{}, std::string{"sse_retry_ms=1500"});
  auto r2 = retry_after(sse, now);
  CAF_REQUIRE(r2);
  CAF_CHECK_EQUAL(*r2, std::chrono::nanoseconds{1500ms});
  auto both = caf::make_error(mcp_errc::service_unavailable, "503",
                              std::string{"1"},
                              std::string{"sse_retry_ms=2500"});
  auto r3 = retry_after(both, now);
  CAF_REQUIRE(r3);
  CAF_CHECK_EQUAL(*r3, std::chrono::nanoseconds{2500ms});
  auto junk = caf::make_error(mcp_errc::connection_lost, "x", std::string{},
                              std::string{"sse_retry_ms=12x"});
  CAF_CHECK(!retry_after(junk, now));
  // A huge retry saturates instead of being ignored (the backoff clamps it
  // to its cap); so does one beyond 64 bits.
  for (auto digits : {std::string(13, '9'), std::string(40, '7')}) {
    auto huge = caf::make_error(mcp_errc::connection_lost, "x", std::string{},
                                "sse_retry_ms=" + digits);
    auto r = retry_after(huge, now);
    CAF_REQUIRE(r.has_value());
    CAF_CHECK_EQUAL(*r, std::chrono::nanoseconds{
                          std::chrono::milliseconds{999'999'999'999}});
  }
  CAF_CHECK_EQUAL(render(sse), "connection_lost: stream ended sse_retry_ms=1500");
}

CAF_TEST(the router picks the least loaded ready member in turn) {
  std::vector<member_load> m{{true, 2}, {true, 1}, {false, 0}, {true, 1}};
  size_t cursor = 0;
  CAF_CHECK_EQUAL(pick_member(m, cursor), 1u);
  CAF_CHECK_EQUAL(cursor, 2u);
  CAF_CHECK_EQUAL(pick_member(m, cursor), 3u); // tie broken by the cursor
  CAF_CHECK_EQUAL(pick_member(m, cursor), 1u);
  // No member ready: the least loaded of all.
  std::vector<member_load> down{{false, 3}, {false, 1}};
  cursor = 0;
  CAF_CHECK_EQUAL(pick_member(down, cursor), 1u);
  std::vector<member_load> none;
  CAF_CHECK_EQUAL(pick_member(none, cursor), 0u);
}

CAF_TEST(tool diffs are by name) {
  std::vector<tool> before{make_tool("a", "{}"), make_tool("b", "{}"),
                           make_tool("c", "{}")};
  std::vector<tool> after{make_tool("c", "{}"),
                          make_tool("b", R"({"type":"object"})"),
                          make_tool("d", "{}")};
  auto d = diff_tools(before, after);
  CAF_REQUIRE_EQUAL(d.added.size(), 1u);
  CAF_CHECK_EQUAL(d.added[0].name, "d");
  CAF_REQUIRE_EQUAL(d.removed.size(), 1u);
  CAF_CHECK_EQUAL(d.removed[0].name, "a");
  CAF_REQUIRE_EQUAL(d.changed.size(), 1u);
  CAF_CHECK_EQUAL(d.changed[0].input_schema, R"({"type":"object"})");
  CAF_CHECK(empty(diff_tools(after, after)));
  auto all_new = diff_tools({}, before);
  CAF_CHECK_EQUAL(all_new.added.size(), 3u);
  // Applying a diff gives the new list, sorted by name.
  auto applied = apply_diff(before, d);
  CAF_REQUIRE_EQUAL(applied.size(), 3u);
  CAF_CHECK_EQUAL(applied[0].name, "b");
  CAF_CHECK_EQUAL(applied[0].input_schema, R"({"type":"object"})");
  CAF_CHECK_EQUAL(applied[1].name, "c");
  CAF_CHECK_EQUAL(applied[2].name, "d");
  CAF_CHECK(empty(diff_tools(applied, after)));
}

CAF_TEST(equal tool lists are shared while somebody holds one) {
  std::vector<tool> list{make_tool("a", "{}"), make_tool("b", "{}")};
  auto first = intern_tools(list);
  auto second = intern_tools(std::vector<tool>{list});
  CAF_CHECK(first == second); // one list, held twice
  CAF_CHECK(*first == list);
  // Any difference (a schema, the order, a description) is another list.
  auto changed = list;
  changed[1].input_schema = R"({"type":"object"})";
  CAF_CHECK(intern_tools(changed) != first);
  std::vector<tool> reversed{list[1], list[0]};
  CAF_CHECK(intern_tools(reversed) != first);
  auto described = list;
  described[0].description = std::string{"x"};
  CAF_CHECK(intern_tools(described) != first);
  // Once nobody holds it, an equal list is a new one (nothing is kept).
  std::weak_ptr<const std::vector<tool>> weak = first;
  first = nullptr;
  second = nullptr;
  CAF_CHECK(weak.expired());
  auto again = intern_tools(list);
  CAF_CHECK(*again == list);
}

CAF_TEST(the retry rule tells never run from maybe run from never) {
  auto safety = [](mcp_errc code) {
    return classify_for_retry(caf::make_error(code, "x"));
  };
  for (auto code : {mcp_errc::connection_failed, mcp_errc::session_expired,
                    mcp_errc::rate_limited, mcp_errc::service_unavailable,
                    mcp_errc::not_initialized, mcp_errc::queue_full,
                    mcp_errc::queue_timeout})
    CAF_CHECK(safety(code) == retry_safety::never_ran);
  for (auto code : {mcp_errc::connection_lost, mcp_errc::outcome_unknown,
                    mcp_errc::timeout})
    CAF_CHECK(safety(code) == retry_safety::maybe_ran);
  for (auto code : {mcp_errc::jsonrpc_error, mcp_errc::invalid_argument,
                    mcp_errc::unknown_tool, mcp_errc::unauthorized,
                    mcp_errc::forbidden, mcp_errc::cancelled,
                    mcp_errc::closed, mcp_errc::limit_exceeded,
                    mcp_errc::middleware_failed, mcp_errc::invalid_result,
                    mcp_errc::gave_up})
    CAF_CHECK(safety(code) == retry_safety::never);
  // Errors of other categories are never retried.
  CAF_CHECK(classify_for_retry(caf::make_error(caf::sec::request_timeout))
            == retry_safety::never);
}

CAF_TEST(tool annotations say whether a second run is harmless) {
  CAF_CHECK(is_idempotent_tool(R"({"idempotentHint":true})"));
  CAF_CHECK(is_idempotent_tool(R"({"readOnlyHint":true,"x":1})"));
  CAF_CHECK(!is_idempotent_tool(R"({"idempotentHint":false})"));
  CAF_CHECK(!is_idempotent_tool(R"({"idempotentHint":"true"})"));
  CAF_CHECK(!is_idempotent_tool(R"({"destructiveHint":true})"));
  CAF_CHECK(!is_idempotent_tool(""));
  CAF_CHECK(!is_idempotent_tool("{not json"));
  CAF_CHECK(!is_idempotent_tool("[true]"));
}
