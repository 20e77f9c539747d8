// The MCP behaviour of `caf-mcp demo-server`: see mcp_handler.hpp.
#include "mcp_handler.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

namespace json = boost::json;

namespace caf_mcp::app::demo {

/// A `slow` call: a timer that ticks every 100 ms until `total_ms`.
struct pending_call {
  explicit pending_call(const boost::asio::any_io_executor& ex) : timer(ex) {
    // nop
  }

  boost::asio::steady_timer timer;
  request_id id;
  std::optional<progress_token> token;
  std::chrono::steady_clock::time_point start;
  double total_ms = 0;
  double done_ms = 0;
  bool cancelled = false;
};

namespace {

/// The interval between progress notifications of `slow`.
constexpr double progress_interval_ms = 100;

/// The longest `slow` call (10 minutes).
constexpr double max_slow_ms = 600000;

std::string_view view(const json::string& str) noexcept {
  return {str.data(), str.size()};
}

/// Returns the member `key` of `obj`, or null if absent.
const json::value* member(const json::object& obj, std::string_view key) {
  return obj.if_contains(json::string_view{key.data(), key.size()});
}

/// Returns the params of `req` as an object, or nullptr if they are present
/// but not an object. Absent params read as an empty object.
const json::object* params_object(const std::optional<json::value>& params) {
  static const json::object empty;
  if (!params)
    return &empty;
  return params->if_object();
}

/// Logs one line on stderr if verbose.
void log_request(const handler_options& opts, session_context& ctx,
                 std::string_view what, const request_id* id) {
  if (!opts.verbose)
    return;
  auto sid = ctx.id().substr(0, 8);
  if (id != nullptr) {
    auto id_text = to_string(*id);
    std::fprintf(stderr, "demo-server: session %.*s: %.*s id=%s\n",
                 static_cast<int>(sid.size()), sid.data(),
                 static_cast<int>(what.size()), what.data(), id_text.c_str());
  } else {
    std::fprintf(stderr, "demo-server: session %.*s: %.*s\n",
                 static_cast<int>(sid.size()), sid.data(),
                 static_cast<int>(what.size()), what.data());
  }
}

} // namespace

// -- session_context ----------------------------------------------------------

session_context::~session_context() {
  // nop
}

// -- server_control -----------------------------------------------------------

server_control::~server_control() {
  // nop
}

// -- mcp_handler --------------------------------------------------------------

mcp_handler::mcp_handler(handler_options opts) : opts_(opts) {
  tools_json_.push_back(make_tool(
    "echo", "Echoes back the input text.",
    R"({"type":"object","properties":{"text":{"type":"string",)"
    R"("description":"Text to echo back"}},"required":["text"]})"));
  tools_json_.push_back(make_tool(
    "add", "Adds two numbers and returns the sum as text.",
    R"({"type":"object","properties":{"a":{"type":"number",)"
    R"("description":"First number"},"b":{"type":"number",)"
    R"("description":"Second number"}},"required":["a","b"]})"));
  tools_json_.push_back(make_tool(
    "slow",
    "Waits the given number of milliseconds without blocking the server, "
    "sending notifications/progress every 100 ms when the request carries a "
    "progress token, then answers \"slept N ms\". Cancellable with "
    "notifications/cancelled.",
    R"({"type":"object","properties":{"ms":{"type":"number","minimum":0,)"
    R"("maximum":600000,"description":"How long to wait, in milliseconds"}},)"
    R"("required":["ms"]})"));
  tools_json_.push_back(make_tool(
    "fail",
    "Always fails: returns a result with isError true whose text is the "
    "given message.",
    R"({"type":"object","properties":{"message":{"type":"string",)"
    R"j("description":"The error text (default: The fail tool failed as )j"
    R"j(asked)"}}})j"));
  for (size_t i = 0; i < opts_.extra_tools; ++i)
    tools_json_.push_back(make_tool("t" + std::to_string(i),
                                    "Extra tool " + std::to_string(i)
                                      + " (answers its name).",
                                    R"({"type":"object"})"));
  make_all_tools_json();
}

mcp_handler::~mcp_handler() {
  // nop
}

