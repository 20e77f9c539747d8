// Fault injection for `caf-mcp demo-server --faults`: see fault_handler.hpp
// and docs/fault-server.md.
#include "fault_handler.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "token_auth.hpp"

namespace json = boost::json;

namespace caf_mcp::app::demo {

namespace {

constexpr std::array<std::string_view, fault_kind_count> fault_names{
  "none",          "no_answer",      "post_404",   "post_429",
  "post_503",      "post_drop",      "drop_stream", "stall",
  "malformed_sse", "malformed_json", "oversized_event", "unknown_id",
  "duplicate_response", "new_session", "session_gone", "cut_response",
  "json_instead_of_stream", "stream_instead_of_json",
};

constexpr std::string_view event_prefix = "event: message\ndata: ";

bool parse_u64(std::string_view str, uint64_t& out) {
  if (str.empty())
    return false;
  auto res = std::from_chars(str.data(), str.data() + str.size(), out);
  return res.ec == std::errc{} && res.ptr == str.data() + str.size();
}

std::string_view view(const json::string& str) noexcept {
  return {str.data(), str.size()};
}

// -- fault_context ------------------------------------------------------------

/// Wraps the session of one `tools/call` and breaks the response event of
/// that call (found by its id) as the fault says; everything else (progress
/// notifications, later events) passes through unchanged.
class fault_context final : public session_context {
public:
  fault_context(std::shared_ptr<session_context> inner, const request_id& id,
                fault_spec spec)
    : inner_(std::move(inner)), spec_(std::move(spec)) {
    // The response starts with exactly this (see encode_response_into and
    // encode_error_into).
    std::string probe;
    encode_response_into(probe, id, "{}");
    head_ = probe.substr(0, probe.size() - std::string_view{R"(,"result":{}})"}
                                             .size());
  }

  std::string_view id() const noexcept override {
    return inner_->id();
  }

  const boost::asio::any_io_executor& executor() const noexcept override {
    return inner_->executor();
  }

  session_state& state() noexcept override {
    return inner_->state();
  }

  bool is_open() const noexcept override {
    return inner_->is_open();
  }

  void send_raw(std::string_view bytes) override {
    inner_->send_raw(bytes);
  }

  void close() override {
    inner_->close();
  }

  void close_after_write() override {
    inner_->close_after_write();
  }

  void hold_output() override {
    inner_->hold_output();
  }

  void release_output() override {
    inner_->release_output();
  }

  server_control& server() noexcept override {
    return inner_->server();
  }

protected:
  std::string& begin_message() override {
    buf_.clear();
    buf_ += event_prefix;
    return buf_;
  }

  void end_message() override {
    std::string_view data{buf_};
    data.remove_prefix(event_prefix.size());
    if (done_ || data.substr(0, head_.size()) != head_) {
      emit(data);
      return;
    }
    done_ = true;
    apply(std::string{data});
  }

private:
  static std::string event(std::string_view data) {
    std::string ev;
    ev.reserve(event_prefix.size() + data.size() + 2);
    ev += event_prefix;
    ev += data;
    ev += "\n\n";
    return ev;
  }

  /// Inserts `member` (`"name":value`) as the first member of the result
  /// (or error) object of the response `data`.
  std::string with_member(const std::string& data,
                          std::string_view member) const {
    // data = head_ + ,"result":{...}} or head_ + ,"error":{...}}
    auto pos = data.find('{', head_.size());
    std::string out;
    out.reserve(data.size() + member.size() + 1);
    if (pos == std::string::npos) { // never: our results are objects
      out = data;
      return out;
    }
    out.append(data, 0, pos + 1);
    out += member;
    if (data[pos + 1] != '}')
      out += ',';
    out.append(data, pos + 1, std::string::npos);
    return out;
  }

  /// One message through the session's own framing (event ids on
  /// Streamable HTTP, a JSON body there in JSON mode).
  void emit(std::string_view data) {
    inner_->send([&](std::string& out) { out.append(data.data(), data.size()); });
  }

