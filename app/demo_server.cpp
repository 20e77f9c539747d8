// caf-mcp demo-server: a small MCP server on the legacy HTTP+SSE transport
// (tools echo, add, slow, fail). Used by deploy/run as a demo, by the
// integration tests, and as the fast peer of the benchmarks. The MCP
// behaviour is in demo_server/mcp_handler.*, the HTTP side in
// demo_server/http_server.*.
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "demo_server/http_server.hpp"
#include "demo_server/mcp_handler.hpp"

namespace caf_mcp::app {

namespace {

struct demo_server_options {
  demo::server_options server;
  demo::handler_options handler;
};

int run_demo_server(const demo_server_options& opts) {
  demo::mcp_handler handler{opts.handler};
  return demo::run_http_server(opts.server, handler);
}

} // namespace

void add_demo_server(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<demo_server_options>();
  auto cmd = app.add_subcommand(
    "demo-server",
    "Run a small MCP server on the HTTP+SSE transport (GET /sse, POST "
    "/message?sessionId=ID) with the tools echo, add, slow and fail. Prints "
    "'listening on http://HOST:PORT/sse' and serves until SIGINT or "
    "SIGTERM.");
  cmd->add_option("--port", opts->server.port,
                  "TCP port; 0 picks a free one (required)")
    ->required()
    ->check(CLI::Range(0, 65535));
  cmd->add_option("--host", opts->server.host,
                  "address or host name to listen on (default 127.0.0.1)")
    ->check([](const std::string& host) {
      return host.empty() ? std::string{"host must not be empty"}
                          : std::string{};
    });
  cmd->add_option("--threads", opts->server.threads,
                  "io threads (default 1, which is fastest for most loads)")
    ->check(CLI::Range(size_t{1}, size_t{64}));
  cmd->add_option("--page-size", opts->handler.page_size,
                  "tools per tools/list page; 0 = all in one page (default)")
    ->check(CLI::Range(size_t{0}, size_t{1000000}));
  cmd->add_flag("--verbose", opts->handler.verbose,
                "log one line per request on stderr");
  cmd->callback([opts, &exit_code] {
    opts->server.verbose = opts->handler.verbose;
    exit_code = run_demo_server(*opts);
  });
}

} // namespace caf_mcp::app