bool mcp_handler::is_extra_tool(std::string_view name) const {
  if (name.size() < 2 || name.size() > 9 || name[0] != 't')
    return false;
  size_t n = 0;
  for (auto c : name.substr(1)) {
    if (c < '0' || c > '9')
      return false;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n < opts_.extra_tools && std::to_string(n) == name.substr(1);
}

std::string mcp_handler::make_tool(std::string name, std::string description,
                                   std::string input_schema,
                                   std::string annotations) {
  tool t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.input_schema = std::move(input_schema);
  t.annotations = std::move(annotations);
  return to_json_text(t);
}

void mcp_handler::add_tool(std::string tool_json) {
  tools_json_.push_back(std::move(tool_json));
  make_all_tools_json();
}

void mcp_handler::make_all_tools_json() {
  all_tools_json_ = R"({"tools":[)";
  for (size_t i = 0; i < tools_json_.size(); ++i) {
    if (i > 0)
      all_tools_json_ += ',';
    all_tools_json_ += tools_json_[i];
  }
  all_tools_json_ += "]}";
}

std::optional<http_reply> mcp_handler::on_post(const post_info&) const {
  return std::nullopt;
}

streamable_fault mcp_handler::on_streamable_post(const post_info&, size_t,
                                                 bool) const {
  return streamable_fault::none;
}

std::optional<http_reply>
mcp_handler::on_control(server_control&, const control_request&) const {
  return std::nullopt;
}

void mcp_handler::on_message(session_context& ctx,
                             jsonrpc_message&& msg) const {
  if (auto req = std::get_if<request>(&msg))
    on_request(ctx, std::move(*req));
  else if (auto ntf = std::get_if<notification>(&msg))
    on_notification(ctx, std::move(*ntf));
  // Responses: this server sends no requests, so there is nothing to match.
}

void mcp_handler::on_invalid(session_context& ctx,
                             const decode_error& err) const {
  log_request(opts_, ctx, "invalid message", err.id ? &*err.id : nullptr);
  reply_error(ctx, err.id, err.code, err.message);
}

void mcp_handler::on_request(session_context& ctx, request&& req) const {
  log_request(opts_, ctx, req.method, &req.id);
  // Requests before `initialize` are answered anyway: a demo server should
  // be lenient, and the strict order is the client's business (the Python
  // servers that reject early requests are emulated by the fault server).
  const auto& m = req.method;
  if (m == methods::tools_call)
    call(ctx, req);
  else if (m == methods::ping)
    reply(ctx, req.id, "{}");
  else if (m == methods::tools_list)
    list_tools(ctx, req);
  else if (m == methods::initialize)
    initialize(ctx, req);
  else if (m == methods::logging_set_level)
    set_level(ctx, req);
  else
    reply_error(ctx, req.id, jsonrpc_code::method_not_found,
                "Method not found");
}

// -- log notifications (--notify) ---------------------------------------------

struct log_notifier {
  explicit log_notifier(const boost::asio::any_io_executor& ex) : timer(ex) {
    // nop
  }

  boost::asio::steady_timer timer;
  uint64_t seq = 0;
  /// A small LCG: the same rhythm every run, no locks.
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  bool stopped = false;

  uint32_t next(uint32_t bound) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>((rng >> 33) % bound);
  }
};

bool from_string(std::string_view text, notify_flavour& out) noexcept {
  if (text == "none")
    out = notify_flavour::none;
  else if (text == "metrics")
    out = notify_flavour::metrics;
  else if (text == "logs")
    out = notify_flavour::logs;
  else if (text == "alerts")
    out = notify_flavour::alerts;
  else
    return false;
  return true;
}

