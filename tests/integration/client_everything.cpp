#define CAF_SUITE client_everything
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "caf/after.hpp"

#include "live_fixture.hpp"

using namespace caf_mcp;
using namespace caf_mcp::test;

// Against the official server-everything (TypeScript SDK) in SSE mode,
// started by the fixture peers.start.everything.

namespace {

/// Collects notifications from a session or client.
struct notes {
  std::mutex mtx;
  std::vector<std::string> logs;
  std::vector<std::vector<tool>> tool_lists;
  int progress = 0;
};

caf::behavior note_taker(caf::event_based_actor*, std::shared_ptr<notes> n) {
  return {
    [n](log_atom, std::string&, logging_message_params& p) {
      std::lock_guard<std::mutex> guard{n->mtx};
      n->logs.push_back(p.data);
    },
    [n](tools_changed_atom, std::string&, std::vector<tool>& ts) {
      std::lock_guard<std::mutex> guard{n->mtx};
      n->tool_lists.push_back(ts);
    },
    [n](progress_atom, progress_params&) {
      std::lock_guard<std::mutex> guard{n->mtx};
      ++n->progress;
    },
  };
}

struct fixture : live_fixture {
  std::string url = peer_file("everything");
  std::shared_ptr<notes> n = std::make_shared<notes>();
  caf::actor taker;

  fixture() {
    taker = sys.spawn(note_taker, n);
    spawned.push_back(taker);
  }

  /// Waits (bounded by count and time) until `pred` holds.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < 10000; ++i) {
      {
        std::lock_guard<std::mutex> guard{n->mtx};
        if (pred())
          return true;
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      self->receive(caf::after(std::chrono::milliseconds{20}) >> [] {});
    }
    return false;
  }

  session_actor ready_session(session_config sc) {
    auto s = make_session(std::move(sc));
    self->send(s, caf::subscribe_atom::value, taker);
    auto init = ask<initialize_result>(s, init_atom::value);
    CAF_REQUIRE(init.ok);
    return s;
  }
};

call_tool_result call(fixture& f, const session_actor& s,
                      const std::string& name, const std::string& args,
                      call_options opts = {}) {
  auto res = f.ask<call_tool_result>(s, call_atom::value, name, args, opts);
  if (!res.ok)
    CAF_FAIL(name << " failed: " << render(res.err));
  return res.value;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_everything_tests, fixture)

CAF_TEST(initialize and list every tool) {
  CAF_REQUIRE(!url.empty());
  auto s = ready_session(make_session_config(url));
  auto init = ask<initialize_result>(s, init_atom::value);
  CAF_REQUIRE(init.ok);
  CAF_CHECK(is_supported_protocol_version(init.value.protocol_version));
  CAF_CHECK(init.value.capabilities.tools);
  auto tools = ask<std::vector<tool>>(s, list_atom::value);
  CAF_REQUIRE(tools.ok);
  CAF_MESSAGE(tools.value.size() << " tools");
  std::vector<std::string> names;
  for (auto& t : tools.value)
    names.push_back(t.name);
  for (auto want : {"echo", "get-sum", "get-structured-content",
                    "get-tiny-image", "trigger-long-running-operation",
                    "toggle-simulated-logging"})
    CAF_CHECK(std::find(names.begin(), names.end(), want) != names.end());
}

CAF_TEST(echo get-sum structured content and image content) {
  CAF_REQUIRE(!url.empty());
  auto s = ready_session(make_session_config(url));
  auto echo = call(*this, s, "echo", R"({"message":"hi there"})");
  CAF_CHECK(joined_text(echo).find("hi there") != std::string::npos);
  auto sum = call(*this, s, "get-sum", R"({"a":19,"b":23})");
  CAF_CHECK(joined_text(sum).find("42") != std::string::npos);
  auto sc = call(*this, s, "get-structured-content",
                 R"({"location":"Chicago"})");
  CAF_CHECK(!sc.structured_content.empty());
  CAF_CHECK(sc.structured_content.find("temperature") != std::string::npos);
  auto img = call(*this, s, "get-tiny-image", "{}");
  auto has_image = std::any_of(img.content.begin(), img.content.end(),
                               [](const content_block& c) {
                                 return c.kind == content_kind::image
                                        && !c.data.empty() && c.mime_type;
                               });
  CAF_CHECK(has_image);
  auto unknown = call(*this, s, "no-such-tool", "{}");
  CAF_CHECK(unknown.is_error);
}

