#include "caf_mcp/actors/builtin_middlewares.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/actors/recovery.hpp"
#include "caf_mcp/actors/timer.hpp"
#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/transport/log.hpp"

namespace caf_mcp {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

} // namespace

// -- logging ------------------------------------------------------------------

logging_middleware::logging_middleware(logging_middleware_config cfg)
  : cfg_(cfg) {
  // nop
}

void logging_middleware::call(const mw_context&, mw_request req,
                              mw_next next, mw_done done) {
  auto t0 = clock_type::now();
  // "demo/echo" for a call, "demo tools/list" for anything else.
  std::string label = req.server;
  if (is_call(req)) {
    label += '/';
    label += req.tool;
  } else {
    label += ' ';
    label += req.method;
  }
  if (log::enabled(log::level::info)) {
    std::string line = is_call(req) ? "call " : "request ";
    line += label;
    if (cfg_.arguments && is_call(req)) {
      // Only when asked for (they may hold secrets), and truncated.
      std::string args = req.args;
      if (args.size() > cfg_.max_chars) {
        args.resize(cfg_.max_chars);
        args += "...";
      }
      line += " args=";
      line += args;
    }
    log::write(log::level::info, "middleware", line);
  }
  next(std::move(req), [t0, label = std::move(label),
                        done = std::move(done)](mw_outcome out) {
    auto ms = seconds_since(t0) * 1e3;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", ms);
    out.meta["logging.ms"] = buf;
    if (log::enabled(log::level::info)) {
      std::string line = label;
      if (!out.value) {
        line += " failed: ";
        // Errors of our category carry no secrets (architecture.md).
        line += render(out.value.error());
      } else if (out.value->is_error) {
        line += " isError";
      } else {
        line += " ok";
      }
      line += " in ";
      line += buf;
      line += " ms";
      log::write(log::level::info, "middleware", line);
    }
    done(std::move(out));
  });
}

// -- retry --------------------------------------------------------------------

struct retry_middleware::state {
  retry_middleware_config cfg;
  std::atomic<uint64_t> seed{0};
  std::atomic<uint64_t> retries{0};
};

namespace {

/// One call through the retry middleware: its attempts and their waits.
struct retry_run : std::enable_shared_from_this<retry_run> {
  std::shared_ptr<retry_middleware::state> st;
  mw_context ctx;
  mw_request req;
  mw_next next;
  mw_done done;
  transport::backoff delays;
  /// Annotations or the caller allow a second run.
  bool may_run_twice = false;
  size_t attempt = 0;

  retry_run(std::shared_ptr<retry_middleware::state> sp, mw_context c,
            mw_request r, mw_next n, mw_done d, transport::backoff b)
    : st(std::move(sp)),
      ctx(std::move(c)),
      req(std::move(r)),
      next(std::move(n)),
      done(std::move(d)),
      delays(std::move(b)) {
    // nop
  }

  void go() {
    ++attempt;
    next(req, [self = shared_from_this()](mw_outcome out) {
      self->on_outcome(std::move(out));
    });
  }

  bool allowed(const caf::error& err) const {
    switch (classify_for_retry(err)) {
      case retry_safety::never_ran:
        return true;
      case retry_safety::maybe_ran:
        return may_run_twice;
      default:
        return false;
    }
  }

  void on_outcome(mw_outcome out) {
    if (!out.value && attempt < st->cfg.max_attempts && ctx.self != nullptr
        && allowed(out.value.error())) {
      auto& err = out.value.error();
      caf::timespan wait{delays.next_delay().value_or(st->cfg.backoff.cap)};
      if (auto ra = retry_after(err, std::chrono::system_clock::now()))
        wait = std::max(wait, caf::timespan{*ra});
      if (wait <= st->cfg.max_wait) {
        ++st->retries;
        if (log::enabled(log::level::info)) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.0f",
                        std::chrono::duration<double, std::milli>(wait)
                          .count());
          std::string line = "retry ";
          line += req.server;
          line += '/';
          line += req.tool;
          line += " (attempt " + std::to_string(attempt + 1) + " of "
                  + std::to_string(st->cfg.max_attempts) + ") in ";
          line += buf;
          line += " ms after ";
          line += render(err);
          log::write(log::level::info, "middleware", line);
        }
        run_after(ctx.self, wait, [self = shared_from_this()] { self->go(); });
        return;
      }
    }
    if (attempt > 1)
      out.meta["retry.attempts"] = std::to_string(attempt);
    done(std::move(out));
  }
};

} // namespace

