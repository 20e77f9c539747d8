// Example: use caf-mcp from your own CAF program.
//
//   example-list-and-call URL [TOOL ARGS_JSON]
//
// Spawns a client actor for one MCP server, initializes it (which lists the
// tools and creates one tool proxy per tool), prints the tools, and calls one
// tool through its proxy. Built with the project (target
// example-list-and-call) and run by CTest against the demo server, so this
// file stays true.
#include <cstdio>
#include <string>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/messages/protocol.hpp"

using namespace caf_mcp;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [TOOL ARGS_JSON]\n", argv[0]);
    return 2;
  }
  std::string tool_name = argc > 2 ? argv[2] : "echo";
  std::string args = argc > 3 ? argv[3] : R"({"text":"hello from CAF"})";
  // 1. An actor system that knows caf-mcp's types and error codes.
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  // 2. A client for one server (the seed's SSEMCPClient fields).
  client_config cc;
  cc.name = "demo";
  cc.desc = "the caf-mcp demo server";
  cc.is_keep_alive = true;
  cc.session.sse_url = argv[1];
  cc.session.http.headers.emplace_back("X-Client-ID", "example");
  cc.session.request_timeout = std::chrono::seconds{30};
  auto client_hdl = sys.spawn(client, cc);
  // 3. Talk to it; here from a blocking scoped actor, in your code usually
  //    from an event-based actor with request(...).then(...).
  caf::scoped_actor self{sys};
  int rc = 0;
  self->request(client_hdl, std::chrono::seconds{60}, init_atom::value, true)
    .receive(
      [&](std::vector<tool>& tools) {
        for (auto& t : tools)
          std::printf("tool %s: %s\n", t.name.c_str(),
                      t.description ? t.description->c_str() : "");
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "init failed: %s\n", render(err).c_str());
        rc = 3;
      });
  if (rc == 0) {
    // 4. One proxy per tool: keep the handle, call it like any actor.
    std::vector<tool_handle> proxies;
    self->request(client_hdl, std::chrono::seconds{10}, proxies_atom::value)
      .receive([&](std::vector<tool_handle>& xs) { proxies = std::move(xs); },
               [&](caf::error&) {});
    for (auto& h : proxies) {
      if (h.descriptor.name != tool_name)
        continue;
      self
        ->request(h.proxy, std::chrono::seconds{60}, call_atom::value, args,
                  call_options{})
        .receive(
          [&](call_tool_result& res) {
            std::printf("%s -> %s%s\n", tool_name.c_str(),
                        joined_text(res).c_str(),
                        res.is_error ? " (isError)" : "");
            rc = res.is_error ? 1 : 0;
          },
          [&](caf::error& err) {
            std::fprintf(stderr, "call failed: %s\n", render(err).c_str());
            rc = 3;
          });
    }
  }
  // 5. Close the sockets and stop the client.
  self->send(client_hdl, cleanup_atom::value);
  self->send_exit(client_hdl, caf::exit_reason::user_shutdown);
  return rc;
}
