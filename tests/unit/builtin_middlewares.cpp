#define CAF_SUITE builtin_middlewares
#include "caf/test/unit_test.hpp"

#include "caf_mcp/actors/builtin_middlewares.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/mcp.hpp"
#include "caf_mcp/transport/log.hpp"

using namespace caf_mcp;

namespace {

struct fixture {
  std::mutex mtx;
  std::vector<std::string> lines;
  /// What the terminal answers next.
  caf::expected<call_tool_result> answer{call_tool_result{}};
  int upstream_calls = 0;

  fixture() {
    log::set_sink(
      [this](log::level, std::string_view component, std::string_view text) {
        std::lock_guard<std::mutex> guard{mtx};
        lines.emplace_back(std::string{component} + ": " + std::string{text});
      },
      log::level::info);
  }

  ~fixture() {
    log::reset();
  }

  /// Runs one call through `chain` with a terminal that answers `answer`
  /// synchronously; returns the outcome.
  mw_outcome run(std::vector<middleware_ptr> chain, std::string tool,
                 std::string args) {
    auto cp = std::make_shared<const std::vector<middleware_ptr>>(
      std::move(chain));
    mw_request req;
    req.server = "srv";
    req.tool = std::move(tool);
    req.args = std::move(args);
    mw_outcome result;
    int done_calls = 0;
    run_chain(mw_context{nullptr, nullptr}, cp, 0, std::move(req),
              [this](mw_request, mw_done d) {
                ++upstream_calls;
                d(mw_outcome{answer, {}});
              },
              [&](mw_outcome out) {
                ++done_calls;
                result = std::move(out);
              });
    CAF_REQUIRE_EQUAL(done_calls, 1);
    return result;
  }

  bool any_line_contains(std::string_view needle) {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos)
        return true;
    return false;
  }
};

const char* secret_args = R"({"password":"hunter2-SECRET","x":1})";

} // namespace

CAF_TEST_FIXTURE_SCOPE(builtin_middlewares_tests, fixture)

CAF_TEST(logging writes one line per request and per result) {
  auto out = run({std::make_shared<logging_middleware>()}, "echo",
                 secret_args);
  CAF_CHECK_EQUAL(upstream_calls, 1);
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  CAF_CHECK_EQUAL(lines[0], "middleware: call srv/echo");
  CAF_CHECK(lines[1].rfind("middleware: srv/echo ok in ", 0) == 0);
  CAF_CHECK(lines[1].find(" ms") != std::string::npos);
  CAF_CHECK(!any_line_contains("hunter2"));
  CAF_CHECK(out.meta.count("logging.ms") == 1);
}

CAF_TEST(logging shows truncated arguments only when asked) {
  logging_middleware_config cfg;
  cfg.arguments = true;
  cfg.max_chars = 12;
  run({std::make_shared<logging_middleware>(cfg)}, "echo", secret_args);
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  CAF_CHECK_EQUAL(lines[0], R"(middleware: call srv/echo args={"password":...)");
  CAF_CHECK(!any_line_contains("hunter2"));
}

CAF_TEST(logging reports isError and failures) {
  call_tool_result r;
  r.is_error = true;
  answer = r;
  run({std::make_shared<logging_middleware>()}, "t", "{}");
  answer = caf::make_error(mcp_errc::connection_lost, "gone");
  auto out = run({std::make_shared<logging_middleware>()}, "t", "{}");
  CAF_CHECK(!out.value);
  CAF_REQUIRE_EQUAL(lines.size(), 4u);
  CAF_CHECK(lines[1].find("srv/t isError in ") != std::string::npos);
  CAF_CHECK(lines[3].find("srv/t failed: ") != std::string::npos);
}

