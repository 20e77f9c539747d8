// caf-mcp demo-server: a small MCP server on the legacy HTTP+SSE transport
// and on Streamable HTTP (tools echo, add, slow, fail). Used by deploy/run as a demo, by the
// integration tests, and as the fast peer of the benchmarks. The MCP
// behaviour is in demo_server/mcp_handler.*, the HTTP side in
// demo_server/http_server.*; with --faults (or any fault option) it is the
// fault-injection server of demo_server/fault_handler.* (docs/fault-server.md).
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "demo_server/fault_handler.hpp"
#include "demo_server/http_server.hpp"
#include "demo_server/mcp_handler.hpp"
#include "demo_server/token_auth.hpp"

namespace caf_mcp::app {

namespace {

struct demo_server_options {
  demo::server_options server;
  demo::handler_options handler;
  bool faults = false;
  std::vector<std::string> fault_every;
  std::vector<std::string> fault_after;
  std::string exec_log;
  std::string notify;
  std::string token_file;
};

/// Splits `N:FAULT[:PARAM]` (or `N:{json}`) into N and the fault spec;
/// returns an error text.
std::string parse_rule(const std::string& text, bool positive,
                       std::pair<uint64_t, demo::fault_spec>& out) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0)
    return "expected N:FAULT[:PARAM], got " + text;
  uint64_t n = 0;
  for (size_t i = 0; i < colon; ++i) {
    auto c = text[i];
    if (c < '0' || c > '9' || n > UINT64_MAX / 10 - 1)
      return "expected a number before ':' in " + text;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (positive && n == 0)
    return "N must be at least 1 in " + text;
  auto err = demo::parse_fault_arg(std::string_view{text}.substr(colon + 1),
                                   out.second);
  if (!err.empty())
    return err + " (in " + text + ")";
  if (out.second.kind == demo::fault_kind::none)
    return "'none' cannot be scheduled";
  out.first = n;
  return {};
}

/// Parses `FLAVOUR[:MS]` of --notify into `out`; returns an error text.
std::string parse_notify(const std::string& text, demo::handler_options& out) {
  auto colon = text.find(':');
  if (!demo::from_string(std::string_view{text}.substr(0, colon), out.notify))
    return "expected metrics, logs, alerts or none, then optionally :MS";
  if (colon != std::string::npos) {
    auto ms = text.substr(colon + 1);
    char* end = nullptr;
    auto x = std::strtol(ms.c_str(), &end, 10);
    if (ms.empty() || end != ms.c_str() + ms.size() || x < 10 || x > 3600000)
      return "the interval is whole milliseconds from 10 to 3600000";
    out.notify_interval = std::chrono::milliseconds{x};
  }
  return {};
}

int run_demo_server(demo_server_options opts) {
  if (!opts.notify.empty()) {
    if (auto err = parse_notify(opts.notify, opts.handler); !err.empty()) {
      std::fprintf(stderr, "caf-mcp demo-server: --notify: %s\n", err.c_str());
      return exit_usage;
    }
  }
  if (!opts.token_file.empty()) {
    try {
      opts.handler.auth = std::make_shared<const demo::token_auth>(
        opts.token_file);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "caf-mcp demo-server: --token-file: %s\n",
                   ex.what());
      return exit_failure;
    }
  }
  if (!opts.faults) {
    demo::mcp_handler handler{opts.handler};
    return demo::run_http_server(opts.server, handler);
  }
  demo::fault_options fopts;
  fopts.exec_log = opts.exec_log;
  for (auto& text : opts.fault_every) {
    std::pair<uint64_t, demo::fault_spec> rule;
    if (auto err = parse_rule(text, true, rule); !err.empty()) {
      std::fprintf(stderr, "caf-mcp demo-server: --fault-every: %s\n",
                   err.c_str());
      return exit_usage;
    }
    fopts.every.push_back(std::move(rule));
  }
  for (auto& text : opts.fault_after) {
    std::pair<uint64_t, demo::fault_spec> rule;
    if (auto err = parse_rule(text, false, rule); !err.empty()) {
      std::fprintf(stderr, "caf-mcp demo-server: --fault-after: %s\n",
                   err.c_str());
      return exit_usage;
    }
    fopts.after.push_back(std::move(rule));
  }
  std::unique_ptr<demo::fault_handler> handler;
  try {
    handler = std::make_unique<demo::fault_handler>(opts.handler,
                                                    std::move(fopts));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "caf-mcp demo-server: %s\n", ex.what());
    return exit_failure;
  }
  return demo::run_http_server(opts.server, *handler);
}

} // namespace

