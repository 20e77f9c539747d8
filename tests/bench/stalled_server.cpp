// stalled-server: what a server that stops answering costs the client under
// heavy load (issue 10, item 5). Prints numbers; asserts nothing.
//
//   stalled-server URL [RATE [SECONDS [TIMEOUT_S [MAX_IN_FLIGHT]]]]
//
// One supervised session to URL (a demo server started with
//   --fault-after '0:{"fault":"stall","count":-1}'
// answers no call at all). An actor fires RATE `echo` calls per second
// (open loop: it never waits for answers) with a deadline of TIMEOUT_S.
// Every second it prints one JSON line: calls sent, outcomes by code, the
// supervisor's calls in flight, the process RSS and the entries on CAF's
// clock. With the bound, in flight stops at MAX_IN_FLIGHT (default 4096),
// the rest fail at once with queue_full, and RSS and clock entries stay
// flat however long it runs.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "caf/all.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/actors/supervisor.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "bench_util.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

struct counts {
  uint64_t sent = 0;
  uint64_t ok = 0;
  std::map<std::string, uint64_t> failed;
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [RATE [SECONDS [TIMEOUT_S "
                         "[MAX_IN_FLIGHT]]]]\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  double rate = argc > 2 ? std::stod(argv[2]) : 20000;
  int seconds = argc > 3 ? std::stoi(argv[3]) : 20;
  double timeout_s = argc > 4 ? std::stod(argv[4]) : 30;
  size_t max_in_flight = argc > 5 ? std::stoul(argv[5]) : 4096;
  if (!(rate > 0 && rate <= 1e6) || seconds < 1 || seconds > 3600
      || !(timeout_s > 0 && timeout_s <= 3600)) {
    std::fprintf(stderr, "out of range\n");
    return 2;
  }
  auto io = std::make_shared<transport::io_runtime>(1);
  bench::io_config cfg{io};
  caf::actor_system sys{cfg};
  supervisor_config sc;
  sc.session.server_name = "stalled";
  sc.session.sse_url = url;
  sc.session.io = io;
  sc.session.http.max_post_connections = 64;
  sc.fetch_tools = false;
  sc.max_in_flight = max_in_flight;
  sc.session.max_in_flight = max_in_flight;
  sc.max_queued_calls = max_in_flight;
  auto sup = sys.spawn(supervisor, share(std::move(sc)), uint32_t{0});
  auto out = std::make_shared<counts>();
  auto timeout = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>{timeout_s});
  // Fires calls in batches every 10 ms; prints a line every second.
  auto firer = sys.spawn([=](caf::event_based_actor* self) {
    auto per_tick = std::max<uint64_t>(1, static_cast<uint64_t>(rate / 100));
    auto started = std::chrono::steady_clock::now();
    auto last_print = std::make_shared<int>(0);
    self->send(self, caf::tick_atom::value);
    return caf::behavior{[=](caf::tick_atom) {
      auto elapsed = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();
      if (elapsed >= seconds) {
        self->quit();
        return;
      }
      call_options opts;
      opts.timeout = timeout;
      for (uint64_t i = 0; i < per_tick; ++i) {
        ++out->sent;
        self
          ->request(sup, caf::infinite, call_atom::value, std::string{"echo"},
                    std::string{R"({"text":"x"})"}, opts)
          .then([out](call_tool_result&) { ++out->ok; },
                [out](caf::error& err) {
                  mcp_errc code{};
                  ++out->failed[get_mcp_errc(err, code) ? to_string(code)
                                                        : "other"];
                });
      }
      if (static_cast<int>(elapsed) > *last_print) {
        *last_print = static_cast<int>(elapsed);
        self->request(sup, caf::infinite, caf::get_atom::value)
          .then([=](link_status& st) {
            std::string failed;
            for (auto& kvp : out->failed)
              failed += (failed.empty() ? "\"" : ",\"") + kvp.first
                        + "\":" + std::to_string(kvp.second);
            std::printf("{\"t_s\":%d,\"sent\":%llu,\"ok\":%llu,"
                        "\"failed\":{%s},\"in_flight\":%llu,"
                        "\"rss_kib\":%ld,\"clock_entries\":%zu}\n",
                        *last_print,
                        static_cast<unsigned long long>(out->sent),
                        static_cast<unsigned long long>(out->ok),
                        failed.c_str(),
                        static_cast<unsigned long long>(st.in_flight),
                        bench::rss_kib(), bench::clock_entries(self->system()));
            std::fflush(stdout);
          });
      }
      self->delayed_send(self, 10ms, caf::tick_atom::value);
    }};
  });
  {
    caf::scoped_actor self{sys};
    self->wait_for(firer);
  }
  caf::anon_send(sup, caf::close_atom::value);
  return 0;
}
