#include "caf_mcp/actors/health_monitor.hpp"

#include <utility>

#include "caf_mcp/transport/log.hpp"

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/make_message.hpp"
#include "caf/sec.hpp"
#include "caf/send.hpp"

namespace caf_mcp {

// -- pure rules ---------------------------------------------------------------

std::string validate(const health_config& cfg) {
  if (cfg.interval.count() <= 0)
    return "interval must be positive";
  if (cfg.ping_timeout.count() <= 0)
    return "ping_timeout must be positive";
  if (cfg.slow_rtt.count() < 0)
    return "slow_rtt must not be negative";
  return {};
}

health_state judge_health(link_phase phase, uint64_t consecutive_failures,
                          caf::timespan rtt_last,
                          const health_config& cfg) noexcept {
  switch (phase) {
    case link_phase::gave_up:
    case link_phase::closed:
      return health_state::down;
    case link_phase::connecting:
    case link_phase::backing_off:
      return health_state::degraded;
    case link_phase::ready:
      break;
  }
  if (cfg.failures_before_restart > 0
      && consecutive_failures >= cfg.failures_before_restart)
    return health_state::down;
  if (consecutive_failures > 0 || rtt_last > cfg.slow_rtt)
    return health_state::degraded;
  return health_state::healthy;
}

caf::timespan smooth_rtt(caf::timespan srtt, caf::timespan sample,
                         bool first) noexcept {
  if (first)
    return sample;
  return srtt + (sample - srtt) / 8;
}

// -- the actor ----------------------------------------------------------------

namespace {

using self_ptr = health_monitor_impl_actor::stateful_pointer<health_monitor_state>;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string as_ms(caf::timespan x) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(x).count())
         + " ms";
}

