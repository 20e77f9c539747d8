#pragma once

/// Fault injection for `caf-mcp demo-server --faults`: an `mcp_handler` that
/// breaks the transport on command (the HTTP control API `POST /_fault`,
/// `GET /_stats`) or on a schedule (`--fault-every`, `--fault-after`), and
/// counts what it saw and executed, for tests that must prove that no call
/// ran twice. The whole contract (fault names, parameters, JSON) is in
/// docs/fault-server.md.
///
/// Faults wait armed until something they apply to arrives:
/// - POST faults (`no_answer`, `post_404`, `post_429`, `post_503`,
///   `post_drop`) take the next POST to a known session;
/// - stream faults (`drop_stream`, `stall`, `malformed_sse`,
///   `malformed_json`, `oversized_event`, `unknown_id`,
///   `duplicate_response`) break the response event of the next `tools/call`
///   (the tool still runs);
/// - Streamable HTTP faults (`session_gone`, `cut_response`,
///   `json_instead_of_stream`, `stream_instead_of_json`) take the next POST
///   to a Streamable HTTP session they apply to;
/// - `new_session` takes the next `tools/call` (which does not run): every
///   stream and held POST is closed and every session id forgotten.
///
/// Threads: `on_post` and `on_control` run on any io thread, `call_tool` on
/// the session's executor. The armed list is behind a mutex; the hot path
/// with nothing armed costs a few relaxed atomic operations (counters, and
/// one load of the armed count).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcp_handler.hpp"

namespace caf_mcp::app::demo {

/// Every fault the server can inject.
enum class fault_kind : uint8_t {
  none,
  no_answer,
  post_404,
  post_429,
  post_503,
  post_drop,
  drop_stream,
  stall,
  malformed_sse,
  malformed_json,
  oversized_event,
  unknown_id,
  duplicate_response,
  new_session,
  // Streamable HTTP only (taken by the next POST to a Streamable HTTP
  // session that they apply to).
  session_gone,
  cut_response,
  json_instead_of_stream,
  stream_instead_of_json,
};

/// The number of `fault_kind` values.
constexpr size_t fault_kind_count = 18;

/// The name of a fault as used in the API (`post_503`, ...).
std::string_view to_string(fault_kind x) noexcept;

/// Parses a fault name; false for an unknown one.
bool from_string(std::string_view str, fault_kind& x) noexcept;

/// True for faults that replace the answer to a POST.
bool is_post_fault(fault_kind x) noexcept;

/// True for the faults of the Streamable HTTP transport (`session_gone`,
/// `cut_response`, `json_instead_of_stream`, `stream_instead_of_json`).
bool is_streamable_fault(fault_kind x) noexcept;

/// One armed fault and its parameters.
struct fault_spec {
  fault_kind kind = fault_kind::none;

  /// How many times it applies; -1 = until cleared.
  int64_t count = 1;

  /// `post_429`, `post_503`: the `Retry-After` seconds; -1 = no header
  /// (`post_429` then sends 1).
  int64_t retry_after = -1;

  /// `stall`: how long the stream stops, in ms; 0 = forever.
  int64_t ms = 0;

  /// `oversized_event`: the event is larger than this many bytes.
  uint64_t bytes = 2 * 1024 * 1024;

  /// `malformed_sse`: `utf8` (invalid UTF-8 in the data line) or
  /// `not_jsonrpc` (valid JSON that is no JSON-RPC message).
  std::string variant = "utf8";

  /// `unknown_id`: the id of the unasked response, as JSON text.
  std::string id_json = "987654321";

  /// `post_404`, `post_429`, `post_503`: the body text (empty = default).
  std::string body;

  /// POST faults: also run the POST's messages (the client sees a failure
  /// but the request ran).
  bool process = false;

