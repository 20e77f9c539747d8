// `caf-mcp node`: many servers from one config, the JSON API, events and
// metrics on one HTTP listener (docs/node.md).
//
// Threads: SIGINT, SIGTERM and SIGHUP are blocked before any thread starts
// and taken by the main thread with sigwait, so no handler runs in a
// signal context. Actors and every socket (the HTTP listener included) run
// on one io runtime.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "caf/all.hpp"
#include "caf/io/all.hpp"
#include "caf/openssl/all.hpp"

#include "caf_mcp/actors/builtin_middlewares.hpp"
#include "caf_mcp/actors/bearer_token_middleware.hpp"
#include "caf_mcp/actors/headers_middleware.hpp"
#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/http_server.hpp"
#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"

#include "client_options.hpp"
#include "commands.hpp"
#include "demo_server/http_server.hpp"
#include "demo_server/mcp_handler.hpp"
#include "node/api.hpp"
#include "node/config.hpp"
#include "node/event_hub.hpp"
#include "node/node_json.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "node/registry.hpp"

namespace caf_mcp::app {

namespace {

struct node_options {
  std::string config_file;
  std::string listen;
  std::string log_level;
  int verbose = 0;
  int busy_poll_us = 0;
};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
    return "node";
  std::string name = buf;
  // A node name follows the server-name rule.
  for (auto& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'
          || c == '-'))
      c = '-';
  return name.substr(0, 64);
}

/// The chain of `s` in the order of its `middlewares` array (makers are
/// called at each client start, so every client gets fresh instances; the
/// registry fills in the `cache` and `metrics` entries).
void build_chain(const node::server_settings& s, node::server_spec& out) {
  using entry = node::server_spec::chain_entry;
  using std::chrono::duration;
  using std::chrono::duration_cast;
  auto secs = [](double x) {
    return duration_cast<caf::timespan>(duration<double>(x));
  };
  for (auto& type : s.middleware_order) {
    entry e;
    if (type == "cache") {
      e.kind = entry::cache;
    } else if (type == "metrics") {
      e.kind = entry::metrics;
    } else if (type == "logging" && s.logging) {
      logging_middleware_config lc;
      lc.arguments = s.logging->arguments;
      lc.max_chars = s.logging->max_chars;
      e.make = [lc]() -> middleware_ptr {
        return std::make_shared<logging_middleware>(lc);
      };
    } else if (type == "retry" && s.retry) {
      retry_middleware_config rc;
      rc.max_attempts = s.retry->max_attempts;
      rc.backoff.base = secs(s.retry->base_s);
      rc.backoff.cap = secs(s.retry->max_s);
      rc.max_wait = secs(s.retry->max_wait_s);
      rc.tools = s.retry->tools;
      e.make = [rc]() -> middleware_ptr {
        return std::make_shared<retry_middleware>(rc);
      };
    } else if (type == "headers" && s.mw_headers) {
      auto hs = *s.mw_headers;
      e.make = [hs]() -> middleware_ptr {
        return std::make_shared<headers_middleware>(hs);
      };
    } else if (type == "bearer_token" && s.bearer_token) {
      auto bt = *s.bearer_token;
      e.make = [bt, secs]() -> middleware_ptr {
        bearer_token_config cfg;
        cfg.timeout = secs(bt.timeout_s);
        cfg.refresh_interval = secs(bt.refresh_s);
        cfg.fetch = bt.command.empty() ? token_from_file(bt.file)
                                       : token_from_command(bt.command,
                                                            cfg.timeout);
        return std::make_shared<bearer_token_middleware>(std::move(cfg));
      };
    } else {
      continue;
    }
    out.chain.push_back(std::move(e));
  }
}