  void apply(std::string data) {
    switch (spec_.kind) {
      case fault_kind::drop_stream: {
        // Half of the event (at least the event line and part of the
        // data), then the connection closes without ending the body.
        auto ev = event(data);
        inner_->send_raw(ev.substr(0, event_prefix.size() + data.size() / 2));
        inner_->close_after_write();
        break;
      }
      case fault_kind::stall: {
        auto ev = event(data);
        auto cut = event_prefix.size() + data.size() / 2;
        inner_->send_raw(ev.substr(0, cut));
        inner_->hold_output();
        inner_->send_raw(ev.substr(cut));
        if (spec_.ms > 0) {
          auto timer = std::make_shared<boost::asio::steady_timer>(
            inner_->executor(), std::chrono::milliseconds(spec_.ms));
          timer->async_wait([timer, ctx = inner_](boost::system::error_code) {
            ctx->release_output();
          });
        }
        break;
      }
      case fault_kind::malformed_sse:
        if (spec_.variant == "not_jsonrpc") {
          // Valid JSON, the id visible, but no JSON-RPC message.
          auto text = head_;
          text.replace(0, std::string_view{R"({"jsonrpc":"2.0")"}.size(),
                       R"({"not":"json-rpc")");
          text += '}';
          emit(text);
        } else {
          // Invalid UTF-8 in the data line; the rest is the real response.
          emit(with_member(data, "\"_bad\":\"\xff\xfe\""));
        }
        break;
      case fault_kind::malformed_json:
        // Cut right after "result": (or "error":): the id stays readable.
        emit(data.substr(0, data.find(':', head_.size()) + 1));
        break;
      case fault_kind::oversized_event: {
        auto ev_size = event_prefix.size() + data.size() + 2;
        std::string member = "\"_padding\":\"";
        auto fixed = member.size() + 2; // closing quote and comma
        auto want = spec_.bytes + 1;
        auto pad = want > ev_size + fixed ? want - ev_size - fixed : 0;
        member.append(pad, 'x');
        member += '"';
        emit(with_member(data, member));
        break;
      }
      case fault_kind::unknown_id: {
        std::string other = R"({"jsonrpc":"2.0","id":)";
        other += spec_.id_json;
        other += R"(,"result":{"content":[{"type":"text",)"
                 R"("text":"nobody asked for this"}]}})";
        emit(other);
        emit(data);
        break;
      }
      case fault_kind::duplicate_response:
        emit(data);
        emit(data);
        break;
      default:
        emit(data);
    }
  }

