#include "caf_mcp/actors/builtin_middlewares.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

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
  if (log::enabled(log::level::info)) {
    std::string line = "call ";
    line += req.server;
    line += '/';
    line += req.tool;
    if (cfg_.arguments) {
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
  auto server = req.server;
  auto tool = req.tool;
  next(std::move(req), [t0, server = std::move(server),
                        tool = std::move(tool),
                        done = std::move(done)](mw_outcome out) {
    auto ms = seconds_since(t0) * 1e3;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", ms);
    out.meta["logging.ms"] = buf;
    if (log::enabled(log::level::info)) {
      std::string line = server;
      line += '/';
      line += tool;
      if (!out.value) {
        line += " failed: ";
        // Errors of our category carry no secrets (architecture.md).
        line += to_string(out.value.error());
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

// -- metrics ------------------------------------------------------------------

struct metrics_middleware::state {
  std::vector<double> bounds;
  mutable std::mutex mtx;
  std::map<std::string, tool_call_metrics, std::less<>> tools;
};

metrics_middleware::metrics_middleware(std::vector<double> bounds)
  : st_(std::make_shared<state>()) {
  std::sort(bounds.begin(), bounds.end());
  st_->bounds = std::move(bounds);
}

const std::vector<double>& metrics_middleware::bounds() const noexcept {
  return st_->bounds;
}

void metrics_middleware::call(const mw_context&, mw_request req,
                              mw_next next, mw_done done) {
  auto t0 = clock_type::now();
  auto tool = req.tool;
  next(std::move(req), [t0, sp = st_, tool = std::move(tool),
                        done = std::move(done)](mw_outcome out) {
    auto s = seconds_since(t0);
    auto& bounds = sp->bounds;
    auto idx = static_cast<size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), s) - bounds.begin());
    {
      std::lock_guard<std::mutex> guard{sp->mtx};
      auto i = sp->tools.find(tool);
      if (i == sp->tools.end()) {
        i = sp->tools.emplace(tool, tool_call_metrics{}).first;
        i->second.buckets.assign(bounds.size() + 1, 0);
      }
      auto& m = i->second;
      if (!out.value)
        ++m.failed;
      else if (out.value->is_error)
        ++m.is_error;
      else
        ++m.ok;
      ++m.buckets[idx];
      m.sum_s += s;
    }
    done(std::move(out));
  });
}

std::map<std::string, tool_call_metrics> metrics_middleware::snapshot() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return {st_->tools.begin(), st_->tools.end()};
}

} // namespace caf_mcp
