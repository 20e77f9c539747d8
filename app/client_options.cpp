#include "client_options.hpp"

#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "commands.hpp"

namespace caf_mcp::app {

namespace {

caf::timespan seconds(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

} // namespace

void add_client_options(CLI::App& cmd, client_options& opts) {
  cmd.add_option("--url", opts.url, "SSE URL of the MCP server")->required();
  cmd.add_option("-H,--header", opts.headers,
                 "extra HTTP header 'Name: value' (repeatable)");
  cmd.add_option("--timeout", opts.timeout_s,
                 "seconds to wait for each response (default 60)")
    ->check(CLI::PositiveNumber);
  cmd.add_option("--connect-timeout", opts.connect_timeout_s,
                 "seconds for connect + TLS handshake (default 10)")
    ->check(CLI::PositiveNumber);
  cmd.add_option("--endpoint-timeout", opts.endpoint_timeout_s,
                 "seconds to wait for the endpoint event (default 10)")
    ->check(CLI::PositiveNumber);
  cmd.add_option("--ca-file", opts.ca_file,
                 "PEM file of CA certificates to trust for https");
  cmd.add_flag("--insecure", opts.insecure,
               "do not verify TLS certificates (dangerous)");
  cmd.add_option("--protocol-version", opts.protocol_version,
                 "MCP protocol version to request (default 2025-11-25)");
  cmd.add_option("--retries", opts.retries,
                 "reconnect attempts in a row before giving up; -1 = forever, "
                 "0 = fail at the first loss (default "
                   + std::to_string(opts.retries) + ")")
    ->check(CLI::Range(-1, 1000000));
  cmd.add_option("--io-threads", opts.io_threads,
                 "threads running the sockets and the actors (default 1)")
    ->check(CLI::Range(1, 256));
  cmd.add_option("--busy-poll-us", opts.busy_poll_us,
                 "microseconds an idle io thread keeps polling before it "
                 "sleeps; saves a wake-up per answer at the cost of CPU "
                 "(default 100, 0 = off)")
    ->check(CLI::Range(0, 1000000));
  cmd.add_flag("--json", opts.json, "machine-readable output");
}

std::shared_ptr<transport::io_runtime>
make_io_runtime(const client_options& opts) {
  return std::make_shared<transport::io_runtime>(
    opts.io_threads, std::chrono::microseconds{opts.busy_poll_us});
}

void apply_reconnect_options(const client_options& opts, pool_config& out) {
  auto& m = out.member;
  if (opts.retries == 0) {
    m.restart = false;
  } else {
    m.restart = true;
    m.backoff.max_attempts = opts.retries < 0
                               ? 0
                               : static_cast<size_t>(opts.retries);
  }
}

std::string make_session_config(const client_options& opts,
                                session_config& out) {
  out.server_name = opts.url;
  out.sse_url = opts.url;
  for (auto& h : opts.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return "header '" + h + "' is not of the form 'Name: value'";
    auto name = h.substr(0, colon);
    auto value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.erase(0, 1);
    out.http.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!is_supported_protocol_version(opts.protocol_version))
    return "unsupported protocol version '" + opts.protocol_version
           + "' (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25)";
  out.protocol_version = opts.protocol_version;
  out.request_timeout = seconds(opts.timeout_s);
  out.endpoint_timeout = seconds(opts.endpoint_timeout_s);
  out.http.connect_timeout = std::chrono::duration_cast<
    std::chrono::milliseconds>(seconds(opts.connect_timeout_s));
  out.http.post_timeout = std::chrono::duration_cast<
    std::chrono::milliseconds>(seconds(opts.timeout_s));
  out.http.tls.ca_file = opts.ca_file;
  out.http.tls.insecure = opts.insecure;
  out.client_info.name = "caf-mcp-cli";
  return {};
}

app_config::app_config(std::shared_ptr<transport::io_runtime> io) {
  register_types(*this);
  set("logger.verbosity", caf::atom("quiet"));
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console-verbosity", caf::atom("quiet"));
  // Actors run on the io threads: a call's messages between actors and the
  // socket callbacks stay on one thread (docs/architecture.md, "Speed").
  use_io_scheduler(*this, std::move(io));
}

void print_error(const std::string& what) {
  std::fprintf(stderr, "caf-mcp: %s\n", what.c_str());
}

int exit_code_for(const caf::error& err) {
  mcp_errc code{};
  if (get_mcp_errc(err, code) && code == mcp_errc::invalid_argument)
    return exit_usage;
  return exit_failure;
}

} // namespace caf_mcp::app
