// A cache hit's latency as a caller sees it (issue 14): an actor on the
// same node calls a client whose chain is [cache, stub] one call at a
// time; the first call misses (the stub answers it and the cache stores
// the result), every later one is a hit answered inside the client. Beside
// it, the same caller's round trip to an actor that answers at once: the
// floor of one request/response between two actors on this machine.
//
//   cache-hit-latency [CALLS]      (default 200000)
//
// Prints p50, p90, p99 and the mean in microseconds for both. A program
// that prints numbers; nothing is asserted.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_mcp/actors/cache_middleware.hpp"
#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/messages/mcp.hpp"
#include "caf_mcp/messages/protocol.hpp"

using namespace caf_mcp;
using clock_type = std::chrono::steady_clock;

namespace {

const std::string args_text = R"({"symbol":"ACME","currency":"EUR","depth":3})";

/// Answers every call itself (never calls `next`): no server needed.
struct stub final : middleware {
  std::string_view name() const noexcept override {
    return "stub";
  }
  void call(const mw_context&, mw_request, mw_next, mw_done done) override {
    call_tool_result result;
    result.content.push_back(make_text_content("ACME 42.17 EUR"));
    done(mw_outcome{std::move(result)});
  }
};

/// Sends `n` requests made by `make` one after the other from a fresh
/// actor; returns each round trip in microseconds.
template <class Send>
std::vector<double> measure(caf::actor_system& sys, size_t n, Send send) {
  auto lat = std::make_shared<std::vector<double>>();
  lat->reserve(n);
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  sys.spawn([lat, done, n, send](caf::event_based_actor* self) {
    auto step = std::make_shared<std::function<void()>>();
    *step = [self, lat, done, n, send, step] {
      auto t0 = clock_type::now();
      send(self, [lat, done, n, step, t0] {
        lat->push_back(std::chrono::duration<double, std::micro>(
                         clock_type::now() - t0)
                         .count());
        if (lat->size() < n)
          (*step)();
        else
          done->set_value();
      });
    };
    (*step)();
  });
  finished.wait();
  return *lat;
}

void print(const char* what, std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto at = [&xs](double q) {
    return xs[std::min(xs.size() - 1,
                       static_cast<size_t>(q * static_cast<double>(xs.size())))];
  };
  double sum = 0;
  for (auto x : xs)
    sum += x;
  std::printf("%-34s calls %zu  p50 %.2f us  p90 %.2f us  p99 %.2f us  "
              "mean %.2f us\n",
              what, xs.size(), at(0.5), at(0.9), at(0.99),
              sum / static_cast<double>(xs.size()));
}

} // namespace

int main(int argc, char** argv) {
  size_t n = 200000;
  if (argc > 1) {
    char* end = nullptr;
    auto x = std::strtoul(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || x == 0 || x > 100000000) {
      std::fprintf(stderr, "usage: cache-hit-latency [CALLS (1..1e8)]\n");
      return 2;
    }
    n = x;
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  // The floor: an actor that answers at once.
  auto echo = sys.spawn([]() -> caf::behavior {
    return {[](int x) { return x; }};
  });
  print("actor round trip (floor)",
        measure(sys, n, [echo](caf::event_based_actor* self, auto next) {
          self->request(echo, caf::infinite, 1).then([next](int) { next(); });
        }));
  client_config cc;
  cc.name = "quotes";
  cc.session.server_name = "quotes";
  cc.session.sse_url = "http://127.0.0.1:9/sse"; // never used
  auto cache = std::make_shared<cache_middleware>(result_cache_config{});
  cc.middlewares = {cache, std::make_shared<stub>()};
  auto c = sys.spawn(client, std::move(cc));
  auto lat = measure(sys, n, [c](caf::event_based_actor* self, auto next) {
    self->request(c, caf::infinite, call_atom::value, std::string{"get_quote"},
                  args_text, call_options{})
      .then([next](call_tool_result&) { next(); });
  });
  auto st = cache->stats("quotes");
  print("cache hit through the client", std::move(lat));
  std::printf("cache: %llu hits, %llu misses\n",
              static_cast<unsigned long long>(st.hits),
              static_cast<unsigned long long>(st.misses));
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}