  std::shared_ptr<session_context> inner_;
  fault_spec spec_;
  std::string head_;
  std::string buf_;
  bool done_ = false;
};

/// Sets an integer parameter from JSON; returns an error text.
std::string read_int(const json::value& v, std::string_view key,
                     int64_t min, int64_t& out) {
  if (auto p = v.if_int64(); p && *p >= min) {
    out = *p;
    return {};
  }
  if (auto p = v.if_uint64(); p && *p <= INT64_MAX) {
    out = static_cast<int64_t>(*p);
    return {};
  }
  std::string err{key};
  err += " must be an integer >= ";
  err += std::to_string(min);
  return err;
}

} // namespace

// -- fault_kind ---------------------------------------------------------------

std::string_view to_string(fault_kind x) noexcept {
  return fault_names[static_cast<size_t>(x)];
}

bool from_string(std::string_view str, fault_kind& x) noexcept {
  for (size_t i = 0; i < fault_names.size(); ++i) {
    if (fault_names[i] == str) {
      x = static_cast<fault_kind>(i);
      return true;
    }
  }
  return false;
}

bool is_streamable_fault(fault_kind x) noexcept {
  switch (x) {
    case fault_kind::session_gone:
    case fault_kind::cut_response:
    case fault_kind::json_instead_of_stream:
    case fault_kind::stream_instead_of_json:
      return true;
    default:
      return false;
  }
}

bool is_post_fault(fault_kind x) noexcept {
  switch (x) {
    case fault_kind::no_answer:
    case fault_kind::post_404:
    case fault_kind::post_429:
    case fault_kind::post_503:
    case fault_kind::post_drop:
      return true;
    default:
      return false;
  }
}

// -- parsing ------------------------------------------------------------------

std::string parse_fault_json(std::string_view text, fault_spec& out,
                             bool& now) {
  boost::system::error_code ec;
  auto doc = json::parse(json::string_view{text.data(), text.size()}, ec);
  if (ec)
    return "invalid JSON: " + ec.message();
  auto obj = doc.if_object();
  if (obj == nullptr)
    return "expected a JSON object";
  fault_spec spec;
  now = false;
  auto fault = obj->if_contains("fault");
  if (fault == nullptr || !fault->is_string())
    return R"("fault" must be a string)";
  if (!from_string(view(fault->get_string()), spec.kind))
    return "unknown fault: " + std::string{view(fault->get_string())};
  for (auto& kvp : *obj) {
    auto key = std::string_view{kvp.key().data(), kvp.key().size()};
    auto& v = kvp.value();
    std::string err;
    if (key == "fault") {
      continue;
    } else if (key == "count") {
      int64_t n = 0;
      err = read_int(v, key, -1, n);
      if (err.empty() && n == 0)
        err = "count must be >= 1, or -1 (until cleared)";
      spec.count = n;
    } else if (key == "retry_after") {
      err = read_int(v, key, 0, spec.retry_after);
    } else if (key == "ms") {
      err = read_int(v, key, 0, spec.ms);
    } else if (key == "bytes") {
      int64_t n = 0;
      err = read_int(v, key, 1, n);
      spec.bytes = static_cast<uint64_t>(n);
    } else if (key == "variant") {
      auto s = v.if_string();
      if (s == nullptr || (*s != "utf8" && *s != "not_jsonrpc"))
        err = R"(variant must be "utf8" or "not_jsonrpc")";
      else
        spec.variant = std::string{view(*s)};
    } else if (key == "id") {
      if (v.is_int64() || v.is_uint64() || v.is_string())
        spec.id_json = json::serialize(v);
      else
        err = "id must be an integer or a string";
    } else if (key == "body") {
      if (auto s = v.if_string())
        spec.body = std::string{view(*s)};
      else
        err = "body must be a string";
    } else if (key == "process" || key == "calls_only" || key == "now") {
      auto b = v.if_bool();
      if (b == nullptr)
        err = std::string{key} + " must be a boolean";
      else if (key == "process")
        spec.process = *b;
      else if (key == "calls_only")
        spec.calls_only = *b;
      else
        now = *b;
    } else {
      err = "unknown parameter: " + std::string{key};
    }
    if (!err.empty())
      return err;
  }
  out = std::move(spec);
  return {};
}

std::string parse_fault_arg(std::string_view text, fault_spec& out) {
  if (!text.empty() && text.front() == '{') {
    bool now = false;
    auto err = parse_fault_json(text, out, now);
    if (err.empty() && now)
      err = R"("now" is for POST /_fault only)";
    return err;
  }
  auto colon = text.find(':');
  auto name = text.substr(0, colon);
  fault_spec spec;
  if (!from_string(name, spec.kind) || spec.kind == fault_kind::none)
    return "unknown fault: " + std::string{name};
  if (colon != std::string_view::npos) {
    auto param = text.substr(colon + 1);
    uint64_t n = 0;
    switch (spec.kind) {
      case fault_kind::post_429:
      case fault_kind::post_503:
        if (!parse_u64(param, n) || n > INT64_MAX)
          return "retry_after must be a number of seconds";
        spec.retry_after = static_cast<int64_t>(n);
        break;
      case fault_kind::stall:
        if (!parse_u64(param, n) || n > INT64_MAX)
          return "ms must be a number of milliseconds (0 = forever)";
        spec.ms = static_cast<int64_t>(n);
        break;
      case fault_kind::oversized_event:
        if (!parse_u64(param, n) || n == 0)
          return "bytes must be a positive number";
        spec.bytes = n;
        break;
      case fault_kind::malformed_sse:
        if (param != "utf8" && param != "not_jsonrpc")
          return R"(variant must be "utf8" or "not_jsonrpc")";
        spec.variant = std::string{param};
        break;
      case fault_kind::unknown_id:
        if (parse_u64(param, n)) {
          spec.id_json = std::string{param};
        } else {
          spec.id_json.clear();
          append_json_string(spec.id_json, param);
        }
        break;
      case fault_kind::post_404:
        spec.body = std::string{param};
        break;
      default:
        return std::string{name} + " takes no parameter";
    }
  }
  out = std::move(spec);
  return {};
}

void append_fault_json(std::string& out, const fault_spec& spec) {
  out += R"({"fault":)";
  append_json_string(out, to_string(spec.kind));
  out += R"(,"count":)";
  append_json_int(out, spec.count);
  switch (spec.kind) {
    case fault_kind::post_429:
      out += R"(,"retry_after":)";
      append_json_int(out, spec.retry_after < 0 ? 1 : spec.retry_after);
      break;
    case fault_kind::post_503:
      if (spec.retry_after >= 0) {
        out += R"(,"retry_after":)";
        append_json_int(out, spec.retry_after);
      }
      break;
    case fault_kind::stall:
      out += R"(,"ms":)";
      append_json_int(out, spec.ms);
      break;
    case fault_kind::oversized_event:
      out += R"(,"bytes":)";
      append_json_int(out, static_cast<int64_t>(spec.bytes));
      break;
    case fault_kind::malformed_sse:
      out += R"(,"variant":)";
      append_json_string(out, spec.variant);
      break;
    case fault_kind::unknown_id:
      out += R"(,"id":)";
      out += spec.id_json;
      break;
    default:
      break;
  }
  if (is_streamable_fault(spec.kind) && spec.calls_only)
    out += R"(,"calls_only":true)";
  if (is_post_fault(spec.kind)) {
    if (!spec.body.empty()) {
      out += R"(,"body":)";
      append_json_string(out, spec.body);
    }
    if (spec.process)
      out += R"(,"process":true)";
    if (spec.calls_only)
      out += R"(,"calls_only":true)";
  }
  out += '}';
}

// -- fault_handler ------------------------------------------------------------

fault_handler::fault_handler(handler_options opts, fault_options fopts)
  : mcp_handler(opts),
    fopts_(std::move(fopts)),
    start_(std::chrono::steady_clock::now()) {
  add_tool(make_tool(
    "record",
    "Records one execution of the key (and appends it to the exec log, if "
    "the server has one), then answers the key and the number of times it "
    "ran in this process.",
    R"({"type":"object","properties":{"key":{"type":"string",)"
    R"j("description":"What to record (no line breaks)"}},)j"
    R"("required":["key"]})"));
  // The same, declared idempotent: clients may run it twice (the retry
  // middleware does after a lost response); it counts like `record`.
  add_tool(make_tool(
    "record_idempotent",
    "Like record, but annotated idempotentHint: a client may run it again "
    "for the same key.",
    R"({"type":"object","properties":{"key":{"type":"string",)"
    R"j("description":"What to record (no line breaks)"}},)j"
    R"("required":["key"]})",
    R"({"idempotentHint":true,"readOnlyHint":false})"));
  timed_done_.assign(fopts_.after.size(), false);
  timed_pending_ = !fopts_.after.empty();
  if (!fopts_.exec_log.empty()) {
    exec_fd_ = ::open(fopts_.exec_log.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (exec_fd_ < 0)
      throw std::runtime_error("cannot open exec log " + fopts_.exec_log
                               + ": " + std::strerror(errno));
    // A marker per server process ("life"): a soak counts what each life
    // executed. Keys never start with '#' in our tools' use.
    auto marker = "#start " + std::to_string(::getpid()) + "\n";
    if (::write(exec_fd_, marker.data(), marker.size()) < 0)
      throw std::runtime_error("cannot write exec log " + fopts_.exec_log
                               + ": " + std::strerror(errno));
  }
}

fault_handler::~fault_handler() {
  if (exec_fd_ >= 0)
    ::close(exec_fd_);
}

template <class Pred>
std::optional<fault_spec> fault_handler::take(Pred pred) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = armed_.begin(); i != armed_.end(); ++i) {
    if (!pred(*i))
      continue;
    auto result = *i;
    result.count = 1;
    if (i->count > 0 && --i->count == 0) {
      armed_.erase(i);
      armed_count_.store(armed_.size(), std::memory_order_relaxed);
    }
    return result;
  }
  return std::nullopt;
}

