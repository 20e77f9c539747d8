#pragma once

/// The `logging` and `metrics` middlewares (issue 14). Both run inside the
/// client actor (not thread-safe themselves); `metrics_middleware::snapshot`
/// may be read from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "caf_mcp/actors/middleware.hpp"

namespace caf_mcp {

struct logging_middleware_config {
  /// Log the call's arguments (truncated to `max_chars`). Off by default:
  /// arguments may hold secrets.
  bool arguments = false;
  size_t max_chars = 200;
};

/// `logging`: one info line per request (`call server/tool`) and one per
/// outcome (`ok|isError|failed ... in N ms`) through `CAF_MCP_LOG` under
/// component "middleware". Logs server name and tool, never the URL, header
/// values or per-call headers; arguments only if `arguments`. Attaches
/// `meta["logging.ms"]` (duration in milliseconds, 3 decimals).
class logging_middleware final : public middleware {
public:
  explicit logging_middleware(logging_middleware_config cfg = {});

  std::string_view name() const noexcept override {
    return "logging";
  }

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

private:
  logging_middleware_config cfg_;
};

/// Per-tool counters of the `metrics` middleware.
struct tool_call_metrics {
  uint64_t ok = 0;
  /// Answered with `isError: true`.
  uint64_t is_error = 0;
  /// Failed with an error (no result).
  uint64_t failed = 0;
  /// Observations per latency bucket (not cumulative), one more than the
  /// bounds: the last is `+Inf`.
  std::vector<uint64_t> buckets;
  /// Sum of latencies in seconds.
  double sum_s = 0;
};

/// `metrics`: per tool calls (ok / isError / failed) and latency in a
/// histogram with the given bucket bounds (seconds, ascending; the node
/// passes its `duration_buckets()`).
class metrics_middleware final : public middleware {
public:
  explicit metrics_middleware(std::vector<double> bounds);

  std::string_view name() const noexcept override {
    return "metrics";
  }

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

  const std::vector<double>& bounds() const noexcept;

  /// A copy of all counters by tool name (thread-safe).
  std::map<std::string, tool_call_metrics> snapshot() const;

  struct state;

private:
  std::shared_ptr<state> st_;
};

} // namespace caf_mcp