CAF_TEST(long running operation reports progress) {
  CAF_REQUIRE(!url.empty());
  auto s = ready_session(make_session_config(url));
  call_options opts;
  opts.listener = taker;
  auto res = call(*this, s, "trigger-long-running-operation",
                  R"({"duration":1,"steps":4})", opts);
  CAF_CHECK(joined_text(res).find("completed") != std::string::npos);
  CAF_CHECK(wait_for([&] { return n->progress >= 4; },
                     std::chrono::milliseconds{2000}));
}

CAF_TEST(simulated logging notifications arrive) {
  CAF_REQUIRE(!url.empty());
  auto s = ready_session(make_session_config(url));
  auto lvl = ask<std::string>(s, request_atom::value,
                              std::string{"logging/setLevel"},
                              std::string{R"({"level":"debug"})"},
                              call_options{});
  CAF_CHECK(lvl.ok);
  auto on = call(*this, s, "toggle-simulated-logging", "{}");
  CAF_CHECK(!on.is_error);
  CAF_CHECK(wait_for([&] { return !n->logs.empty(); },
                     std::chrono::milliseconds{15000}));
  call(*this, s, "toggle-simulated-logging", "{}");
}

CAF_TEST(the list changed notification after initialize re-lists tools) {
  CAF_REQUIRE(!url.empty());
  auto s = ready_session(make_session_config(url));
  CAF_CHECK(wait_for([&] { return !n->tool_lists.empty(); },
                     std::chrono::milliseconds{5000}));
  std::lock_guard<std::mutex> guard{n->mtx};
  if (!n->tool_lists.empty())
    CAF_CHECK(!n->tool_lists.front().empty());
}

CAF_TEST(roots list is answered when roots are declared) {
  CAF_REQUIRE(!url.empty());
  auto sc = make_session_config(url);
  sc.roots.push_back(root{"file:///tmp/caf-mcp-test", std::string{"test"}});
  auto s = ready_session(sc);
  // server-everything asks roots/list shortly after initialized and keeps
  // the answer; its get-roots-list tool shows what it got.
  bool found = false;
  for (int i = 0; i < 50 && !found; ++i) {
    auto res = call(*this, s, "get-roots-list", "{}");
    found = joined_text(res).find("file:///tmp/caf-mcp-test")
            != std::string::npos;
    if (!found)
      self->receive(caf::after(std::chrono::milliseconds{100}) >> [] {});
  }
  CAF_CHECK(found);
}

CAF_TEST(the client facade works against the official server) {
  CAF_REQUIRE(!url.empty());
  auto c = make_client(make_session_config(url));
  auto tools = ask<std::vector<tool>>(c, init_atom::value, true);
  CAF_REQUIRE(tools.ok);
  CAF_CHECK_GREATER_OR_EQUAL(tools.value.size(), 6u);
  auto res = ask<call_tool_result>(c, call_atom::value, std::string{"get-sum"},
                                   std::string{R"({"a":1,"b":2})"},
                                   call_options{});
  CAF_REQUIRE(res.ok);
  CAF_CHECK(joined_text(res.value).find('3') != std::string::npos);
  auto ping = ask<caf::timespan>(c, caf::ping_atom::value);
  CAF_CHECK(ping.ok);
}

CAF_TEST_FIXTURE_SCOPE_END()
