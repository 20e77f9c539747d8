#include "caf_mcp/actors/client.hpp"

#include <map>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace caf_mcp {

namespace {

using self_ptr = client_actor::stateful_pointer<client_state>;

/// Safety net on top of the deadlines below: a pool or session always
/// answers or dies, but a caller must never wait forever.
caf::timespan request_limit(const client_config& cfg) {
  return cfg.session.max_request_timeout + cfg.session.endpoint_timeout
         + cfg.session.request_timeout + std::chrono::seconds{5};
}

/// One-shot mode: a fresh session for one operation.
session_actor spawn_session(self_ptr self) {
  auto& st = self->state;
  if (!st.shared_session)
    st.shared_session = share(st.cfg.session);
  // Started by its first message (the request that follows at once), so a
  // session whose stream fails at once still has the request to answer.
  auto s = self->system().spawn<caf::lazy_init>(session, st.shared_session);
  for (auto& sub : st.subscribers)
    self->send(s, caf::subscribe_atom::value, sub);
  return s;
}

/// Keep-alive mode: the pool, started if there is none.
pool_actor the_pool(self_ptr self) {
  auto& st = self->state;
  if (!st.pool) {
    auto pc = st.cfg.pool;
    pc.member.session = st.cfg.session;
    st.pool = self->system().spawn(connection_pool, std::move(pc));
    self->monitor(st.pool);
    // The client follows tool diffs to keep its proxies current.
    self->send(st.pool, caf::subscribe_atom::value,
               caf::actor_cast<caf::actor>(self));
    for (auto& sub : st.subscribers)
      self->send(st.pool, caf::subscribe_atom::value, sub);
  }
  return st.pool;
}

void update_proxies(self_ptr self, const std::vector<tool>& tools) {
  auto& st = self->state;
  st.tools = tools;
  std::map<std::string, tool_handle> next;
  for (auto& t : tools) {
    auto i = st.proxies.find(t.name);
    if (i != st.proxies.end() && i->second.descriptor == t) {
      next.emplace(t.name, std::move(i->second));
      st.proxies.erase(i);
      continue;
    }
    auto proxy = self->system().spawn(tool_proxy, t,
                                      caf::actor_cast<client_actor>(self),
                                      st.cfg.is_keep_alive ? st.pool
                                                           : pool_actor{});
    next.emplace(t.name, tool_handle{t, proxy});
  }
  // What is left was removed or changed: its proxy ends.
  for (auto& kvp : st.proxies)
    self->send_exit(kvp.second.proxy, caf::exit_reason::user_shutdown);
  st.proxies = std::move(next);
}

void close_session(self_ptr self, const session_actor& s) {
  self->send(s, caf::close_atom::value);
}

/// Runs `req` on a fresh session that is closed afterwards (one-shot mode).
template <class T, class... Ts>
caf::result<T> one_shot(self_ptr self,
                        std::function<void(self_ptr, T&)> on_value,
                        Ts&&... xs) {
  auto rp = self->make_response_promise<T>();
  auto s = spawn_session(self);
  self->request(s, request_limit(self->state.cfg), std::forward<Ts>(xs)...)
    .then(
      [self, rp, s, on_value](T& value) mutable {
        close_session(self, s);
        if (on_value)
          on_value(self, value);
        rp.deliver(std::move(value));
      },
      [self, rp, s](caf::error& err) mutable {
        close_session(self, s);
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace

client_state::~client_state() {
  if (pool)
    caf::anon_send(pool, caf::close_atom::value);
}

client_actor::behavior_type
client(client_actor::stateful_pointer<client_state> self, client_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.pool && msg.source == st.pool.address())
      st.pool = nullptr;
  });
  return {
    [self](init_atom, bool fetch_tools) -> caf::result<std::vector<tool>> {
      auto& st = self->state;
      if (!st.cfg.middlewares.empty())
        return caf::make_error(mcp_errc::invalid_argument,
                               "middlewares are not supported yet");
      auto rp = self->make_response_promise<std::vector<tool>>();
      auto limit = request_limit(st.cfg);
      if (!st.cfg.is_keep_alive) {
        // One session for initialize and the listing.
        auto s = spawn_session(self);
        self->request(s, limit, init_atom::value)
          .then(
            [self, rp, s, fetch_tools, limit](initialize_result&) mutable {
              if (!fetch_tools) {
                close_session(self, s);
                rp.deliver(std::vector<tool>{});
                return;
              }
              self->request(s, limit, list_atom::value)
                .then(
                  [self, rp, s](std::vector<tool>& tools) mutable {
                    close_session(self, s);
                    update_proxies(self, tools);
                    rp.deliver(std::move(tools));
                  },
                  [self, rp, s](caf::error& err) mutable {
                    close_session(self, s);
                    rp.deliver(std::move(err));
                  });
            },
            [self, rp, s](caf::error& err) mutable {
              close_session(self, s);
              rp.deliver(std::move(err));
            });
        return rp;
      }
      auto p = the_pool(self);
      self->request(p, limit, init_atom::value)
        .then(
          [self, rp, p, fetch_tools, limit](initialize_result&) mutable {
            if (!fetch_tools) {
              rp.deliver(std::vector<tool>{});
              return;
            }
            self->request(p, limit, list_atom::value)
              .then(
                [self, rp](std::vector<tool>& tools) mutable {
                  update_proxies(self, tools);
                  rp.deliver(std::move(tools));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      auto& st = self->state;
      if (!st.cfg.is_keep_alive)
        return one_shot<std::vector<tool>>(
          self,
          [](self_ptr me, std::vector<tool>& tools) {
            update_proxies(me, tools);
          },
          list_atom::value);
      auto rp = self->make_response_promise<std::vector<tool>>();
      self->request(the_pool(self), request_limit(st.cfg), list_atom::value)
        .then(
          [self, rp](std::vector<tool>& tools) mutable {
            update_proxies(self, tools);
            rp.deliver(std::move(tools));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      if (st.cfg.is_keep_alive)
        return self->delegate(the_pool(self), call_atom::value,
                              std::move(name), std::move(args),
                              std::move(opts));
      return one_shot<call_tool_result>(self, nullptr, call_atom::value,
                                        std::move(name), std::move(args),
                                        std::move(opts));
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      auto& st = self->state;
      if (st.cfg.is_keep_alive)
        return self->delegate(the_pool(self), caf::ping_atom::value);
      return one_shot<caf::timespan>(self, nullptr, caf::ping_atom::value);
    },
    [self](proxies_atom) -> std::vector<tool_handle> {
      std::vector<tool_handle> out;
      for (auto& kvp : self->state.proxies)
        out.push_back(kvp.second);
      return out;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      auto& st = self->state;
      if (st.pool)
        self->send(st.pool, caf::subscribe_atom::value, sub);
      st.subscribers.emplace_back(std::move(sub));
    },
    [self](cleanup_atom) {
      auto& st = self->state;
      if (st.pool) {
        self->demonitor(st.pool.address());
        self->send(st.pool, caf::close_atom::value);
        st.pool = nullptr;
      }
      for (auto& kvp : st.proxies)
        self->send_exit(kvp.second.proxy, caf::exit_reason::user_shutdown);
      st.proxies.clear();
    },
    [self](stats_atom) -> caf::result<pool_stats> {
      auto& st = self->state;
      if (!st.pool)
        return pool_stats{};
      return self->delegate(st.pool, stats_atom::value);
    },
    [self](tools_changed_atom, std::string&, std::vector<tool>& tools) {
      update_proxies(self, tools);
    },
    [self](tools_diff_atom, std::string&, tools_diff& d) {
      update_proxies(self, apply_diff(self->state.tools, d));
    },
    [](link_atom, link_status&) {
      // Subscribers of the client get these from the pool directly.
    },
    [](log_atom, std::string&, logging_message_params&) {
      // Idem.
    },
  };
}

tool_proxy_actor::behavior_type
tool_proxy(tool_proxy_actor::stateful_pointer<tool_proxy_state> self,
           tool descriptor, client_actor owner, pool_actor pool) {
  self->state.descriptor = std::move(descriptor);
  self->state.owner = owner;
  self->state.pool = pool;
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
    [self](call_atom, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      if (st.pool)
        return self->delegate(st.pool, call_atom::value, st.descriptor.name,
                              std::move(args), std::move(opts));
      return self->delegate(st.owner, call_atom::value, st.descriptor.name,
                            std::move(args), std::move(opts));
    },
    [self](caf::get_atom) -> tool { return self->state.descriptor; },
  };
}

} // namespace caf_mcp
