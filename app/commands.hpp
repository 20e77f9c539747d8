#pragma once

/// The subcommands of the caf-mcp binary. Each `add_*` registers one
/// subcommand on the CLI11 app; when the subcommand is chosen, its callback
/// runs and stores the process exit status in `exit_code`.
///
/// Exit status contract (DESIGN.md): 0 success; 1 the tool answered isError;
/// 2 usage or config error; 3 connection or protocol failure.

namespace CLI {
class App;
} // namespace CLI

namespace caf_mcp::app {

constexpr int exit_ok = 0;
constexpr int exit_tool_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_failure = 3;

void add_sse_decode(CLI::App& app, int& exit_code);

void add_demo_server(CLI::App& app, int& exit_code);

/// tools, call and ping.
void add_client_commands(CLI::App& app, int& exit_code);

void add_bench(CLI::App& app, int& exit_code);

/// Calls through a node's HTTP API (docs/node.md, "Speed").
void add_bench_node(CLI::App& app, int& exit_code);

/// The node (docs/node.md).
void add_node(CLI::App& app, int& exit_code);

} // namespace caf_mcp::app
