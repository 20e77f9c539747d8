// caf-mcp: the command line of the caf-mcp library.
#include <cstdio>
#include <exception>

#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace {

/// Every held session costs two or three descriptors (the GET plus one or
/// more keep-alive POST connections), and the usual soft limit of 1024
/// would stop `bench --sessions 500` or a demo server with as many clients.
/// The process raises its soft limit to the hard one, as Go programs do;
/// the library itself never touches process limits.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim); // best effort: the old limit stays
  }
}

} // namespace

int main(int argc, char** argv) {
  using namespace caf_mcp::app;
  raise_fd_limit();
  CLI::App app{"caf-mcp - a client for MCP servers over the HTTP+SSE transport "
               "and Streamable HTTP (--transport sse|http|auto), built on CAF "
               "actors.\n\nExit status: 0 success, 1 the tool "
               "answered isError, 2 usage or config error, 3 connection or "
               "protocol failure.",
               "caf-mcp"};
  app.set_version_flag("--version", "caf-mcp 0.1.0");
  app.require_subcommand(1);
  int exit_code = exit_ok;
  add_client_commands(app, exit_code);
  add_bench(app, exit_code);
  add_sse_decode(app, exit_code);
  add_demo_server(app, exit_code);
  add_node(app, exit_code);
  add_bench_node(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "caf-mcp: %s (see caf-mcp --help)\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "caf-mcp: %s\n", e.what());
    return exit_failure;
  }
  return exit_code;
}
