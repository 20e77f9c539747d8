// The cluster actors: see peer.hpp and docs/cluster.md.
#include "caf_mcp/cluster/peer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/middleman_actor.hpp"
#include "caf/openssl/manager.hpp"

#include <boost/json.hpp>

#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/cluster/cluster.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/transport/log.hpp"

namespace caf_mcp::cluster {

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
  cluster_front_actor remote;
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
  /// Calls to send in the next batch (to `remote`).
  std::vector<remote_call> outbox;
  /// A `peer_flush_atom` is on its way to us.
  bool flush_pending = false;
  /// The deadline timer: when it fires and its number (older timers are
  /// ignored); `sweep_at` is max() while none is set.
  std::chrono::steady_clock::time_point sweep_at =
    std::chrono::steady_clock::time_point::max();
  uint64_t sweep_number = 0;
  std::vector<server_detail> servers;
  /// Polls of the current connection (a full listing every
  /// `full_listing_every`).
  uint64_t polls = 0;
  /// Local subscribers of the remote node's events (and of our `node`
  /// events); while there are any, we subscribe to the remote registry.
  subscriber_set subscribers;
  bool subscribed_remote = false;
  uint64_t next_event = 0;
  /// The current connection's servers were listed once.
  bool listed_once = false;
  /// `ready_atom` requests waiting for the first listing, by number.
  std::map<uint64_t, caf::typed_response_promise<node_info>> waiters;
  uint64_t next_waiter = 0;
  static inline const char* name = "caf_mcp.node_peer";
};

using peer_self = peer_actor::stateful_pointer<peer_actor_state>;