retry_middleware::retry_middleware(retry_middleware_config cfg)
  : st_(std::make_shared<state>()) {
  if (cfg.max_attempts == 0)
    throw std::invalid_argument("retry: max_attempts must be at least 1");
  cfg.backoff.max_attempts = 0;
  auto problem = transport::validate(cfg.backoff);
  if (!problem.empty())
    throw std::invalid_argument("retry: " + problem);
  std::sort(cfg.tools.begin(), cfg.tools.end());
  st_->cfg = std::move(cfg);
  st_->seed = static_cast<uint64_t>(
    clock_type::now().time_since_epoch().count());
}

void retry_middleware::call(const mw_context& ctx, mw_request req,
                            mw_next next, mw_done done) {
  auto& cfg = st_->cfg;
  if (cfg.max_attempts <= 1
      || (!cfg.tools.empty()
          && !std::binary_search(cfg.tools.begin(), cfg.tools.end(),
                                 req.tool))) {
    next(std::move(req), std::move(done));
    return;
  }
  transport::backoff b{cfg.backoff,
                       transport::make_random_source(
                         st_->seed.fetch_add(0x9e3779b97f4a7c15ULL))};
  auto run = std::make_shared<retry_run>(st_, ctx, std::move(req),
                                         std::move(next), std::move(done),
                                         std::move(b));
  if (run->req.opts.retryable || !is_call(run->req)) {
    run->may_run_twice = true;
  } else if (auto t = find_tool(ctx, run->req.tool)) {
    run->may_run_twice = is_idempotent_tool(t->annotations);
  }
  run->go();
}

uint64_t retry_middleware::retries() const noexcept {
  return st_->retries.load();
}

// -- metrics ------------------------------------------------------------------

struct metrics_middleware::state {
  std::vector<double> bounds;
  mutable std::mutex mtx;
  std::map<std::string, tool_call_metrics, std::less<>> tools;
  totals_t totals;
};

metrics_middleware::metrics_middleware(std::vector<double> bounds)
  : st_(std::make_shared<state>()) {
  std::sort(bounds.begin(), bounds.end());
  st_->bounds = std::move(bounds);
}

const std::vector<double>& metrics_middleware::bounds() const noexcept {
  return st_->bounds;
}

namespace {

/// One ended call into `st` (see metrics_middleware::record).
void record_call(metrics_middleware::state& st, std::string_view tool,
                 double seconds, const caf::expected<call_tool_result>& out) {
  auto& bounds = st.bounds;
  auto idx = static_cast<size_t>(
    std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  std::lock_guard<std::mutex> guard{st.mtx};
  auto i = st.tools.find(tool);
  if (i == st.tools.end()) {
    i = st.tools.emplace(std::string{tool}, tool_call_metrics{}).first;
    i->second.buckets.assign(bounds.size() + 1, 0);
  }
  auto& m = i->second;
  auto& t = st.totals;
  if (!out) {
    ++m.failed;
    ++t.failed;
    ++m.errors[error_code_name(out.error())];
  } else if (out->is_error) {
    ++m.is_error;
    ++t.is_error;
  } else {
    ++m.ok;
    ++t.ok;
  }
  ++m.buckets[idx];
  m.sum_s += seconds;
}

} // namespace

void metrics_middleware::call(const mw_context&, mw_request req,
                              mw_next next, mw_done done) {
  if (!is_call(req))
    return next(std::move(req), std::move(done));
  auto t0 = clock_type::now();
  auto tool = req.tool;
  next(std::move(req), [t0, sp = st_, tool = std::move(tool),
                        done = std::move(done)](mw_outcome out) {
    record_call(*sp, tool, seconds_since(t0), out.value);
    done(std::move(out));
  });
}

void metrics_middleware::record(std::string_view tool, double seconds,
                                const caf::expected<call_tool_result>& out) {
  record_call(*st_, tool, seconds, out);
}

std::map<std::string, tool_call_metrics> metrics_middleware::snapshot() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return {st_->tools.begin(), st_->tools.end()};
}

metrics_middleware::totals_t metrics_middleware::totals() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->totals;
}

} // namespace caf_mcp
