#include "caf_mcp/actors/bearer_token_middleware.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf_mcp/actors/headers_middleware.hpp"
#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/token_source.hpp"

namespace caf_mcp {

namespace {

caf::error source_failed(std::string what) {
  return caf::make_error(mcp_errc::middleware_failed,
                         "middleware bearer_token: " + std::move(what));
}

caf::expected<std::string> to_expected(transport::token_result res) {
  if (!res.ok)
    return source_failed(std::move(res.error));
  return std::move(res.token);
}

bool is_unauthorized(const mw_outcome& out) {
  mcp_errc code{};
  return !out.value && get_mcp_errc(out.value.error(), code)
         && code == mcp_errc::unauthorized;
}

std::string bearer(const std::string& token) {
  return "Bearer " + token;
}

/// Runs a blocking fetch function on a thread of its own per request and
/// answers (get_atom) with its result. Quits with the client it serves.
/// The thread holds only a weak handle: a late result after the actor is
/// gone is dropped.
caf::behavior token_fetcher(caf::event_based_actor* self, token_fetch_fn fetch,
                            caf::actor_addr client) {
  struct pending_map {
    uint64_t next = 1;
    std::unordered_map<uint64_t, caf::typed_response_promise<std::string>>
      promises;
  };
  auto pend = std::make_shared<pending_map>();
  if (client) {
    self->monitor(client);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  }
  return {
    [self, fetch, pend](caf::get_atom) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      auto id = pend->next++;
      pend->promises.emplace(id, rp);
      caf::weak_actor_ptr me = caf::actor_cast<caf::weak_actor_ptr>(self);
      transport::run_detached([fetch, me, id] {
        std::string token;
        caf::error err;
        try {
          auto res = fetch();
          if (res)
            token = std::move(*res);
          else
            err = std::move(res.error());
        } catch (...) {
          err = source_failed("the token source threw");
        }
        if (auto ptr = me.lock())
          caf::anon_send(caf::actor_cast<caf::actor>(ptr), id,
                         std::move(token), std::move(err));
      });
      return rp;
    },
    [pend](uint64_t id, std::string& token, caf::error& err) {
      auto i = pend->promises.find(id);
      if (i == pend->promises.end())
        return;
      auto rp = std::move(i->second);
      pend->promises.erase(i);
      if (err)
        rp.deliver(std::move(err));
      else
        rp.deliver(std::move(token));
    },
  };
}

} // namespace

using token_cont = std::function<void(caf::expected<std::string>)>;
using header_cont = std::function<void(transport::header_list)>;

struct bearer_token_middleware::state {
  explicit state(bearer_token_config c) : cfg(std::move(c)) {
    // nop
  }

  bearer_token_config cfg;

  /// Guards `token`, the prefetch and `header_waiters` (sessions ask on
  /// their threads, the prefetch ends on its own).
  std::mutex mtx;
  std::string token;
  /// Fetches are numbered when they start (session fetches) or end (the
  /// client's fetches after a 401 or by age); a result replaces `token`
  /// only if its number is higher than `token_seq`, so a slow fetch that
  /// started before a refresh cannot put an older token back.
  uint64_t next_seq = 0;
  uint64_t token_seq = 0;
  bool prefetching = false;
  /// Sessions waiting for the prefetch: their headers so far and where to
  /// send them.
  std::vector<std::pair<transport::header_list, header_cont>> header_waiters;

  /// Client actor only (the chain runs there).
  bool fetching = false;
  bool have_fetch_time = false;
  caf::actor_clock::time_point fetched_at;
  std::vector<token_cont> waiters;
  caf::actor fetcher;
  std::atomic<size_t> fetch_count{0};

  std::string current() {
    std::lock_guard<std::mutex> guard{mtx};
    return token;
  }
};

token_fetch_fn token_from_command(std::string command, caf::timespan timeout) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  return [command = std::move(command), ms] {
    return to_expected(transport::run_token_command(command, ms));
  };
}

