#include "client_options.hpp"

#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>


#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "commands.hpp"
#include "node/config.hpp"

namespace caf_mcp::app {

namespace {

caf::timespan seconds(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

std::string format_seconds(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

/// The seconds option validator: a finite number in (0, max]. Its message
/// never echoes the input (a 309-digit number, or a pasted secret).
CLI::Validator seconds_in(double max) {
  return CLI::Validator(
    [max](std::string& in) -> std::string {
      double v = 0;
      try {
        size_t used = 0;
        v = std::stod(in, &used);
        if (used != in.size())
          return "expected a number of seconds";
      } catch (...) {
        return "expected a number of seconds";
      }
      if (!std::isfinite(v) || v <= 0 || v > max)
        return "expected seconds greater than 0 and at most "
               + format_seconds(max);
      return {};
    },
    "SECONDS");
}

} // namespace

void add_client_options(CLI::App& cmd, client_options& opts,
                        bool node_too) {
  constexpr double day = 86400;
  auto url = cmd.add_option("--url", opts.url,
                            "URL of the MCP server: the SSE URL with "
                            "--transport sse, the MCP endpoint with "
                            "--transport http");
  if (node_too) {
    auto node = cmd.add_option(
      "--node", opts.node,
      "HOST:PORT of a caf-mcp node's cluster port (its cluster.listen) "
      "instead of --url: the server's tools are called through that node "
      "(docs/cluster.md)");
    url->excludes(node);
    node->excludes(url);
    cmd.add_option("--server", opts.server,
                   "with --node: the server on that node (as its "
                   "/api/servers names it)");
    cmd.add_option("--node-cert", opts.node_cert,
                   "with --node: PEM certificate for mutual TLS to the node "
                   "(with --node-key and --node-cafile)");
    cmd.add_option("--node-key", opts.node_key,
                   "with --node: PEM private key of --node-cert");
    cmd.add_option("--node-cafile", opts.node_cafile,
                   "with --node: PEM CA that signed the node's certificate");
  } else {
    url->required();
  }
  cmd.add_option("--transport", opts.transport,
                 "sse: HTTP+SSE (2024-11-05: GET stream, endpoint event, "
                 "POSTs); http: Streamable HTTP (2025-03-26 and later: one "
                 "endpoint, every message a POST); auto: POST initialize as "
                 "Streamable HTTP, and on an HTTP error GET the URL as an "
                 "SSE stream (default sse)")
    ->check(CLI::IsMember({"sse", "http", "auto"}));
  cmd.add_option("-H,--header", opts.headers,
                 "extra HTTP header 'Name: value' (repeatable, one per -H)")
    ->allow_extra_args(false);
  cmd.add_option("--timeout", opts.timeout_s,
                 "seconds a call may take in all, waiting for a session "
                 "included (default 60)")
    ->check(seconds_in(day));
  cmd.add_option("--max-timeout", opts.max_timeout_s,
                 "seconds a call may take when the server reports progress "
                 "(each progress notification extends --timeout up to this; "
                 "default: no further than --timeout)")
    ->check(seconds_in(day));
  cmd.add_option("--connect-timeout", opts.connect_timeout_s,
                 "seconds for connect + TLS handshake (default 10)")
    ->check(seconds_in(day));
  cmd.add_option("--endpoint-timeout", opts.endpoint_timeout_s,
                 "seconds to wait for the endpoint event (default 10)")
    ->check(seconds_in(day));
  cmd.add_option("--ca-file", opts.ca_file,
                 "PEM file of CA certificates to trust for https");
  cmd.add_flag("--insecure", opts.insecure,
               "do not verify TLS certificates (dangerous)");
  cmd.add_option("--protocol-version", opts.protocol_version,
                 "MCP protocol version: auto (default: with Streamable HTTP "
                 "stateless 2026-07-28 via server/discover first, else the "
                 "2025-11-25 handshake), 2026-07-28 (stateless only), or a "
                 "handshake version (2024-11-05, 2025-03-26, 2025-06-18, "
                 "2025-11-25)");
  cmd.add_option("--retries", opts.retries,
                 "reconnect attempts in a row before giving up; -1 = forever, "
                 "0 = fail at the first loss (default "
                   + std::to_string(opts.retries) + ")")
    ->check(CLI::Range(-1, 1000000));
  cmd.add_option("--max-tools", opts.max_tools,
                 "tools a listing may hold in all pages; more fail with "
                 "limit_exceeded (default "
                   + std::to_string(opts.max_tools) + ")")
    ->check(CLI::Range(size_t{1}, size_t{10000000}));
  cmd.add_option("--max-tools-bytes", opts.max_tools_bytes,
                 "bytes of tool names, descriptions and schemas a listing "
                 "may hold; more fail with limit_exceeded (default "
                   + std::to_string(opts.max_tools_bytes) + ")")
    ->check(CLI::Range(size_t{1024}, size_t{1} << 32));
  cmd.add_option("--io-threads", opts.io_threads,
                 "threads running the sockets and the actors (default 1)")
    ->check(CLI::Range(1, 256));
  cmd.add_option("--busy-poll-us", opts.busy_poll_us,
                 "microseconds an idle io thread keeps polling before it "
                 "sleeps; saves a wake-up per answer at the cost of CPU "
                 "(default 100, 0 = off)")
    ->check(CLI::Range(0, 1000000));
  cmd.add_flag("--json", opts.json, "machine-readable output");
  cmd.add_flag("-v,--verbose", opts.verbosity,
               "log state changes and failures to stderr (-vv: debug, "
               "-vvv: trace)");
  cmd.add_option("--log-level", opts.log_level,
                 "log level: trace, debug, info, warn, error or off")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error",
                           "off"}));
}

