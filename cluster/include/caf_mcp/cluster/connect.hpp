#pragma once

/// Calling tools on a caf-mcp node from any CAF 0.17 program
/// (docs/cluster.md, "From a CAF program").
///
///   caf::actor_system_config cfg;
///   caf_mcp::register_types(cfg);
///   caf_mcp::cluster::configure(cfg, {});          // middleman, heartbeats,
///                                                  // app identifier
///   caf::actor_system sys{cfg};
///   auto node = caf_mcp::cluster::connect_node(sys, "127.0.0.1", 4100);
///   if (!node) ... // bad arguments: invalid_argument
///   // `node` answers like a node's own registry: servers_atom,
///   // (servers_atom, name), (call_atom, server, tool, args JSON, options),
///   // subscribe/unsubscribe, and nodes_atom for the connection's state.
///   ...
///   caf::anon_send_exit(*node, caf::exit_reason::user_shutdown);
///
/// The handle hides reconnection: it connects in the background with the
/// project's backoff, lists the node's servers and tools, and after a loss
/// connects and lists again. Calls while the node is not up fail at once
/// with `node_down`; calls in flight when it goes down fail at once with
/// `node_down` (a call marked `retryable` is sent once more after the
/// reconnect). Its actor is hidden: a program that forgets to stop it still
/// shuts down.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "caf_mcp/cluster/peer.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/transport/backoff.hpp"

namespace caf_mcp::transport {
class io_runtime;
} // namespace caf_mcp::transport

