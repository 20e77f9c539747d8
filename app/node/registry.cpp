// The node's registry: see registry.hpp.
#include "registry.hpp"

#include <algorithm>
#include <chrono>

#include "caf/all.hpp"

#include "caf_mcp/transport/log.hpp"

#include "caf_mcp/cluster/cluster.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "node_json.hpp"
#include "process_metrics.hpp"

namespace caf_mcp::node {

void server_slot::set_tools(std::vector<tool> xs) {
  sort_tools(xs);
  auto big = xs.size() >= 1000;
  tools = intern_tools(std::move(xs));
  if (big)
    release_free_memory();
}

bool server_slot::has_tool(const std::string& name) const {
  auto& xs = tool_list();
  auto i = std::lower_bound(xs.begin(), xs.end(), name,
                            [](const tool& t, const std::string& n) {
                              return t.name < n;
                            });
  return i != xs.end() && i->name == name;
}

namespace {

using self_ptr = registry_impl_actor::stateful_pointer<registry_state>;

/// Link statuses and health snapshots kept per server at most: members
/// that were replaced and never said "closed" are dropped oldest first.
constexpr size_t max_members_kept = 1100;

int phase_rank(link_phase p) noexcept {
  switch (p) {
    case link_phase::ready:
      return 0;
    case link_phase::connecting:
      return 1;
    case link_phase::backing_off:
      return 2;
    case link_phase::gave_up:
      return 3;
    case link_phase::closed:
      return 4;
  }
  return 5;
}

/// A member's state as the node judges it: the health monitor's verdict
/// while the link is ready; a link that lost its server and failed to get
/// it back (backing off, or connecting again after a failed attempt) is
/// down, not merely degraded: the node shows what callers get.
health_state member_state(const link_status& ls, const health_snapshot* hs) {
  switch (ls.phase) {
    case link_phase::ready:
      return hs != nullptr && hs->phase == link_phase::ready
               ? hs->state
               : health_state::healthy;
    case link_phase::connecting:
      return ls.attempts > 0 ? health_state::down : health_state::degraded;
    case link_phase::backing_off:
    case link_phase::gave_up:
    case link_phase::closed:
      return health_state::down;
  }
  return health_state::down;
}

void publish(self_ptr self, std::string kind, std::string server,
             std::string data) {
  auto& st = self->state;
  node_event ev{++st.next_event, std::move(kind), std::move(server),
                std::move(data)};
  auto msg = caf::make_message(node_event_atom::value, std::move(ev));
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : st.subscribers)
    caf::send_as(me, sub, msg);
}

void publish_state_if_changed(self_ptr self, server_slot& slot) {
  auto info = summarize(slot, self->state.cfg.node_name);
  if (slot.published && info.state == slot.last_state
      && info.phase == slot.last_phase)
    return;
  slot.published = true;
  slot.last_state = info.state;
  slot.last_phase = info.phase;
  publish(self, "server", info.name, server_json(info));
}

server_slot* find_slot(self_ptr self, const std::string& name) {
  auto i = self->state.servers.find(name);
  return i != self->state.servers.end() ? &i->second : nullptr;
}

/// The slot whose current client sent the message being handled.
server_slot* slot_of_sender(self_ptr self) {
  auto src = self->current_sender();
  if (src == nullptr)
    return nullptr;
  auto& st = self->state;
  auto i = st.by_client.find(caf::actor_cast<caf::actor_addr>(src));
  if (i == st.by_client.end())
    return nullptr;
  auto slot = find_slot(self, i->second);
  return slot != nullptr && slot->client && slot->client.address() == src
           ? slot
           : nullptr;
}

/// True if the config places the `metrics` middleware in the server's
/// chain (it counts the calls there); else the registry counts them.
bool chain_counts_calls(const server_spec& spec) {
  using entry = server_spec::chain_entry;
  return std::any_of(spec.chain.begin(), spec.chain.end(),
                     [](const entry& e) { return e.kind == entry::metrics; });
}

void start_server(self_ptr self, server_slot& slot) {
  auto& st = self->state;
  slot.generation = ++st.next_generation;
  slot.links.clear();
  slot.health.clear();
  if (slot.spec.disabled)
    return;
  auto cfg = slot.spec.client;
  cfg.name = slot.spec.name;
  cfg.session.server_name = slot.spec.name;
  cfg.session.totals = slot.session_totals;
  if (slot.cache) {
    auto old = slot.cache->stats(slot.spec.name);
    slot.cache_hits_base += old.hits;
    slot.cache_misses_base += old.misses;
    slot.cache = nullptr;
  }
  if (!slot.metrics)
    slot.metrics = std::make_shared<metrics_middleware>(duration_buckets());
  using entry = server_spec::chain_entry;
  // Without a `metrics` entry the registry records the calls itself
  // (chain_counts_calls), so a server whose config names no middleware gets
  // an empty chain (docs/node.md, "Call metrics").
  for (auto& e : slot.spec.chain) {
    switch (e.kind) {
      case entry::plain:
        cfg.middlewares.push_back(e.make());
        break;
      case entry::metrics:
        cfg.middlewares.push_back(slot.metrics);
        break;
      case entry::cache:
        if (slot.spec.cache) {
          slot.cache = std::make_shared<cache_middleware>(*slot.spec.cache);
          cfg.middlewares.push_back(slot.cache);
        }
        break;
    }
  }
  cfg.pool.shared_health = st.health;
  slot.client = self->spawn(client, std::move(cfg));
  st.by_client[slot.client.address()] = slot.spec.name;
  self->monitor(slot.client);
  self->send(slot.client, caf::subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  auto name = slot.spec.name;
  auto gen = slot.generation;
  self->request(slot.client, caf::infinite, init_atom::value, true)
    .then(
      [self, name, gen](std::vector<tool>& tools) {
        self->send(self, listed_atom::value, name, gen, std::move(tools));
      },
      [name](caf::error& err) {
        CAF_MCP_LOG_INFO("node", "server " << name << ": first listing "
                                            "failed: " << render(err));
      });
}

/// Fails a call the registry still holds (its client is gone).
void fail_call(self_ptr self, uint64_t id, const caf::error& err);

void stop_server(self_ptr self, server_slot& slot, const char* why) {
  if (slot.client) {
    self->state.by_client.erase(slot.client.address());
    self->demonitor(slot.client.address());
    self->send(slot.client, cleanup_atom::value);
    self->send_exit(slot.client, caf::exit_reason::user_shutdown);
    slot.client = nullptr;
  }
  // Its calls fail now; late answers find no call any more.
  std::vector<uint64_t> ids;
  for (auto& kvp : self->state.calls)
    if (kvp.second.server == slot.spec.name
        && kvp.second.generation == slot.generation)
      ids.push_back(kvp.first);
  for (auto id : ids)
    fail_call(self, id, caf::make_error(mcp_errc::closed, why));
  slot.links.clear();
  slot.health.clear();
}

void finish_drain_if_done(self_ptr self) {
  auto& st = self->state;
  if (!st.draining || !st.calls.empty() || st.drain_waiters.empty())
    return;
  for (auto& kvp : st.servers)
    stop_server(self, kvp.second, "the node is shutting down");
  for (auto& rp : st.drain_waiters)
    rp.deliver(st.drain_left_over);
  st.drain_waiters.clear();
}

void end_call(self_ptr self, uint64_t id, caf::expected<call_tool_result> res) {
  auto& st = self->state;
  auto i = st.calls.find(id);
  if (i == st.calls.end())
    return;
  auto call = std::move(i->second);
  st.calls.erase(i);
  auto elapsed = std::chrono::steady_clock::now() - call.start;
  auto secs = std::chrono::duration<double>(elapsed).count();
  std::string outcome;
  if (res)
    outcome = res->is_error ? "is_error" : "ok";
  else
    outcome = error_code_name(res.error());
  if (auto slot = find_slot(self, call.server);
      slot != nullptr && slot->generation == call.generation) {
    if (slot->in_flight > 0)
      --slot->in_flight;
  }
  if (call.relay)
    self->send_exit(call.relay, caf::exit_reason::normal);
  if (call.metrics)
    call.metrics->record(call.tool, secs, res);
  static const std::map<std::string, std::string> no_meta;
  publish(self, "call", call.server,
          call_event_json(call.server, call.tool, outcome, secs * 1000.0,
                          res ? res->client_meta : no_meta));
  if (res)
    call.promise.deliver(std::move(*res));
  else
    call.promise.deliver(std::move(res.error()));
  finish_drain_if_done(self);
}

void fail_call(self_ptr self, uint64_t id, const caf::error& err) {
  end_call(self, id, err);
}

void trim(std::map<uint32_t, link_status>& links) {
  while (links.size() > max_members_kept)
    links.erase(links.begin());
}

void spawn_health(self_ptr self) {
  auto& st = self->state;
  st.health = self->spawn(health_monitor, st.cfg.health);
  self->monitor(st.health);
  self->send(st.health, caf::subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
}

std::string render_metrics(self_ptr self) {
  auto& st = self->state;
  metrics_writer w;
  auto gauge_each = [&](const char* name, const char* help, auto value_of) {
    w.family(name, help, metric_type::gauge);
    for (auto& kvp : st.servers)
      w.sample({{"server", kvp.first}}, value_of(kvp.second));
  };
  std::vector<server_info> infos;
  infos.reserve(st.servers.size());
  for (auto& kvp : st.servers)
    infos.push_back(summarize(kvp.second, st.cfg.node_name));
  w.family("caf_mcp_server_up",
           "1 when the server's link is ready, else 0.", metric_type::gauge);
  for (auto& info : infos)
    w.sample({{"server", info.name}},
             info.phase == link_phase::ready ? 1.0 : 0.0);
  w.family("caf_mcp_server_info",
           "1 per server, labelled with the transport it speaks (sse, "
           "streamable-http; auto until detected).",
           metric_type::gauge);
  for (auto& info : infos)
    w.sample({{"server", info.name}, {"transport", info.transport}}, 1.0);
  w.family("caf_mcp_server_state",
           "1 for the server's current state (healthy, degraded, down).",
           metric_type::gauge);
  for (auto& info : infos)
    for (auto s : {health_state::healthy, health_state::degraded,
                   health_state::down})
      w.sample({{"server", info.name}, {"state", to_string(s)}},
               info.state == s ? 1.0 : 0.0);
  w.family("caf_mcp_tool_calls_total",
           "Tool calls through the node by outcome (ok, is_error, or the "
           "error code).",
           metric_type::counter);
  // From each server's metrics middleware: one snapshot per server, used
  // for both families.
  std::vector<std::pair<const std::string*,
                        std::map<std::string, tool_call_metrics>>>
    snaps;
  for (auto& kvp : st.servers)
    if (kvp.second.metrics)
      snaps.emplace_back(&kvp.first, kvp.second.metrics->snapshot());
  for (auto& [server, tools] : snaps)
    for (auto& [tool_name, m] : tools) {
      auto sample = [&](const std::string& outcome, uint64_t n) {
        if (n > 0)
          w.sample({{"server", *server},
                    {"tool", tool_name},
                    {"outcome", outcome}},
                   static_cast<double>(n));
      };
      sample("ok", m.ok);
      sample("is_error", m.is_error);
      for (auto& [code, n] : m.errors)
        sample(code, n);
    }
  w.family("caf_mcp_tool_call_duration_seconds",
           "Duration of tool calls through the node.",
           metric_type::histogram);
  // A server without calls has no histogram series yet (as client_golang
  // does before a label set is first used): 20 lines each for 1,000 idle
  // servers were most of the text.
  for (auto& [server, tools] : snaps) {
    histogram h;
    for (auto& kv : tools)
      h.add(kv.second.buckets, kv.second.sum_s);
    if (h.count() > 0)
      w.histogram_sample({{"server", *server}}, h);
  }
  w.family("caf_mcp_reconnects_total",
           "Sessions restarted after a lost or failed one.",
           metric_type::counter);
  for (auto& info : infos)
    w.sample({{"server", info.name}}, static_cast<double>(info.reconnects));
  gauge_each("caf_mcp_in_flight", "Calls in flight through the node.",
             [](const server_slot& s) {
               return static_cast<double>(s.in_flight);
             });
  gauge_each("caf_mcp_tools", "Tools the server offers.",
             [](const server_slot& s) {
               return static_cast<double>(s.tool_list().size());
             });
  w.family("caf_mcp_ping_rtt_seconds",
           "Smoothed ping round trip (0 before the first ping).",
           metric_type::gauge);
  for (auto& info : infos)
    w.sample({{"server", info.name}}, info.rtt_ms / 1000.0);
  w.family("caf_mcp_notifications_total",
           "Notifications from the server by kind (log, progress, tools).",
           metric_type::counter);
  for (auto& kvp : st.servers)
    for (auto& n : kvp.second.notifications)
      w.sample({{"server", kvp.first}, {"kind", n.first}},
               static_cast<double>(n.second));
  // The sessions' own counters (session_stats), summed over every session
  // the server had.
  w.family("caf_mcp_session_messages_total",
           "MCP messages of the server's sessions by kind (requests_sent, "
           "responses, unknown_responses, malformed_messages, "
           "notifications, server_requests, timeouts, relists_coalesced).",
           metric_type::counter);
  for (auto& kvp : st.servers) {
    auto x = kvp.second.session_totals->snapshot();
    std::pair<const char*, uint64_t> kinds[] = {
      {"requests_sent", x.requests_sent},
      {"responses", x.responses},
      {"unknown_responses", x.unknown_responses},
      {"malformed_messages", x.malformed_messages},
      {"notifications", x.notifications},
      {"server_requests", x.server_requests},
      {"timeouts", x.timeouts},
      {"relists_coalesced", x.relists_coalesced},
    };
    for (auto& k : kinds)
      w.sample({{"server", kvp.first}, {"kind", k.first}},
               static_cast<double>(k.second));
  }
  // The cache middleware's lookups (0 for servers without one).
  for (bool hits : {true, false}) {
    w.family(hits ? "caf_mcp_cache_hits_total" : "caf_mcp_cache_misses_total",
             hits ? "Result cache hits (the cache middleware)."
                  : "Result cache misses (the cache middleware).",
             metric_type::counter);
    for (auto& kvp : st.servers) {
      auto& sl = kvp.second;
      uint64_t n = hits ? sl.cache_hits_base : sl.cache_misses_base;
      if (sl.cache) {
        auto now = sl.cache->stats(kvp.first);
        n += hits ? now.hits : now.misses;
      }
      w.sample({{"server", kvp.first}}, static_cast<double>(n));
    }
  }
  w.family("caf_mcp_peer_up",
           "1 while the cluster peer is connected, else 0.",
           metric_type::gauge);
  for (auto& kvp : st.peers)
    w.sample({{"peer", kvp.first}},
             kvp.second.last.info.state == "up" ? 1.0 : 0.0);
  return w.take();
}

// -- cluster peers -------------------------------------------------------------

/// A server of a peer as this node shows it: "PEER:SERVER", down while the
/// peer is not up (its tools unavailable).
server_info peer_server(const peer_slot& peer, const server_info& remote) {
  auto x = remote;
  x.name = cluster::peer_server_name(peer.last.info.name, remote.name);
  if (x.node.empty())
    x.node = peer.last.info.name;
  if (peer.last.info.state != "up") {
    x.state = health_state::down;
    x.phase = link_phase::connecting;
    x.connected_since_ms = 0;
    x.in_flight = 0;
    x.last_error = "node " + peer.last.info.name + " is "
                   + peer.last.info.state
                   + (peer.last.info.last_error.empty()
                        ? std::string{}
                        : ": " + peer.last.info.last_error);
  }
  return x;
}

const server_detail* find_peer_server(const peer_slot& peer,
                                      const std::string& server) {
  for (auto& d : peer.last.servers)
    if (d.info.name == server)
      return &d;
  return nullptr;
}

void start_peers(self_ptr self) {
  auto& st = self->state;
  for (auto pc : st.cfg.peers) {
    pc.registry = caf::actor_cast<cluster::peer_sink_actor>(self);
    auto& slot = st.peers[pc.name];
    slot.last.info.name = pc.name;
    slot.last.info.address = cluster::node_address(pc.host, pc.port);
    slot.last.info.state = "connecting";
    slot.actor = cluster::spawn_peer(self->system(), std::move(pc));
  }
}

} // namespace

std::string reported_transport(const server_spec& spec) {
  auto& ses = spec.client.session;
  auto t = ses.transport;
  if (t == session_transport::automatic) {
    auto found = ses.detected ? ses.detected->found.load() : uint8_t{0};
    if (found == 0)
      return "auto";
    t = static_cast<session_transport>(found - 1);
  }
  return t == session_transport::sse ? "sse" : "streamable-http";
}

server_info summarize(const server_slot& slot, const std::string& node_name) {
  server_info x;
  x.name = slot.spec.name;
  x.url = slot.spec.url;
  x.transport = reported_transport(slot.spec);
  x.description = slot.spec.description;
  x.node = node_name;
  x.tool_count = slot.tool_list().size();
  x.in_flight = slot.in_flight;
  if (slot.metrics) {
    auto t = slot.metrics->totals();
    // `ok` counts every answered call (isError ones too), as before.
    x.calls_ok = t.ok + t.is_error;
    x.calls_failed = t.failed;
    x.calls_is_error = t.is_error;
  }
  x.reconnects = slot.reconnects_base;
  x.disabled = slot.spec.disabled;
  if (slot.spec.disabled) {
    x.state = health_state::down;
    x.phase = link_phase::closed;
    return x;
  }
  if (slot.links.empty()) {
    // Just started: nothing heard from its pool yet.
    x.state = health_state::degraded;
    x.phase = link_phase::connecting;
    return x;
  }
  size_t healthy = 0;
  size_t down = 0;
  int best = 99;
  double rtt_sum = 0;
  size_t rtt_n = 0;
  int64_t latest_error_ms = -1;
  for (auto& [member, ls] : slot.links) {
    auto h = slot.health.find(member);
    const health_snapshot* hs = h != slot.health.end() ? &h->second : nullptr;
    auto state = member_state(ls, hs);
    if (state == health_state::healthy)
      ++healthy;
    else if (state == health_state::down)
      ++down;
    auto rank = phase_rank(ls.phase);
    if (rank < best) {
      best = rank;
      x.phase = ls.phase;
    }
    x.reconnects += ls.reconnects;
    if (ls.ready_since_ms > 0
        && (x.connected_since_ms == 0 || ls.ready_since_ms < x.connected_since_ms))
      x.connected_since_ms = ls.ready_since_ms;
    if (hs != nullptr && hs->rtt_smoothed.count() > 0) {
      rtt_sum += std::chrono::duration<double, std::milli>(hs->rtt_smoothed)
                   .count();
      ++rtt_n;
    }
    if (ls.last_error) {
      // The member heard from last decides (by sessions started).
      auto key = static_cast<int64_t>(ls.sessions_started);
      if (key > latest_error_ms) {
        latest_error_ms = key;
        x.last_error = render(ls.last_error);
      }
    }
  }
  auto n = slot.links.size();
  x.state = healthy == n ? health_state::healthy
            : down == n  ? health_state::down
                         : health_state::degraded;
  if (rtt_n > 0)
    x.rtt_ms = rtt_sum / static_cast<double>(rtt_n);
  return x;
}

registry_state::~registry_state() {
  for (auto& kvp : servers)
    if (kvp.second.client)
      caf::anon_send_exit(kvp.second.client, caf::exit_reason::user_shutdown);
  if (health)
    caf::anon_send_exit(health, caf::exit_reason::user_shutdown);
  for (auto& kvp : peers)
    if (kvp.second.actor)
      caf::anon_send_exit(kvp.second.actor, caf::exit_reason::user_shutdown);
}

registry_impl_actor::behavior_type
registry(registry_impl_actor::stateful_pointer<registry_state> self,
         registry_config cfg) {
  self->state.cfg = std::move(cfg);
  spawn_health(self);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.subscribers.on_down(msg.source))
      return;
    if (st.health && msg.source == st.health.address()) {
      // Pools keep the old handle; their members go unpinged until the
      // servers are started again (reload). Say so.
      CAF_MCP_LOG_ERROR("node", "the health monitor died: "
                                  << render(msg.reason));
      st.health = nullptr;
      return;
    }
    for (auto& kvp : st.servers) {
      auto& slot = kvp.second;
      if (slot.client && slot.client.address() == msg.source) {
        CAF_MCP_LOG_WARN("node", "server " << kvp.first
                                           << ": client died ("
                                           << render(msg.reason)
                                           << "), starting it again");
        st.by_client.erase(msg.source);
        slot.client = nullptr;
        stop_server(self, slot, "the server's client died");
        if (!st.draining)
          start_server(self, slot);
        publish_state_if_changed(self, slot);
        return;
      }
    }
  });
  return {
    // -- public interface ---------------------------------------------------
    [self](servers_atom) {
      auto& st = self->state;
      std::vector<server_info> out;
      out.reserve(st.servers.size());
      for (auto& kvp : st.servers)
        out.push_back(summarize(kvp.second, st.cfg.node_name));
      for (auto& kvp : st.peers)
        for (auto& d : kvp.second.last.servers)
          out.push_back(peer_server(kvp.second, d.info));
      return out;
    },
    [self](servers_atom, const std::string& name) -> caf::result<server_detail> {
      std::string peer_name;
      std::string remote;
      if (cluster::split_peer_server(name, peer_name, remote)) {
        auto& st = self->state;
        auto i = st.peers.find(peer_name);
        const server_detail* d = i != st.peers.end()
                                   ? find_peer_server(i->second, remote)
                                   : nullptr;
        if (d == nullptr)
          return caf::make_error(mcp_errc::invalid_argument,
                                 "unknown server \"" + name + "\"");
        return server_detail{peer_server(i->second, d->info), d->tools};
      }
      auto slot = find_slot(self, name);
      if (slot == nullptr)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + name + "\"");
      return server_detail{summarize(*slot, self->state.cfg.node_name),
                           slot->tool_list()};
    },
    [self](call_atom, std::string& server, std::string& tool_name,
           std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      std::string peer_name;
      std::string remote;
      if (cluster::split_peer_server(server, peer_name, remote)) {
        auto i = st.peers.find(peer_name);
        if (i == st.peers.end())
          return caf::make_error(mcp_errc::invalid_argument,
                                 "unknown server \"" + server + "\"");
        if (st.draining)
          return caf::make_error(mcp_errc::service_unavailable,
                                 "the node is shutting down");
        auto& peer = i->second;
        if (peer.last.info.state == "up") {
          auto d = find_peer_server(peer, remote);
          if (d == nullptr)
            return caf::make_error(mcp_errc::invalid_argument,
                                   "unknown server \"" + server + "\"");
          if (!d->tools.empty()
              && std::none_of(d->tools.begin(), d->tools.end(),
                              [&](const tool& t) {
                                return t.name == tool_name;
                              }))
            return caf::make_error(mcp_errc::invalid_argument,
                                   "server \"" + server + "\" has no tool \""
                                     + tool_name + "\"");
        }
        if (st.calls.size() >= st.cfg.max_in_flight)
          return caf::make_error(mcp_errc::queue_full,
                                 "too many calls in flight in the node "
                                 "(max_in_flight)");
        // Down or connecting: the peer actor answers node_down at once.
        // Counted like a local call: `call` events, drained on shutdown.
        auto id = ++st.next_call;
        auto& call = st.calls[id];
        call.server = server;
        call.tool = tool_name;
        call.start = std::chrono::steady_clock::now();
        call.promise = self->make_response_promise<call_tool_result>();
        call.relay = opts.listener;
        auto rp = call.promise;
        self
          ->request(peer.actor, caf::infinite, call_atom::value,
                    std::move(remote), std::move(tool_name), std::move(args),
                    std::move(opts))
          .then(
            [self, id](call_tool_result& res) { end_call(self, id, res); },
            [self, id](caf::error& err) { end_call(self, id, err); });
        return rp;
      }
      auto slot = find_slot(self, server);
      if (slot == nullptr)
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server \"" + server + "\"");
      if (st.draining)
        return caf::make_error(mcp_errc::service_unavailable,
                               "the node is shutting down");
      if (slot->spec.disabled || !slot->client)
        return caf::make_error(mcp_errc::service_unavailable,
                               "server \"" + server + "\" is disabled");
      if (!slot->tool_list().empty() && !slot->has_tool(tool_name))
        return caf::make_error(mcp_errc::invalid_argument,
                               "server \"" + server + "\" has no tool \""
                                 + tool_name + "\"");
      if (st.calls.size() >= st.cfg.max_in_flight)
        return caf::make_error(mcp_errc::queue_full,
                               "too many calls in flight in the node "
                               "(max_in_flight)");
      auto id = ++st.next_call;
      auto& call = st.calls[id];
      call.server = server;
      call.tool = tool_name;
      call.generation = slot->generation;
      call.start = std::chrono::steady_clock::now();
      call.promise = self->make_response_promise<call_tool_result>();
      call.relay = opts.listener;
      if (!chain_counts_calls(slot->spec))
        call.metrics = slot->metrics;
      ++slot->in_flight;
      auto rp = call.promise;
      self
        ->request(slot->client, caf::infinite, call_atom::value,
                  std::move(tool_name), std::move(args), std::move(opts))
        .then([self, id](call_tool_result& res) { end_call(self, id, res); },
              [self, id](caf::error& err) { end_call(self, id, err); });
      return rp;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      self->state.subscribers.add(self, sub);
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
    },
    // -- the node -----------------------------------------------------------
    [self](reload_atom, server_table_ptr& table) {
      auto& st = self->state;
      // The first reload is the node's start: its subscribers (the API)
      // are in place, so the peers start now and their first events reach
      // them; and it publishes no `config` event (nothing was reloaded).
      auto first = !st.started;
      if (first) {
        st.started = true;
        start_peers(self);
      }
      reload_result out;
      std::map<std::string, const server_spec*> next;
      for (auto& spec : *table)
        next.emplace(spec.name, &spec);
      for (auto i = st.servers.begin(); i != st.servers.end();) {
        if (next.count(i->first) == 0) {
          out.removed.push_back(i->first);
          stop_server(self, i->second, "the server was removed from the config");
          i = st.servers.erase(i);
        } else {
          ++i;
        }
      }
      for (auto& [name, spec] : next) {
        auto i = st.servers.find(name);
        if (i == st.servers.end()) {
          out.added.push_back(name);
          auto& slot = st.servers[name];
          slot.spec = *spec;
          if (!st.draining)
            start_server(self, slot);
          publish_state_if_changed(self, slot);
        } else if (i->second.spec.fingerprint != spec->fingerprint) {
          out.changed.push_back(name);
          auto& slot = i->second;
          stop_server(self, slot, "the server's config changed");
          slot.spec = *spec;
          slot.tools = nullptr;
          if (!st.draining)
            start_server(self, slot);
          publish_state_if_changed(self, slot);
        } else {
          out.unchanged.push_back(name);
        }
      }
      if (!first)
        publish(self, "config", "",
                config_event_json("reloaded", out.added, out.removed,
                                  out.changed, ""));
      return out;
    },
    [self](drain_atom, caf::timespan timeout) -> caf::result<uint64_t> {
      auto& st = self->state;
      st.draining = true;
      auto rp = self->make_response_promise<uint64_t>();
      st.drain_waiters.push_back(rp);
      if (st.calls.empty()) {
        finish_drain_if_done(self);
      } else {
        self->delayed_send(self, timeout, drain_timeout_atom::value);
      }
      return rp;
    },
    [self](drain_timeout_atom) {
      auto& st = self->state;
      if (st.calls.empty())
        return;
      st.drain_left_over = st.calls.size();
      std::vector<uint64_t> ids;
      for (auto& kvp : st.calls)
        ids.push_back(kvp.first);
      for (auto id : ids)
        fail_call(self, id,
                  caf::make_error(mcp_errc::closed,
                                  "the node shut down before the call "
                                  "finished (drain_timeout_s)"));
    },
    [self](metrics_atom) {
      return render_metrics(self);
    },
    [self](config_atom, std::string& data) {
      publish(self, "config", "", std::move(data));
    },
    [self](call_progress_atom, std::string& server, std::string& tool_name,
           std::string& token, progress_params& p) {
      if (auto slot = find_slot(self, server))
        ++slot->notifications["progress"];
      auto data = progress_event_json(server, tool_name, token, p);
      publish(self, "progress", std::move(server), std::move(data));
    },
    [self](listed_atom, std::string& name, uint64_t gen,
           std::vector<tool>& tools) {
      auto slot = find_slot(self, name);
      if (slot == nullptr || slot->generation != gen)
        return;
      auto d = diff_tools(slot->tool_list(), tools);
      slot->set_tools(std::move(tools));
      if (!empty(d))
        publish(self, "tools", name,
                tools_event_json(name, d, slot->tool_list().size()));
    },
    // -- from clients and the health monitor --------------------------------
    [self](link_atom, link_status& ls) {
      auto slot = slot_of_sender(self);
      if (slot == nullptr)
        return;
      if (ls.phase == link_phase::closed) {
        if (auto i = slot->links.find(ls.member); i != slot->links.end()) {
          slot->reconnects_base += ls.reconnects;
          slot->links.erase(i);
        }
        slot->health.erase(ls.member);
      } else {
        slot->links[ls.member] = std::move(ls);
        trim(slot->links);
      }
      publish_state_if_changed(self, *slot);
    },
    [self](tools_diff_atom, std::string&, tools_diff& d) {
      auto slot = slot_of_sender(self);
      if (slot == nullptr)
        return;
      ++slot->notifications["tools"];
      slot->set_tools(apply_diff(slot->tool_list(), d));
      auto& name = slot->spec.name;
      publish(self, "tools", name,
              tools_event_json(name, d, slot->tool_list().size()));
    },
    [self](tools_changed_atom, std::string&, std::vector<tool>& tools) {
      auto slot = slot_of_sender(self);
      if (slot == nullptr)
        return;
      auto d = diff_tools(slot->tool_list(), tools);
      slot->set_tools(std::move(tools));
      if (!empty(d)) {
        ++slot->notifications["tools"];
        auto& name = slot->spec.name;
        publish(self, "tools", name,
                tools_event_json(name, d, slot->tool_list().size()));
      }
    },
    [self](log_atom, std::string&, logging_message_params& p) {
      auto slot = slot_of_sender(self);
      if (slot == nullptr)
        return;
      ++slot->notifications["log"];
      auto& name = slot->spec.name;
      publish(self, "log", name, log_event_json(name, p));
    },
    // -- the cluster ------------------------------------------------------------
    [self](nodes_atom) {
      std::vector<node_info> out;
      for (auto& kvp : self->state.peers)
        out.push_back(kvp.second.last.info);
      return out;
    },
    [self](cluster::peer_atom, cluster::peer_report& r) {
      auto& st = self->state;
      auto i = st.peers.find(r.info.name);
      if (i == st.peers.end() || !i->second.actor
          || self->current_sender() != i->second.actor.address())
        return;
      auto& peer = i->second;
      bool changed = !peer.published || peer.last.info.state != r.info.state;
      peer.last = std::move(r);
      if (changed) {
        peer.published = true;
        publish(self, "node", "", node_json(peer.last.info));
      }
    },
    [self](health_atom, health_snapshot& hs) {
      auto& st = self->state;
      if (!st.health || self->current_sender() != st.health.address())
        return;
      auto hash = hs.server.rfind('#');
      if (hash == std::string::npos)
        return;
      auto slot = find_slot(self, hs.server.substr(0, hash));
      if (slot == nullptr)
        return;
      uint32_t member = 0;
      try {
        member = static_cast<uint32_t>(std::stoul(hs.server.substr(hash + 1)));
      } catch (...) {
        return;
      }
      if (slot->links.count(member) == 0)
        return; // not (or no longer) a member we know
      slot->health[member] = std::move(hs);
      publish_state_if_changed(self, *slot);
    },
  };
}

} // namespace caf_mcp::node
