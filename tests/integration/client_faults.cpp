#define CAF_SUITE client_faults
#include "caf/test/unit_test.hpp"

#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// Against small servers on the official SDK's SSEServerTransport that
// misbehave in one way each (tests/peers/servers), started by the fixtures
// peers.start.NAME.

namespace {

struct fixture : live_fixture {
  answer<initialize_result> init_at(session_config sc) {
    auto s = make_session(std::move(sc));
    return ask<initialize_result>(s, init_atom::value);
  }

  answer<call_tool_result> echo_at(session_config sc) {
    auto c = make_client(std::move(sc));
    return ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                 std::string{R"({"message":"x"})"},
                                 call_options{});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_faults_tests, fixture)

CAF_TEST(a bearer token is required and 401 maps to unauthorized) {
  auto url = peer_file("bearer");
  CAF_REQUIRE(!url.empty());
  auto without = init_at(make_session_config(url));
  CAF_REQUIRE(!without.ok);
  CAF_CHECK(has_code(without.err, mcp_errc::unauthorized));
  CAF_MESSAGE("without token: " << render(without.err));
  auto sc = make_session_config(url);
  sc.http.headers.emplace_back("Authorization", "Bearer test-token");
  auto with = echo_at(sc);
  CAF_REQUIRE(with.ok);
  CAF_CHECK(!with.value.is_error);
}

CAF_TEST(an endpoint on another origin is refused) {
  auto url = peer_file("other-origin");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.http.headers.emplace_back("Authorization", "Bearer secret");
  auto res = init_at(sc);
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::endpoint_origin_mismatch));
  CAF_CHECK(render(res.err).find("secret") == std::string::npos);
}

CAF_TEST(a POST answered 404 means the session expired) {
  auto url = peer_file("post-404");
  CAF_REQUIRE(!url.empty());
  auto res = init_at(make_session_config(url));
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::session_expired));
  CAF_MESSAGE(render(res.err));
}

CAF_TEST(a POST answered 503 means the service is unavailable) {
  auto url = peer_file("post-503");
  CAF_REQUIRE(!url.empty());
  auto res = init_at(make_session_config(url));
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::service_unavailable));
  // The Retry-After value travels in the error context.
  CAF_CHECK(render(res.err).find('2') != std::string::npos);
  CAF_MESSAGE(render(res.err));
}

CAF_TEST(no endpoint event ends in endpoint_timeout) {
  auto url = peer_file("no-endpoint");
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.endpoint_timeout = std::chrono::milliseconds{800};
  auto t0 = std::chrono::steady_clock::now();
  auto res = init_at(sc);
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::endpoint_timeout));
  CAF_CHECK(took >= std::chrono::milliseconds{700});
}

CAF_TEST(https works with the test CA and is refused without it) {
  auto url = peer_file("https");
  auto ca = peer_file("https", ".ca");
  CAF_REQUIRE(!url.empty());
  CAF_REQUIRE(!ca.empty());
  auto sc = make_session_config(url);
  sc.http.tls.ca_file = ca;
  auto ok = echo_at(sc);
  CAF_REQUIRE(ok.ok);
  CAF_CHECK(!ok.value.is_error);
  auto refused = init_at(make_session_config(url));
  CAF_REQUIRE(!refused.ok);
  CAF_CHECK(has_code(refused.err, mcp_errc::tls_error));
  CAF_MESSAGE("without CA: " << render(refused.err));
  auto insecure_cfg = make_session_config(url);
  insecure_cfg.http.tls.insecure = true;
  auto insecure = echo_at(insecure_cfg);
  CAF_CHECK(insecure.ok);
}

CAF_TEST_FIXTURE_SCOPE_END()