void fault_handler::arm_locked(const fault_spec& spec) const {
  auto same = [&](const fault_spec& x) { return x.kind == spec.kind; };
  auto i = std::find_if(armed_.begin(), armed_.end(), same);
  if (i != armed_.end())
    *i = spec;
  else
    armed_.push_back(spec);
  armed_count_.store(armed_.size(), std::memory_order_relaxed);
}

void fault_handler::arm(const fault_spec& spec) const {
  std::lock_guard<std::mutex> guard{mtx_};
  arm_locked(spec);
}

size_t fault_handler::clear() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto n = armed_.size();
  armed_.clear();
  armed_count_.store(0, std::memory_order_relaxed);
  return n;
}

void fault_handler::arm_due_timed() const {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mtx_};
  bool pending = false;
  for (size_t i = 0; i < fopts_.after.size(); ++i) {
    if (timed_done_[i])
      continue;
    auto& [ms, spec] = fopts_.after[i];
    if (now - start_ >= std::chrono::milliseconds(ms)) {
      timed_done_[i] = true;
      arm_locked(spec);
      if (options().verbose)
        std::fprintf(stderr, "demo-server: armed %s (--fault-after %llu)\n",
                     std::string{to_string(spec.kind)}.c_str(),
                     static_cast<unsigned long long>(ms));
    } else {
      pending = true;
    }
  }
  timed_pending_.store(pending, std::memory_order_relaxed);
}