CAF_TEST(metrics counts per tool and fills latency buckets) {
  auto mw = std::make_shared<metrics_middleware>(
    std::vector<double>{1e-3, 1.0});
  std::vector<middleware_ptr> chain{mw};
  run(chain, "a", "{}");
  run(chain, "a", "{}");
  call_tool_result r;
  r.is_error = true;
  answer = r;
  run(chain, "a", "{}");
  answer = caf::make_error(mcp_errc::connection_lost, "gone");
  run(chain, "b", "{}");
  auto snap = mw->snapshot();
  CAF_REQUIRE_EQUAL(snap.size(), 2u);
  auto& a = snap["a"];
  CAF_CHECK_EQUAL(a.ok, 2u);
  CAF_CHECK_EQUAL(a.is_error, 1u);
  CAF_CHECK_EQUAL(a.failed, 0u);
  CAF_REQUIRE_EQUAL(a.buckets.size(), 3u);
  CAF_CHECK_EQUAL(a.buckets[0] + a.buckets[1] + a.buckets[2], 3u);
  // A synchronous terminal answers well under a second.
  CAF_CHECK_EQUAL(a.buckets[2], 0u);
  auto& b = snap["b"];
  CAF_CHECK_EQUAL(b.failed, 1u);
  CAF_CHECK_EQUAL(b.ok, 0u);
  std::map<std::string, uint64_t> codes{{"connection_lost", 1}};
  CAF_CHECK_EQUAL(b.errors, codes);
  auto t = mw->totals();
  CAF_CHECK_EQUAL(t.ok, 2u);
  CAF_CHECK_EQUAL(t.is_error, 1u);
  CAF_CHECK_EQUAL(t.failed, 1u);
}

CAF_TEST(metrics record counts a call its owner measured) {
  // The node's registry records calls itself when the chain has no metrics
  // entry: the same counters, buckets chosen by the given duration.
  auto mw = std::make_shared<metrics_middleware>(
    std::vector<double>{0.01, 1.0});
  call_tool_result ok_result;
  call_tool_result tool_error;
  tool_error.is_error = true;
  mw->record("t", 0.005, ok_result);
  mw->record("t", 0.5, tool_error);
  mw->record("t", 2.0, caf::make_error(mcp_errc::timeout, "late"));
  auto snap = mw->snapshot();
  CAF_REQUIRE_EQUAL(snap.size(), 1u);
  auto& t = snap["t"];
  CAF_CHECK_EQUAL(t.ok, 1u);
  CAF_CHECK_EQUAL(t.is_error, 1u);
  CAF_CHECK_EQUAL(t.failed, 1u);
  std::vector<uint64_t> buckets{1, 1, 1};
  CAF_CHECK_EQUAL(t.buckets, buckets);
  CAF_CHECK(std::abs(t.sum_s - 2.505) < 1e-9);
  std::map<std::string, uint64_t> codes{{"timeout", 1}};
  CAF_CHECK_EQUAL(t.errors, codes);
  auto totals = mw->totals();
  CAF_CHECK_EQUAL(totals.ok + totals.is_error + totals.failed, 3u);
}

CAF_TEST(chain order logging then metrics sees both) {
  auto mw = std::make_shared<metrics_middleware>(std::vector<double>{1.0});
  auto out = run({std::make_shared<logging_middleware>(), mw}, "c", "{}");
  CAF_CHECK_EQUAL(upstream_calls, 1);
  CAF_CHECK_EQUAL(mw->snapshot()["c"].ok, 1u);
  CAF_CHECK(out.meta.count("logging.ms") == 1);
}

CAF_TEST(a tools list passes metrics and is logged as a request) {
  auto mw = std::make_shared<metrics_middleware>(std::vector<double>{1.0});
  auto cp = std::make_shared<const std::vector<middleware_ptr>>(
    std::vector<middleware_ptr>{std::make_shared<logging_middleware>(), mw});
  mw_request req;
  req.method = "tools/list";
  req.server = "srv";
  int done_calls = 0;
  run_chain(mw_context{nullptr, nullptr}, cp, 0, std::move(req),
            [](mw_request r, mw_done d) {
              CAF_CHECK_EQUAL(r.method, "tools/list");
              d(mw_outcome{call_tool_result{}});
            },
            [&](mw_outcome) { ++done_calls; });
  CAF_CHECK_EQUAL(done_calls, 1);
  CAF_CHECK(mw->snapshot().empty());
  CAF_CHECK(any_line_contains("request srv tools/list"));
  CAF_CHECK(any_line_contains("srv tools/list ok in"));
}

CAF_TEST_FIXTURE_SCOPE_END()
