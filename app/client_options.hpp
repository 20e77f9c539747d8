#pragma once

/// Options shared by the client subcommands (tools, call, ping, bench):
/// --url, -H, --timeout, TLS and protocol settings, and the actor system
/// they run in.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "caf/actor_system_config.hpp"

#include "caf_mcp/actors/connection_pool.hpp"
#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/cluster/peer.hpp"

namespace caf_mcp::cluster {
class multiplexer_driver;
} // namespace caf_mcp::cluster

namespace CLI {
class App;
} // namespace CLI

namespace caf_mcp::app {

struct client_options {
  std::string url;
  /// sse | http (Streamable HTTP).
  std::string transport = "sse";
  std::vector<std::string> headers;
  double timeout_s = 60;
  /// Progress notifications may push a call's deadline out to this many
  /// seconds after it started (0 = no further than --timeout).
  double max_timeout_s = 0;
  double connect_timeout_s = 10;
  double endpoint_timeout_s = 10;
  std::string ca_file;
  bool insecure = false;
  /// "auto", a handshake version, or 2026-07-28 (stateless).
  std::string protocol_version{"auto"};
  bool json = false;
  /// Reconnect attempts in a row before giving up (-1: forever, 0: none).
  int retries = 2;
  /// Bounds of the tool list (session_config's defaults).
  size_t max_tools = 10000;
  size_t max_tools_bytes = size_t{16} << 20;
  /// Calls may be sent once more on a new session after a connection loss.
  bool retryable = false;
  /// --node HOST:PORT (tools, call): a caf-mcp node's cluster port instead
  /// of --url, the server on it by --server (docs/cluster.md).
  std::string node;
  std::string server;
  /// Mutual TLS to the node (all three from the cluster's private CA).
  std::string node_cert;
  std::string node_key;
  std::string node_cafile;
  /// io threads: they run the sockets and the actors (use_io_scheduler).
  size_t io_threads = 1;
  /// Busy-poll window of the io threads in microseconds (0 = off).
  int64_t busy_poll_us = 100;
  /// -v (info), -vv (debug), -vvv (trace); --log-level wins.
  int verbosity = 0;
  std::string log_level;
};

/// Installs the stderr log sink for -v / --log-level (nothing if neither).
void apply_logging(const client_options& opts);

/// ARGS_JSON as given, or the contents of FILE for `@FILE`, or stdin for
/// `-`. Returns false (and sets `error`) if the file cannot be read.
bool read_args(const std::string& given, std::string& out,
               std::string& error);

/// Adds --url, -H/--header, --timeout, --connect-timeout, --endpoint-timeout,
/// --ca-file, --insecure, --protocol-version, --retries and --json to `cmd`
/// (the default of --retries is the value `opts.retries` has on entry).
/// With `node_too`, also --node, --server and --node-cert/--node-key/
/// --node-cafile, and --url is then needed only without --node.
void add_client_options(CLI::App& cmd, client_options& opts,
                        bool node_too = false);

/// The session transport `opts` select, as reported (`to_string` of
/// session_transport: "sse" or "streamable_http").
std::string transport_name(const client_options& opts);

/// Builds a session config; returns an error text for bad input (a header
/// without a colon, a non-positive timeout), else an empty string.
std::string make_session_config(const client_options& opts,
                                session_config& out);

/// Applies --retries to the supervision settings of a pool.
void apply_reconnect_options(const client_options& opts, pool_config& out);

/// The io runtime of a client subcommand (--io-threads, --busy-poll-us).
std::shared_ptr<transport::io_runtime> make_io_runtime(const client_options& opts);

/// The CAF config every subcommand uses: our types registered, quiet
/// logging, no config file.
struct app_config : caf::actor_system_config {
  /// Actors run on the io threads of `io` (use_io_scheduler).
  explicit app_config(std::shared_ptr<transport::io_runtime> io);
};

/// --node: an actor system in the cluster (cluster::configure with the
/// --node-* TLS files) and a connect_node handle that is up and listed
/// within --connect-timeout; else `rc` is the exit status to give up with
/// (the error printed). Stops the handle, then the system.
struct node_connection {
  std::shared_ptr<transport::io_runtime> io;
  app_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// Runs the system's multiplexer on the io thread (destroyed first).
  std::unique_ptr<cluster::multiplexer_driver> mpx_driver;
  cluster::remote_registry_actor node;
  int rc = 0;
  explicit node_connection(const client_options& opts);
  ~node_connection();
};

/// Prints `caf-mcp: <what>` to stderr.
void print_error(const std::string& what);

/// The exit status for a failed operation: 2 for invalid arguments,
/// otherwise 3 (connection or protocol failure).
int exit_code_for(const caf::error& err);

} // namespace caf_mcp::app