/// The registry's form of a configured server. The fingerprint holds every
/// setting (secrets too) and stays in memory: it only decides "unchanged".
node::server_spec make_spec(const node::server_settings& s,
                            const std::shared_ptr<transport::io_runtime>& io) {
  using std::chrono::duration;
  using std::chrono::duration_cast;
  node::server_spec out;
  out.name = s.name;
  out.url = transport::redact(s.url);
  out.transport = node::to_string(s.transport);
  out.description = s.description;
  out.disabled = s.disabled;
  out.cache = s.cache;
  build_chain(s, out);
  auto& c = out.client;
  c.name = s.name;
  c.desc = s.description;
  c.is_keep_alive = s.keep_alive;
  auto& ses = c.session;
  ses.server_name = s.name;
  ses.sse_url = s.url;
  ses.transport = s.transport == node::transport_kind::sse
                    ? session_transport::sse
                  : s.transport == node::transport_kind::streamable_http
                    ? session_transport::streamable_http
                    : session_transport::automatic;
  ses.http.headers = s.headers;
  ses.io = io;
  ses.request_timeout = duration_cast<caf::timespan>(duration<double>(s.timeout_s));
  ses.max_request_timeout = std::max(ses.max_request_timeout,
                                     ses.request_timeout);
  ses.http.post_timeout = duration_cast<std::chrono::milliseconds>(
    duration<double>(s.timeout_s));
  ses.client_info.name = "caf-mcp-node";
  ses.max_tools = s.max_tools;
  ses.max_tools_bytes = s.max_tools_bytes;
  c.pool.min_members = s.pool_min;
  c.pool.max_members = s.pool_max;
  // A node lives for months: it never stops trying a server.
  c.pool.member.backoff.max_attempts = 0;
  // With a bearer_token middleware each new session fetches a fresh token
  // (its command or file): a 401 on the SSE GET is worth another attempt
  // after the backoff (the token may be replaced meanwhile), not a give-up.
  if (s.bearer_token)
    c.pool.member.retry_auth_failures = true;
  std::string fp;
  auto add = [&fp](const std::string& x) {
    fp += std::to_string(x.size());
    fp += ':';
    fp += x;
  };
  add(s.name);
  add(s.url);
  add(node::to_string(s.transport));
  for (auto& [k, v] : s.headers) {
    add(k);
    add(v);
  }
  add(std::to_string(s.timeout_s));
  add(s.keep_alive ? "1" : "0");
  add(s.description);
  add(s.disabled ? "1" : "0");
  add(std::to_string(s.pool_min));
  add(std::to_string(s.pool_max));
  add(std::to_string(s.max_tools));
  add(std::to_string(s.max_tools_bytes));
  add(s.middlewares_json);
  out.fingerprint = std::move(fp);
  return out;
}

node::server_table_ptr
make_table(const node::node_config& cfg,
           const std::shared_ptr<transport::io_runtime>& io) {
  auto table = std::make_shared<node::server_table>();
  for (auto& s : cfg.servers)
    table->push_back(make_spec(s, io));
  return table;
}

void print_warnings(const node::node_config& cfg, const std::string& file) {
  for (auto& w : cfg.warnings)
    std::fprintf(stderr, "caf-mcp node: %s: warning: %s\n", file.c_str(),
                 log::escape_controls(w).c_str());
}

/// The embedded default (NODE.md): three demo MCP servers inside the
/// process on free loopback ports, named after the seed's dashboard
/// example, each sending notifications/message on its own rhythm.
struct embedded_servers {
  std::vector<std::unique_ptr<demo::mcp_handler>> handlers;
  std::vector<std::unique_ptr<demo::background_server>> servers;
};

std::string start_embedded(embedded_servers& out, node::node_config& cfg) {
  struct spec {
    const char* name;
    demo::notify_flavour flavour;
    const char* description;
  };
  const spec specs[] = {
    {"alerts_stream", demo::notify_flavour::alerts,
     "Occasional alerts (embedded demo server)"},
    {"logs_stream", demo::notify_flavour::logs,
     "Log lines at mixed levels (embedded demo server)"},
    {"metrics_stream", demo::notify_flavour::metrics,
     "A metrics sample every second (embedded demo server)"},
  };
  for (auto& sp : specs) {
    demo::handler_options hopts;
    hopts.notify = sp.flavour;
    out.handlers.push_back(std::make_unique<demo::mcp_handler>(hopts));
    demo::server_options sopts;
    sopts.host = "127.0.0.1";
    sopts.port = 0;
    std::string error;
    auto srv = demo::background_server::start(sopts, *out.handlers.back(),
                                              error);
    if (!srv)
      return std::string{"embedded server "} + sp.name + ": " + error;
    node::server_settings s;
    s.name = sp.name;
    s.url = "http://127.0.0.1:" + std::to_string(srv->port()) + "/sse";
    s.transport = node::transport_kind::sse;
    s.description = sp.description;
    cfg.servers.push_back(std::move(s));
    out.servers.push_back(std::move(srv));
  }
  return {};
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out.empty() ? "-" : out;
}