std::string address_of(const peer_config& cfg) {
  return node_address(cfg.host, cfg.port);
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

void forward(peer_self self, node_event ev) {
  auto msg = caf::make_message(node_event_atom::value, std::move(ev));
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

/// Our own `node` event: the connection's state (as `/api/nodes` shows a
/// peer, `since` in ms since the epoch).
void publish_node(peer_self self) {
  auto& st = self->state;
  if (st.subscribers.empty())
    return;
  boost::json::object o;
  o["name"] = st.cfg.name;
  o["address"] = address_of(st.cfg);
  o["state"] = to_string(st.phase);
  o["since_ms"] = st.since_ms;
  if (st.last_error.empty())
    o["last_error"] = nullptr;
  else
    o["last_error"] = st.last_error;
  node_event ev{++st.next_event, "node", "", boost::json::serialize(o)};
  forward(self, std::move(ev));
}

/// Subscribes to the remote registry's events while we have subscribers
/// and a connection (again after every reconnect).
void sync_remote_subscription(peer_self self) {
  auto& st = self->state;
  bool want = !st.subscribers.empty() && st.phase == peer_state::up;
  if (want == st.subscribed_remote)
    return;
  if (st.remote) {
    auto me = caf::actor_cast<caf::actor>(self);
    if (want)
      self->send(st.remote, caf::subscribe_atom::value, me);
    else
      self->send(st.remote, caf::unsubscribe_atom::value, me);
  }
  st.subscribed_remote = want && st.remote;
}

void set_phase(peer_self self, peer_state p) {
  auto& st = self->state;
  if (st.phase == p)
    return;
  st.phase = p;
  st.since_ms = now_ms();
  publish_node(self);
}

/// A remote server as the caller sees it: down while the node is not up.
server_info as_seen(peer_self self, const server_info& remote) {
  auto& st = self->state;
  auto x = remote;
  if (x.node.empty())
    x.node = st.cfg.name;
  if (st.phase != peer_state::up) {
    x.state = health_state::down;
    x.phase = link_phase::connecting;
    x.connected_since_ms = 0;
    x.in_flight = 0;
    x.last_error = "node " + st.cfg.name + " is " + to_string(st.phase)
                   + (st.last_error.empty() ? std::string{}
                                            : ": " + st.last_error);
  }
  return x;
}

const server_detail* find_server(peer_self self, const std::string& name) {
  for (auto& d : self->state.servers)
    if (d.info.name == name)
      return &d;
  return nullptr;
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
  if (why != st.last_error) {
    st.last_error = std::move(why);
    report(self);
    publish_node(self);
  }
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

/// Sends the queued calls to the remote front in one message.
void flush(peer_self self) {
  auto& st = self->state;
  if (st.outbox.empty())
    return;
  if (st.remote)
    self->send(st.remote, call_batch_atom::value, std::move(st.outbox));
  st.outbox.clear();
}

/// The batching rule of peer and front (docs/cluster.md, "Batching"):
/// `flush_now` runs at once if nothing else waits in `self`'s mailbox (no
/// delay for a lone call or answer), else `self` gets the message `Atom`
/// once, handled after the messages waiting now, and flushes then: what
/// arrives together leaves together.
template <class Atom, class Self, class F>
void flush_soon(Self self, bool& pending, F flush_now) {
  if (self->mailbox().empty()) {
    flush_now();
  } else if (!pending) {
    pending = true;
    self->send(self, Atom::value);
  }
}

void schedule_flush(peer_self self) {
  flush_soon<peer_flush_atom>(self, self->state.flush_pending,
                              [self] { flush(self); });
}

/// Sets the deadline timer for `deadline` unless one fires earlier.
void arm_sweep(peer_self self, std::chrono::steady_clock::time_point deadline) {
  auto& st = self->state;
  if (deadline >= st.sweep_at)
    return;
  st.sweep_at = deadline;
  auto now = std::chrono::steady_clock::now();
  auto wait = deadline > now ? std::chrono::duration_cast<caf::timespan>(
                deadline - now)
                             : caf::timespan{0};
  self->delayed_send(self, wait, peer_sweep_atom::value, ++st.sweep_number);
}

/// Fails every call whose deadline passed, then sets the timer for the
/// next deadline.
void sweep(peer_self self) {
  auto& st = self->state;
  st.sweep_at = std::chrono::steady_clock::time_point::max();
  for (auto id : st.pending.expired(std::chrono::steady_clock::now()))
    finish(self, id,
           caf::make_error(mcp_errc::timeout,
                           "no answer from node " + st.cfg.name
                             + " before the call's deadline"));
  std::chrono::steady_clock::time_point next;
  if (st.pending.earliest_deadline(next))
    arm_sweep(self, next);
}

/// Queues call `id` for the next batch (or fails it if its deadline
/// passed while it waited for a reconnect).
void send_call(peer_self self, uint64_t id) {
  auto& st = self->state;
  auto e = st.pending.find(id);
  if (e == nullptr)
    return;
  if (e->deadline <= std::chrono::steady_clock::now()) {
    finish(self, id, caf::make_error(mcp_errc::timeout,
                                     "the call's deadline passed before node "
                                       + st.cfg.name + " was back"));
    return;
  }
  auto& p = e->payload;
  remote_call c;
  c.id = id;
  c.attempt = e->attempt;
  c.server = p.server;
  c.tool = p.tool;
  // Only a retryable call may be sent again: the others give their
  // arguments away (no copy of a large argument object).
  if (e->retryable) {
    c.args = p.args;
    c.opts = p.opts;
  } else {
    c.args = std::move(p.args);
    c.opts = std::move(p.opts);
  }
  st.outbox.push_back(std::move(c));
  schedule_flush(self);
}

/// The front's answers: each one that still counts ends its call.
void answered(peer_self self, std::vector<remote_result>& xs) {
  for (auto& x : xs) {
    if (!self->state.pending.accepts(x.id, x.attempt))
      continue;
    if (x.error)
      finish(self, x.id, to_call_error(self, x.error));
    else
      finish(self, x.id, std::move(x.result));
  }
}

void poll(peer_self self, uint64_t conn);

void on_connected(peer_self self, caf::node_id nid,
                  cluster_front_actor remote) {
  auto& st = self->state;
  // A node that ended cleanly (its front went first) was still connected
  // at on_loss: its helper goes now (forget_lost_nodes).
  forget_lost_nodes(self->system());
  st.connecting = false;
  st.remote = std::move(remote);
  st.remote_node = std::move(nid);
  self->monitor(st.remote);
  ++st.connection;
  st.policy->on_connected(std::chrono::steady_clock::now());
  st.polls = 0;
  st.listed_once = false;
  st.last_error.clear();
  set_phase(self, peer_state::up);
  sync_remote_subscription(self);
  CAF_MCP_LOG_INFO("cluster", "peer " << st.cfg.name << " is up ("
                                      << address_of(st.cfg) << ")");
  report(self);
  for (auto id : st.pending.resend_waiting())
    send_call(self, id);
  poll(self, st.connection);
}

void on_loss(peer_self self, const caf::error& reason) {
  auto& st = self->state;
  // CAF keeps a helper actor for every node it learned until told
  // otherwise; posted before anyone can see this loss.
  forget_lost_nodes(self->system());
  st.dead_node = st.remote_node;
  // Polls of the lost connection end here (their answers are stale).
  ++st.connection;
  st.remote = nullptr;
  st.remote_node = caf::node_id{};
  // Calls queued for the lost connection: failed or kept below.
  st.outbox.clear();
  st.subscribed_remote = false;
  st.policy->on_disconnected(std::chrono::steady_clock::now());
  st.last_error = "connection lost: " + render(reason);
  set_phase(self, peer_state::down);
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

/// Our `middleman.app-identifiers`, for error messages.
std::string app_identifiers(peer_self self) {
  auto ids = caf::get_or(self->system().config(), "middleman.app-identifiers",
                         std::vector<std::string>{});
  std::string out;
  for (auto& id : ids)
    out += (out.empty() ? "" : ", ") + id;
  return out;
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
        if (!self->system().assignable<cluster_front_actor>(ifs))
          return connect_failed(self, "the actor at " + addr
                                        + " is not a caf-mcp registry "
                                          "speaking "
                                        + std::string{wire_protocol});
        if (st.dead_node && nid == st.dead_node) {
          // Once: CAF may hand back its cached dead proxy once; a node that
          // survived a network drop keeps its id and must be accepted on
          // the next attempt.
          st.dead_node = caf::node_id{};
          return connect_failed(self, "the middleman handed back the proxy "
                                      "of the node that went down");
        }
        on_connected(self, std::move(nid),
                     caf::actor_cast<cluster_front_actor>(std::move(ptr)));
      },
      [self, addr](caf::error& err) {
        if (err == caf::sec::incompatible_application_ids)
          return connect_failed(self, "the node at " + addr
                                        + " runs another application or "
                                          "wire protocol (its "
                                          "middleman.app-identifiers has "
                                          "no "
                                        + app_identifiers(self)
                                        + "): refused at the handshake");
        connect_failed(self, "connect to " + addr + ": "
                               + self->system().render(err));
      });
}

/// Whether the tools of `now` must be fetched again, given the listing
/// before (`before` null: a new server).
bool tools_may_differ(const server_detail* before, const server_info& now) {
  if (before == nullptr)
    return true;
  auto& was = before->info;
  return was.tool_count != now.tool_count || was.state != now.state
         || was.connected_since_ms != now.connected_since_ms
         || was.reconnects != now.reconnects
         || before->tools.size() != now.tool_count;
}

/// The listing of one poll is complete: keep it, report if anything but
/// the round trip changed (or a full listing is due), poll again later.
void listed(peer_self self, uint64_t conn, std::vector<server_detail> got,
            bool full) {
  auto& st = self->state;
  if (conn != st.connection)
    return;
  std::sort(got.begin(), got.end(),
            [](const server_detail& a, const server_detail& b) {
              return a.info.name < b.info.name;
            });
  bool changed = !(got == st.servers);
  if (changed)
    st.servers = std::move(got);
  if (changed || full)
    report(self);
  if (!st.listed_once) {
    st.listed_once = true;
    auto info = make_report(self).info;
    for (auto& kvp : st.waiters)
      kvp.second.deliver(info);
    st.waiters.clear();
  }
  self->delayed_send(self, st.cfg.poll, peer_poll_atom::value, conn);
}

void poll(peer_self self, uint64_t conn) {
  if (self->state.phase != peer_state::up || conn != self->state.connection)
    return;
  auto start = std::chrono::steady_clock::now();
  auto full = self->state.polls++ % std::max<uint32_t>(
                1, self->state.cfg.full_listing_every)
              == 0;
  self->request(self->state.remote, self->state.cfg.connect_timeout,
                servers_atom::value)
    .then(
      [self, conn, start, full](std::vector<server_info>& xs) {
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
        // Tools are fetched only for servers that may have new ones; the
        // others keep the tools of the last listing.
        auto got = std::make_shared<std::vector<server_detail>>();
        std::vector<server_info> fetch;
        for (auto& x : xs) {
          auto before = find_server(self, x.name);
          if (full || tools_may_differ(before, x))
            fetch.push_back(std::move(x));
          else
            got->push_back(server_detail{std::move(x), before->tools});
        }
        if (fetch.empty())
          return listed(self, conn, std::move(*got), full);
        auto left = std::make_shared<size_t>(fetch.size());
        for (auto& x : fetch) {
          auto done = [self, conn, got, left, full] {
            if (--*left == 0)
              listed(self, conn, std::move(*got), full);
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
      [self, conn](caf::error& err) {
        auto& st = self->state;
        if (conn != st.connection)
          return;
        st.last_error = "listing servers: " + render(to_call_error(self, err));
        report(self);
        self->delayed_send(self, st.cfg.poll, peer_poll_atom::value, conn);
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
    if (st.subscribers.on_down(msg.source)) {
      sync_remote_subscription(self);
      return;
    }
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
      arm_sweep(self, deadline);
      send_call(self, id);
      return rp;
    },
    [self](servers_atom) {
      std::vector<server_info> out;
      out.reserve(self->state.servers.size());
      for (auto& d : self->state.servers)
        out.push_back(as_seen(self, d.info));
      return out;
    },
    [self](servers_atom, const std::string& name) -> caf::result<server_detail> {
      auto d = find_server(self, name);
      if (d == nullptr)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + name + "\" on node "
                                 + self->state.cfg.name
                                 + (self->state.phase == peer_state::up
                                      ? std::string{}
                                      : std::string{" (not connected yet)"}));
      return server_detail{as_seen(self, d->info), d->tools};
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      if (self->state.subscribers.add(self, sub))
        sync_remote_subscription(self);
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      if (self->state.subscribers.remove(self, sub.address()))
        sync_remote_subscription(self);
    },
    [self](node_event_atom, node_event& ev) {
      auto& st = self->state;
      if (!st.subscribed_remote)
        return;
      // Our own numbering: the remote's ids restart with the node.
      ev.id = ++st.next_event;
      forward(self, std::move(ev));
    },
    [self](nodes_atom) {
      return std::vector<node_info>{make_report(self).info};
    },
    [self](ready_atom, caf::timespan max_wait) -> caf::result<node_info> {
      auto& st = self->state;
      if (st.phase == peer_state::up && st.listed_once)
        return make_report(self).info;
      if (st.waiters.size() >= st.cfg.max_pending)
        return caf::make_error(mcp_errc::queue_full,
                               "too many callers waiting for node "
                                 + st.cfg.name);
      auto n = ++st.next_waiter;
      auto rp = self->make_response_promise<node_info>();
      st.waiters.emplace(n, rp);
      self->delayed_send(self, max_wait, peer_wait_atom::value, n);
      return rp;
    },
    [self](peer_wait_atom, uint64_t n) {
      auto& st = self->state;
      auto i = st.waiters.find(n);
      if (i == st.waiters.end())
        return;
      i->second.deliver(caf::make_error(
        mcp_errc::node_down,
        "node " + st.cfg.name + " (" + address_of(st.cfg) + ") is "
          + to_string(st.phase)
          + (st.last_error.empty() ? std::string{}
                                   : ": " + st.last_error)));
      st.waiters.erase(i);
    },
    [self](caf::get_atom) { return make_report(self); },
    [self](peer_connect_atom, uint64_t n) {
      if (n == self->state.attempt)
        connect(self);
    },
    [self](peer_poll_atom, uint64_t conn) { poll(self, conn); },
    [self](peer_flush_atom) {
      self->state.flush_pending = false;
      flush(self);
    },
    [self](peer_sweep_atom, uint64_t n) {
      if (n == self->state.sweep_number)
        sweep(self);
    },
    [self](call_results_atom, std::vector<remote_result>& xs) {
      answered(self, xs);
    },
  };
}

// -- the front (publishing side) ------------------------------------------------

/// front -> itself: send the answers collected since the last batch.
using front_flush_atom = caf::atom_constant<caf::atom("nd_fflush")>;

/// The front as spawned: what it publishes plus its own flush.
using front_impl_actor =
  cluster_front_actor::extend<caf::reacts_to<front_flush_atom>>;

/// The answers owed to one caller of batches (a peer actor).
struct front_box {
  batch_caller_actor to;
  /// The caller's node (the limiter's key).
  std::string key;
  size_t in_flight = 0;
  std::vector<remote_result> out;
};

using front_box_ptr = std::shared_ptr<front_box>;

struct front_state {
  in_flight_limiter limiter{0};
  /// Callers of batches with calls in flight or answers to send; a box
  /// goes when it has neither.
  std::map<caf::actor_addr, front_box_ptr> boxes;
  bool flush_pending = false;
  static inline const char* name = "caf_mcp.cluster_front";
};

using front_self = front_impl_actor::stateful_pointer<front_state>;

const char* const no_transit = "\" (a node serves only its own servers to other "
                               "nodes)";

caf::error too_many(const in_flight_limiter& lim) {
  return caf::make_error(mcp_errc::queue_full,
                         "more than " + std::to_string(lim.max_per_key())
                           + " calls in flight from one node "
                             "(cluster.max_calls_per_peer)");
}

/// Sends every box's answers, one message per caller, and drops the boxes
/// that have nothing left in flight.
void flush_front(front_self self) {
  auto& boxes = self->state.boxes;
  for (auto i = boxes.begin(); i != boxes.end();) {
    auto& box = *i->second;
    if (!box.out.empty()) {
      self->send(box.to, call_results_atom::value, std::move(box.out));
      box.out.clear();
    }
    if (box.in_flight == 0)
      i = boxes.erase(i);
    else
      ++i;
  }
}

/// Queues an answer for its caller; sent by the batching rule.
void answer(front_self self, front_box& box, remote_result x) {
  box.out.push_back(std::move(x));
  flush_soon<front_flush_atom>(self, self->state.flush_pending,
                               [self] { flush_front(self); });
}

/// One batch from a peer actor: each call is counted against the caller
/// node's bound and passed on to the registry, as a single call is.
/// Refusals are queued and flushed after the loop: a flush inside it could
/// drop the box (nothing in flight yet) while later calls of the batch
/// still count on it.
void call_batch(front_self self, registry_actor reg,
                std::vector<remote_call>& calls) {
  auto src = self->current_sender();
  if (!src || calls.empty())
    return; // nobody to answer
  auto& st = self->state;
  auto& slot = st.boxes[src->address()];
  if (!slot) {
    slot = std::make_shared<front_box>();
    slot->to = caf::actor_cast<batch_caller_actor>(src);
    slot->key = caf::to_string(src->node());
  }
  auto box = slot;
  for (auto& c : calls) {
    remote_result refused{c.id, c.attempt, caf::error{}, call_tool_result{}};
    if (c.server.find(':') != std::string::npos) {
      refused.error = caf::make_error(mcp_errc::invalid_argument,
                                      "unknown server \"" + c.server
                                        + no_transit);
      box->out.push_back(std::move(refused));
      continue;
    }
    if (!st.limiter.try_acquire(box->key)) {
      refused.error = too_many(st.limiter);
      box->out.push_back(std::move(refused));
      continue;
    }
    ++box->in_flight;
    self
      ->request(reg, caf::infinite, call_atom::value, std::move(c.server),
                std::move(c.tool), std::move(c.args), std::move(c.opts))
      .then(
        [self, box, id = c.id, attempt = c.attempt](call_tool_result& res) {
          self->state.limiter.release(box->key);
          --box->in_flight;
          answer(self, *box,
                 remote_result{id, attempt, caf::error{}, std::move(res)});
        },
        [self, box, id = c.id, attempt = c.attempt](caf::error& err) {
          self->state.limiter.release(box->key);
          --box->in_flight;
          answer(self, *box,
                 remote_result{id, attempt, std::move(err),
                               call_tool_result{}});
        });
  }
  if (!box->out.empty())
    flush_soon<front_flush_atom>(self, st.flush_pending,
                                 [self] { flush_front(self); });
}

front_impl_actor::behavior_type front_fn(front_self self, registry_actor reg,
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
                               "unknown server \"" + name + no_transit);
      return self->delegate(reg, servers_atom::value, std::move(name));
    },
    [self, reg](call_atom, std::string& server, std::string& tool_name,
                std::string& args,
                call_options& opts) -> caf::result<call_tool_result> {
      if (server.find(':') != std::string::npos)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + server + no_transit);
      auto src = self->current_sender();
      std::string key = src ? caf::to_string(src->node()) : "local";
      auto& lim = self->state.limiter;
      if (!lim.try_acquire(key))
        return too_many(lim);
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
    [self, reg](call_batch_atom, std::vector<remote_call>& calls) {
      call_batch(self, reg, calls);
    },
    [self](front_flush_atom) {
      self->state.flush_pending = false;
      flush_front(self);
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
  if (cfg.hidden)
    return sys.spawn<caf::hidden>(peer_fn, std::move(cfg));
  return sys.spawn(peer_fn, std::move(cfg));
}

cluster_front_actor spawn_cluster_front(caf::actor_system& sys,
                                        registry_actor registry,
                                        size_t max_calls_per_peer) {
  return caf::actor_cast<cluster_front_actor>(
    sys.spawn(front_fn, std::move(registry), max_calls_per_peer));
}

} // namespace caf_mcp::cluster
