#pragma once

/// The MCP side of `caf-mcp demo-server`: what the server answers to each
/// JSON-RPC message, independent of HTTP. The HTTP layer (http_server.cpp)
/// decodes POST bodies and hands every message to `mcp_handler::on_message`
/// on the executor of the session's SSE stream; the handler answers through
/// the `session_context` of that stream.
///
/// The hook point: every step is a virtual member function. The normal
/// behaviour lives in `mcp_handler`; the fault-injection server
/// (fault_handler.hpp) derives from it and overrides `on_post` (answer a POST
/// with another HTTP status, not at all, or drop it), `on_control` (its HTTP
/// control API), `on_request` or `call_tool` (break the answer with
/// `send_raw`, `hold_output`, `close_after_write`, ...), and calls the base
/// class for everything it leaves alone. One handler serves all sessions on
/// all io threads: whatever a handler changes after construction must be
/// thread-safe (the fault handler's counters and armed faults); per-session
/// state lives in `session_state`, which is only touched on the session's
/// executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

namespace caf_mcp::app::demo {

/// Token mode (token_auth.hpp).
class token_auth;

/// A running `slow` call (defined in mcp_handler.cpp).
struct pending_call;

/// A session's rhythm of `notifications/message` (mcp_handler.cpp).
struct log_notifier;

/// What a demo server says on its own (`--notify`): the streams of the
/// seed's dashboard example.
enum class notify_flavour : uint8_t {
  none,
  /// A metrics sample (info) every second.
  metrics,
  /// A log line at a mixed level (debug to error) every 700 ms.
  logs,
  /// Every 2 s, one time in four, an alert (warning, critical or alert);
  /// an info line when the stream starts.
  alerts,
};

/// Parses "metrics", "logs", "alerts" or "none".
bool from_string(std::string_view text, notify_flavour& out) noexcept;

/// What the HTTP layer offers beyond one session (implemented in
/// http_server.cpp); thread-safe.
class server_control {
public:
  virtual ~server_control();

  /// Closes every open SSE stream and every POST connection held without an
  /// answer, as a restarting server would: the sessions end and their ids
  /// become unknown at once (later POSTs to them get 404). Returns the
  /// number of streams closed.
  virtual size_t close_all_sessions() = 0;

  /// SSE streams opened since start.
  virtual uint64_t sessions_opened() const noexcept = 0;

  /// SSE streams open now.
  virtual size_t sessions_open() const = 0;
};

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

  /// Sends the session's notifications/message (`--notify`), from
  /// `notifications/initialized` until the session closes.
  std::shared_ptr<log_notifier> notifier;

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

  /// Closes the stream once everything queued so far is written, without
  /// ending the HTTP body (no final chunk): the client sees the connection
  /// drop after the last byte. The session ends at once; later sends are
  /// dropped.
  virtual void close_after_write() = 0;

  /// Holds back everything sent from now on (events and `send_raw`) until
  /// `release_output`; what was queued before is still written.
  virtual void hold_output() = 0;

  /// Queues what `hold_output` held back, in order, and sends normally again.
  virtual void release_output() = 0;

  /// The server this session belongs to.
  virtual server_control& server() noexcept = 0;

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

/// What the HTTP layer does with a POST instead of the normal 202.
enum class post_action : uint8_t {
  /// Answer with `status`, `headers` and `body`.
  reply,
  /// Send nothing at all: hold the connection open until the client closes
  /// it (or `close_all_sessions`).
  no_answer,
  /// Close the connection at once, without a status line.
  drop,
};

/// An HTTP answer that replaces the normal processing of a request.
struct http_reply {
  unsigned status = 500;
  std::string body;

  /// `text/plain; charset=utf-8` unless set.
  std::string content_type;

  /// Extra header fields, e.g. `Retry-After`.
  std::vector<std::pair<std::string, std::string>> headers;

  /// For a POST: what to do instead of the 202.
  post_action action = post_action::reply;