std::string transport_name(const client_options& opts) {
  session_transport t = session_transport::sse;
  from_string(opts.transport, t);
  return to_string(t);
}

void apply_logging(const client_options& opts) {
  log::level lvl = log::level::off;
  if (!opts.log_level.empty())
    log::from_string(opts.log_level, lvl);
  else if (opts.verbosity >= 3)
    lvl = log::level::trace;
  else if (opts.verbosity == 2)
    lvl = log::level::debug;
  else if (opts.verbosity == 1)
    lvl = log::level::info;
  if (lvl != log::level::off)
    log::set_sink(log::stderr_sink(), lvl);
}

bool read_args(const std::string& given, std::string& out,
               std::string& error) {
  auto slurp = [&out](std::FILE* f) {
    char buf[65536];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      out.append(buf, n);
    return std::ferror(f) == 0;
  };
  if (given == "-") {
    out.clear();
    if (!slurp(stdin)) {
      error = "cannot read the arguments from stdin";
      return false;
    }
    return true;
  }
  if (!given.empty() && given.front() == '@') {
    out.clear();
    auto* f = std::fopen(given.c_str() + 1, "rb");
    auto ok = f != nullptr && slurp(f);
    if (f != nullptr)
      std::fclose(f);
    if (!ok) {
      error = "cannot read the arguments file '" + given.substr(1) + "'";
      return false;
    }
    return true;
  }
  out = given;
  return true;
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
  // The server's name in every message: the URL without its secrets.
  out.server_name = transport::redact(opts.url);
  out.sse_url = opts.url;
  if (!from_string(opts.transport, out.transport))
    return "unknown transport '" + opts.transport + "' (sse, http, auto)";
  for (auto& h : opts.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      // Never echo the argument: it may be a token pasted without a name.
      return "a -H argument is not of the form 'Name: value'";
    auto name = h.substr(0, colon);
    auto value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.erase(0, 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.pop_back();
    if (auto why = transport::check_header(name, value); !why.empty())
      return why;
    out.http.headers.emplace_back(std::move(name), std::move(value));
  }
  if (opts.protocol_version == "auto") {
    out.era = protocol_era::automatic;
  } else if (stateless::is_modern_protocol_version(opts.protocol_version)) {
    if (out.transport == session_transport::sse)
      return "--protocol-version " + opts.protocol_version
             + " (stateless MCP) needs --transport http or auto";
    out.protocol_version = opts.protocol_version;
    out.era = protocol_era::stateless;
  } else if (is_supported_protocol_version(opts.protocol_version)) {
    out.protocol_version = opts.protocol_version;
    out.era = protocol_era::handshake;
  } else {
    return "unsupported protocol version '" + opts.protocol_version
           + "' (auto, 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, "
             "2024-11-05)";
  }
  out.request_timeout = seconds(opts.timeout_s);
  // --timeout bounds a call; progress extends it only up to --max-timeout.
  out.max_request_timeout = seconds(std::max(opts.timeout_s,
                                             opts.max_timeout_s));
  out.endpoint_timeout = seconds(opts.endpoint_timeout_s);
  out.max_tools = opts.max_tools;
  out.max_tools_bytes = opts.max_tools_bytes;
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
  // Errors carry server text (a JSON-RPC error message, a body excerpt):
  // no escape sequences reach the terminal.
  auto line = log::escape_controls(what);
  std::fprintf(stderr, "caf-mcp: %s\n", line.c_str());
}

int exit_code_for(const caf::error& err) {
  mcp_errc code{};
  if (get_mcp_errc(err, code) && code == mcp_errc::invalid_argument)
    return exit_usage;
  return exit_failure;
}

node_connection::node_connection(const client_options& opts)
  : io(make_io_runtime(opts)), cfg(io) {
  std::string host;
  uint16_t port = 0;
  if (auto why = node::parse_listen(opts.node, host, port); !why.empty()
                                                          || port == 0) {
    print_error("--node " + opts.node + ": "
                + (why.empty() ? "expected a port from 1 to 65535" : why));
    rc = exit_usage;
    return;
  }
  cluster::system_options so;
  bool tls = !opts.node_cert.empty() || !opts.node_key.empty()
             || !opts.node_cafile.empty();
  if (tls) {
    so.tls = cluster::tls_options{opts.node_cert, opts.node_key,
                                  opts.node_cafile};
    // Checked here: CAF finds a bad file only at the first connection,
    // and then aborts.
    std::pair<const char*, const std::string*> files[] = {
      {"--node-cert", &opts.node_cert},
      {"--node-key", &opts.node_key},
      {"--node-cafile", &opts.node_cafile}};
    for (auto& [name, path] : files) {
      auto why = path->empty() ? std::string{"missing (mutual TLS needs "
                                             "--node-cert, --node-key and "
                                             "--node-cafile)"}
                               : cluster::unreadable(*path);
      if (!why.empty()) {
        print_error(std::string{name} + " " + *path + ": " + why);
        rc = exit_usage;
        return;
      }
    }
  }
  so.multiplexer_on_io = true;
  cluster::configure(cfg, so);
  sys = std::make_unique<caf::actor_system>(cfg);
  auto driver = cluster::multiplexer_driver::start(*sys, *io);
  if (!driver) {
    print_error(render(driver.error()));
    rc = exit_failure;
    return;
  }
  mpx_driver = std::move(*driver);
  cluster::connect_options co;
  co.tls = tls;
  co.connect_timeout = seconds(opts.connect_timeout_s);
  auto handle = cluster::connect_node(*sys, host, port, co);
  if (!handle) {
    print_error(render(handle.error()));
    rc = exit_code_for(handle.error());
    return;
  }
  node = std::move(*handle);
  caf::scoped_actor self{*sys};
  // Up and listed within --connect-timeout, or the connect error.
  self->request(node, std::chrono::seconds{3600}, cluster::ready_atom::value,
                seconds(opts.connect_timeout_s))
    .receive([](node_info&) {},
             [&](caf::error& err) {
               print_error(render(err));
               rc = exit_code_for(err);
             });
}

node_connection::~node_connection() {
  if (node)
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  node = nullptr;
  mpx_driver.reset(); // before the system: its shutdown polls alone
  sys.reset();
}


} // namespace caf_mcp::app