void fault_handler::applied(fault_kind kind) const {
  applied_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  if (options().verbose)
    std::fprintf(stderr, "demo-server: fault %s\n",
                 std::string{to_string(kind)}.c_str());
}

http_reply fault_handler::post_reply(const fault_spec& spec) const {
  http_reply res;
  res.process = spec.process;
  switch (spec.kind) {
    case fault_kind::no_answer:
      res.action = post_action::no_answer;
      break;
    case fault_kind::post_drop:
      res.action = post_action::drop;
      break;
    case fault_kind::post_404:
      res.status = 404;
      res.body = spec.body.empty() ? "Session not found" : spec.body;
      break;
    case fault_kind::post_429:
      res.status = 429;
      res.body = spec.body.empty() ? "Too Many Requests" : spec.body;
      res.headers.emplace_back("Retry-After",
                               std::to_string(spec.retry_after < 0
                                                ? 1
                                                : spec.retry_after));
      break;
    default: // post_503
      res.status = 503;
      res.body = spec.body.empty() ? "Service Unavailable" : spec.body;
      if (spec.retry_after >= 0)
        res.headers.emplace_back("Retry-After",
                                 std::to_string(spec.retry_after));
  }
  return res;
}

std::optional<http_reply> fault_handler::on_post(const post_info& info) const {
  posts_.fetch_add(1, std::memory_order_relaxed);
  uint64_t n_calls = 0;
  for (auto& msg : info.decoded.messages)
    if (auto req = std::get_if<request>(&msg);
        req && req->method == methods::tools_call)
      ++n_calls;
  uint64_t first = 0;
  if (n_calls > 0)
    first = calls_.fetch_add(n_calls, std::memory_order_relaxed) + 1;
  if (timed_pending_.load(std::memory_order_relaxed))
    arm_due_timed();
  std::optional<fault_spec> fault;
  // The schedule: the Nth tools/call arms its fault; a POST fault takes
  // this very POST.
  for (auto ordinal = first; n_calls > 0 && ordinal < first + n_calls;
       ++ordinal) {
    for (auto& [every, spec] : fopts_.every) {
      if (ordinal % every != 0)
        continue;
      if (is_post_fault(spec.kind)) {
        if (!fault)
          fault = spec;
      } else {
        auto once = spec;
        once.count = 1;
        arm(once);
      }
    }
  }
  if (!fault && armed_count_.load(std::memory_order_relaxed) > 0)
    fault = take([n_calls](const fault_spec& x) {
      return is_post_fault(x.kind) && (!x.calls_only || n_calls > 0);
    });
  if (!fault)
    return std::nullopt;
  applied(fault->kind);
  return post_reply(*fault);
}