namespace {

std::chrono::milliseconds notify_interval(const handler_options& opts) {
  if (opts.notify_interval.count() > 0)
    return opts.notify_interval;
  switch (opts.notify) {
    case notify_flavour::metrics:
      return std::chrono::milliseconds{1000};
    case notify_flavour::logs:
      return std::chrono::milliseconds{700};
    default:
      return std::chrono::milliseconds{2000};
  }
}

/// Sends one notifications/message if `level` passes the session's level.
void send_log(session_context& ctx, log_level level, std::string_view logger,
              std::string_view data_json) {
  if (static_cast<int>(level) < static_cast<int>(ctx.state().level))
    return;
  auto& params = ctx.state().scratch;
  params.clear();
  params += R"({"level":")";
  params += to_string(level);
  params += R"(","logger":)";
  append_json_string(params, logger);
  params += R"(,"data":)";
  params += data_json;
  params += '}';
  ctx.send([&](std::string& out) {
    encode_notification_into(out, methods::message, params);
  });
}

void notify_once(session_context& ctx, log_notifier& n, notify_flavour f) {
  auto seq = ++n.seq;
  std::string data;
  switch (f) {
    case notify_flavour::metrics: {
      data = R"({"seq":)" + std::to_string(seq) + R"(,"cpu_pct":)"
             + std::to_string(20 + n.next(60)) + R"(,"mem_mb":)"
             + std::to_string(900 + n.next(300)) + R"(,"requests_per_s":)"
             + std::to_string(100 + n.next(400)) + "}";
      send_log(ctx, log_level::info, "metrics", data);
      return;
    }
    case notify_flavour::logs: {
      static constexpr log_level levels[] = {
        log_level::debug, log_level::debug, log_level::info, log_level::info,
        log_level::info,  log_level::info,  log_level::notice,
        log_level::warning, log_level::warning, log_level::error};
      static constexpr const char* paths[] = {"/api/items", "/api/users",
                                              "/api/orders", "/healthz"};
      auto level = levels[n.next(10)];
      auto status = level == log_level::error     ? 500
                    : level == log_level::warning ? 429
                                                  : 200;
      std::string line = std::string{"GET "} + paths[n.next(4)] + "/"
                         + std::to_string(n.next(1000)) + " "
                         + std::to_string(status) + " "
                         + std::to_string(1 + n.next(250)) + " ms";
      append_json_string(data, line);
      send_log(ctx, level, "access", data);
      return;
    }
    case notify_flavour::alerts: {
      if (seq == 1) {
        append_json_string(data, "watching 3 checks: disk, latency, errors");
        send_log(ctx, log_level::info, "alerts", data);
        return;
      }
      if (n.next(4) != 0)
        return;
      static constexpr log_level levels[] = {log_level::warning,
                                             log_level::critical,
                                             log_level::alert};
      static constexpr const char* checks[] = {"disk_usage_high",
                                               "latency_p99_high",
                                               "error_rate_high"};
      auto i = n.next(3);
      data = R"({"alert":")" + std::string{checks[i]} + R"(","value":)"
             + std::to_string(80 + n.next(20)) + "}";
      send_log(ctx, levels[n.next(3)], "alerts", data);
      return;
    }
    case notify_flavour::none:
      return;
  }
}

void notify_tick(std::shared_ptr<session_context> ctx,
                 std::shared_ptr<log_notifier> n, notify_flavour f,
                 std::chrono::milliseconds interval) {
  if (n->stopped || !ctx->is_open())
    return;
  notify_once(*ctx, *n, f);
  n->timer.expires_after(interval);
  n->timer.async_wait(
    [ctx{std::move(ctx)}, n, f, interval](const boost::system::error_code& ec) {
      if (!ec)
        notify_tick(ctx, n, f, interval);
    });
}

} // namespace

void mcp_handler::start_notifier(session_context& ctx,
                                 const handler_options& opts) {
  auto n = std::make_shared<log_notifier>(ctx.executor());
  ctx.state().notifier = n;
  notify_tick(ctx.shared_from_this(), n, opts.notify, notify_interval(opts));
}

void mcp_handler::stop_notifier(log_notifier& n) {
  n.stopped = true;
  n.timer.cancel();
}

void mcp_handler::on_notification(session_context& ctx,
                                  notification&& msg) const {
  log_request(opts_, ctx, msg.method, nullptr);
  if (msg.method == methods::initialized) {
    ctx.state().client_initialized = true;
    if (opts_.notify != notify_flavour::none && !ctx.state().notifier)
      start_notifier(ctx, opts_);
  }
  else if (msg.method == methods::cancelled)
    cancel(ctx, msg);
  // Other notifications (roots/list_changed, progress, ...) need nothing.
}

