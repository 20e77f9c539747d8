#define CAF_SUITE mcp_errc
#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include "caf_mcp/messages/error.hpp"

using namespace caf_mcp;

CAF_TEST(every code has a unique name that parses back) {
  for (size_t i = 1; i < mcp_errc_count; ++i) {
    auto code = static_cast<mcp_errc>(i);
    std::string name = to_string(code);
    CAF_CHECK_NOT_EQUAL(name, "unknown_mcp_errc");
    mcp_errc back{};
    CAF_REQUIRE(from_string(name, back));
    CAF_CHECK(back == code);
  }
  mcp_errc dummy{};
  CAF_CHECK(!from_string("no_such_code", dummy));
  CAF_CHECK(!from_string("none", dummy));
}

CAF_TEST(errors carry our category and their context) {
  auto err = caf::make_error(mcp_errc::session_expired,
                             "POST http://127.0.0.1:1/message -> 404");
  CAF_CHECK(is_mcp_error(err));
  mcp_errc code{};
  CAF_REQUIRE(get_mcp_errc(err, code));
  CAF_CHECK(code == mcp_errc::session_expired);
  CAF_CHECK_EQUAL(render(err),
                  "session_expired: POST http://127.0.0.1:1/message -> 404");
  auto other = caf::make_error(caf::sec::request_timeout);
  CAF_CHECK(!is_mcp_error(other));
  CAF_CHECK(!get_mcp_errc(other, code));
}

CAF_TEST(transient failures are recoverable and configuration errors are not) {
  CAF_CHECK(is_recoverable(mcp_errc::connection_lost));
  CAF_CHECK(is_recoverable(mcp_errc::session_expired));
  CAF_CHECK(is_recoverable(mcp_errc::rate_limited));
  CAF_CHECK(is_recoverable(mcp_errc::service_unavailable));
  CAF_CHECK(is_recoverable(mcp_errc::timeout));
  CAF_CHECK(is_recoverable(mcp_errc::node_down));
  CAF_CHECK(!is_recoverable(mcp_errc::unauthorized));
  CAF_CHECK(!is_recoverable(mcp_errc::forbidden));
  CAF_CHECK(!is_recoverable(mcp_errc::endpoint_origin_mismatch));
  CAF_CHECK(!is_recoverable(mcp_errc::invalid_argument));
  CAF_CHECK(!is_recoverable(mcp_errc::unsupported_protocol_version));
}

CAF_TEST(an actor system renders our errors by name) {
  caf::actor_system_config cfg;
  add_error_category(cfg);
  caf::actor_system sys{cfg};
  auto err = caf::make_error(mcp_errc::rate_limited, "retry after 2 s");
  CAF_CHECK_EQUAL(sys.render(err), "rate_limited: retry after 2 s");
}

CAF_TEST(node_down comes last so that older codes keep their numbers) {
  CAF_CHECK_EQUAL(static_cast<int>(mcp_errc::middleware_failed), 33);
  CAF_CHECK_EQUAL(static_cast<int>(mcp_errc::node_down), 34);
  CAF_CHECK_EQUAL(mcp_errc_count, 35u);
  CAF_CHECK_EQUAL(std::string{to_string(mcp_errc::node_down)}, "node_down");
  mcp_errc code{};
  CAF_REQUIRE(from_string("node_down", code));
  CAF_CHECK(code == mcp_errc::node_down);
}