  /// For a POST: also hand its messages to the session as if it had been
  /// accepted (the request runs although the client sees a failure).
  bool process = false;
};

/// What a POST looks like to `on_post`.
struct post_info {
  std::string_view session_id;
  std::string_view body;

  /// The decoded body (may hold no message: the POST then gets a 400).
  const decode_result& decoded;
};

/// A request to a path that is neither `.../sse` nor `.../message`, as
/// `on_control` sees it.
struct control_request {
  std::string_view method;
  /// The path without the query.
  std::string_view path;
  /// The raw query (after `?`), possibly empty.
  std::string_view query;
  std::string_view body;
};

/// What the fault server does to a POST of the Streamable HTTP transport
/// (streamable.hpp), beyond the POST faults of `on_post`.
enum class streamable_fault : uint8_t {
  none,
  /// Forget the session: the POST gets 404 and does not run.
  session_gone,
  /// End the POST's SSE answer before the response (after its first
  /// event, if any), without ending the HTTP body.
  cut_response,
  /// Answer with one JSON body although the endpoint streams.
  json_instead_of_stream,
  /// Answer with an SSE stream although the endpoint answers JSON.
  stream_instead_of_json,
};

/// Settings of the MCP behaviour.
struct handler_options {
  /// Tools per `tools/list` page; 0 = all in one page.
  size_t page_size = 0;

  /// Extra tools `t0` … `tN-1` after the four real ones (each a small
  /// description and an object schema), for tests and benchmarks of large
  /// tool lists. Calling one answers its own name.
  size_t extra_tools = 0;

  /// One line per request on stderr.
  bool verbose = false;

  /// Log notifications on a rhythm (see notify_flavour); they respect the
  /// level the client set with logging/setLevel.
  notify_flavour notify = notify_flavour::none;

  /// The rhythm; 0 = the flavour's own.
  std::chrono::milliseconds notify_interval{0};

  /// Token mode (`--token-file`): if set, the HTTP layer refuses every
  /// request to the MCP endpoints without the file's current token (401);
  /// the fault handler reports its refusals in `GET /_stats`.
  std::shared_ptr<const token_auth> auth;
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
  /// decoded. Returning a reply does what it says (see `http_reply`) instead
  /// of the normal 400/202, and skips the messages unless `process` is set.
  /// Default: nullopt (proceed). May run on any io thread.
  virtual std::optional<http_reply> on_post(const post_info& info) const;

  /// Called for each POST to a known Streamable HTTP session that `on_post`
  /// let through. `requests`: the requests in it; `json`: its answer would
  /// be one JSON body. Default: none. May run on any io thread.
  virtual streamable_fault on_streamable_post(const post_info& info,
                                              size_t requests,
                                              bool json) const;

  /// Called for a request to any other path (after the request was read);
  /// nullopt answers 404. Default: nullopt. May run on any io thread.
  virtual std::optional<http_reply> on_control(server_control& srv,
                                               const control_request& req)
    const;

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

  /// Starts the session's log notifications (`opts.notify`).
  static void start_notifier(session_context& ctx, const handler_options& opts);

  /// Stops them (the session closed).
  static void stop_notifier(log_notifier& n);

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
  /// Adds a tool (its `Tool` JSON) to `tools/list`; constructors only.
  void add_tool(std::string tool_json);

  /// `t<N>` with N below `extra_tools`, spelled without leading zeros.
  bool is_extra_tool(std::string_view name) const;

  /// Returns the `Tool` JSON for a name, a description, an input schema
  /// and optional annotations (JSON text, "" = none).
  static std::string make_tool(std::string name, std::string description,
                               std::string input_schema,
                               std::string annotations = {});

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

  void make_all_tools_json();
};

/// Appends `x` the way JavaScript's `String(x)` writes numbers: `3`, `2.5`,
/// `1e+21`, `1e-7`, `NaN`, `Infinity`; shortest round-trip digits.
void append_js_number(std::string& out, double x);

} // namespace caf_mcp::app::demo