void publish(self_ptr self, const health_snapshot& snap) {
  // Subscribers are dynamically typed (a typed actor may not `send` to
  // them); they learn who sent it.
  auto msg = caf::make_message(health_atom::value, snap);
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

/// Why `snap` is in its state, one phrase for the log.
std::string health_reason(const health_snapshot& snap,
                          const health_config& cfg) {
  std::string why = "link ";
  why += to_string(snap.phase);
  if (snap.consecutive_failures > 0)
    why += ", " + std::to_string(snap.consecutive_failures)
           + " pings in a row failed";
  else if (snap.phase == link_phase::ready && snap.rtt_last > cfg.slow_rtt)
    why += ", last ping took " + as_ms(snap.rtt_last) + " (slow above "
           + as_ms(cfg.slow_rtt) + ")";
  if (snap.state != health_state::healthy && snap.last_error)
    why += ", last error: " + render(snap.last_error);
  return why;
}

/// Judges `e` again; returns true if its state changed (and logs the
/// transition: getting worse as a warning, getting better as info).
bool rejudge(self_ptr self, health_entry& e) {
  auto& snap = e.snapshot;
  auto before = snap.state;
  if (!e.heard)
    snap.state = health_state::down;
  else
    snap.state = judge_health(snap.phase, snap.consecutive_failures,
                              snap.rtt_last, self->state.cfg);
  if (snap.state == before)
    return false;
  // Worse is a warning; better (including the first answers) is news.
  auto lvl = snap.state > before ? log::level::warn : log::level::info;
  CAF_MCP_LOG(lvl, "health",
              snap.server << ": " << to_string(before) << " -> "
                          << to_string(snap.state) << " ("
                          << health_reason(snap, self->state.cfg) << ")");
  return true;
}

/// The entry whose current supervisor sent the message being handled, or
/// null (a supervisor no longer watched, or anybody else).
health_entry* entry_of_sender(self_ptr self) {
  auto sender = self->current_sender();
  if (!sender)
    return nullptr;
  for (auto& kvp : self->state.servers)
    if (kvp.second.supervisor
        && kvp.second.supervisor.address() == sender->address())
      return &kvp.second;
  return nullptr;
}

void on_link(self_ptr self, link_status& st) {
  auto entry = entry_of_sender(self);
  if (entry == nullptr)
    return; // Stale (a replaced supervisor) or foreign.
  auto& e = *entry;
  auto& snap = e.snapshot;
  auto old_phase = snap.phase;
  auto was_heard = e.heard;
  e.heard = true;
  auto new_session = st.phase == link_phase::ready
                     && (!was_heard || old_phase != link_phase::ready
                         || st.ready_since_ms != snap.connected_since_ms);
  snap.phase = st.phase;
  snap.connected_since_ms = st.ready_since_ms;
  snap.reconnects = st.reconnects;
  if (st.phase != link_phase::ready && st.last_error)
    snap.last_error = st.last_error;
  if (new_session) {
    // Failures in a row were about the old session.
    snap.consecutive_failures = 0;
    e.failures_since_restart = 0;
  }
  auto changed = rejudge(self, e);
  if (changed || !was_heard || old_phase != snap.phase)
    publish(self, snap);
}

void on_ping_ok(self_ptr self, health_entry& e, caf::timespan rtt) {
  auto& snap = e.snapshot;
  e.ping_in_flight = false;
  snap.rtt_last = rtt;
  snap.rtt_smoothed = smooth_rtt(snap.rtt_smoothed, rtt, !e.have_srtt);
  e.have_srtt = true;
  ++snap.messages;
  snap.last_activity_ms = wall_ms();
  snap.consecutive_failures = 0;
  e.failures_since_restart = 0;
  rejudge(self, e);
  publish(self, snap);
}

void on_ping_failed(self_ptr self, health_entry& e, caf::error err) {
  auto& cfg = self->state.cfg;
  auto& snap = e.snapshot;
  e.ping_in_flight = false;
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    err = caf::make_error(mcp_errc::timeout, "no answer to a ping to "
                                               + snap.server + " within "
                                               + as_ms(cfg.ping_timeout));
  ++snap.pings_failed;
  ++snap.errors;
  ++snap.consecutive_failures;
  ++e.failures_since_restart;
  snap.last_error = err;
  CAF_MCP_LOG_DEBUG("health", snap.server << ": ping failed ("
                                          << snap.consecutive_failures
                                          << " in a row): " << render(err));
  // Only a ready link is restarted: otherwise the supervisor is already
  // replacing its session and a restart would cut the new attempt short.
  if (cfg.failures_before_restart > 0
      && e.failures_since_restart >= cfg.failures_before_restart
      && snap.phase == link_phase::ready) {
    e.failures_since_restart = 0;
    CAF_MCP_LOG_WARN("health", snap.server
                                 << ": " << cfg.failures_before_restart
                                 << " pings in a row failed; restarting its "
                                    "session (last: "
                                 << render(err) << ")");
    self->send(e.supervisor, restart_atom::value,
               caf::make_error(mcp_errc::timeout,
                               std::to_string(cfg.failures_before_restart)
                                 + " pings in a row failed: " + render(err)));
  }
  rejudge(self, e);
  publish(self, snap);
}

void send_ping(self_ptr self, const std::string& name, health_entry& e) {
  e.ping_in_flight = true;
  ++e.snapshot.pings_sent;
  auto generation = e.generation;
  // Look the entry up again on reply: the map may have changed meanwhile.
  auto find = [self, name, generation]() -> health_entry* {
    auto i = self->state.servers.find(name);
    if (i == self->state.servers.end() || i->second.generation != generation)
      return nullptr;
    return &i->second;
  };
  // The ping carries its deadline: the supervisor and the session give up
  // on it when the monitor does, instead of holding it for the default
  // request timeout. The request timeout here is the same deadline for a
  // supervisor that does not answer at all (one clock entry per ping, gone
  // after ping_timeout: at most servers x ping_timeout / interval).
  call_options opts;
  opts.timeout = self->state.cfg.ping_timeout;
  self->request(e.supervisor, self->state.cfg.ping_timeout,
                caf::ping_atom::value, opts)
    .then(
      [self, find](caf::timespan rtt) {
        if (auto entry = find())
          on_ping_ok(self, *entry, rtt);
      },
      [self, find](caf::error& err) {
        if (auto entry = find())
          on_ping_failed(self, *entry, std::move(err));
      });
}

void on_tick(self_ptr self, uint64_t id) {
  auto& st = self->state;
  if (id != st.timer_id || st.timer_id == 0)
    return; // Not our timer.
  // Only our own delayed message: a tick from anybody else would start a
  // second timer chain (one more clock entry for ever).
  if (caf::actor_cast<caf::actor_addr>(self->current_sender())
      != self->address())
    return;
  self->delayed_send(self, st.cfg.interval, tick_atom::value, id);
  for (auto& kvp : st.servers) {
    auto& e = kvp.second;
    if (e.supervisor && e.heard && e.snapshot.phase == link_phase::ready
        && !e.ping_in_flight)
      send_ping(self, kvp.first, e);
  }
}

void watch(self_ptr self, std::string& name, supervisor_actor& sup) {
  auto& st = self->state;
  if (!sup)
    return;
  auto& e = st.servers[name];
  if (e.supervisor && e.supervisor != sup) {
    auto old = e.supervisor.address();
    bool shared = false;
    for (auto& kvp : st.servers)
      if (&kvp.second != &e && kvp.second.supervisor.address() == old)
        shared = true;
    if (!shared) {
      self->demonitor(old);
      // The replaced supervisor stops telling us about the server.
      self->send(e.supervisor, caf::unsubscribe_atom::value,
                 caf::actor_cast<caf::actor>(self));
    }
  }
  e = health_entry{};
  e.generation = st.next_generation++;
  e.snapshot.server = name;
  e.supervisor = sup;
  self->monitor(sup);
  self->send(sup, caf::subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  if (st.timer_id == 0) {
    st.timer_id = 1;
    self->delayed_send(self, st.cfg.interval, tick_atom::value, st.timer_id);
  }
}

/// Forgets `name` (a pool replaced that member): no more pings, no entry.
void unwatch(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.servers.find(name);
  if (i == st.servers.end())
    return;
  auto& e = i->second;
  if (e.supervisor) {
    auto addr = e.supervisor.address();
    bool shared = false;
    for (auto& kvp : st.servers)
      if (&kvp.second != &e && kvp.second.supervisor.address() == addr)
        shared = true;
    if (!shared) {
      self->demonitor(addr);
      // Leave its subscriber list too: a supervisor that stays (a member
      // handed to another monitor) must not keep publishing to us.
      self->send(e.supervisor, caf::unsubscribe_atom::value,
                 caf::actor_cast<caf::actor>(self));
    }
  }
  st.servers.erase(i);
}

void on_down(self_ptr self, caf::down_msg& msg) {
  if (self->state.subscribers.on_down(msg.source))
    return;
  for (auto& kvp : self->state.servers) {
    auto& e = kvp.second;
    if (!e.supervisor || e.supervisor.address() != msg.source)
      continue;
    auto& snap = e.snapshot;
    e.supervisor = nullptr;
    e.generation = self->state.next_generation++;
    e.ping_in_flight = false;
    e.heard = true;
    snap.phase = link_phase::closed;
    snap.connected_since_ms = 0;
    snap.last_error = msg.reason
                        ? msg.reason
                        : caf::make_error(mcp_errc::closed,
                                          "the supervisor of " + kvp.first
                                            + " terminated");
    rejudge(self, e);
    publish(self, snap);
  }
}

} // namespace

health_monitor_state::~health_monitor_state() {
  // nop
}

health_monitor_impl_actor::behavior_type
health_monitor(health_monitor_impl_actor::stateful_pointer<health_monitor_state> self,
               health_config cfg) {
  auto problem = validate(cfg);
  self->state.cfg = std::move(cfg);
  if (!problem.empty())
    self->quit(caf::make_error(mcp_errc::invalid_argument,
                               "bad health monitor configuration: " + problem));
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [self](watch_atom, std::string& name, supervisor_actor& sup) {
      watch(self, name, sup);
    },
    [self](unwatch_atom, const std::string& name) { unwatch(self, name); },
    [self](health_atom) -> std::vector<health_snapshot> {
      std::vector<health_snapshot> out;
      out.reserve(self->state.servers.size());
      for (auto& kvp : self->state.servers)
        out.push_back(kvp.second.snapshot);
      return out;
    },
    [self](health_atom,
           const std::string& name) -> caf::result<health_snapshot> {
      auto i = self->state.servers.find(name);
      if (i == self->state.servers.end())
        return caf::make_error(mcp_errc::invalid_argument,
                               "unknown server", name);
      return i->second.snapshot;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      if (!self->state.subscribers.add(self, sub))
        return; // null, or subscribed already
      auto me = caf::actor_cast<caf::actor>(self);
      for (auto& kvp : self->state.servers)
        caf::send_as(me, sub, health_atom::value, kvp.second.snapshot);
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
    },
    [self](link_atom, link_status& st) { on_link(self, st); },
    [](tools_diff_atom, const std::string&, const tools_diff&) {
      // nop: the monitor only follows link statuses
    },
    [](log_atom, const std::string&, const logging_message_params&) {
      // nop
    },
    [self](tick_atom, uint64_t id) { on_tick(self, id); },
  };
}

} // namespace caf_mcp
