#pragma once

/// The MCP side of `caf-mcp demo-server`: what the server answers to each
/// JSON-RPC message, independent of HTTP. The HTTP layer (http_server.cpp)
/// decodes POST bodies and hands every message to `mcp_handler::on_message`
/// on the executor of the session's SSE stream; the handler answers through
/// the `session_context` of that stream.
///
/// The hook point: every step is a virtual member function. The normal
/// behaviour lives in `mcp_handler`; a fault-injection server derives from it
/// and overrides `on_post` (answer a POST with another HTTP status, or not at
/// all), `on_request` (delay, drop, answer with garbage via `send_raw`, close
/// the stream, ...) or `call_tool`, and calls the base class for everything
/// it leaves alone. One handler serves all sessions on all io threads, so it
/// must not change after construction; per-session state lives in
/// `session_state`, which is only touched on the session's executor.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp::app::demo {

/// A running `slow` call (defined in mcp_handler.cpp).
struct pending_call;

/// What the server remembers about one MCP session (one SSE stream).
struct session_state {
  /// True once `initialize` was answered.
  bool initialized = false;

  /// True once `notifications/initialized` arrived.
  bool client_initialized = false;

  /// The negotiated revision (empty before `initialize`).
  std::string protocol_version;

  /// The level set by `logging/setLevel` (nothing is logged yet).
  log_level level = log_level::info;

  /// Calls that answer later (`slow`), by request id, for cancellation.
  std::unordered_map<request_id, std::shared_ptr<pending_call>> pending;

  /// Reusable scratch space for result JSON (no allocation per call).
  std::string scratch;
};

/// One SSE stream as the handler sees it. Implemented by the HTTP layer;
/// all member functions must be called on `executor()`.
class session_context : public std::enable_shared_from_this<session_context> {
public:
  virtual ~session_context();

  /// The session id (the `sessionId` of the endpoint URL).
  virtual std::string_view id() const noexcept = 0;

  /// The executor that serializes everything for this session (use it for
  /// timers).
  virtual const boost::asio::any_io_executor& executor() const noexcept = 0;

  /// The MCP state of this session.
  virtual session_state& state() noexcept = 0;

  /// False once the stream is closed (sending then does nothing).
  virtual bool is_open() const noexcept = 0;

  /// Queues raw bytes on the stream, as they are (a fault server uses this
  /// for broken framing). Pending bytes go out in as few writes as possible.
  virtual void send_raw(std::string_view bytes) = 0;

  /// Closes the stream; the session ends (its id becomes unknown).
  virtual void close() = 0;

  /// Queues one `event: message` whose data is the JSON text appended to
  /// the string by `write_json` (compact JSON: no line breaks).
  template <class F>
  void send(F&& write_json) {
    auto& buf = begin_message();
    write_json(buf);
    end_message();
  }

protected:
  /// Starts an `event: message` in the output buffer and returns it.
  virtual std::string& begin_message() = 0;

  /// Ends the event started by `begin_message` and schedules a write.
  virtual void end_message() = 0;
};

/// An HTTP answer that replaces the normal processing of a POST.
struct http_reply {
  unsigned status = 500;
  std::string body;
};

/// What a POST looks like to `on_post`.
struct post_info {
  std::string_view session_id;
  std::string_view body;
};

/// Settings of the MCP behaviour.
struct handler_options {
  /// Tools per `tools/list` page; 0 = all in one page.
  size_t page_size = 0;

  /// One line per request on stderr.
  bool verbose = false;
};

/// The demo server's MCP behaviour: lifecycle, ping, logging, tools
/// (`echo`, `add`, `slow`, `fail`) with paging and progress.
class mcp_handler {
public:
  explicit mcp_handler(handler_options opts);

  virtual ~mcp_handler();

  mcp_handler(const mcp_handler&) = delete;
  mcp_handler& operator=(const mcp_handler&) = delete;

  const handler_options& options() const noexcept {
    return opts_;
  }

  /// Called for each POST to a known session after its body was read and
  /// before it is decoded. Returning a reply sends it instead of the normal
  /// 400/202 and skips the body. Default: nullopt (proceed). May run on any
  /// io thread.
  virtual std::optional<http_reply> on_post(const post_info& info) const;

  /// Called once for each decoded message of a POST (batch elements one by
  /// one). Default: dispatch by kind to `on_request` / `on_notification`;
  /// responses from the client are ignored (this server sends no requests).
  virtual void on_message(session_context& ctx, jsonrpc_message&& msg) const;

  /// Called for each invalid element of a batch: answers -32600 with the
  /// element's id, if readable.
  virtual void on_invalid(session_context& ctx, const decode_error& err) const;

  /// Answers one request by method; unknown methods get -32601.
  virtual void on_request(session_context& ctx, request&& req) const;

  /// Handles `notifications/initialized` and `notifications/cancelled`;
  /// ignores others.
  virtual void on_notification(session_context& ctx,
                               notification&& msg) const;

  /// Runs one tool for `tools/call`. `args` is the arguments object (an
  /// empty object if absent); `progress` the `_meta.progressToken`, if any.
  virtual void call_tool(session_context& ctx, const request_id& id,
                         std::string_view name,
                         const boost::json::object& args,
                         const std::optional<progress_token>& progress) const;

  /// Called when the stream of a session closed: cancels its pending calls.
  virtual void on_close(session_context& ctx) const;

  // -- answering --------------------------------------------------------------

  /// Sends a response with `result_json` as result.
  static void reply(session_context& ctx, const request_id& id,
                    std::string_view result_json);

  /// Sends an error response.
  static void reply_error(session_context& ctx,
                          const std::optional<request_id>& id, int64_t code,
                          std::string_view message);

  /// Sends a tool result with one text block.
  static void reply_text(session_context& ctx, const request_id& id,
                         std::string_view text, bool is_error = false);

protected:
  void initialize(session_context& ctx, const request& req) const;

  void list_tools(session_context& ctx, const request& req) const;

  void call(session_context& ctx, const request& req) const;

  void set_level(session_context& ctx, const request& req) const;

  void cancel(session_context& ctx, const notification& msg) const;

  void slow(session_context& ctx, const request_id& id, double ms,
            const std::optional<progress_token>& progress) const;

private:
  handler_options opts_;

  /// The JSON text of each tool, in `tools/list` order.
  std::vector<std::string> tools_json_;

  /// The whole `tools/list` result when there is one page.
  std::string all_tools_json_;
};

/// Appends `x` the way JavaScript's `String(x)` writes numbers: `3`, `2.5`,
/// `1e+21`, `1e-7`, `NaN`, `Infinity`; shortest round-trip digits.
void append_js_number(std::string& out, double x);

} // namespace caf_mcp::app::demo
