#define CAF_SUITE client_demo
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "caf/after.hpp"

#include "caf_mcp/transport/log.hpp"
#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// The demo server (caf-mcp demo-server) started by the fixture demo.start.

namespace {

struct fixture : live_fixture {
  std::string url = peer_file("demo");
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_demo_tests, fixture)

CAF_TEST(init lists the demo tools and creates one proxy per tool) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  std::vector<std::string> names;
  for (auto& t : tools.value)
    names.push_back(t.name);
  for (auto want : {"echo", "add", "slow", "fail"})
    CAF_CHECK(std::find(names.begin(), names.end(), want) != names.end());
  auto proxies = ask<std::vector<tool_handle>>(c, proxies_atom::value);
  CAF_REQUIRE(proxies.ok);
  CAF_CHECK_EQUAL(proxies.value.size(), tools.value.size());
  for (auto& h : proxies.value) {
    if (h.descriptor.name != "echo")
      continue;
    auto desc = ask<tool>(h.proxy, caf::get_atom::value);
    CAF_REQUIRE(desc.ok);
    CAF_CHECK(desc.value.input_schema.find("text") != std::string::npos);
    auto res = ask<call_tool_result>(h.proxy, call_atom::value,
                                     std::string{R"({"text":"via proxy"})"},
                                     call_options{});
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(joined_text(res.value), "via proxy");
  }
}

CAF_TEST(echo add and fail return their results) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  auto echo = ask<call_tool_result>(c, call_atom::value, std::string{"echo"},
                                    std::string{R"({"text":"héllo \"q\""})"},
                                    call_options{});
  CAF_REQUIRE(echo.ok);
  CAF_CHECK_EQUAL(joined_text(echo.value), "héllo \"q\"");
  CAF_CHECK(!echo.value.is_error);
  auto add = ask<call_tool_result>(c, call_atom::value, std::string{"add"},
                                   std::string{R"({"a":2,"b":40})"},
                                   call_options{});
  CAF_REQUIRE(add.ok);
  CAF_CHECK_EQUAL(joined_text(add.value), "42");
  auto fail = ask<call_tool_result>(c, call_atom::value, std::string{"fail"},
                                    std::string{R"({"message":"boom"})"},
                                    call_options{});
  CAF_REQUIRE(fail.ok);
  CAF_CHECK(fail.value.is_error);
  auto unknown = ask<call_tool_result>(c, call_atom::value,
                                       std::string{"no-such-tool"},
                                       std::string{}, call_options{});
  CAF_REQUIRE(unknown.ok);
  CAF_CHECK(unknown.value.is_error);
}

CAF_TEST(slow streams progress to the listener) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  struct counter {
    std::mutex mtx;
    std::condition_variable cv;
    int n = 0;
  };
  auto count = std::make_shared<counter>();
  auto listener = sys.spawn([count](caf::event_based_actor*) {
    return caf::behavior{[count](progress_atom, progress_params&) {
      std::lock_guard<std::mutex> guard{count->mtx};
      ++count->n;
      count->cv.notify_all();
    }};
  });
  spawned.push_back(listener);
  call_options opts;
  opts.listener = listener;
  auto res = ask<call_tool_result>(c, call_atom::value, std::string{"slow"},
                                   std::string{R"({"ms":350})"}, opts);
  CAF_REQUIRE(res.ok);
  CAF_CHECK(!res.value.is_error);
  // Progress is sent before the response on the same stream, and the
  // session forwards it before it handles the response; the listener is an
  // actor of its own, so it may count after the answer arrived here.
  std::unique_lock<std::mutex> guard{count->mtx};
  CAF_CHECK(count->cv.wait_for(guard, std::chrono::seconds{5},
                               [&] { return count->n >= 1; }));
}

CAF_TEST(a short timeout fails a slow call with the timeout code) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  call_options opts;
  opts.timeout = std::chrono::milliseconds{200};
  auto res = ask<call_tool_result>(c, call_atom::value, std::string{"slow"},
                                   std::string{R"({"ms":3000})"}, opts);
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::timeout));
  // The session is still usable afterwards.
  auto ping = ask<caf::timespan>(c, caf::ping_atom::value);
  CAF_CHECK(ping.ok);
}

CAF_TEST(one shot mode opens a fresh session per call) {
  CAF_REQUIRE(!url.empty());
  // Count the sessions that became ready through the library's log.
  auto ready = std::make_shared<std::atomic<int>>(0);
  caf_mcp::log::set_sink(
    [ready](caf_mcp::log::level, std::string_view component,
            std::string_view text) {
      if (component == "session" && text.find(": ready") != text.npos)
        ++*ready;
    },
    caf_mcp::log::level::info);
  struct log_off {
    ~log_off() {
      caf_mcp::log::reset();
    }
  } restore;
  auto c = make_client(make_session_config(url), false);
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  CAF_CHECK(!tools.value.empty());
  for (int i = 0; i < 3; ++i) {
    auto res = ask<call_tool_result>(c, call_atom::value, std::string{"add"},
                                     std::string{R"({"a":1,"b":)"}
                                       + std::to_string(i) + "}",
                                     call_options{});
    CAF_REQUIRE(res.ok);
    CAF_CHECK_EQUAL(joined_text(res.value), std::to_string(1 + i));
  }
  // init (with its listing) and each call: a session of their own. A
  // keep-alive client would have made one.
  CAF_CHECK_EQUAL(ready->load(), 4);
}

CAF_TEST(many concurrent calls on one session all complete) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  auto init = ask<std::vector<tool>>(c, init_atom::value, false);
  CAF_REQUIRE(init.ok);
  constexpr int n = 200;
  int ok = 0;
  for (int i = 0; i < n; ++i)
    self->send(c, call_atom::value, std::string{"echo"},
               R"({"text":")" + std::to_string(i) + R"("})", call_options{});
  int got = 0;
  std::vector<bool> seen(n, false);
  self->receive_for(got, n)(
    [&](call_tool_result& res) {
      auto i = std::stoi(joined_text(res));
      if (i >= 0 && i < n && !seen[static_cast<size_t>(i)]) {
        seen[static_cast<size_t>(i)] = true;
        ++ok;
      }
    },
    [&](caf::error& err) { CAF_FAIL("call failed: " << render(err)); },
    caf::after(std::chrono::seconds{30}) >> [&] {
      CAF_FAIL("no answer within 30 s after " << got << " answers");
    });
  CAF_CHECK_EQUAL(ok, n);
}

CAF_TEST(a bad URL fails with invalid_argument) {
  auto c = make_client(make_session_config("ftp://127.0.0.1/sse"));
  auto res = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(!res.ok);
  CAF_CHECK(has_code(res.err, mcp_errc::invalid_argument));
}

CAF_TEST(a refused connection fails with connection_failed) {
  // Port 1 on loopback: nothing listens there in the test environment.
  auto c = make_client(make_session_config("http://127.0.0.1:1/sse"));
  auto res = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(!res.ok);
  // The supervisor tried twice more, then gave up naming the cause.
  CAF_CHECK(has_code(res.err, mcp_errc::gave_up));
  CAF_CHECK(render(res.err).find("connection_failed") != std::string::npos);
  CAF_MESSAGE(render(res.err));
}

CAF_TEST_FIXTURE_SCOPE_END()