token_fetch_fn token_from_file(std::string path) {
  return [path = std::move(path)] {
    return to_expected(transport::read_token_file(path));
  };
}

bearer_token_middleware::bearer_token_middleware(bearer_token_config cfg)
  : st_(std::make_shared<state>(std::move(cfg))) {
  // nop
}

std::string_view bearer_token_middleware::name() const noexcept {
  return "bearer_token";
}

size_t bearer_token_middleware::fetches() const noexcept {
  return st_->fetch_count.load();
}

namespace {

using state_ptr = std::shared_ptr<bearer_token_middleware::state>;

void finish_fetch(const mw_context& ctx, const state_ptr& st,
                  caf::expected<std::string> res) {
  st->fetching = false;
  if (res) {
    auto tok = transport::trim_token(*res);
    auto why = transport::check_token(tok);
    if (!why.empty()) {
      res = source_failed("provider: " + why);
    } else {
      std::string t{tok};
      {
        std::lock_guard<std::mutex> guard{st->mtx};
        st->token = t;
        st->token_seq = ++st->next_seq;
      }
      st->have_fetch_time = true;
      st->fetched_at = ctx.self->clock().now();
      res = std::move(t);
    }
  }
  auto waiters = std::move(st->waiters);
  st->waiters.clear();
  for (auto& w : waiters)
    w(res);
}

void start_fetch(const mw_context& ctx, const state_ptr& st) {
  st->fetching = true;
  ++st->fetch_count;
  auto& cfg = st->cfg;
  auto target = cfg.provider;
  if (!target) {
    if (!st->fetcher)
      st->fetcher = ctx.self->system().spawn(token_fetcher, cfg.fetch,
                                             ctx.self->address());
    target = st->fetcher;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.timeout)
              .count();
  ctx.self->request(target, cfg.timeout, caf::get_atom::value)
    .then(
      [ctx, st](std::string& token) {
        finish_fetch(ctx, st, std::move(token));
      },
      [ctx, st, ms](caf::error& err) {
        if (err == caf::sec::request_timeout)
          err = source_failed("the token source did not answer within "
                              + std::to_string(ms) + " ms");
        else if (!is_mcp_error(err))
          err = source_failed("the token provider failed: " + render(err));
        finish_fetch(ctx, st, std::move(err));
      });
}

/// Calls `k` with a token: the current one if it is fresh (and not
/// `stale`), else a fetched one (one fetch for all who wait).
void with_token(const mw_context& ctx, const state_ptr& st, bool refresh,
                const std::string& stale, token_cont k) {
  auto cur = st->current();
  if (!cur.empty() && !st->fetching) {
    if (refresh) {
      if (cur != stale)
        return k(std::move(cur)); // someone refreshed it already
    } else {
      auto& iv = st->cfg.refresh_interval;
      auto now = ctx.self->clock().now();
      if (!st->have_fetch_time) {
        // Prefetched before the client ran: fresh from now on.
        st->have_fetch_time = true;
        st->fetched_at = now;
      }
      if (iv.count() <= 0 || now - st->fetched_at < iv)
        return k(std::move(cur));
    }
  }
  st->waiters.push_back(std::move(k));
  if (!st->fetching)
    start_fetch(ctx, st);
}

} // namespace