void mcp_handler::on_close(session_context& ctx) const {
  if (auto& n = ctx.state().notifier) {
    stop_notifier(*n);
    n.reset();
  }
  auto& pending = ctx.state().pending;
  for (auto& kvp : pending) {
    kvp.second->cancelled = true;
    kvp.second->timer.cancel();
  }
  pending.clear();
}

// -- answering ----------------------------------------------------------------

void mcp_handler::reply(session_context& ctx, const request_id& id,
                        std::string_view result_json) {
  ctx.send([&](std::string& out) { //
    encode_response_into(out, id, result_json);
  });
}

void mcp_handler::reply_error(session_context& ctx,
                              const std::optional<request_id>& id,
                              int64_t code, std::string_view message) {
  ctx.send([&](std::string& out) { //
    encode_error_into(out, id, code, message);
  });
}

void mcp_handler::reply_text(session_context& ctx, const request_id& id,
                             std::string_view text, bool is_error) {
  auto& buf = ctx.state().scratch;
  buf.clear();
  buf += R"({"content":[{"type":"text","text":)";
  append_json_string(buf, text);
  buf += is_error ? R"(}],"isError":true})" : "}]}";
  reply(ctx, id, buf);
}

// -- methods ------------------------------------------------------------------

void mcp_handler::initialize(session_context& ctx, const request& req) const {
  auto params = params_object(req.params);
  const json::value* version = params ? member(*params, "protocolVersion")
                                      : nullptr;
  if (version == nullptr || !version->is_string()) {
    reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                "Invalid params: protocolVersion must be a string");
    return;
  }
  // Answer with the client's revision if we speak it, else with our latest
  // (the client then decides whether to go on).
  auto requested = view(version->get_string());
  auto& st = ctx.state();
  st.protocol_version = is_supported_protocol_version(requested)
                          ? std::string{requested}
                          : std::string{latest_protocol_version};
  st.initialized = true;
  initialize_result res;
  res.protocol_version = st.protocol_version;
  res.capabilities.tools = true;
  res.capabilities.tools_list_changed = true;
  res.capabilities.logging = true;
  res.server_info.name = "caf-mcp-demo";
  res.server_info.version = "0.1.0";
  st.scratch.clear();
  append_json(st.scratch, res);
  reply(ctx, req.id, st.scratch);
}

void mcp_handler::list_tools(session_context& ctx, const request& req) const {
  auto params = params_object(req.params);
  if (params == nullptr) {
    reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                "Invalid params: expected an object");
    return;
  }
  size_t first = 0;
  if (auto cursor = member(*params, "cursor")) {
    // Cursors are the decimal index of the first tool of the page. They are
    // opaque to clients, so any other text is an invalid cursor.
    auto str = cursor->if_string();
    bool ok = str != nullptr && !str->empty();
    if (ok) {
      auto res = std::from_chars(str->data(), str->data() + str->size(),
                                 first);
      ok = res.ec == std::errc{} && res.ptr == str->data() + str->size()
           && first < tools_json_.size();
    }
    if (!ok) {
      reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                  "Invalid params: unknown cursor");
      return;
    }
  }
  if (opts_.page_size == 0 || (first == 0
                               && opts_.page_size >= tools_json_.size())) {
    reply(ctx, req.id, all_tools_json_);
    return;
  }
  auto last = std::min(tools_json_.size(), first + opts_.page_size);
  auto& buf = ctx.state().scratch;
  buf.clear();
  buf += R"({"tools":[)";
  for (auto i = first; i < last; ++i) {
    if (i > first)
      buf += ',';
    buf += tools_json_[i];
  }
  buf += ']';
  if (last < tools_json_.size()) {
    buf += R"(,"nextCursor":")";
    buf += std::to_string(last);
    buf += '"';
  }
  buf += '}';
  reply(ctx, req.id, buf);
}

