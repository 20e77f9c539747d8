// The node's cluster actors: see peer.hpp and docs/cluster.md.
#include "peer.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/openssl/manager.hpp"

#include "caf_mcp/transport/log.hpp"

#include "cluster.hpp"

namespace caf_mcp::node {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

// -- the peer (calling side) ---------------------------------------------------

struct pending_payload {
  caf::typed_response_promise<call_tool_result> promise;
  std::string server;
  std::string tool;
  std::string args;
  call_options opts;
};

struct peer_actor_state {
  peer_config cfg;
  std::unique_ptr<transport::backoff> policy;
  peer_state phase = peer_state::connecting;
  int64_t since_ms = 0;
  std::string last_error;
  double rtt_ms = 0;
  registry_actor remote;
  caf::node_id remote_node;
  /// The node of the connection lost last: a connect that hands back a
  /// proxy of it is refused (CAF may return its cached dead proxy once).
  caf::node_id dead_node;
  /// Counts connections; polls of an earlier one stop.
  uint64_t connection = 0;
  /// Number of the connect attempt scheduled last (stale timers ignored).
  uint64_t attempt = 0;
  bool connecting = false;
  pending_table<pending_payload> pending;
  std::vector<server_detail> servers;
  static inline const char* name = "caf_mcp.node_peer";
};

using peer_self = peer_actor::stateful_pointer<peer_actor_state>;

std::string address_of(const peer_config& cfg) {
  if (cfg.host.find(':') != std::string::npos)
    return "[" + cfg.host + "]:" + std::to_string(cfg.port);
  return cfg.host + ":" + std::to_string(cfg.port);
}

peer_report make_report(peer_self self) {
  auto& st = self->state;
  peer_report r;
  r.info.name = st.cfg.name;
  r.info.address = address_of(st.cfg);
  r.info.state = to_string(st.phase);
  r.info.since_ms = st.since_ms;
  r.info.last_error = st.last_error;
  r.info.rtt_ms = st.rtt_ms;
  r.servers = st.servers;
  return r;
}

void report(peer_self self) {
  if (self->state.cfg.registry)
    self->send(self->state.cfg.registry, peer_atom::value, make_report(self));
}

void set_phase(peer_self self, peer_state p) {
  auto& st = self->state;
  if (st.phase == p)
    return;
  st.phase = p;
  st.since_ms = now_ms();
}

void schedule_connect(peer_self self) {
  auto& st = self->state;
  auto delay = st.policy->next_delay();
  // max_attempts is 0: never nullopt; be safe anyway.
  auto d = delay ? *delay : st.policy->config().cap;
  auto n = ++st.attempt;
  self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(d),
                     peer_connect_atom::value, n);
}

void connect_failed(peer_self self, std::string why) {
  auto& st = self->state;
  st.connecting = false;
  CAF_MCP_LOG_DEBUG("cluster", "peer " << st.cfg.name << ": connect failed: "
                                       << why);
  st.last_error = std::move(why);
  report(self);
  schedule_connect(self);
}

caf::error to_call_error(peer_self self, const caf::error& err) {
  if (is_mcp_error(err))
    return err;
  auto& name = self->state.cfg.name;
  if (err == caf::sec::request_timeout)
    return caf::make_error(mcp_errc::timeout,
                           "no answer from node " + name
                             + " before the call's deadline");
  if (err == caf::sec::request_receiver_down)
    return caf::make_error(mcp_errc::node_down,
                           "node " + name + " is down");
  return caf::make_error(mcp_errc::node_down,
                         "node " + name + ": " + render(err));
}

void finish(peer_self self, uint64_t id, caf::expected<call_tool_result> res) {
  pending_payload p;
  if (!self->state.pending.take(id, p))
    return;
  if (res)
    p.promise.deliver(std::move(*res));
  else
    p.promise.deliver(std::move(res.error()));
}

void send_call(peer_self self, uint64_t id) {
  auto& st = self->state;
  auto e = st.pending.find(id);
  if (e == nullptr)
    return;
  auto now = std::chrono::steady_clock::now();
  if (e->deadline <= now) {
    finish(self, id, caf::make_error(mcp_errc::timeout,
                                     "the call's deadline passed before node "
                                       + st.cfg.name + " was back"));
    return;
  }
  auto left = std::chrono::duration_cast<caf::timespan>(e->deadline - now);
  auto attempt = e->attempt;
  auto& p = e->payload;
  self->request(st.remote, left, call_atom::value, p.server, p.tool, p.args,
                p.opts)
    .then(
      [self, id, attempt](call_tool_result& res) {
        if (self->state.pending.accepts(id, attempt))
          finish(self, id, std::move(res));
      },
      [self, id, attempt](caf::error& err) {
        auto cur = self->state.pending.find(id);
        if (cur == nullptr || cur->attempt != attempt)
          return;
        // A waiting call (lost, to be resent) still ends at its deadline:
        // the timeout of its last send is that deadline.
        if (cur->waiting && err != caf::sec::request_timeout)
          return;
        finish(self, id, to_call_error(self, err));
      });
}

void poll(peer_self self, uint64_t conn);