streamable_fault fault_handler::on_streamable_post(const post_info& info,
                                                  size_t requests,
                                                  bool json_answer) const {
  if (armed_count_.load(std::memory_order_relaxed) == 0)
    return streamable_fault::none;
  bool has_calls = false;
  for (auto& msg : info.decoded.messages)
    if (auto req = std::get_if<request>(&msg);
        req && req->method == methods::tools_call)
      has_calls = true;
  auto fault = take([&](const fault_spec& x) {
    if (x.calls_only && !has_calls)
      return false;
    switch (x.kind) {
      case fault_kind::session_gone:
        return true;
      case fault_kind::cut_response:
      case fault_kind::json_instead_of_stream:
        return requests > 0 && !json_answer;
      case fault_kind::stream_instead_of_json:
        return requests > 0 && json_answer;
      default:
        return false;
    }
  });
  if (!fault)
    return streamable_fault::none;
  applied(fault->kind);
  switch (fault->kind) {
    case fault_kind::session_gone:
      return streamable_fault::session_gone;
    case fault_kind::cut_response:
      return streamable_fault::cut_response;
    case fault_kind::json_instead_of_stream:
      return streamable_fault::json_instead_of_stream;
    default:
      return streamable_fault::stream_instead_of_json;
  }
}

void fault_handler::call_tool(
  session_context& ctx, const request_id& id, std::string_view name,
  const json::object& args,
  const std::optional<progress_token>& progress) const {
  if (timed_pending_.load(std::memory_order_relaxed))
    arm_due_timed();
  std::optional<fault_spec> fault;
  if (armed_count_.load(std::memory_order_relaxed) > 0)
    fault = take([](const fault_spec& x) {
      return !is_post_fault(x.kind) && !is_streamable_fault(x.kind);
    });
  if (!fault) {
    executions_.fetch_add(1, std::memory_order_relaxed);
    return run_tool(ctx, id, name, args, progress);
  }
  applied(fault->kind);
  if (fault->kind == fault_kind::new_session) {
    // As if the server restarted before this call: it does not run.
    ctx.server().close_all_sessions();
    return;
  }
  executions_.fetch_add(1, std::memory_order_relaxed);
  auto wrapped = std::make_shared<fault_context>(ctx.shared_from_this(), id,
                                                 std::move(*fault));
  run_tool(*wrapped, id, name, args, progress);
}

void fault_handler::run_tool(
  session_context& ctx, const request_id& id, std::string_view name,
  const json::object& args,
  const std::optional<progress_token>& progress) const {
  if (name == "record" || name == "record_idempotent")
    record(ctx, id, args);
  else
    mcp_handler::call_tool(ctx, id, name, args, progress);
}

void fault_handler::record(session_context& ctx, const request_id& id,
                           const json::object& args) const {
  auto key = args.if_contains("key");
  if (key == nullptr || !key->is_string()
      || view(key->get_string()).find_first_of("\r\n")
           != std::string_view::npos) {
    reply_text(ctx, id,
               R"(Invalid arguments for tool record: "key" must be a string )"
               R"(without line breaks)",
               true);
    return;
  }
  auto k = view(key->get_string());
  uint64_t n = 0;
  bool logged = true;
  {
    std::lock_guard<std::mutex> guard{rec_mtx_};
    // Log first: whatever is answered is on disk (in the page cache) even if
    // the process is killed right after.
    if (exec_fd_ >= 0) {
      std::string line{k};
      line += '\n';
      const char* p = line.data();
      auto left = line.size();
      while (left > 0) {
        auto w = ::write(exec_fd_, p, left);
        if (w < 0 && errno == EINTR)
          continue;
        if (w <= 0) {
          logged = false;
          break;
        }
        p += w;
        left -= static_cast<size_t>(w);
      }
    }
    n = ++records_[std::string{k}];
    ++record_executions_;
    if (n == 2)
      ++duplicate_keys_;
  }
  if (!logged) {
    std::fprintf(stderr, "demo-server: cannot write the exec log: %s\n",
                 std::strerror(errno));
    reply_text(ctx, id, "record: cannot write the exec log", true);
    return;
  }
  auto& buf = ctx.state().scratch;
  buf.clear();
  buf += R"({"content":[{"type":"text","text":)";
  append_json_string(buf, k);
  buf += R"(},{"type":"text","text":"count )";
  buf += std::to_string(n);
  buf += R"("}]})";
  reply(ctx, id, buf);
}

// -- control API --------------------------------------------------------------

