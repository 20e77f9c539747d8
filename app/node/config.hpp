#pragma once

/// The node's config file (NODE.md "The config file"): pure code, no
/// sockets, no actors; unit-tested alone (suite node_config).
///
/// - JSON with `//` and `/* */` comments and trailing commas.
/// - The server table is `mcpServers` (Claude, Cursor) or `servers` (VS
///   Code); both at once is an error. Server names `[A-Za-z0-9_.-]{1,64}`.
/// - Keys of a server: `url` / `sse_url` / `serverUrl` (one of them),
///   `type`, `headers`, `timeout` (s), `is_keep_alive`, `description` /
///   `desc`, `disabled`, `pool` {min, max}, `env_prefix`, `middlewares`
///   (kept as JSON text for the middleware chain).
/// - Variables in every string value: `${VAR}`, `${VAR:-default}` (the
///   default also when VAR is empty, as in a shell) and `${env:VAR}`;
///   `$$` is a literal `$`. The result is not expanded again. An unset
///   variable without a default is an error naming the variable; so are an
///   unterminated `${` and a nested one (`${A:-${B}}`). A `$` before
///   anything but `{` or `$` stays as written.
/// - `env_prefix: "P_"` reads P_URL, P_TOKEN (Authorization: Bearer),
///   P_USER_AGENT (default "OxyGent/1.0", as the seed), P_TIMEOUT and
///   P_KEEP_ALIVE like the seed's `SSEConfig.from_environment`; what the
///   file says wins.
/// - Unknown keys are warnings. Errors name the file, the server and the
///   key, and never hold a secret (header values, tokens, variable values,
///   URL userinfo and secret query values).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf_mcp/messages/result_cache.hpp"