void mcp_handler::call(session_context& ctx, const request& req) const {
  auto params = params_object(req.params);
  const json::value* name = params ? member(*params, "name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                "Invalid params: name must be a string");
    return;
  }
  static const json::object no_args;
  const json::object* args = &no_args;
  if (auto a = member(*params, "arguments")) {
    args = a->if_object();
    if (args == nullptr) {
      reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                  "Invalid params: arguments must be an object");
      return;
    }
  }
  std::optional<progress_token> token;
  if (auto meta = member(*params, "_meta"); meta && meta->is_object()) {
    if (auto tok = member(meta->get_object(), "progressToken")) {
      auto res = json::try_value_to<progress_token>(*tok);
      if (res)
        token = std::move(*res);
    }
  }
  call_tool(ctx, req.id, view(name->get_string()), *args, token);
}

void mcp_handler::call_tool(
  session_context& ctx, const request_id& id, std::string_view name,
  const json::object& args,
  const std::optional<progress_token>& progress) const {
  // Bad arguments are tool execution errors (isError results), as MCP
  // 2025-11-25 asks and the TypeScript SDK's McpServer does: the model can
  // read the text and correct itself. Only a malformed tools/call envelope
  // (no name, arguments not an object) is a -32602 protocol error.
  auto bad_args = [&](std::string_view what) {
    std::string text = "Invalid arguments for tool ";
    text += name;
    text += ": ";
    text += what;
    reply_text(ctx, id, text, true);
  };
  if (name == "echo") {
    auto text = member(args, "text");
    if (text == nullptr || !text->is_string())
      return bad_args(R"("text" must be a string)");
    reply_text(ctx, id, view(text->get_string()));
  } else if (name == "add") {
    double a = 0;
    double b = 0;
    auto va = member(args, "a");
    auto vb = member(args, "b");
    if (va == nullptr || !json_to_double(*va, a))
      return bad_args(R"("a" must be a number)");
    if (vb == nullptr || !json_to_double(*vb, b))
      return bad_args(R"("b" must be a number)");
    std::string sum;
    append_js_number(sum, a + b);
    reply_text(ctx, id, sum);
  } else if (name == "slow") {
    double ms = 0;
    auto v = member(args, "ms");
    if (v == nullptr || !json_to_double(*v, ms) || !(ms >= 0)
        || !(ms <= max_slow_ms))
      return bad_args(R"("ms" must be a number from 0 to 600000)");
    slow(ctx, id, ms, progress);
  } else if (name == "fail") {
    auto msg = member(args, "message");
    if (msg == nullptr)
      return reply_text(ctx, id, "The fail tool failed as asked", true);
    if (!msg->is_string())
      return bad_args(R"("message" must be a string)");
    reply_text(ctx, id, view(msg->get_string()), true);
  } else if (is_extra_tool(name)) {
    reply_text(ctx, id, name);
  } else {
    std::string text = "Unknown tool: ";
    text += name;
    reply_text(ctx, id, text, true);
  }
}

void mcp_handler::set_level(session_context& ctx, const request& req) const {
  auto params = params_object(req.params);
  const json::value* level = params ? member(*params, "level") : nullptr;
  log_level parsed = log_level::info;
  if (level == nullptr || !level->is_string()
      || !from_string(view(level->get_string()), parsed)) {
    reply_error(ctx, req.id, jsonrpc_code::invalid_params,
                "Invalid params: level must be a logging level");
    return;
  }
  ctx.state().level = parsed;
  reply(ctx, req.id, "{}");
}

void mcp_handler::cancel(session_context& ctx, const notification& msg) const {
  auto params = params_object(msg.params);
  const json::value* rid = params ? member(*params, "requestId") : nullptr;
  if (rid == nullptr)
    return;
  auto id = json::try_value_to<request_id>(*rid);
  if (!id)
    return;
  auto& pending = ctx.state().pending;
  auto i = pending.find(*id);
  if (i == pending.end())
    return; // Finished already, or never ours: nothing to do.
  // A cancelled request gets no response at all (MCP cancellation rules).
  i->second->cancelled = true;
  i->second->timer.cancel();
  pending.erase(i);
}

