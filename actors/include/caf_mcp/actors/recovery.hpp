#pragma once

/// The decisions of supervision, as pure functions (no actors, no clocks):
/// which failures restart a session and which give up, what happens to a
/// call whose session failed it, how long a server asked us to wait, and
/// which pool member gets the next call. Unit-tested alone
/// (tests/unit/recovery.cpp); the supervisor and the pool only apply them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caf/error.hpp"

namespace caf_mcp {

/// What a supervisor does after its session ended or failed to start.
enum class loss_action : uint8_t {
  /// Start a new session after the backoff delay.
  restart,
  /// Stop trying: retrying cannot fix it (bad URL, another origin, an
  /// unsupported protocol version, 401/403 unless configured otherwise).
  give_up,
};

/// Decides what to do after a session ended with `reason`. Errors of other
/// categories (CAF's own) restart.
loss_action on_session_end(const caf::error& reason,
                           bool retry_auth_failures) noexcept;

/// What happens to one call that its session answered with an error.
enum class call_fate : uint8_t {
  /// The error is the call's outcome (tool errors, timeouts, JSON-RPC
  /// errors, bad results): give it to the caller.
  deliver,
  /// The server never executed the call (its POST could not connect, was
  /// answered 404, 429 or 503, or went out before the session was ready):
  /// send it again later, whether or not it is marked retryable.
  resend_later,
  /// The session is gone with the call possibly executed
  /// (`connection_lost`): the supervisor settles every call of that session
  /// (retryable ones once more on the next session, the rest fail).
  session_lost,
};

call_fate classify_call_error(const caf::error& err) noexcept;

/// How safe it is to send a call again after it failed with an error,
/// from the error alone (the `retry` middleware's rule).
enum class retry_safety : uint8_t {
  /// Never: the error repeats (bad input, unknown tool, JSON-RPC error,
  /// auth, limits, a middleware's failure) or the caller stopped it
  /// (cancelled, closed).
  never,
  /// The server provably never ran the call: its POST could not connect or
  /// was refused (404, 429, 503), the session was not ready, or a bound
  /// (queue_full, queue_timeout) refused it before it was sent.
  never_ran,
  /// The server may have run it (connection_lost, outcome_unknown,
  /// timeout): safe only for idempotent tools or calls the caller marked
  /// retryable.
  maybe_ran,
};

retry_safety classify_for_retry(const caf::error& err) noexcept;

/// True if `annotations` (a tool's annotations as JSON text) say that
/// calling the tool twice with the same arguments does no more than once:
/// `"idempotentHint": true`, or `"readOnlyHint": true` (no side effects).
bool is_idempotent_tool(const std::string& annotations) noexcept;

/// True if `err` says the session that answered it can no longer be used
/// (so the supervisor should restart rather than wait for the down message).
bool ends_session(const caf::error& err) noexcept;

/// The floor for the next reconnect delay an error carries: the larger of
/// the HTTP Retry-After of a 429/503 (the raw header, context element 1,
/// relative to `now`) and the SSE `retry` field the stream sent before it
/// ended (context element 2, "sse_retry_ms=N").
std::optional<std::chrono::nanoseconds>
retry_after(const caf::error& err, std::chrono::system_clock::time_point now);

/// Load of one pool member as the router sees it.
struct member_load {
  bool ready = false;
  uint64_t in_flight = 0;
};

/// Picks the ready member with the fewest calls in flight; among equals, the
/// first at or after `cursor` (round robin), and advances `cursor` past it.
/// If no member is ready, picks the least loaded of all (the member queues
/// the call until it is ready). Returns `members.size()` if empty.
size_t pick_member(const std::vector<member_load>& members, size_t& cursor);

} // namespace caf_mcp
