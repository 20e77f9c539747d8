#include "caf_mcp/actors/client.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

namespace {

using self_ptr = client_impl_actor::stateful_pointer<client_state>;

// No request below carries a CAF request timeout: a session answers every
// request within its own deadline or fails it when it ends, and a pool
// stays until every request it took is answered. A request timeout would
// stay on CAF's clock until it is due, long after the answer came.

/// The client's name in logs: its configured name or the redacted URL.
std::string name_of(self_ptr self) {
  auto& cfg = self->state.cfg;
  if (!cfg.name.empty())
    return cfg.name.find("://") == std::string::npos
             ? cfg.name
             : transport::redact(cfg.name);
  return transport::redact(cfg.session.sse_url);
}

/// Passes a message from the pool or a session on to the subscribers.
void forward_to_subscribers(self_ptr self, const caf::message& msg) {
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

/// True if the current message comes from the current pool or one of the
/// client's one-shot sessions (nobody else speaks for the server).
bool from_server_side(self_ptr self) {
  auto& st = self->state;
  auto who = self->current_sender();
  if (!who)
    return false;
  if (st.pool && who == st.pool.address())
    return true;
  return std::any_of(st.one_shot.begin(), st.one_shot.end(),
                     [&](const session_actor& s) {
                       return s.address() == who;
                     });
}

/// One-shot mode: a fresh session for one operation.
session_actor spawn_session(self_ptr self) {
  auto& st = self->state;
  if (!st.shared_session)
    st.shared_session = share(st.cfg.session);
  // Started by its first message (the request that follows at once), so a
  // session whose stream fails at once still has the request to answer.
  session_actor s = self->system().spawn<caf::lazy_init>(session,
                                                         st.shared_session);
  // The client hears the session's logs and tool lists and passes them on.
  self->send(s, caf::subscribe_atom::value,
             caf::actor_cast<caf::actor>(self));
  st.one_shot.push_back(s);
  return s;
}

void close_session(self_ptr self, const session_actor& s) {
  auto& os = self->state.one_shot;
  os.erase(std::remove(os.begin(), os.end(), s), os.end());
  self->send(s, caf::close_atom::value);
}

/// Keep-alive mode: the pool, started if there is none. The client is its
/// only subscriber and passes what its subscribers need on to them, so a
/// new pool needs no re-subscribing and nobody is subscribed twice.
pool_actor the_pool(self_ptr self) {
  auto& st = self->state;
  if (!st.pool) {
    auto pc = st.cfg.pool;
    pc.member.session = st.cfg.session;
    st.pool = self->system().spawn(connection_pool, std::move(pc));
    self->monitor(st.pool);
    self->send(st.pool, caf::subscribe_atom::value,
               caf::actor_cast<caf::actor>(self));
  }
  return st.pool;
}

void end_proxy(self_ptr self, const tool_handle& h) {
  self->demonitor(h.proxy.address());
  self->send_exit(h.proxy, caf::exit_reason::user_shutdown);
}

/// Takes `tools` as the tool list. Proxies are made only when somebody
/// asks for them (`proxies`): a client that nobody asks for handles holds
/// no actor per tool (10,000 tools would be 10,000 actors). Of the proxies
/// made, unchanged tools keep theirs; removed or changed ones end.
void update_proxies(self_ptr self, std::vector<tool> tools) {
  auto& st = self->state;
  sort_tools(tools);
  st.tools = intern_tools(std::move(tools));
  if (st.proxies.empty())
    return;
  std::map<std::string, tool_handle> next;
  for (auto& t : *st.tools) {
    auto i = st.proxies.find(t.name);
    if (i != st.proxies.end() && i->second.descriptor == t) {
      next.emplace(t.name, std::move(i->second));
      st.proxies.erase(i);
    }
  }
  // What is left was removed or changed: its proxy ends.
  for (auto& kvp : st.proxies)
    end_proxy(self, kvp.second);
  st.proxies = std::move(next);
}

/// Makes a proxy for every tool that has none (first `proxies` request,
/// new tools, or a proxy killed by somebody else).
void make_missing_proxies(self_ptr self) {
  auto& st = self->state;
  if (!st.tools || st.proxies.size() == st.tools->size())
    return;
  for (auto& t : *st.tools) {
    if (st.proxies.count(t.name) > 0)
      continue;
    // A proxy calls through its client: one live handle for every call
    // (a replaced pool, the middleware chain), never a stale one.
    auto proxy = self->system().spawn(tool_proxy, t,
                                      caf::actor_cast<client_actor>(self));
    self->monitor(proxy);
    st.proxies.emplace(t.name, tool_handle{t, proxy});
  }
}

/// Runs `req` on a fresh session that is closed afterwards (one-shot mode).
template <class T, class... Ts>
caf::result<T> one_shot(self_ptr self,
                        std::function<void(self_ptr, T&)> on_value,
                        Ts&&... xs) {
  auto rp = self->make_response_promise<T>();
  auto s = spawn_session(self);
  self->request(s, caf::infinite, std::forward<Ts>(xs)...)
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

void tell_middlewares(self_ptr self, std::string_view server) {
  if (auto& chain = self->state.chain)
    for (auto& mw : *chain)
      mw->on_tools_changed(server);
}

/// The chain's last `next`: sends `xs...` to the pool (keep-alive) or to a
/// fresh session that is closed afterwards (one-shot); the answer of type
/// `T` goes to `on_value`, a failure to `done` as the outcome.
template <class T, class OnValue, class... Ts>
void send_upstream(self_ptr self, mw_done done, OnValue on_value,
                   Ts&&... xs) {
  auto on_error = [done](caf::error& err) {
    done(mw_outcome{std::move(err)});
  };
  if (self->state.cfg.is_keep_alive) {
    self->request(the_pool(self), caf::infinite, std::forward<Ts>(xs)...)
      .then([on_value](T& x) mutable { on_value(x); }, on_error);
    return;
  }
  auto s = spawn_session(self);
  self->request(s, caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [self, s, on_value](T& x) mutable {
        close_session(self, s);
        on_value(x);
      },
      [self, s, on_error](caf::error& err) mutable {
        close_session(self, s);
        on_error(err);
      });
}

/// A call through the middleware chain.
caf::result<call_tool_result> call_through_chain(self_ptr self,
                                                 std::string name,
                                                 std::string args,
                                                 call_options opts) {
  auto& st = self->state;
  auto rp = self->make_response_promise<call_tool_result>();
  mw_request req{"tools/call", st.cfg.name, std::move(name), std::move(args),
                 std::move(opts)};
  mw_next terminal = [self](mw_request r, mw_done done) {
    send_upstream<call_tool_result>(
      self, done,
      [done](call_tool_result& x) { done(mw_outcome{std::move(x)}); },
      call_atom::value, std::move(r.tool), std::move(r.args),
      std::move(r.opts));
  };
  run_chain(mw_context{self, st.tools}, st.chain, 0, std::move(req),
            std::move(terminal), [rp](mw_outcome out) mutable {
              if (out.value) {
                // What middlewares attached reaches the caller.
                for (auto& kv : out.meta)
                  out.value->client_meta[kv.first] = std::move(kv.second);
                rp.deliver(std::move(*out.value));
              } else {
                rp.deliver(std::move(out.value.error()));
              }
            });
  return rp;
}

/// A `tools/list` through the middleware chain.
caf::result<std::vector<tool>> list_through_chain(self_ptr self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::vector<tool>>();
  mw_request req;
  req.method = "tools/list";
  req.server = st.cfg.name;
  mw_next terminal = [self](mw_request, mw_done done) {
    send_upstream<std::vector<tool>>(
      self, done,
      [self, done](std::vector<tool>& tools) {
        update_proxies(self, tools);
        mw_outcome out;
        out.tools = std::move(tools);
        done(std::move(out));
      },
      list_atom::value);
  };
  run_chain(mw_context{self, st.tools}, st.chain, 0, std::move(req),
            std::move(terminal), [rp](mw_outcome out) mutable {
              if (out.value)
                rp.deliver(std::move(out.tools));
              else
                rp.deliver(std::move(out.value.error()));
            });
  return rp;
}

caf::result<std::vector<tool>> init(self_ptr self, bool fetch_tools) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::vector<tool>>();
  if (!st.cfg.is_keep_alive) {
    // One session for initialize and the listing.
    auto s = spawn_session(self);
    self->request(s, caf::infinite, init_atom::value)
      .then(
        [self, rp, s, fetch_tools](initialize_result&) mutable {
          if (!fetch_tools) {
            close_session(self, s);
            rp.deliver(std::vector<tool>{});
            return;
          }
          self->request(s, caf::infinite, list_atom::value)
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
  self->request(p, caf::infinite, init_atom::value)
    .then(
      [self, rp, p, fetch_tools](initialize_result&) mutable {
        if (!fetch_tools) {
          rp.deliver(std::vector<tool>{});
          return;
        }
        self->request(p, caf::infinite, list_atom::value)
          .then(
            [self, rp](std::vector<tool>& tools) mutable {
              update_proxies(self, tools);
              rp.deliver(std::move(tools));
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

} // namespace

client_state::~client_state() {
  if (pool)
    caf::anon_send(pool, caf::close_atom::value);
  for (auto& s : one_shot)
    caf::anon_send(s, caf::close_atom::value);
}

client_impl_actor::behavior_type
client(client_impl_actor::stateful_pointer<client_state> self, client_config cfg) {
  self->state.cfg = std::move(cfg);
  // Before any session exists: middlewares may set what sessions use.
  for (auto& mw : self->state.cfg.middlewares)
    mw->configure_session(self->state.cfg.session);
  if (!self->state.cfg.middlewares.empty())
    self->state.chain = std::make_shared<const std::vector<middleware_ptr>>(
      self->state.cfg.middlewares);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.subscribers.on_down(msg.source))
      return;
    if (st.pool && msg.source == st.pool.address()) {
      CAF_MCP_LOG_WARN("client", name_of(self)
                                   << ": the pool ended ("
                                   << render(msg.reason)
                                   << "); a new one starts on next use");
      st.pool = nullptr;
      // The next pool lists from scratch: its first diff is the whole list,
      // not a change against the old pool's list. Proxies stay (they call
      // through the client) and are matched against that list.
      st.tools = nullptr;
      st.ready_since.clear();
      // Its sessions are gone: what middlewares know is stale.
      tell_middlewares(self, st.cfg.name);
      return;
    }
    for (auto i = st.proxies.begin(); i != st.proxies.end(); ++i)
      if (i->second.proxy.address() == msg.source) {
        // Killed by somebody else: the next `proxies` request makes a new
        // one for the tool.
        st.proxies.erase(i);
        return;
      }
  });
  return {
    [self](init_atom, bool fetch_tools) -> caf::result<std::vector<tool>> {
      return init(self, fetch_tools);
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      auto& st = self->state;
      if (st.chain)
        return list_through_chain(self);
      if (!st.cfg.is_keep_alive)
        return one_shot<std::vector<tool>>(
          self,
          [](self_ptr me, std::vector<tool>& tools) {
            update_proxies(me, tools);
          },
          list_atom::value);
      auto rp = self->make_response_promise<std::vector<tool>>();
      self->request(the_pool(self), caf::infinite, list_atom::value)
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
      if (st.chain)
        return call_through_chain(self, std::move(name), std::move(args),
                                  std::move(opts));
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
      auto& st = self->state;
      // Made on first use; tools whose proxy somebody killed get a new one.
      make_missing_proxies(self);
      std::vector<tool_handle> out;
      for (auto& kvp : st.proxies)
        out.push_back(kvp.second);
      return out;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      self->state.subscribers.add(self, sub);
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
    },
    [self](cleanup_atom) {
      auto& st = self->state;
      if (st.pool) {
        self->demonitor(st.pool.address());
        self->send(st.pool, caf::close_atom::value);
        st.pool = nullptr;
      }
      for (auto& kvp : st.proxies)
        end_proxy(self, kvp.second);
      st.proxies.clear();
      st.tools = nullptr;
    },
    [self](caf::get_atom) -> pool_actor { return self->state.pool; },
    [self](stats_atom) -> caf::result<pool_stats> {
      auto& st = self->state;
      if (!st.pool)
        return pool_stats{};
      return self->delegate(st.pool, stats_atom::value);
    },
    [self](tools_changed_atom, std::string& server,
           std::vector<tool>& tools) {
      // From a one-shot session.
      if (!from_server_side(self))
        return;
      update_proxies(self, tools);
      tell_middlewares(self, server);
      forward_to_subscribers(self,
                             caf::make_message(tools_changed_atom::value,
                                               std::move(server), tools));
    },
    [self](tools_diff_atom, std::string& server, tools_diff& d) {
      if (!from_server_side(self))
        return;
      static const std::vector<tool> none;
      auto& st = self->state;
      // The first list of a pool is no change: what middlewares cached
      // since the pool started (a call answered before the listing) stays.
      auto had_tools = st.tools != nullptr;
      update_proxies(self, apply_diff(st.tools ? *st.tools : none, d));
      if (had_tools)
        tell_middlewares(self, server);
      forward_to_subscribers(self, caf::make_message(tools_diff_atom::value,
                                                     std::move(server),
                                                     std::move(d)));
    },
    [self](link_atom, link_status& ls) {
      if (!from_server_side(self))
        return;
      // A new session: what middlewares know about the old one is stale.
      auto& since = self->state.ready_since[ls.member];
      if (ls.phase == link_phase::ready && ls.ready_since_ms != since) {
        if (since != 0)
          tell_middlewares(self, ls.server);
        since = ls.ready_since_ms;
      }
      forward_to_subscribers(self,
                               caf::make_message(link_atom::value,
                                                 std::move(ls)));
    },
    [self](log_atom, std::string& server, logging_message_params& p) {
      if (from_server_side(self))
        forward_to_subscribers(self,
                               caf::make_message(log_atom::value,
                                                 std::move(server),
                                                 std::move(p)));
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
      auto& st = self->state;
      return self->delegate(st.owner, call_atom::value, st.descriptor.name,
                            std::move(args), std::move(opts));
    },
    [self](caf::get_atom) -> tool { return self->state.descriptor; },
  };
}

} // namespace caf_mcp