namespace {

void slow_step(std::shared_ptr<session_context> ctx,
               std::shared_ptr<pending_call> call);

void on_slow_tick(const std::shared_ptr<session_context>& ctx,
                  const std::shared_ptr<pending_call>& call) {
  if (call->cancelled || !ctx->is_open())
    return;
  if (call->token) {
    auto& params = ctx->state().scratch;
    params.clear();
    params += R"({"progressToken":)";
    params += to_string(*call->token);
    params += R"(,"progress":)";
    append_js_number(params, call->done_ms);
    params += R"(,"total":)";
    append_js_number(params, call->total_ms);
    params += '}';
    ctx->send([&](std::string& out) {
      encode_notification_into(out, methods::progress, params);
    });
  }
  if (call->done_ms < call->total_ms) {
    slow_step(ctx, call);
    return;
  }
  auto& pending = ctx->state().pending;
  if (auto i = pending.find(call->id); i != pending.end() && i->second == call)
    pending.erase(i);
  std::string text = "slept ";
  append_js_number(text, call->total_ms);
  text += " ms";
  mcp_handler::reply_text(*ctx, call->id, text);
}

void slow_step(std::shared_ptr<session_context> ctx,
               std::shared_ptr<pending_call> call) {
  call->done_ms = std::min(call->done_ms + progress_interval_ms,
                           call->total_ms);
  // Deadlines from the start, so the ticks do not drift.
  auto offset = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
    std::chrono::duration<double, std::milli>{call->done_ms});
  call->timer.expires_at(call->start + offset);
  call->timer.async_wait(
    [ctx{std::move(ctx)}, call](const boost::system::error_code& ec) {
      if (!ec)
        on_slow_tick(ctx, call);
    });
}

} // namespace

void mcp_handler::slow(session_context& ctx, const request_id& id, double ms,
                       const std::optional<progress_token>& progress) const {
  auto call = std::make_shared<pending_call>(ctx.executor());
  call->id = id;
  call->token = progress;
  call->start = std::chrono::steady_clock::now();
  call->total_ms = ms;
  // The first tick comes after min(100, ms) ms; `ms` = 0 ticks at once, so
  // there is always at least one progress notification.
  call->done_ms = 0;
  ctx.state().pending[id] = call;
  slow_step(ctx.shared_from_this(), std::move(call));
}

// -- numbers ------------------------------------------------------------------

void append_js_number(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x > 0 ? "Infinity" : "-Infinity";
    return;
  }
  if (x == 0) { // also -0, which JavaScript prints as "0"
    out += '0';
    return;
  }
  if (x < 0) {
    out += '-';
    x = -x;
  }
  // Shortest round-trip digits in the form d[.ddd]e(+|-)xx, then laid out
  // by ECMAScript's Number::toString rules (k digits, decimal exponent n).
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof(buf), x,
                           std::chars_format::scientific);
  std::string_view sci{buf, static_cast<size_t>(res.ptr - buf)};
  auto e = sci.find('e');
  char digits[24];
  size_t k = 0;
  for (size_t i = 0; i < e; ++i)
    if (sci[i] != '.')
      digits[k++] = sci[i];
  int exp10 = 0;
  auto exp_str = sci.substr(e + 1);
  bool neg_exp = !exp_str.empty() && exp_str[0] == '-';
  if (!exp_str.empty() && (exp_str[0] == '-' || exp_str[0] == '+'))
    exp_str.remove_prefix(1);
  std::from_chars(exp_str.data(), exp_str.data() + exp_str.size(), exp10);
  if (neg_exp)
    exp10 = -exp10;
  auto n = exp10 + 1;
  auto ki = static_cast<int>(k);
  if (ki <= n && n <= 21) {
    out.append(digits, k);
    out.append(static_cast<size_t>(n - ki), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, static_cast<size_t>(n));
    out += '.';
    out.append(digits + n, k - static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out.append(digits, k);
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits + 1, k - 1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    char exp_buf[8];
    auto r = std::to_chars(exp_buf, exp_buf + sizeof(exp_buf),
                           std::abs(n - 1));
    out.append(exp_buf, static_cast<size_t>(r.ptr - exp_buf));
  }
}

} // namespace caf_mcp::app::demo