/// The cluster (docs/cluster.md): CAF's middleman (and libcaf_openssl
/// with `tls`), heartbeats, the connection timeout and the app identifier
/// (refuses builds with other message types at the handshake).
cluster::system_options cluster_system(const node::cluster_settings& cl) {
  using std::chrono::duration;
  using std::chrono::duration_cast;
  cluster::system_options out;
  out.heartbeat = duration_cast<caf::timespan>(duration<double>(cl.heartbeat_s));
  out.connection_timeout = duration_cast<caf::timespan>(
    duration<double>(cl.connection_timeout_s));
  if (cl.tls)
    out.tls = cluster::tls_options{cl.tls_certificate, cl.tls_key,
                                   cl.tls_cafile};
  // BASP's sockets on the node's io thread, beside its actors
  // (multiplexer_driver below).
  out.multiplexer_on_io = true;
  return out;
}

std::vector<cluster::peer_config>
make_peers(const node::cluster_settings& cl) {
  using std::chrono::duration;
  using std::chrono::duration_cast;
  std::vector<cluster::peer_config> out;
  for (auto& p : cl.peers) {
    cluster::peer_config pc;
    pc.name = p.name;
    pc.host = p.host;
    pc.port = p.port;
    pc.tls = cl.tls;
    pc.backoff = cluster::default_peer_backoff(duration_cast<caf::timespan>(
      duration<double>(cl.reconnect_max_s)));
    pc.call_timeout = duration_cast<caf::timespan>(
      duration<double>(cl.call_timeout_s));
    // A connect to a hung node (TCP accepted, no handshake) ends with the
    // connection timeout.
    pc.connect_timeout = duration_cast<caf::timespan>(
      duration<double>(cl.connection_timeout_s));
    out.push_back(std::move(pc));
  }
  return out;
}