namespace caf_mcp::cluster {

/// Mutual TLS through libcaf_openssl: PEM files. Every node of a cluster
/// (and every program calling into it) has a certificate signed by the
/// cluster's private CA; host names are not checked (CAF 0.17.6).
struct tls_options {
  std::string certificate;
  std::string key;
  /// The CA that signs the other side's certificate.
  std::string cafile;
};

/// How an actor system takes part in a caf-mcp cluster.
struct system_options {
  /// `middleman.heartbeat-interval` (at least 1 s: CAF 0.17.6 drops
  /// outgoing handshakes not finished by the next heartbeat tick).
  caf::timespan heartbeat = std::chrono::seconds{1};
  /// A node that stops answering (hung, or its link silently gone) is
  /// declared down within this long. CAF checks a node's silence only at
  /// its heartbeat ticks, so `configure` gives CAF a silence limit one
  /// heartbeat shorter (`silence_limit`). At least 3 x `heartbeat`.
  caf::timespan connection_timeout = std::chrono::seconds{5};
  /// Set: load libcaf_openssl with these files (mutual TLS mandatory).
  std::optional<tls_options> tls;
  /// `middleman.app-identifiers`: nodes with another identifier are refused
  /// at the BASP handshake. Leave it at `wire_protocol` (the version of the
  /// messages that cross nodes); another value is for tests and for
  /// keeping two clusters apart.
  std::string app_identifier = wire_protocol;
  /// Sets `middleman.manual-multiplexing`: CAF starts no thread for its
  /// multiplexer (BASP's sockets), and the program runs it on one of its
  /// io threads with `multiplexer_driver` (which it must then start right
  /// after making the system). Only for systems on `use_io_scheduler`.
  bool multiplexer_on_io = false;
};

/// What `configure` sets as `middleman.connection-timeout`: the silence
/// after which CAF drops a node, checked at every heartbeat tick.
/// `connection_timeout - heartbeat`, but never under 2 x `heartbeat` (a
/// healthy node is silent up to one heartbeat interval between two of its
/// heartbeats). A node stops at some instant; its last message came at most
/// one interval earlier, and the first tick past the limit comes at most
/// one interval after it: down within `connection_timeout` of the stop.
caf::timespan silence_limit(const system_options& opts);

/// Loads the middleman (and the openssl manager with `tls`) into `cfg` and
/// sets heartbeats, the connection timeout, the app identifier and the TLS
/// files. Call before the actor system is made; call `register_types(cfg)`
/// as well.
void configure(caf::actor_system_config& cfg, const system_options& opts);

/// `invalid_argument` naming the first of `tls`'s files that cannot be
/// read (CAF 0.17.6 finds a wrong path only at the first connection, and
/// then aborts the process). `what` prefixes the option's name
/// ("cluster.tls." gives "cluster.tls.key").
caf::error check_tls_files(const tls_options& tls,
                           const std::string& what = "tls.");

/// The reason `path` cannot be read as a file ("" if it can).
std::string unreadable(const std::string& path);

struct connect_options {
  /// The name events and errors use (default "HOST:PORT").
  std::string name;
  /// Connect through libcaf_openssl (the system must be configured with
  /// `tls`).
  bool tls = false;
  /// Delays between connect attempts; never gives up. Defaults: 100 ms
  /// doubling to 5 s, jittered.
  std::optional<transport::backoff_config> backoff;
  /// Longest wait for one connect (TCP + BASP handshake).
  caf::timespan connect_timeout = std::chrono::seconds{5};
  /// Deadline of a call without a timeout of its own.
  caf::timespan call_timeout = std::chrono::seconds{120};
  /// Listing interval while up.
  caf::timespan poll = std::chrono::seconds{2};
  /// Calls in flight at most (beyond: queue_full).
  size_t max_pending = 16384;
};

/// The backoff a peer uses unless told otherwise: 100 ms doubling up to
/// `cap`, jittered, never giving up.
transport::backoff_config default_peer_backoff(
  caf::timespan cap = std::chrono::seconds{5});

/// Connects to the node published at `host`:`port` (its `cluster.listen`,
/// or any `spawn_cluster_front` a program publishes: a bare
/// `registry_actor` is refused, calls go in batches) in the background
/// and returns at once with the handle described above.
/// `invalid_argument` for an empty host, port 0, a bad backoff, or a
/// system without the middleman (or without the openssl manager for
/// `tls`): see `configure`.
caf::expected<remote_registry_actor>
connect_node(caf::actor_system& sys, std::string host, uint16_t port,
             connect_options opts = {});

/// Called by `forget_lost_nodes` on the multiplexer's thread with the
/// nodes kept (still connected) and dropped.
using lost_nodes_callback = std::function<void(size_t kept, size_t dropped)>;

/// Drops what CAF 0.17.6's BASP broker keeps of every node it ever learned
/// and no longer has a route to: a helper actor per node id
/// (`basp_broker::spawn_servers`), about 1.2 kB each, otherwise kept until
/// the middleman stops. Every peer restart and every `caf-mcp tools --node`
/// run is a new node id, so a long-running node would grow by that much per
/// connection. Posted to the multiplexer (the broker's thread); `done`, if
/// set, is called there. Safe from any thread while `sys` lives; does
/// nothing without a middleman or once it stops. The peer actor calls it
/// when its node is lost and when it connects again, `multiplexer_driver`
/// every `lost_node_sweep_interval` (docs/cluster.md, "Nodes that are
/// gone").
void forget_lost_nodes(caf::actor_system& sys, lost_nodes_callback done = {});

/// How often a multiplexer_driver calls `forget_lost_nodes`.
constexpr std::chrono::seconds lost_node_sweep_interval{30};

/// Runs CAF's multiplexer (the sockets of BASP and libcaf_openssl) on io
/// thread 0 of `io` instead of on a thread of its own, for a system
/// configured with `system_options::multiplexer_on_io` whose actors run on
/// the same io threads (`use_io_scheduler`). A message between an actor and
/// a remote node then crosses no thread: at 1 call in flight this saves two
/// thread wake-ups per side and round trip (docs/cluster.md, "Speed").
///
/// Start it right after making the system, before anything is published or
/// connected (CAF registers its own wake-up pipe only at the first poll),
/// and destroy it before the system: the destructor stops the polling on
/// the io thread and waits for that, so that the system's shutdown runs the
/// multiplexer alone. Thread-safe to destroy from any thread but the io
/// thread itself.
///
/// It also calls `forget_lost_nodes` every `sweep_every` (with `on_sweep`,
/// if set): a node that publishes learns a new node id with every
/// connection made to it.
class multiplexer_driver {
public:
  /// Takes over the multiplexer of `sys`; `invalid_argument` if `sys` has
  /// no middleman with CAF's default (epoll) multiplexer, or `sweep_every`
  /// is not positive.
  static caf::expected<std::unique_ptr<multiplexer_driver>>
  start(caf::actor_system& sys, transport::io_runtime& io,
        caf::timespan sweep_every = lost_node_sweep_interval,
        lost_nodes_callback on_sweep = {});

  ~multiplexer_driver();

  multiplexer_driver(const multiplexer_driver&) = delete;
  multiplexer_driver& operator=(const multiplexer_driver&) = delete;

private:
  struct impl;

  explicit multiplexer_driver(std::shared_ptr<impl> ptr);

  std::shared_ptr<impl> impl_;
};

/// "HOST:PORT", with brackets around an IPv6 host.
std::string node_address(const std::string& host, uint16_t port);

} // namespace caf_mcp::cluster