  /// POST faults and Streamable HTTP faults: only take a POST that carries
  /// a `tools/call`.
  bool calls_only = false;
};

/// Reads a fault spec from the JSON object of `POST /_fault`. Returns an
/// error text, or an empty string on success. Also reads `now` into
/// `now` (only meaningful for `new_session`).
std::string parse_fault_json(std::string_view text, fault_spec& out,
                             bool& now);

/// Reads `FAULT[:PARAM]` or a JSON object (as for `POST /_fault`) from the
/// command line. PARAM is the fault's main parameter: `retry_after` for
/// `post_429`/`post_503`, `ms` for `stall`, `bytes` for `oversized_event`,
/// `variant` for `malformed_sse`, `id` for `unknown_id`, `body` for
/// `post_404`. Returns an error text, or an empty string on success.
std::string parse_fault_arg(std::string_view text, fault_spec& out);

/// Appends the spec as a JSON object (only the parameters that apply).
void append_fault_json(std::string& out, const fault_spec& spec);

/// Settings of the fault server.
struct fault_options {
  /// `--fault-every N:FAULT`: arm FAULT once on every Nth `tools/call`
  /// seen in a POST (a POST fault then takes that very POST).
  std::vector<std::pair<uint64_t, fault_spec>> every;

  /// `--fault-after MS:FAULT`: arm FAULT MS milliseconds after start.
  std::vector<std::pair<uint64_t, fault_spec>> after;

  /// `--exec-log FILE`: one line per execution of `record` (its key).
  std::string exec_log;
};

/// The demo server plus fault injection, the `record` tool and the control
/// API.
class fault_handler : public mcp_handler {
public:
  /// Throws `std::runtime_error` if the exec log cannot be opened.
  fault_handler(handler_options opts, fault_options fopts);

  ~fault_handler() override;

  std::optional<http_reply> on_post(const post_info& info) const override;

  streamable_fault on_streamable_post(const post_info& info, size_t requests,
                                      bool json) const override;

  std::optional<http_reply> on_control(server_control& srv,
                                       const control_request& req)
    const override;

  void call_tool(session_context& ctx, const request_id& id,
                 std::string_view name, const boost::json::object& args,
                 const std::optional<progress_token>& progress)
    const override;

  /// Arms a fault (replacing an armed one of the same kind).
  void arm(const fault_spec& spec) const;

  /// Disarms all faults; returns how many were armed.
  size_t clear() const;

  /// Appends the `GET /_stats` JSON.
  void append_stats(std::string& out, const server_control& srv,
                    bool with_records) const;

  /// Counts one applied fault (and logs it if verbose).
  void applied(fault_kind kind) const;

private:
  /// Takes one use of the first armed fault that `pred` accepts.
  template <class Pred>
  std::optional<fault_spec> take(Pred pred) const;

  void arm_locked(const fault_spec& spec) const;

  void arm_due_timed() const;

  void append_armed_locked(std::string& out) const;

  void run_tool(session_context& ctx, const request_id& id,
                std::string_view name, const boost::json::object& args,
                const std::optional<progress_token>& progress) const;

  void record(session_context& ctx, const request_id& id,
              const boost::json::object& args) const;

  http_reply post_reply(const fault_spec& spec) const;

  fault_options fopts_;
  std::chrono::steady_clock::time_point start_;
  int exec_fd_ = -1;

  // Counters (relaxed atomics: they are statistics, not synchronization).
  mutable std::atomic<uint64_t> posts_{0};
  mutable std::atomic<uint64_t> calls_{0};
  mutable std::atomic<uint64_t> executions_{0};
  mutable std::array<std::atomic<uint64_t>, fault_kind_count> applied_{};

  // Armed faults.
  mutable std::mutex mtx_;
  mutable std::vector<fault_spec> armed_;
  /// `armed_.size()`, readable without the lock (the fast path).
  mutable std::atomic<size_t> armed_count_{0};
  /// Which `--fault-after` rules fired already.
  mutable std::vector<bool> timed_done_;
  /// True while a `--fault-after` rule has not fired.
  mutable std::atomic<bool> timed_pending_{false};

  // Executions of `record`.
  mutable std::mutex rec_mtx_;
  mutable std::unordered_map<std::string, uint64_t> records_;
  mutable uint64_t record_executions_ = 0;
  mutable uint64_t duplicate_keys_ = 0;
};

} // namespace caf_mcp::app::demo
