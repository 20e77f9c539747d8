#pragma once

/// The `logging`, `retry` and `metrics` middlewares (issue 14). They run
/// inside the client actor; `metrics_middleware::snapshot` and
/// `retry_middleware::retries` may be read from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "caf/timespan.hpp"

#include "caf_mcp/actors/middleware.hpp"
#include "caf_mcp/transport/backoff.hpp"

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

struct retry_middleware_config {
  /// Attempts in all, the first one included (>= 1; 1 = never retry).
  size_t max_attempts = 3;
  /// Delays between attempts: base, factor, cap and jitter are used;
  /// `max_attempts` and `stable_period` of this struct are not (the
  /// middleware counts attempts itself).
  transport::backoff_config backoff = default_backoff();
  /// A Retry-After (429/503) longer than this ends the retries: the error
  /// goes to the caller at once.
  caf::timespan max_wait = std::chrono::seconds{30};
  /// Only these tools are retried (empty: every tool).
  std::vector<std::string> tools;

  static transport::backoff_config default_backoff() {
    transport::backoff_config b;
    b.base = std::chrono::milliseconds{200};
    b.factor = 2.0;
    b.cap = std::chrono::seconds{5};
    b.jitter = transport::jitter_mode::equal;
    return b;
  }
};

/// `retry`: sends a failed call again, but only when that is safe
/// (recovery.hpp, `classify_for_retry`):
/// - the server provably never ran it (connect failed, POST answered 404,
///   429 or 503, session not ready, refused by a bound): any tool;
/// - the server may have run it (`connection_lost`, `outcome_unknown`,
///   `timeout`): only tools whose annotations say `idempotentHint: true`
///   or `readOnlyHint: true`, or calls the caller marked
///   `call_options::retryable`;
/// - anything else (isError results, JSON-RPC errors, bad input, auth,
///   limits) is never retried.
/// Waits between attempts follow the backoff (a server's Retry-After is a
/// floor), on a timer of the client actor: nothing blocks. Each attempt
/// has the call's own timeout. After `max_attempts` the last outcome goes
/// to the caller; `meta["retry.attempts"]` says how many were made when
/// more than one. The supervisor below already resends never-run calls
/// within the call's deadline; this middleware covers what reaches the
/// caller after that (a Retry-After beyond the deadline, a lost response
/// of an idempotent tool).
class retry_middleware final : public middleware {
public:
  /// Throws std::invalid_argument for `max_attempts` 0 or a bad backoff.
  explicit retry_middleware(retry_middleware_config cfg = {});

  std::string_view name() const noexcept override {
    return "retry";
  }

  void call(const mw_context& ctx, mw_request req, mw_next next,
            mw_done done) override;

  /// Retries made so far (attempts after the first; any thread).
  uint64_t retries() const noexcept;

  struct state;

private:
  std::shared_ptr<state> st_;
};

/// Per-tool counters of the `metrics` middleware.
struct tool_call_metrics {
  uint64_t ok = 0;
  /// Answered with `isError: true`.
  uint64_t is_error = 0;
  /// Failed with an error (no result).
  uint64_t failed = 0;
  /// The failures by code name (`error_code_name`: "timeout", ...).
  std::map<std::string, uint64_t> errors;
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

  /// Counts one ended call of `tool` that took `seconds`: `failed` (by
  /// error code), `is_error` or `ok` (thread-safe). What `call` does when a
  /// call comes back; also for an owner that measures its calls itself and
  /// keeps this middleware out of the chain (the node's registry does,
  /// docs/node.md "Call metrics").
  void record(std::string_view tool, double seconds,
              const caf::expected<call_tool_result>& outcome);

  /// A copy of all counters by tool name (thread-safe).
  std::map<std::string, tool_call_metrics> snapshot() const;

  struct totals_t {
    uint64_t ok = 0;
    uint64_t is_error = 0;
    uint64_t failed = 0;
  };

  /// The counters of all tools summed (thread-safe, no copy of the map:
  /// cheap enough for every summary of a server).
  totals_t totals() const;

  struct state;

private:
  std::shared_ptr<state> st_;
};

} // namespace caf_mcp