void add_demo_server(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<demo_server_options>();
  auto cmd = app.add_subcommand(
    "demo-server",
    "Run a small MCP server with the tools echo, add, slow and fail on the "
    "legacy HTTP+SSE transport (GET /sse, POST /message?sessionId=ID) and, "
    "on the same port, on Streamable HTTP (2025-11-25, stateful: POST, GET "
    "and DELETE /mcp; see --streamable-path). Prints 'listening on "
    "http://HOST:PORT/sse' and 'streamable http on http://HOST:PORT/mcp' "
    "and serves until SIGINT or SIGTERM.");
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
  cmd->add_option("--extra-tools", opts->handler.extra_tools,
                  "N: serve N more tools t0..tN-1 (small description, "
                  "object schema; each answers its name), for large tool "
                  "lists")
    ->check(CLI::Range(size_t{0}, size_t{10000000}));
  cmd->add_flag("--verbose", opts->handler.verbose,
                "log one line per request on stderr");
  cmd->add_option("--notify", opts->notify,
                  "FLAVOUR[:MS]: send notifications/message on a rhythm to "
                  "every session once it is initialized: metrics (a sample "
                  "every 1000 ms), logs (a line at a mixed level every 700 "
                  "ms), alerts (every 2000 ms, one time in four, an alert); "
                  "MS sets the rhythm; the client's logging/setLevel applies");
  cmd->add_option("--streamable-path", opts->server.streamable.path,
                  "the path of the Streamable HTTP endpoint (default /mcp); "
                  "a path ending in /sse (e.g. /sse) serves Streamable HTTP "
                  "there instead of the legacy GET stream")
    ->type_name("PATH")
    ->check([](const std::string& path) {
      return !path.empty() && path[0] == '/'
                 && path.find_first_of("?# ") == std::string::npos
               ? std::string{}
               : std::string{"the path must start with '/' and hold no "
                             "'?', '#' or space"};
    });
  cmd->add_flag("--json-response", opts->server.streamable.json_response,
                "Streamable HTTP: answer each request with one "
                "application/json body instead of an SSE stream (progress "
                "and log notifications of the request are then dropped)");
  cmd->add_flag_callback(
    "--no-get-stream",
    [opts] { opts->server.streamable.get_stream = false; },
    "Streamable HTTP: offer no standalone GET stream (GET answers 405)");
  cmd->add_option("--port-file", opts->server.port_file,
                  "write the bound port and a newline to FILE once listening");
  cmd->add_option("--token-file", opts->token_file,
                  "token mode: every request to /sse, /message and the "
                  "Streamable HTTP endpoint must carry 'Authorization: Bearer TOKEN', TOKEN being FILE's "
                  "content (trimmed); others get 401 with WWW-Authenticate. "
                  "FILE is checked (stat) on every request and read again "
                  "when it changed: rotate the token by renaming a new file "
                  "over it, the old token is refused from the next request "
                  "on. FILE must hold a token at start")
    ->type_name("FILE");
  cmd->add_flag("--faults", opts->faults,
                "fault injection (docs/fault-server.md): the control API "
                "POST /_fault and GET /_stats on the same port, the tool "
                "record; implied by the options below");
  cmd->add_option("--fault-every", opts->fault_every,
                  "N:FAULT[:PARAM]: on every Nth tools/call, FAULT once "
                  "(a POST fault takes the POST carrying that call, a stream "
                  "fault breaks the next response of a tools/call, "
                  "new_session closes all sessions instead of running it); "
                  "PARAM: retry_after for post_429/post_503, ms for stall "
                  "(0 = forever), bytes for oversized_event, utf8|not_jsonrpc "
                  "for malformed_sse, id for unknown_id, body for post_404; "
                  "N:{JSON} takes the JSON of POST /_fault; repeatable")
    ->type_name("N:FAULT[:PARAM]");
  cmd->add_option("--fault-after", opts->fault_after,
                  "MS:FAULT[:PARAM]: arm FAULT once MS milliseconds after "
                  "start (it applies to the next POST or tools/call, as if "
                  "armed with POST /_fault); repeatable")
    ->type_name("MS:FAULT[:PARAM]");
  cmd->add_option("--exec-log", opts->exec_log,
                  "append the key of every execution of the record tool and "
                  "a newline to FILE (O_APPEND, one write per execution, "
                  "before the answer)");
  cmd->callback([opts, &exit_code] {
    opts->server.verbose = opts->handler.verbose;
    opts->faults = opts->faults || !opts->fault_every.empty()
                   || !opts->fault_after.empty() || !opts->exec_log.empty();
    exit_code = run_demo_server(*opts);
  });
}

} // namespace caf_mcp::app
