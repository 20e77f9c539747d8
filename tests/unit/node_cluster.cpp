#define CAF_SUITE node_cluster
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "caf_mcp/cluster/cluster.hpp"

using namespace caf_mcp::cluster;
using namespace std::chrono_literals;

namespace {

struct fixture {
  using table = pending_table<std::string>;
  table::clock::time_point t0 = table::clock::now();
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_cluster_tests, fixture)

CAF_TEST(peer server names split at the first colon) {
  std::string peer;
  std::string server;
  CAF_REQUIRE(split_peer_server("node-b:billing", peer, server));
  CAF_CHECK_EQUAL(peer, "node-b");
  CAF_CHECK_EQUAL(server, "billing");
  CAF_CHECK(!split_peer_server("billing", peer, server));
  CAF_CHECK(!split_peer_server(":billing", peer, server));
  CAF_CHECK(!split_peer_server("node-b:", peer, server));
  CAF_REQUIRE(split_peer_server("a:b:c", peer, server));
  CAF_CHECK_EQUAL(peer, "a");
  CAF_CHECK_EQUAL(server, "b:c");
  CAF_CHECK_EQUAL(peer_server_name("node-b", "billing"), "node-b:billing");
  CAF_CHECK_EQUAL(std::string{to_string(peer_state::up)}, "up");
  CAF_CHECK_EQUAL(std::string{to_string(peer_state::down)}, "down");
  CAF_CHECK_EQUAL(std::string{to_string(peer_state::connecting)},
                  "connecting");
}

CAF_TEST(the limiter bounds calls per node and forgets idle nodes) {
  in_flight_limiter lim{2};
  CAF_CHECK(lim.try_acquire("a"));
  CAF_CHECK(lim.try_acquire("a"));
  CAF_CHECK(!lim.try_acquire("a"));
  CAF_CHECK_EQUAL(lim.in_flight("a"), 2u);
  // Another node has its own budget.
  CAF_CHECK(lim.try_acquire("b"));
  CAF_CHECK_EQUAL(lim.keys(), 2u);
  lim.release("a");
  CAF_CHECK(lim.try_acquire("a"));
  lim.release("a");
  lim.release("a");
  lim.release("b");
  CAF_CHECK_EQUAL(lim.keys(), 0u);
  // A release without a call is harmless.
  lim.release("c");
  CAF_CHECK_EQUAL(lim.in_flight("c"), 0u);
  in_flight_limiter zero{0};
  CAF_CHECK(!zero.try_acquire("a"));
  CAF_CHECK_EQUAL(zero.keys(), 0u);
}

CAF_TEST(a loss fails every sent call at once but keeps retryable ones) {
  table t;
  auto a = t.add(t0 + 10s, false, "a");
  auto b = t.add(t0 + 10s, true, "b");
  auto c = t.add(t0 + 10s, false, "c");
  CAF_CHECK_EQUAL(t.size(), 3u);
  CAF_CHECK(t.accepts(a, 1));
  auto failed = t.on_loss();
  CAF_REQUIRE_EQUAL(failed.size(), 2u);
  CAF_CHECK_EQUAL(failed[0].first, a);
  CAF_CHECK_EQUAL(failed[0].second, "a");
  CAF_CHECK_EQUAL(failed[1].first, c);
  CAF_CHECK_EQUAL(t.size(), 1u);
  // The waiting call takes no answer of its lost send.
  CAF_CHECK(!t.accepts(b, 1));
  // A second loss before the reconnect changes nothing.
  CAF_CHECK(t.on_loss().empty());
  auto again = t.resend_waiting();
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK_EQUAL(again[0], b);
  CAF_CHECK(t.accepts(b, 2));
  CAF_CHECK(!t.accepts(b, 1));
  // Resent once only: the next loss fails it.
  auto failed2 = t.on_loss();
  CAF_REQUIRE_EQUAL(failed2.size(), 1u);
  CAF_CHECK_EQUAL(failed2[0].second, "b");
  CAF_CHECK_EQUAL(t.size(), 0u);
  CAF_CHECK(t.resend_waiting().empty());
}

CAF_TEST(answered calls leave the table) {
  table t;
  auto a = t.add(t0 + 1s, false, "a");
  auto b = t.add(t0 + 5s, true, "b");
  std::string out;
  CAF_CHECK(t.take(a, out));
  CAF_CHECK_EQUAL(out, "a");
  CAF_CHECK(!t.take(a, out));
  CAF_CHECK_EQUAL(t.size(), 1u);
  CAF_REQUIRE(t.find(b) != nullptr);
  CAF_CHECK(t.find(b)->retryable);
  CAF_CHECK(t.take(b, out));
  CAF_CHECK_EQUAL(out, "b");
  CAF_CHECK_EQUAL(t.size(), 0u);
  CAF_CHECK(t.find(b) == nullptr);
}

CAF_TEST(the deadline sweep finds expired calls and the next deadline) {
  table t;
  table::clock::time_point next;
  CAF_CHECK(!t.earliest_deadline(next));
  CAF_CHECK(t.expired(t0 + 100s).empty());
  auto late = t.add(t0 + 9s, false, "late");
  auto soon = t.add(t0 + 2s, false, "soon");
  auto mid = t.add(t0 + 5s, true, "mid");
  CAF_REQUIRE(t.earliest_deadline(next));
  CAF_CHECK(next == t0 + 2s);
  CAF_CHECK(t.expired(t0 + 1s).empty());
  // The deadline itself counts as passed.
  auto due = t.expired(t0 + 2s);
  CAF_REQUIRE_EQUAL(due.size(), 1u);
  CAF_CHECK_EQUAL(due[0], soon);
  // Waiting calls (lost, to be resent) end at their deadline too.
  t.on_loss();
  CAF_REQUIRE(t.find(mid) != nullptr);
  CAF_CHECK(t.find(mid)->waiting);
  due = t.expired(t0 + 6s);
  CAF_CHECK_EQUAL(due.size(), 1u);
  CAF_CHECK(t.find(late) == nullptr); // failed by the loss
  CAF_CHECK_EQUAL(due[0], mid);
  std::string out;
  CAF_CHECK(t.take(mid, out));
  CAF_CHECK(!t.earliest_deadline(next));
}

CAF_TEST_FIXTURE_SCOPE_END()