void bearer_token_middleware::call(const mw_context& ctx, mw_request req,
                                   mw_next next, mw_done done) {
  auto st = st_;
  with_token(ctx, st, false, {},
             [ctx, st, req = std::move(req), next,
              done](caf::expected<std::string> tok) mutable {
               if (!tok)
                 return done(mw_outcome{std::move(tok.error()), {}});
               auto retry_req = req;
               set_header(req.opts.headers, "Authorization", bearer(*tok));
               auto first = std::move(*tok);
               next(std::move(req), [ctx, st, retry_req, next, done,
                                     first](mw_outcome out) mutable {
                 if (!is_unauthorized(out))
                   return done(std::move(out));
                 // 401: the server refused the POST (never ran the call).
                 // One new token, one more try.
                 with_token(ctx, st, true, first,
                            [retry_req, next,
                             done](caf::expected<std::string> tok2) mutable {
                              if (!tok2)
                                return done(
                                  mw_outcome{std::move(tok2.error()), {}});
                              set_header(retry_req.opts.headers,
                                         "Authorization", bearer(*tok2));
                              next(std::move(retry_req),
                                   [done](mw_outcome out2) {
                                     if (is_unauthorized(out2))
                                       out2.value = caf::make_error(
                                         mcp_errc::unauthorized,
                                         "HTTP 401 after a token refresh");
                                     out2.meta["bearer_token"] = "refreshed";
                                     done(std::move(out2));
                                   });
                            });
               });
             });
}

namespace {

/// Fetches a token for the sessions on a thread of its own (a function
/// provider only): the first session's token at start, and a fresh one for
/// every later session (a reconnect), so a token rotated while no call ran
/// reaches the new SSE GET. A good token replaces the current one; sessions
/// that asked meanwhile get their headers when it ends.
void fetch_for_sessions(const state_ptr& st) {
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> guard{st->mtx};
    if (st->prefetching)
      return;
    st->prefetching = true;
    seq = ++st->next_seq;
  }
  ++st->fetch_count;
  std::weak_ptr<bearer_token_middleware::state> weak = st;
  auto fetch = st->cfg.fetch;
  transport::run_detached([weak, fetch, seq] {
    caf::expected<std::string> res{std::string{}};
    try {
      res = fetch();
    } catch (...) {
      res = source_failed("the token source threw");
    }
    auto sp = weak.lock();
    if (!sp)
      return;
    std::unique_lock<std::mutex> guard{sp->mtx};
    if (res) {
      auto tok = transport::trim_token(*res);
      if (transport::check_token(tok).empty() && seq > sp->token_seq) {
        sp->token = std::string{tok};
        sp->token_seq = seq;
      }
    }
    sp->prefetching = false;
    auto waiters = std::move(sp->header_waiters);
    sp->header_waiters.clear();
    auto token = sp->token;
    guard.unlock();
    // The sessions that asked meanwhile (their continuations only send a
    // message to the session).
    for (auto& w : waiters) {
      if (!token.empty())
        set_header(w.first, "Authorization", bearer(token));
      w.second(std::move(w.first));
    }
  });
}

} // namespace

void bearer_token_middleware::configure_session(session_config& cfg) {
  auto st = st_;
  bool fetch_fn = st->cfg.fetch && !st->cfg.provider;
  // The first session needs a token before any call asks for one: start
  // the fetch now.
  if (fetch_fn)
    fetch_for_sessions(st);
  // Each new session asks for its headers by message (the session's
  // thread never waits). With a function provider, every session after the
  // first fetches a fresh token first (reconnects are rare; the token may
  // have rotated while no call ran); otherwise the current token at once.
  auto prev = cfg.async_header_provider;
  std::weak_ptr<state> weak = st;
  auto sessions = std::make_shared<std::atomic<size_t>>(0);
  cfg.async_header_provider = [prev, weak, fetch_fn,
                               sessions](header_cont k) {
    auto ours = [weak, fetch_fn, sessions,
                 k = std::move(k)](transport::header_list hs) mutable {
      auto sp = weak.lock();
      if (!sp)
        return k(std::move(hs));
      if (fetch_fn && sessions->fetch_add(1) > 0)
        fetch_for_sessions(sp);
      std::unique_lock<std::mutex> guard{sp->mtx};
      if (sp->prefetching) {
        sp->header_waiters.emplace_back(std::move(hs), std::move(k));
        return;
      }
      auto token = sp->token;
      guard.unlock();
      if (!token.empty())
        set_header(hs, "Authorization", bearer(token));
      k(std::move(hs));
    };
    if (prev)
      prev(std::move(ours));
    else
      ours({});
  };
}

} // namespace caf_mcp