int run_node(const node_options& opts) {
  // Signals first: every thread started from here on inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  auto env = node::process_env();
  node::node_config cfg;
  std::string label = "(no config)";
  if (!opts.config_file.empty()) {
    auto res = node::load_config_file(opts.config_file, env);
    if (res.error) {
      std::fprintf(stderr, "caf-mcp node: %s\n",
                   log::escape_controls(res.error->to_string()).c_str());
      return exit_usage;
    }
    cfg = std::move(*res.config);
    label = res.error ? "" : opts.config_file;
    print_warnings(cfg, opts.config_file);
  }
  // Declared before the actor system: the node's sessions to them close
  // first.
  embedded_servers embedded;
  if (opts.config_file.empty()) {
    if (auto err = start_embedded(embedded, cfg); !err.empty()) {
      std::fprintf(stderr, "caf-mcp node: %s\n", err.c_str());
      return exit_failure;
    }
    std::fprintf(stderr, "caf-mcp node: no --config: the embedded default, "
                         "three demo servers (metrics_stream, logs_stream, "
                         "alerts_stream) on loopback\n");
  }
  if (!opts.listen.empty()) {
    auto problem = node::parse_listen(opts.listen, cfg.node.listen_host,
                                      cfg.node.listen_port);
    if (!problem.empty()) {
      std::fprintf(stderr, "caf-mcp node: --listen: %s\n", problem.c_str());
      return exit_usage;
    }
    if (!node::is_loopback_host(cfg.node.listen_host)
        && cfg.node.token.empty()) {
      std::fprintf(stderr, "caf-mcp node: --listen: listening on a "
                           "non-loopback address needs node.token\n");
      return exit_usage;
    }
  }
  if (cfg.node.name.empty())
    cfg.node.name = host_name();
  auto io = std::make_shared<transport::io_runtime>(
    1, std::chrono::microseconds{opts.busy_poll_us});
  int rc = exit_ok;
  bool cluster_on = cfg.cluster.listen_set || !cfg.cluster.peers.empty();
  if (cluster_on && cfg.cluster.tls) {
    if (auto err = node::check_cluster_files(cfg.cluster, opts.config_file)) {
      std::fprintf(stderr, "caf-mcp node: %s\n",
                   log::escape_controls(err->to_string()).c_str());
      return exit_usage;
    }
  }
  {
    app_config sys_cfg{io};
    if (cluster_on)
      cluster::configure(sys_cfg, cluster_system(cfg.cluster));
    caf::actor_system sys{sys_cfg};
    // Declared after `sys`: stops polling before the system shuts down.
    std::unique_ptr<cluster::multiplexer_driver> mpx_driver;
    if (cluster_on) {
      auto driver = cluster::multiplexer_driver::start(sys, *io);
      if (!driver) {
        std::fprintf(stderr, "caf-mcp node: %s\n",
                     render(driver.error()).c_str());
        return exit_failure;
      }
      mpx_driver = std::move(*driver);
    }
    node::registry_config reg_cfg;
    reg_cfg.node_name = cfg.node.name;
    reg_cfg.peers = make_peers(cfg.cluster);
    auto reg = sys.spawn(node::registry, reg_cfg);
    caf::scoped_actor self{sys};
    // The API's bridge is subscribed before the registry starts anything
    // (servers, cluster peers: both at the first reload), by this actor and
    // ahead of the reload, so the event ring (`/api/events` with
    // Last-Event-ID) holds every event from the start: a peer that comes
    // up at once is no longer announced to nobody.
    auto hub = std::make_shared<node::event_hub>();
    node::api_config api_cfg{cfg.node.token, cfg.node.name, reg, hub};
    auto bridge = node::spawn_api_bridge(sys, api_cfg);
    self->send(reg, caf::subscribe_atom::value, bridge);
    self->request(reg, std::chrono::seconds{30}, node::reload_atom::value,
                  make_table(cfg, io))
      .receive([](node::reload_result&) {},
               [&](caf::error& err) {
                 std::fprintf(stderr, "caf-mcp node: cannot start: %s\n",
                              render(err).c_str());
                 rc = exit_failure;
               });
    if (rc != exit_ok) {
      self->send_exit(bridge, caf::exit_reason::user_shutdown);
      return rc;
    }
    cluster_front_actor front;
    if (cfg.cluster.listen_set) {
      front = cluster::spawn_cluster_front(
        sys, caf::actor_cast<registry_actor>(reg),
        cfg.cluster.max_calls_per_peer);
      auto& host = cfg.cluster.listen_host;
      // reuse_addr: a node restarted after a crash binds its port again at
      // once (else the old socket's TIME_WAIT holds it for about a minute).
      auto port = cfg.cluster.tls
                    ? caf::openssl::publish(front, cfg.cluster.listen_port,
                                            host.c_str(), true)
                    : caf::io::publish(front, cfg.cluster.listen_port,
                                       host.c_str(), true);
      if (!port) {
        std::fprintf(stderr, "caf-mcp node: cluster.listen: cannot publish "
                             "on %s:%u: %s\n",
                     host.c_str(),
                     static_cast<unsigned>(cfg.cluster.listen_port),
                     sys.render(port.error()).c_str());
        self->send_exit(front, caf::exit_reason::user_shutdown);
        self->send_exit(reg, caf::exit_reason::user_shutdown);
        self->send_exit(bridge, caf::exit_reason::user_shutdown);
        return exit_failure;
      }
      std::printf("caf-mcp node cluster port %s:%u%s\n", host.c_str(),
                  static_cast<unsigned>(*port),
                  cfg.cluster.tls ? " (tls)" : "");
      std::fflush(stdout);
    }
    node::api_handler handler{api_cfg, bridge};
    transport::http_server_options http_opts;
    http_opts.log_name = "node";
    auto server = std::make_unique<transport::http_server>(io->context(0),
                                                           handler, http_opts);
    auto problem = server->listen(cfg.node.listen_host, cfg.node.listen_port);
    // The embedded default takes the next free port if 8080 is taken.
    if (!problem.empty() && opts.config_file.empty() && opts.listen.empty()) {
      for (uint16_t port = 8081; port < 8100 && !problem.empty(); ++port)
        problem = server->listen(cfg.node.listen_host, port);
    }
    if (!problem.empty()) {
      std::fprintf(stderr, "caf-mcp node: %s\n", problem.c_str());
      self->send_exit(reg, caf::exit_reason::user_shutdown);
      self->send_exit(bridge, caf::exit_reason::user_shutdown);
      if (front)
        self->send_exit(front, caf::exit_reason::user_shutdown);
      return exit_failure;
    }
    server->start();
    std::printf("caf-mcp node listening on http://%s:%u/\n",
                server->address().c_str(),
                static_cast<unsigned>(server->port()));
    std::fflush(stdout);
    for (;;) {
      int sig = 0;
      if (sigwait(&sigs, &sig) != 0)
        continue;
      if (sig == SIGHUP) {
        if (opts.config_file.empty()) {
          std::fprintf(stderr, "caf-mcp node: SIGHUP: no config file to "
                               "reload\n");
          continue;
        }
        auto res = node::load_config_file(opts.config_file, env);
        if (res.error) {
          auto line = res.error->to_string();
          std::fprintf(stderr, "caf-mcp node: reload rejected, keeping the "
                               "running config: %s\n",
                       log::escape_controls(line).c_str());
          self->send(reg, node::config_atom::value,
                     node::config_event_json("rejected", {}, {}, {}, line));
          continue;
        }
        print_warnings(*res.config, opts.config_file);
        // node.* and cluster.* take effect at the next start; the server
        // table now.
        self->request(reg, std::chrono::seconds{30}, node::reload_atom::value,
                      make_table(*res.config, io))
          .receive(
            [](node::reload_result& r) {
              std::fprintf(stderr,
                           "caf-mcp node: reloaded: added %s; removed %s; "
                           "changed %s; unchanged %s\n",
                           join(r.added).c_str(), join(r.removed).c_str(),
                           join(r.changed).c_str(), join(r.unchanged).c_str());
            },
            [](caf::error& err) {
              std::fprintf(stderr, "caf-mcp node: reload failed: %s\n",
                           render(err).c_str());
            });
        continue;
      }
      break; // SIGINT or SIGTERM
    }
    // Drain: no new calls, those in flight until drain_timeout_s.
    std::fprintf(stderr, "caf-mcp node: draining (up to %g s)\n",
                 cfg.node.drain_timeout_s);
    handler.set_draining();
    auto drain = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(cfg.node.drain_timeout_s));
    self->request(reg, drain + std::chrono::seconds{10},
                  node::drain_atom::value, drain)
      .receive(
        [](uint64_t left) {
          if (left > 0)
            std::fprintf(stderr, "caf-mcp node: %llu calls failed at the "
                                 "drain deadline\n",
                         static_cast<unsigned long long>(left));
        },
        [](caf::error& err) {
          std::fprintf(stderr, "caf-mcp node: drain: %s\n",
                       render(err).c_str());
        });
    // The answers of the last calls leave before the sockets close (a
    // bounded wait: 2 s).
    for (int i = 0; i < 200 && handler.unanswered() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    server->close_all();
    self->send_exit(bridge, caf::exit_reason::user_shutdown);
    self->send_exit(reg, caf::exit_reason::user_shutdown);
    if (front)
      self->send_exit(front, caf::exit_reason::user_shutdown);
    server.reset();
  }
  io->stop();
  std::fprintf(stderr, "caf-mcp node: stopped\n");
  return rc;
}

} // namespace

