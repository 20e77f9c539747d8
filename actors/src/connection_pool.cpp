#include "caf_mcp/actors/connection_pool.hpp"
#include "caf_mcp/transport/log.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/make_message.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"

#include "caf_mcp/actors/recovery.hpp"

namespace caf_mcp {

namespace {

using self_ptr = pool_impl_actor::stateful_pointer<connection_pool_state>;

void publish(self_ptr self, const caf::message& msg) {
  // As the supervisors do: receivers learn who sent it.
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

/// The member whose supervisor sent the current message (null: a stranger).
pool_member* sending_member(self_ptr self) {
  auto who = self->current_sender();
  for (auto& m : self->state.members)
    if (m.sup.address() == who)
      return &m;
  return nullptr;
}

pool_member* find_member(self_ptr self, uint32_t id) {
  for (auto& m : self->state.members)
    if (m.id == id)
      return &m;
  return nullptr;
}

void add_member(self_ptr self) {
  auto& st = self->state;
  if (!st.member_cfg)
    st.member_cfg = share(st.cfg.member);
  pool_member m;
  m.id = st.next_member++;
  m.last.server = st.cfg.member.session.server_name;
  m.last.member = m.id;
  m.sup = self->system().spawn(supervisor, st.member_cfg, m.id);
  self->monitor(m.sup);
  self->send(m.sup, caf::subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  if (st.health)
    self->send(st.health, watch_atom::value,
               m.last.server + "#" + std::to_string(m.id), m.sup);
  st.members.push_back(std::move(m));
}

void remove_member(self_ptr self, uint32_t id, bool close_it) {
  auto& ms = self->state.members;
  auto i = std::find_if(ms.begin(), ms.end(),
                        [id](const pool_member& m) { return m.id == id; });
  if (i == ms.end())
    return;
  if (close_it) {
    self->demonitor(i->sup.address());
    self->send(i->sup, caf::close_atom::value);
  }
  auto& st = self->state;
  if (st.health)
    self->send(st.health, unwatch_atom::value,
               i->last.server + "#" + std::to_string(i->id));
  ms.erase(i);
}

bool any_ready(self_ptr self) {
  for (auto& m : self->state.members)
    if (m.last.phase == link_phase::ready)
      return true;
  return false;
}

/// Picks the member for the next call, growing the pool if every ready
/// member is busy.
pool_member* route(self_ptr self) {
  auto& st = self->state;
  if (st.members.empty())
    return nullptr;
  std::vector<member_load> loads;
  loads.reserve(st.members.size());
  auto busy = true;
  auto ready = 0;
  for (auto& m : st.members) {
    auto is_ready = m.last.phase == link_phase::ready;
    loads.push_back(member_load{is_ready, m.in_flight});
    if (is_ready) {
      ++ready;
      if (m.in_flight < st.cfg.grow_at)
        busy = false;
    }
  }
  if (ready > 0 && busy && st.members.size() < st.cfg.max_members)
    add_member(self); // Takes calls once ready; this one goes out now.
  auto i = pick_member(loads, st.cursor);
  return &st.members[i];
}

caf::error member_error(caf::error err) {
  if (is_mcp_error(err))
    return err;
  return caf::make_error(mcp_errc::connection_lost,
                         "the pool member handling the call ended: "
                           + render(err));
}

/// Takes the bookkeeping of request `req` (false if it was settled
/// already, e.g. failed because its member died); a closing pool quits once
/// nothing is outstanding (its members answer everything with `closed` when
/// they close).
bool take(self_ptr self, uint64_t req) {
  auto& st = self->state;
  auto i = st.outstanding.find(req);
  if (i == st.outstanding.end())
    return false;
  if (auto mp = find_member(self, i->second.member))
    --mp->in_flight;
  st.outstanding.erase(i);
  return true;
}

void maybe_quit(self_ptr self) {
  auto& st = self->state;
  if (st.closed && st.outstanding.empty())
    self->quit();
}

/// Sends a request to a member, counting it in flight there. No request
/// timeout (each one would wake CAF's clock thread per call): the member
/// always answers within the call's own deadline, and if it dies the down
/// handler fails what it held.
template <class T, class... Ts>
caf::result<T> route_request(self_ptr self, Ts&&... xs) {
  auto& st = self->state;
  if (st.closed)
    return caf::make_error(mcp_errc::closed, "the pool is closed");
  if (st.cfg.max_in_flight > 0
      && st.outstanding.size() >= st.cfg.max_in_flight)
    return caf::make_error(mcp_errc::queue_full,
                           std::to_string(st.outstanding.size())
                             + " calls already in flight in the pool of "
                             + st.cfg.member.session.server_name
                             + " (max_in_flight)");
  auto m = route(self);
  if (m == nullptr)
    return caf::make_error(mcp_errc::closed, "the pool has no members");
  auto rp = self->make_response_promise<T>();
  auto req = ++st.next_request;
  ++m->in_flight;
  st.outstanding.emplace(
    req, pool_request{m->id, [rp](const caf::error& err) mutable {
                        rp.deliver(err);
                      }});
  self->request(m->sup, caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [self, rp, req](T& value) mutable {
        if (!take(self, req))
          return;
        ++self->state.calls_ok;
        rp.deliver(std::move(value));
        maybe_quit(self);
      },
      [self, rp, req](caf::error& err) mutable {
        if (!take(self, req))
          return;
        ++self->state.calls_failed;
        rp.deliver(member_error(std::move(err)));
        maybe_quit(self);
      });
  return rp;
}

/// A member died: fail what it held (the pool keeps running).
void fail_member_requests(self_ptr self, uint32_t member,
                          const caf::error& reason) {
  auto& st = self->state;
  std::vector<uint64_t> reqs;
  for (auto& kvp : st.outstanding)
    if (kvp.second.member == member)
      reqs.push_back(kvp.first);
  std::sort(reqs.begin(), reqs.end());
  auto err = caf::make_error(mcp_errc::connection_lost,
                             "the pool member handling the call ended: "
                               + render(reason));
  for (auto req : reqs) {
    auto i = st.outstanding.find(req);
    auto fail = std::move(i->second.fail);
    st.outstanding.erase(i);
    ++st.calls_failed;
    fail(err);
  }
}

pool_stats make_stats(self_ptr self) {
  auto& st = self->state;
  pool_stats out;
  out.server = st.cfg.member.session.server_name;
  out.members = st.members.size();
  out.replaced = st.replaced;
  out.calls_ok = st.calls_ok;
  out.calls_failed = st.calls_failed;
  for (auto& m : st.members) {
    if (m.last.phase == link_phase::ready)
      ++out.ready;
    out.in_flight += m.in_flight;
    out.links.push_back(m.last);
  }
  return out;
}

void apply_member_diff(self_ptr self, const tools_diff& d) {
  auto& st = self->state;
  static const std::vector<tool> none;
  auto& old = st.tools ? *st.tools : none;
  auto tools = intern_tools(apply_diff(old, d));
  auto diff = diff_tools(old, *tools);
  st.tools = std::move(tools);
  if (!empty(diff))
    publish(self, caf::make_message(tools_diff_atom::value,
                                    st.cfg.member.session.server_name,
                                    std::move(diff)));
}

} // namespace

connection_pool_state::~connection_pool_state() {
  if (health && owns_health)
    caf::anon_send_exit(health, caf::exit_reason::user_shutdown);
}

pool_impl_actor::behavior_type
connection_pool(pool_impl_actor::stateful_pointer<connection_pool_state> self,
                pool_config cfg) {
  {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    st.cfg.min_members = std::max<size_t>(st.cfg.min_members, 1);
    st.cfg.max_members = std::max(st.cfg.max_members, st.cfg.min_members);
    if (st.cfg.shared_health) {
      st.health = st.cfg.shared_health;
    } else if (st.cfg.health.interval.count() > 0
               && validate(st.cfg.health).empty()) {
      st.health = self->system().spawn(health_monitor, st.cfg.health);
      st.owns_health = true;
    }
    for (size_t i = 0; i < st.cfg.min_members; ++i)
      add_member(self);
  }
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.subscribers.on_down(msg.source))
      return;
    for (auto& m : st.members)
      if (m.sup.address() == msg.source) {
        auto id = m.id;
        CAF_MCP_LOG_WARN("pool", st.cfg.member.session.server_name
                                   << ": member " << id << " ended ("
                                   << render(msg.reason) << "); replacing it");
        remove_member(self, id, false);
        fail_member_requests(self, id, msg.reason);
        if (!st.closed) {
          ++st.replaced;
          add_member(self);
        }
        return;
      }
  });
  return {
    [self](init_atom) -> caf::result<initialize_result> {
      return route_request<initialize_result>(self, init_atom::value);
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      return route_request<std::vector<tool>>(self, list_atom::value);
    },
    [self](list_atom, call_options& opts) -> caf::result<std::vector<tool>> {
      return route_request<std::vector<tool>>(self, list_atom::value,
                                              std::move(opts));
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      return route_request<call_tool_result>(self, call_atom::value,
                                             std::move(name), std::move(args),
                                             std::move(opts));
    },
    [self](request_atom, std::string& method, std::string& params,
           call_options& opts) -> caf::result<std::string> {
      return route_request<std::string>(self, request_atom::value,
                                        std::move(method), std::move(params),
                                        std::move(opts));
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      return route_request<caf::timespan>(self, caf::ping_atom::value);
    },
    [self](caf::ping_atom, call_options& opts) -> caf::result<caf::timespan> {
      return route_request<caf::timespan>(self, caf::ping_atom::value,
                                          std::move(opts));
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
    },
    [self](stats_atom) -> pool_stats { return make_stats(self); },
    [self](health_atom) -> caf::result<std::vector<health_snapshot>> {
      auto& st = self->state;
      if (!st.health)
        return std::vector<health_snapshot>{};
      return self->delegate(st.health, health_atom::value);
    },
    [self](caf::get_atom) -> std::vector<supervisor_actor> {
      std::vector<supervisor_actor> out;
      for (auto& m : self->state.members)
        out.push_back(m.sup);
      return out;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      auto& st = self->state;
      if (!st.subscribers.add(self, sub))
        return; // once only
      auto me = caf::actor_cast<caf::actor>(self);
      for (auto& m : st.members)
        caf::send_as(me, sub, link_atom::value, m.last);
      if (st.tools && !st.tools->empty())
        caf::send_as(me, sub, tools_diff_atom::value,
                     st.cfg.member.session.server_name,
                     diff_tools({}, *st.tools));
    },
    [self](retry_atom) {
      for (auto& m : self->state.members)
        self->send(m.sup, retry_atom::value);
    },
    [self](caf::close_atom) {
      auto& st = self->state;
      st.closed = true;
      for (auto& m : st.members) {
        self->demonitor(m.sup.address());
        self->send(m.sup, caf::close_atom::value);
        if (st.health && !st.owns_health)
          self->send(st.health, unwatch_atom::value,
                     m.last.server + "#" + std::to_string(m.id));
      }
      st.members.clear();
      if (st.health && st.owns_health)
        self->send_exit(st.health, caf::exit_reason::user_shutdown);
      st.health = nullptr;
      // Stay until every outstanding request was answered (with `closed`
      // by the closing members at the latest), so no caller is left waiting.
      maybe_quit(self);
    },
    [self](link_atom, link_status& ls) {
      auto& st = self->state;
      auto m = sending_member(self);
      if (m == nullptr || m->id != ls.member)
        return; // only a member speaks for itself
      m->last = ls;
      publish(self, caf::make_message(link_atom::value, ls));
      if (ls.phase == link_phase::gave_up && !st.closed && any_ready(self)) {
        // The server works for the others: this member's trouble was its
        // own. Replace it.
        remove_member(self, ls.member, true);
        ++st.replaced;
        add_member(self);
      }
    },
    [self](tools_diff_atom, std::string&, tools_diff& d) {
      if (sending_member(self) != nullptr)
        apply_member_diff(self, d);
    },
    [self](log_atom, std::string& server, logging_message_params& params) {
      if (sending_member(self) != nullptr)
        publish(self, caf::make_message(log_atom::value, std::move(server),
                                        std::move(params)));
    },
  };
}

} // namespace caf_mcp
