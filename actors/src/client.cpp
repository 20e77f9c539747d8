#include "caf_mcp/actors/client.hpp"

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

/// Safety net on top of the session's own deadlines: a session always
/// answers or dies, but a caller must never wait forever.
caf::timespan request_limit(const client_config& cfg) {
  return cfg.session.max_request_timeout + cfg.session.endpoint_timeout
         + cfg.session.request_timeout + std::chrono::seconds{5};
}

session_actor spawn_session(self_ptr self) {
  auto& st = self->state;
  auto s = self->system().spawn(session, st.cfg.session);
  self->monitor(s);
  // The client follows tool-list changes to keep its proxies current.
  self->send(s, caf::subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  for (auto& sub : st.subscribers)
    self->send(s, caf::subscribe_atom::value, sub);
  return s;
}

/// The keep-alive session, started if there is none.
session_actor keep_alive_session(self_ptr self) {
  auto& st = self->state;
  if (!st.session)
    st.session = spawn_session(self);
  return st.session;
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
                                      caf::actor_cast<client_actor>(self));
    next.emplace(t.name, tool_handle{t, proxy});
  }
  // What is left was removed or changed: its proxy ends.
  for (auto& kvp : st.proxies)
    self->send_exit(kvp.second.proxy, caf::exit_reason::user_shutdown);
  st.proxies = std::move(next);
}

void close_session(self_ptr self, session_actor& s) {
  if (s) {
    self->demonitor(s.address());
    self->send(s, caf::close_atom::value);
    s = nullptr;
  }
}

} // namespace

client_state::~client_state() {
  if (session)
    caf::anon_send(session, caf::close_atom::value);
}

client_actor::behavior_type
client(client_actor::stateful_pointer<client_state> self, client_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.session && msg.source == st.session.address())
      st.session = nullptr;
  });
  return {
    [self](init_atom, bool fetch_tools) -> caf::result<std::vector<tool>> {
      auto& st = self->state;
      if (!st.cfg.middlewares.empty())
        return caf::make_error(mcp_errc::invalid_argument,
                               "middlewares are not supported yet");
      auto rp = self->make_response_promise<std::vector<tool>>();
      auto s = st.cfg.is_keep_alive ? keep_alive_session(self)
                                    : spawn_session(self);
      auto limit = request_limit(st.cfg);
      self->request(s, limit, init_atom::value)
        .then(
          [self, rp, s, fetch_tools, limit](initialize_result&) mutable {
            if (!fetch_tools) {
              if (!self->state.cfg.is_keep_alive) {
                auto tmp = s;
                close_session(self, tmp);
              }
              rp.deliver(std::vector<tool>{});
              return;
            }
            self->request(s, limit, list_atom::value)
              .then(
                [self, rp, s](std::vector<tool>& tools) mutable {
                  update_proxies(self, tools);
                  if (!self->state.cfg.is_keep_alive) {
                    auto tmp = s;
                    close_session(self, tmp);
                  }
                  rp.deliver(std::move(tools));
                },
                [self, rp, s](caf::error& err) mutable {
                  if (!self->state.cfg.is_keep_alive) {
                    auto tmp = s;
                    close_session(self, tmp);
                  }
                  rp.deliver(std::move(err));
                });
          },
          [self, rp, s](caf::error& err) mutable {
            if (!self->state.cfg.is_keep_alive) {
              auto tmp = s;
              close_session(self, tmp);
            }
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::vector<tool>>();
      auto keep = st.cfg.is_keep_alive;
      auto s = keep ? keep_alive_session(self) : spawn_session(self);
      self->request(s, request_limit(st.cfg), list_atom::value)
        .then(
          [self, rp, s, keep](std::vector<tool>& tools) mutable {
            update_proxies(self, tools);
            if (!keep) {
              auto tmp = s;
              close_session(self, tmp);
            }
            rp.deliver(std::move(tools));
          },
          [self, rp, s, keep](caf::error& err) mutable {
            if (!keep) {
              auto tmp = s;
              close_session(self, tmp);
            }
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      auto& st = self->state;
      if (st.cfg.is_keep_alive)
        return self->delegate(keep_alive_session(self), call_atom::value,
                              std::move(name), std::move(args),
                              std::move(opts));
      auto rp = self->make_response_promise<call_tool_result>();
      auto s = spawn_session(self);
      self
        ->request(s, request_limit(st.cfg), call_atom::value, std::move(name),
                  std::move(args), std::move(opts))
        .then(
          [self, rp, s](call_tool_result& res) mutable {
            auto tmp = s;
            close_session(self, tmp);
            rp.deliver(std::move(res));
          },
          [self, rp, s](caf::error& err) mutable {
            auto tmp = s;
            close_session(self, tmp);
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      auto& st = self->state;
      if (st.cfg.is_keep_alive)
        return self->delegate(keep_alive_session(self),
                              caf::ping_atom::value);
      auto rp = self->make_response_promise<caf::timespan>();
      auto s = spawn_session(self);
      self->request(s, request_limit(st.cfg), caf::ping_atom::value)
        .then(
          [self, rp, s](caf::timespan rtt) mutable {
            auto tmp = s;
            close_session(self, tmp);
            rp.deliver(rtt);
          },
          [self, rp, s](caf::error& err) mutable {
            auto tmp = s;
            close_session(self, tmp);
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](proxies_atom) -> std::vector<tool_handle> {
      std::vector<tool_handle> out;
      for (auto& kvp : self->state.proxies)
        out.push_back(kvp.second);
      return out;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      auto& st = self->state;
      if (st.session)
        self->send(st.session, caf::subscribe_atom::value, sub);
      st.subscribers.emplace_back(std::move(sub));
    },
    [self](cleanup_atom) {
      auto& st = self->state;
      close_session(self, st.session);
      for (auto& kvp : st.proxies)
        self->send_exit(kvp.second.proxy, caf::exit_reason::user_shutdown);
      st.proxies.clear();
    },
    [self](tools_changed_atom, std::string&, std::vector<tool>& tools) {
      update_proxies(self, tools);
    },
  };
}

tool_proxy_actor::behavior_type
tool_proxy(tool_proxy_actor::stateful_pointer<tool_proxy_state> self,
           tool descriptor, client_actor owner) {
  self->state.descriptor = std::move(descriptor);
  self->state.owner = owner;
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
    [self](call_atom, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      return self->delegate(self->state.owner, call_atom::value,
                            self->state.descriptor.name, std::move(args),
                            std::move(opts));
    },
    [self](caf::get_atom) -> tool { return self->state.descriptor; },
  };
}

} // namespace caf_mcp
