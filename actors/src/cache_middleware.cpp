#include "caf_mcp/actors/cache_middleware.hpp"

#include <unordered_map>
#include <utility>

#include "caf_mcp/messages/canonical_json.hpp"

namespace caf_mcp {

struct cache_middleware::state {
  state(result_cache_config cfg, clock_fn fn)
    : cache(std::move(cfg)), clock(std::move(fn)) {
    if (!clock)
      clock = [] { return result_cache::clock_type::now(); };
  }
  /// Guards `cache` for `stats()` readers on other threads; the client
  /// actor is the only writer.
  mutable std::mutex mtx;
  result_cache cache;
  /// Calls waiting for an identical call in flight.
  std::unordered_map<result_cache::waiter_id, mw_done> waiters;
  result_cache::waiter_id next_waiter = 1;
  clock_fn clock;
};

namespace {

mw_outcome tagged(const mw_outcome& out, const char* how) {
  mw_outcome copy;
  copy.value = out.value;
  copy.meta = out.meta;
  copy.meta["cache"] = how;
  return copy;
}

} // namespace

cache_middleware::cache_middleware(result_cache_config cfg, clock_fn clock)
  : st_(std::make_shared<state>(std::move(cfg), std::move(clock))) {
  // nop
}

void cache_middleware::call(const mw_context&, mw_request req, mw_next next,
                            mw_done done) {
  if (!is_call(req))
    return next(std::move(req), std::move(done));
  auto& st = *st_;
  auto bypass = [&] {
    next(std::move(req), [done](mw_outcome out) {
      out.meta["cache"] = "bypass";
      done(std::move(out));
    });
  };
  if (!st.cache.caches(req.tool))
    return bypass();
  std::string args;
  if (auto err = canonical_json_text(req.args.empty() ? "{}" : req.args,
                                     args))
    return bypass();
  auto now = st.clock();
  result_cache::result_ptr hit;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    hit = st.cache.lookup(req.server, req.tool, args, now);
  }
  if (hit) {
    mw_outcome out{*hit, {}};
    out.meta["cache"] = "hit";
    return done(std::move(out));
  }
  if (req.opts.listener)
    return bypass(); // progress is the caller's own: no sharing, no store
  auto id = st.next_waiter++;
  flight_role role;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    role = st.cache.begin(req.server, req.tool, args, id);
  }
  switch (role) {
    case flight_role::joined:
      st.waiters.emplace(id, std::move(done));
      return;
    case flight_role::uncached:
      return bypass();
    case flight_role::leader:
      break;
  }
  auto server = req.server;
  auto tool = req.tool;
  next(std::move(req), [sp = st_, server, tool, args = std::move(args),
                        done](mw_outcome out) {
    result_cache::result_ptr res;
    if (out.value)
      res = std::make_shared<const call_tool_result>(*out.value);
    std::vector<result_cache::waiter_id> joined;
    {
      std::lock_guard<std::mutex> guard{sp->mtx};
      joined = sp->cache.finish(server, tool, args, res, false,
                                sp->clock());
    }
    for (auto w : joined) {
      auto i = sp->waiters.find(w);
      if (i == sp->waiters.end())
        continue;
      auto waiter = std::move(i->second);
      sp->waiters.erase(i);
      waiter(tagged(out, "shared"));
    }
    out.meta["cache"] = "miss";
    done(std::move(out));
  });
}

void cache_middleware::on_tools_changed(std::string_view server) {
  std::lock_guard<std::mutex> guard{st_->mtx};
  st_->cache.clear_server(server);
}

result_cache_stats cache_middleware::stats(std::string_view server) const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->cache.stats(server);
}

} // namespace caf_mcp