void on_connected(peer_self self, caf::node_id nid, registry_actor remote) {
  auto& st = self->state;
  st.connecting = false;
  st.remote = std::move(remote);
  st.remote_node = std::move(nid);
  self->monitor(st.remote);
  ++st.connection;
  st.policy->on_connected(std::chrono::steady_clock::now());
  set_phase(self, peer_state::up);
  st.last_error.clear();
  CAF_MCP_LOG_INFO("cluster", "peer " << st.cfg.name << " is up ("
                                      << address_of(st.cfg) << ")");
  report(self);
  for (auto id : st.pending.resend_waiting())
    send_call(self, id);
  poll(self, st.connection);
}

void on_loss(peer_self self, const caf::error& reason) {
  auto& st = self->state;
  st.dead_node = st.remote_node;
  // Polls of the lost connection end here (their answers are stale).
  ++st.connection;
  st.remote = nullptr;
  st.remote_node = caf::node_id{};
  st.policy->on_disconnected(std::chrono::steady_clock::now());
  set_phase(self, peer_state::down);
  st.last_error = "connection lost: " + render(reason);
  auto failed = st.pending.on_loss();
  for (auto& kvp : failed)
    kvp.second.promise.deliver(caf::make_error(
      mcp_errc::node_down,
      "node " + st.cfg.name + " went down while the call was in flight"));
  CAF_MCP_LOG_WARN("cluster", "peer " << st.cfg.name << " is down ("
                                      << render(reason) << "); "
                                      << failed.size() << " calls failed");
  report(self);
  schedule_connect(self);
}

void connect(peer_self self) {
  auto& me = self->state;
  if (me.phase == peer_state::up || me.connecting)
    return;
  me.connecting = true;
  caf::io::middleman_actor mm = me.cfg.tls
                                  ? self->system().openssl_manager()
                                      .actor_handle()
                                  : self->system().middleman().actor_handle();
  auto addr = address_of(me.cfg);
  self
    ->request(mm, me.cfg.connect_timeout, caf::connect_atom::value,
              me.cfg.host, me.cfg.port)
    .then(
      [self, addr](caf::node_id& nid, caf::strong_actor_ptr& ptr,
                   std::set<std::string>& ifs) {
        auto& st = self->state;
        if (!ptr)
          return connect_failed(self, "nothing is published at " + addr);
        if (!self->system().assignable<registry_actor>(ifs))
          return connect_failed(self, "the actor at " + addr
                                        + " is not a caf-mcp registry "
                                          "speaking "
                                        + wire_protocol);
        if (st.dead_node && nid == st.dead_node) {
          // Once: CAF may hand back its cached dead proxy once; a node that
          // survived a network drop keeps its id and must be accepted on
          // the next attempt.
          st.dead_node = caf::node_id{};
          return connect_failed(self, "the middleman handed back the proxy "
                                      "of the node that went down");
        }
        on_connected(self, std::move(nid),
                     caf::actor_cast<registry_actor>(std::move(ptr)));
      },
      [self, addr](caf::error& err) {
        connect_failed(self, "connect to " + addr + ": "
                               + self->system().render(err));
      });
}

void poll(peer_self self, uint64_t conn) {
  if (self->state.phase != peer_state::up || conn != self->state.connection)
    return;
  auto start = std::chrono::steady_clock::now();
  auto next = [self, conn] {
    self->delayed_send(self, self->state.cfg.poll, peer_poll_atom::value,
                       conn);
  };
  self->request(self->state.remote, self->state.cfg.connect_timeout,
                servers_atom::value)
    .then(
      [self, conn, start, next](std::vector<server_info>& xs) {
        auto& st = self->state;
        if (conn != st.connection)
          return;
        st.rtt_ms = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
        // Servers of the peer's own peers are not ours to call.
        xs.erase(std::remove_if(xs.begin(), xs.end(),
                                [](const server_info& x) {
                                  return x.name.find(':')
                                         != std::string::npos;
                                }),
                 xs.end());
        if (xs.empty()) {
          st.servers.clear();
          report(self);
          next();
          return;
        }
        auto got = std::make_shared<std::vector<server_detail>>();
        auto left = std::make_shared<size_t>(xs.size());
        for (auto& x : xs) {
          auto done = [self, conn, got, left, next] {
            if (--*left > 0)
              return;
            auto& now_st = self->state;
            if (conn != now_st.connection)
              return;
            std::sort(got->begin(), got->end(),
                      [](const server_detail& a, const server_detail& b) {
                        return a.info.name < b.info.name;
                      });
            now_st.servers = std::move(*got);
            report(self);
            next();
          };
          self
            ->request(st.remote, st.cfg.connect_timeout, servers_atom::value,
                      x.name)
            .then(
              [got, done](server_detail& d) {
                got->push_back(std::move(d));
                done();
              },
              [got, done, info = x](caf::error&) {
                // Gone between the two requests, or slow: listed without
                // tools this round.
                got->push_back(server_detail{info, {}});
                done();
              });
        }
      },
      [self, conn, next](caf::error& err) {
        auto& st = self->state;
        if (conn != st.connection)
          return;
        st.last_error = "listing servers: " + render(to_call_error(self, err));
        report(self);
        next();
      });
}