namespace caf_mcp::node {

/// Looks up an environment variable.
using env_lookup =
  std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment.
env_lookup process_env();

enum class transport_kind { auto_detect, sse, streamable_http };

/// "auto", "sse" or "streamable-http".
const char* to_string(transport_kind x) noexcept;

/// `{"type":"bearer_token", "command":... | "file":..., "refresh_s":...,
/// "timeout_s":...}`: exactly one of `command` and `file` is set.
struct bearer_token_settings {
  /// Run with /bin/sh -c; the token is its stdout, trimmed (a secret).
  std::string command;
  /// Read on every fetch; the token is its contents, trimmed.
  std::string file;
  /// Proactive refresh interval (0: only after a 401).
  double refresh_s = 0;
  /// Longest run of the command (or read of the file).
  double timeout_s = 10;
};

/// `{"type":"logging", "arguments":false, "max_chars":200}`.
struct logging_settings {
  /// Log each call's arguments (truncated to max_chars): off by default,
  /// arguments may hold secrets.
  bool arguments = false;
  size_t max_chars = 200;
};

/// `{"type":"retry", "max_attempts":3, "base_s":0.2, "max_s":5,
/// "max_wait_s":30, "tools":[...]}`.
struct retry_settings {
  size_t max_attempts = 3;
  /// First delay, and the cap of the growing delays.
  double base_s = 0.2;
  double max_s = 5;
  /// A Retry-After longer than this ends the retries.
  double max_wait_s = 30;
  /// Only these tools (empty: all).
  std::vector<std::string> tools;
};

struct server_settings {
  std::string name;
  /// May hold secrets: show only `transport::redact(url)`.
  std::string url;
  transport_kind transport = transport_kind::auto_detect;
  /// Values are secrets.
  std::vector<std::pair<std::string, std::string>> headers;
  double timeout_s = 60;
  bool keep_alive = true;
  std::string description;
  bool disabled = false;
  size_t pool_min = 1;
  size_t pool_max = 1;
  /// Bounds of the server's tool list (session_config's defaults: 10,000
  /// tools, 16 MiB of names, descriptions and schemas); beyond them a
  /// listing fails with limit_exceeded.
  size_t max_tools = 10000;
  size_t max_tools_bytes = size_t{16} << 20;
  std::string env_prefix;
  /// The `middlewares` array as JSON text ("" if absent), its string
  /// values expanded like every other; may hold secrets, never print it.
  std::string middlewares_json;
  /// The `cache` middleware's settings, if the array has one.
  std::optional<result_cache_config> cache;
  /// The `headers` middleware's headers, if the array has one (values
  /// are secrets).
  std::optional<std::vector<std::pair<std::string, std::string>>>
    mw_headers;
  /// The `bearer_token` middleware's settings, if the array has one.
  std::optional<bearer_token_settings> bearer_token;
  /// The `logging` middleware's settings, if the array has one.
  std::optional<logging_settings> logging;
  /// The `retry` middleware's settings, if the array has one.
  std::optional<retry_settings> retry;
  /// The types of the `middlewares` array in its order (each at most
  /// once): the order of the chain, first = nearest the caller. The node
  /// adds `metrics` first when the array does not place it.
  std::vector<std::string> middleware_order;
};

bool operator==(const server_settings& x, const server_settings& y);

inline bool operator!=(const server_settings& x, const server_settings& y) {
  return !(x == y);
}

struct node_settings {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  /// A secret.
  std::string token;
  std::string name;
  double drain_timeout_s = 10;
};

struct cluster_peer {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

/// The `cluster` block (docs/cluster.md).
struct cluster_settings {
  bool present = false;
  /// `listen` given: the node publishes its registry there (port 0 picks
  /// a free one). Without it the node is not published.
  bool listen_set = false;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  /// A `tls` object was given: mutual TLS (libcaf_openssl) for publishing
  /// and for connecting to peers.
  bool tls = false;
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_cafile;
  std::vector<cluster_peer> peers;
  /// `middleman.heartbeat-interval` (at least 1 s).
  double heartbeat_s = 1;
  /// A hung peer is declared down within this long (CAF's
  /// `middleman.connection-timeout` is one heartbeat shorter, see
  /// cluster::silence_limit); at least 3 x heartbeat_s.
  double connection_timeout_s = 5;
  /// Remote calls in flight from one calling node, at most (beyond:
  /// queue_full).
  size_t max_calls_per_peer = 256;
  /// The reconnect backoff's cap.
  double reconnect_max_s = 5;
  /// Deadline of a remote call that has no timeout of its own.
  double call_timeout_s = 120;
};

struct node_config {
  node_settings node;
  /// Sorted by name.
  std::vector<server_settings> servers;
  cluster_settings cluster;
  /// One line each, no secrets.
  std::vector<std::string> warnings;
};

struct config_error {
  /// The file's base name ("node.json").
  std::string file;
  /// "" outside the server table.
  std::string server;
  /// The key ("timeout", "node.listen"); "" for the whole file.
  std::string key;
  std::string message;

  /// `node.json: server "billing": "timeout": expected a number`.
  std::string to_string() const;
};

struct config_result {
  std::optional<node_config> config;
  std::optional<config_error> error;
};

/// Parses and validates config text; `file_label` names it in messages.
config_result parse_config(std::string_view text, std::string_view file_label,
                           const env_lookup& env);

/// Reads and parses a file (an unreadable file is an error too).
config_result load_config_file(const std::string& path, const env_lookup& env);

struct config_diff {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  std::vector<std::string> unchanged;
};

/// Servers by name: what a reload from `before` to `after` does.
config_diff diff(const node_config& before, const node_config& after);

/// At start: checks that the TLS files of `cl` are readable (relative
/// paths are taken from the config file's directory and made absolute);
/// the error names the key (`cluster.tls.key`). CAF itself notices a bad
/// path only at the first connection (docs/cluster.md).
std::optional<config_error> check_cluster_files(cluster_settings& cl,
                                                const std::string& config_path);

/// Parses "HOST:PORT" or "[V6]:PORT"; returns "" or what is wrong.
std::string parse_listen(std::string_view text, std::string& host,
                         uint16_t& port);

/// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

} // namespace caf_mcp::node