void add_node(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<node_options>();
  auto cmd = app.add_subcommand(
    "node",
    "Run the node: one session pool per server of the config file, the "
    "JSON API, the event stream and Prometheus metrics on one HTTP "
    "listener (docs/node.md). Prints 'caf-mcp node listening on "
    "http://HOST:PORT/' once listening (and 'caf-mcp node cluster port "
    "HOST:PORT' when cluster.listen publishes it to other CAF nodes, "
    "docs/cluster.md); SIGHUP reloads the config, SIGINT and SIGTERM drain "
    "and exit 0. Config errors exit 2.");
  cmd->add_option("--config", opts->config_file,
                  "the config file (JSON with comments; mcpServers or "
                  "servers)");
  cmd->add_option("--listen", opts->listen,
                  "HOST:PORT to listen on, overrides node.listen (port 0 "
                  "picks a free one; default 127.0.0.1:8080)");
  cmd->add_option("--log-level", opts->log_level,
                  "error, warn, info or debug (default warn)");
  cmd->add_flag("-v", opts->verbose, "more log lines (-v info, -vv debug)");
  cmd->add_option("--busy-poll-us", opts->busy_poll_us,
                  "microseconds the io thread keeps polling before it sleeps: "
                  "lower latency per call for CPU time while busy (default 0 "
                  "= off)")
    ->check(CLI::Range(0, 1000000));
  cmd->callback([opts, &exit_code] {
    auto level = opts->verbose >= 2 ? log::level::debug
                 : opts->verbose == 1 ? log::level::info
                                      : log::level::warn;
    if (!opts->log_level.empty()) {
      if (opts->log_level == "error")
        level = log::level::error;
      else if (opts->log_level == "warn")
        level = log::level::warn;
      else if (opts->log_level == "info")
        level = log::level::info;
      else if (opts->log_level == "debug")
        level = log::level::debug;
      else {
        std::fprintf(stderr, "caf-mcp node: --log-level: expected error, "
                             "warn, info or debug\n");
        exit_code = exit_usage;
        return;
      }
    }
    log::set_sink(log::stderr_sink(), level);
    exit_code = run_node(*opts);
  });
}

} // namespace caf_mcp::app