peer_actor::behavior_type peer_fn(peer_self self, peer_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.since_ms = now_ms();
  init.policy = std::make_unique<transport::backoff>(
    init.cfg.backoff,
    transport::make_random_source(
      static_cast<uint64_t>(std::chrono::steady_clock::now()
                              .time_since_epoch()
                              .count())));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.remote && msg.source == st.remote.address())
      on_loss(self, msg.reason);
  });
  report(self);
  connect(self);
  return {
    [self](call_atom, std::string& server, std::string& tool_name,
           std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      if (st.phase != peer_state::up)
        return caf::make_error(mcp_errc::node_down,
                               "node " + st.cfg.name + " is "
                                 + to_string(st.phase)
                                 + (st.last_error.empty()
                                      ? std::string{}
                                      : " (" + st.last_error + ")"));
      if (st.pending.size() >= st.cfg.max_pending)
        return caf::make_error(mcp_errc::queue_full,
                               "too many calls in flight to node "
                                 + st.cfg.name);
      auto span = st.cfg.call_timeout;
      if (opts.timeout.count() > 0)
        span = std::max(opts.timeout, opts.max_timeout) + st.cfg.grace;
      auto deadline = std::chrono::steady_clock::now() + span;
      auto rp = self->make_response_promise<call_tool_result>();
      pending_payload p{rp, std::move(server), std::move(tool_name),
                        std::move(args), std::move(opts)};
      auto retryable = p.opts.retryable;
      auto id = st.pending.add(deadline, retryable, std::move(p));
      send_call(self, id);
      return rp;
    },
    [self](caf::get_atom) { return make_report(self); },
    [self](peer_connect_atom, uint64_t n) {
      if (n == self->state.attempt)
        connect(self);
    },
    [self](peer_poll_atom, uint64_t conn) { poll(self, conn); },
  };
}

// -- the front (publishing side) ------------------------------------------------

struct front_state {
  in_flight_limiter limiter{0};
  static inline const char* name = "caf_mcp.cluster_front";
};

using front_self = registry_actor::stateful_pointer<front_state>;

registry_actor::behavior_type front_fn(front_self self, registry_actor reg,
                                       size_t max_per_peer) {
  self->state.limiter = in_flight_limiter{max_per_peer};
  return {
    [self, reg](servers_atom) -> caf::result<std::vector<server_info>> {
      auto rp = self->make_response_promise<std::vector<server_info>>();
      self->request(reg, caf::infinite, servers_atom::value)
        .then(
          [rp](std::vector<server_info>& xs) mutable {
            xs.erase(std::remove_if(xs.begin(), xs.end(),
                                    [](const server_info& x) {
                                      return x.name.find(':')
                                             != std::string::npos;
                                    }),
                     xs.end());
            rp.deliver(std::move(xs));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self, reg](servers_atom,
                std::string& name) -> caf::result<server_detail> {
      if (name.find(':') != std::string::npos)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + name
                                 + "\" (a node serves only its own servers "
                                   "to other nodes)");
      return self->delegate(reg, servers_atom::value, std::move(name));
    },
    [self, reg](call_atom, std::string& server, std::string& tool_name,
                std::string& args,
                call_options& opts) -> caf::result<call_tool_result> {
      if (server.find(':') != std::string::npos)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + server
                                 + "\" (a node serves only its own servers "
                                   "to other nodes)");
      auto src = self->current_sender();
      std::string key = src ? caf::to_string(src->node()) : "local";
      auto& lim = self->state.limiter;
      if (!lim.try_acquire(key))
        return caf::make_error(mcp_errc::queue_full,
                               "more than "
                                 + std::to_string(lim.max_per_key())
                                 + " calls in flight from one node "
                                   "(cluster.max_calls_per_peer)");
      auto rp = self->make_response_promise<call_tool_result>();
      self
        ->request(reg, caf::infinite, call_atom::value, std::move(server),
                  std::move(tool_name), std::move(args), std::move(opts))
        .then(
          [self, key, rp](call_tool_result& res) mutable {
            self->state.limiter.release(key);
            rp.deliver(std::move(res));
          },
          [self, key, rp](caf::error& err) mutable {
            self->state.limiter.release(key);
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self, reg](caf::subscribe_atom, caf::actor& sub) {
      self->send(reg, caf::subscribe_atom::value, std::move(sub));
    },
    [self, reg](caf::unsubscribe_atom, caf::actor& sub) {
      self->send(reg, caf::unsubscribe_atom::value, std::move(sub));
    },
  };
}

} // namespace

peer_actor spawn_peer(caf::actor_system& sys, peer_config cfg) {
  return sys.spawn(peer_fn, std::move(cfg));
}

registry_actor spawn_cluster_front(caf::actor_system& sys,
                                   registry_actor registry,
                                   size_t max_calls_per_peer) {
  return sys.spawn(front_fn, std::move(registry), max_calls_per_peer);
}

} // namespace caf_mcp::node