void fault_handler::append_armed_locked(std::string& out) const {
  out += '[';
  for (size_t i = 0; i < armed_.size(); ++i) {
    if (i > 0)
      out += ',';
    append_fault_json(out, armed_[i]);
  }
  out += ']';
}

void fault_handler::append_stats(std::string& out, const server_control& srv,
                                 bool with_records) const {
  auto num = [&](std::string_view key, uint64_t x, bool comma = true) {
    if (comma)
      out += ',';
    append_json_string(out, key);
    out += ':';
    out += std::to_string(x);
  };
  out += '{';
  num("sessions_opened", srv.sessions_opened(), false);
  num("sessions_open", srv.sessions_open());
  num("posts", posts_.load(std::memory_order_relaxed));
  num("calls", calls_.load(std::memory_order_relaxed));
  num("executions", executions_.load(std::memory_order_relaxed));
  // Token mode: requests refused with 401 (0 without --token-file).
  num("unauthorized", options().auth ? options().auth->refused() : 0);
  out += R"(,"faults_applied":{)";
  for (size_t i = 1; i < fault_kind_count; ++i)
    num(fault_names[i], applied_[i].load(std::memory_order_relaxed), i > 1);
  out += R"(},"armed":)";
  {
    std::lock_guard<std::mutex> guard{mtx_};
    append_armed_locked(out);
  }
  std::lock_guard<std::mutex> guard{rec_mtx_};
  num("record_executions", record_executions_);
  num("record_keys", records_.size());
  out += R"(,"duplicates":{)";
  bool first = true;
  if (duplicate_keys_ > 0) {
    for (auto& [key, count] : records_) {
      if (count < 2)
        continue;
      num(key, count, !first);
      first = false;
    }
  }
  out += '}';
  if (with_records) {
    out += R"(,"records":{)";
    first = true;
    for (auto& [key, count] : records_) {
      num(key, count, !first);
      first = false;
    }
    out += '}';
  }
  out += '}';
}

std::optional<http_reply>
fault_handler::on_control(server_control& srv,
                          const control_request& req) const {
  auto json_reply = [](unsigned status, std::string body) {
    http_reply res;
    res.status = status;
    res.content_type = "application/json";
    res.body = std::move(body);
    res.body += '\n';
    return res;
  };
  auto error = [&](unsigned status, std::string_view what) {
    std::string body = R"({"error":)";
    append_json_string(body, what);
    body += '}';
    return json_reply(status, std::move(body));
  };
  auto not_allowed = [&](std::string_view allow) {
    auto res = error(405, "method not allowed");
    res.headers.emplace_back("Allow", std::string{allow});
    return res;
  };
  if (req.path == "/_stats") {
    if (req.method != "GET")
      return not_allowed("GET");
    std::string body;
    append_stats(body, srv,
                 req.query.find("records=1") != std::string_view::npos);
    return json_reply(200, std::move(body));
  }
  if (req.path != "/_fault")
    return std::nullopt;
  if (req.method == "GET") {
    std::string body = R"({"armed":)";
    {
      std::lock_guard<std::mutex> guard{mtx_};
      append_armed_locked(body);
    }
    body += '}';
    return json_reply(200, std::move(body));
  }
  if (req.method != "POST")
    return not_allowed("GET, POST");
  fault_spec spec;
  bool now = false;
  if (auto err = parse_fault_json(req.body, spec, now); !err.empty())
    return error(400, err);
  std::string body;
  if (spec.kind == fault_kind::none) {
    auto n = clear();
    body = R"({"fault":"none","cleared":)";
    body += std::to_string(n);
  } else if (now) {
    if (spec.kind != fault_kind::new_session)
      return error(400, R"("now" applies to new_session only)");
    applied(spec.kind);
    auto n = srv.close_all_sessions();
    body = R"({"fault":"new_session","now":true,"closed":)";
    body += std::to_string(n);
  } else {
    arm(spec);
    append_fault_json(body, spec);
    body.pop_back(); // the closing brace: "armed" follows
  }
  body += R"(,"armed":)";
  {
    std::lock_guard<std::mutex> guard{mtx_};
    append_armed_locked(body);
  }
  body += '}';
  return json_reply(200, std::move(body));
}

} // namespace caf_mcp::app::demo
