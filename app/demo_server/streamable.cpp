// The Streamable HTTP endpoint of the demo server: see streamable.hpp and
// docs/fault-server.md.
//
// Shape: a session (`shttp_session`) owns the MCP state and a table of its
// SSE streams (`stream_rec`, by stream number: 0 is the standalone GET
// stream, 1, 2, ... one per POST that carried requests). Every event gets
// the id `<stream>-<seq>` and is kept in a small ring per stream, so that a
// GET with `Last-Event-ID` can replay what a broken connection lost and
// take the stream over. A POST's messages go to the handler with a
// `post_context`, the `session_context` whose output is that POST's answer
// (SSE events, or the one JSON body); once the responses to all of the
// POST's requests are written, its stream ends (`event_stream::finish`:
// the last chunk, and the connection reads its next request).
//
// Threads: the handler runs on the session's executor (the io_context's,
// or a strand of it with several io threads); the stream table is behind
// the session's mutex because GETs and stream ends arrive on the
// connections' executors. Writes to a connection run on its executor
// (inline with one io thread).
#include "streamable.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#pragma GCC diagnostic pop

#include "caf_mcp/transport/http_server.hpp"

#include "mcp_handler.hpp"

namespace net = boost::asio;

namespace caf_mcp::app::demo {

namespace {

/// Events kept per stream for resumption.
constexpr size_t ring_events = 64;

/// Streams whose responses were all written, kept per session for
/// resumption (the oldest are forgotten first).
constexpr size_t kept_done_streams = 16;

/// The `retry` (ms) sent before a connection is cut on purpose.
constexpr int cut_retry_ms = 100;

constexpr std::string_view session_header = "Mcp-Session-Id";

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size())
    return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    for (; j < needle.size(); ++j) {
      auto a = hay[i + j];
      if (a >= 'A' && a <= 'Z')
        a = static_cast<char>(a - 'A' + 'a');
      if (a != needle[j])
        break;
    }
    if (j == needle.size())
      return true;
  }
  return false;
}

/// An `Origin` we accept: absent, or http(s) on a loopback host.
bool origin_ok(std::string_view origin) {
  if (origin.empty())
    return true;
  for (auto scheme : {std::string_view{"http://"}, std::string_view{"https://"}})
    if (origin.substr(0, scheme.size()) == scheme) {
      auto host = origin.substr(scheme.size());
      for (auto h : {std::string_view{"localhost"},
                     std::string_view{"127.0.0.1"}, std::string_view{"[::1]"}})
        if (host.substr(0, h.size()) == h
            && (host.size() == h.size() || host[h.size()] == ':'))
          return true;
    }
  return false;
}

/// The text every response to `id` starts with (encode_response_into and
/// encode_error_into write the id right after the version).
std::string response_head(const request_id& id) {
  std::string probe;
  encode_response_into(probe, id, "{}");
  probe.resize(probe.size() - std::string_view{R"("result":{}})"}.size());
  return probe; // {"jsonrpc":"2.0","id":ID,
}

/// One SSE stream of a session.
struct stream_rec {
  /// The last event's sequence number.
  uint64_t seq = 0;
  /// Recent events (whole, with their id line), oldest first.
  std::deque<std::pair<uint64_t, std::string>> ring;
  /// The connection it is written to, if any.
  std::shared_ptr<transport::event_stream> out;
  /// All responses were written: a resumption replays, then ends.
  bool done = false;
};

/// Writes on a connection's executor (inline with one io thread).
void append_to(const std::shared_ptr<transport::event_stream>& out,
               std::string text) {
  out->dispatch([out, t = std::move(text)] { out->append(t); });
}

void finish(const std::shared_ptr<transport::event_stream>& out) {
  out->dispatch([out] { out->finish(); });
}

/// Cuts the connection after what is queued (no end of body), after a
/// `retry` field.
void cut(const std::shared_ptr<transport::event_stream>& out) {
  out->dispatch([out] {
    out->append("retry: " + std::to_string(cut_retry_ms) + "\n\n");
    out->close_after_write();
  });
}

class post_context;

/// One Streamable HTTP session.
struct shttp_session : std::enable_shared_from_this<shttp_session> {
  shttp_session(streamable_endpoint::impl& ep, net::any_io_executor ex)
    : endpoint(ep), executor(std::move(ex)), id(make_uuid()) {
    streams.emplace(0, stream_rec{});
  }

  streamable_endpoint::impl& endpoint;
  net::any_io_executor executor;
  const std::string id;
  /// Only on `executor`.
  session_state state;

  std::mutex mtx;
  // -- guarded by mtx ---------------------------------------------------------
  bool open = true;
  std::map<uint64_t, stream_rec> streams;
  uint64_t next_stream = 1;
  /// POSTs waiting for their JSON answer (answered 404 if the session ends).
  std::vector<std::weak_ptr<post_context>> waiting;
  // ---------------------------------------------------------------------------

  /// The context of stream 0 (messages outside any request). Reset when the
  /// session ends (it refers to the session).
  std::shared_ptr<post_context> standalone;

  /// Appends one event to stream `no` (kept in its ring); returns the
  /// connection to write it to (null if none) and sets `text`.
  std::shared_ptr<transport::event_stream>
  add_event(uint64_t no, std::string_view data, std::string& text) {
    std::lock_guard<std::mutex> guard{mtx};
    auto& rec = streams[no];
    auto seq = ++rec.seq;
    text.clear();
    text.reserve(data.size() + 48);
    text += "id: ";
    text += std::to_string(no);
    text += '-';
    text += std::to_string(seq);
    if (data.empty()) {
      text += "\ndata: \n\n"; // a priming event
    } else {
      text += "\nevent: message\ndata: ";
      text += data;
      text += "\n\n";
    }
    rec.ring.emplace_back(seq, text);
    if (rec.ring.size() > ring_events)
      rec.ring.pop_front();
    return rec.out;
  }

  /// Marks stream `no` done; returns its connection (to finish), if any.
  std::shared_ptr<transport::event_stream> stream_done(uint64_t no) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = streams.find(no);
    if (i == streams.end())
      return nullptr;
    i->second.done = true;
    auto out = std::move(i->second.out);
    // Forget the oldest finished streams beyond the bound.
    size_t n_done = 0;
    for (auto& kvp : streams)
      n_done += kvp.second.done ? 1 : 0;
    for (auto j = streams.begin(); n_done > kept_done_streams
                                   && j != streams.end();) {
      if (j->first != 0 && j->second.done) {
        j = streams.erase(j);
        --n_done;
      } else {
        ++j;
      }
    }
    return out;
  }

  /// Attaches `out` to stream `no` (replacing a connection left open).
  void attach(uint64_t no, const std::shared_ptr<transport::event_stream>& out);
};

/// What a POST's messages (or the standalone stream's) are sent through.
class post_context final : public session_context {
public:
  post_context(std::shared_ptr<shttp_session> s, uint64_t stream_no,
               bool json)
    : session_(std::move(s)), stream_no_(stream_no), json_(json) {
    // nop
  }

  /// The requests whose responses end this answer.
  void expect(const request_id& id) {
    heads_.push_back(response_head(id));
    answered_.push_back(false);
  }

  /// JSON mode: the exchange to answer.
  void set_exchange(std::shared_ptr<transport::http_exchange> ex) {
    exchange_ = std::move(ex);
  }

  /// SSE mode: cut the answer before its response (the cut_response fault).
  void cut_before_response() {
    cut_ = true;
  }

  /// SSE mode: the priming event was written first; cuts now if asked.
  void primed(const std::shared_ptr<transport::event_stream>& out) {
    written_ = true;
    if (cut_ && out) {
      cut_ = false;
      detach();
      cut(out);
    }
  }

  /// Brackets the handling of the POST's messages (see mark_answered).
  void begin_delivery() {
    delivering_ = true;
  }

  void end_delivery() {
    delivering_ = false;
    if (finish_due_) {
      finish_due_ = false;
      finish_answer();
    }
  }

  /// Answers a waiting JSON POST with 404 (the session ended).
  void session_gone() {
    if (!exchange_)
      return;
    transport::http_response res;
    res.status = 404;
    res.content_type = "application/json";
    res.body = R"({"jsonrpc":"2.0","error":{"code":-32001,)"
               R"("message":"Session not found"},"id":null})";
    exchange_->respond(std::move(res));
    exchange_.reset();
  }

  // -- session_context --------------------------------------------------------

  std::string_view id() const noexcept override {
    return session_->id;
  }

  const net::any_io_executor& executor() const noexcept override {
    return session_->executor;
  }

  session_state& state() noexcept override {
    return session_->state;
  }

  bool is_open() const noexcept override {
    std::lock_guard<std::mutex> guard{session_->mtx};
    return session_->open;
  }

  void send_raw(std::string_view bytes) override {
    if (holding_) {
      held_ += bytes;
      return;
    }
    if (json_) {
      raw_ += bytes;
      return take_raw_events();
    }
    // Raw bytes go to the connection as they are (broken framing on
    // purpose); a response among them still ends the answer.
    for (size_t i = 0; i < heads_.size(); ++i)
      if (!answered_[i] && bytes.find(heads_[i]) != std::string_view::npos)
        mark_answered(i);
    if (auto out = connection())
      append_to(out, std::string{bytes});
  }

  void close() override;

  void close_after_write() override {
    // Ends this POST's connection (not the session).
    if (json_) {
      if (exchange_) {
        exchange_->drop();
        exchange_.reset();
      }
      return;
    }
    std::shared_ptr<transport::event_stream> out;
    {
      std::lock_guard<std::mutex> guard{session_->mtx};
      auto i = session_->streams.find(stream_no_);
      if (i != session_->streams.end())
        out = std::move(i->second.out);
    }
    if (out)
      out->dispatch([out] { out->close_after_write(); });
  }

  void hold_output() override {
    holding_ = true;
  }

  void release_output() override {
    if (!holding_)
      return;
    holding_ = false;
    std::string held;
    held.swap(held_);
    if (!held.empty())
      send_raw(held);
    if (finish_deferred_) {
      finish_deferred_ = false;
      finish_answer();
    }
  }

  server_control& server() noexcept override;

protected:
  std::string& begin_message() override {
    buf_.clear();
    return buf_;
  }

  void end_message() override {
    on_data(buf_);
  }

private:
  /// The connection of this context's stream, if any.
  std::shared_ptr<transport::event_stream> connection() {
    std::lock_guard<std::mutex> guard{session_->mtx};
    auto i = session_->streams.find(stream_no_);
    return i != session_->streams.end() ? i->second.out : nullptr;
  }

  /// Takes this context's stream off its connection (which is returned).
  std::shared_ptr<transport::event_stream> detach() {
    std::lock_guard<std::mutex> guard{session_->mtx};
    auto i = session_->streams.find(stream_no_);
    return i != session_->streams.end() ? std::move(i->second.out) : nullptr;
  }

  void on_data(std::string_view data) {
    std::optional<size_t> resp;
    for (size_t i = 0; i < heads_.size(); ++i)
      if (!answered_[i] && data.substr(0, heads_[i].size()) == heads_[i]) {
        resp = i;
        break;
      }
    if (json_) {
      if (!resp) {
        // A JSON answer holds responses only: notifications of a request
        // answered as JSON (progress, log messages) are dropped; after the
        // answer, messages go to the standalone stream.
        if (!exchange_ && session_->standalone
            && session_->standalone.get() != this)
          session_->standalone->send(
            [&](std::string& out) { out.append(data.data(), data.size()); });
        return;
      }
      parts_.emplace_back(data);
      mark_answered(*resp);
      return;
    }
    if (finished_ && stream_no_ != 0) {
      // The answer ended: later messages go to the standalone stream.
      if (session_->standalone)
        session_->standalone->send(
          [&](std::string& out) { out.append(data.data(), data.size()); });
      return;
    }
    if (cut_ && resp && !written_) {
      // Nothing came before the response: cut before it.
      cut_ = false;
      if (auto out = detach())
        cut(out);
    }
    std::string text;
    auto out = session_->add_event(stream_no_, data, text);
    written_ = true;
    if (out) {
      if (holding_)
        held_ += text;
      else
        append_to(out, std::move(text));
      if (cut_) {
        cut_ = false;
        detach();
        cut(out);
      }
    }
    if (resp)
      mark_answered(*resp);
  }

  void mark_answered(size_t i) {
    answered_[i] = true;
    if (++n_answered_ < heads_.size())
      return;
    if (json_)
      return respond_json();
    // What the same handler call sends next (a duplicate response) still
    // goes to this stream: the stream ends when the POST's messages are
    // handled, or (an answer given later) in the next round.
    if (delivering_) {
      finish_due_ = true;
      return;
    }
    net::post(session_->executor,
              [self = std::static_pointer_cast<post_context>(
                 shared_from_this())] { self->finish_answer(); });
  }

  void finish_answer() {
    if (finished_)
      return;
    if (holding_) {
      finish_deferred_ = true;
      return;
    }
    finished_ = true;
    if (auto out = session_->stream_done(stream_no_))
      finish(out);
  }

  void respond_json() {
    if (!exchange_)
      return;
    transport::http_response res;
    res.status = 200;
    res.content_type = "application/json";
    res.headers.emplace_back(std::string{session_header}, session_->id);
    if (parts_.size() == 1) {
      res.body = std::move(parts_.front());
    } else {
      res.body = "[";
      for (size_t i = 0; i < parts_.size(); ++i) {
        if (i > 0)
          res.body += ',';
        res.body += parts_[i];
      }
      res.body += ']';
    }
    parts_.clear();
    exchange_->respond(std::move(res));
    exchange_.reset();
  }

  /// JSON mode: raw SSE bytes (the stall fault) become messages again once
  /// an event is complete.
  void take_raw_events() {
    for (auto end = raw_.find("\n\n"); end != std::string::npos;
         end = raw_.find("\n\n")) {
      std::string ev = raw_.substr(0, end);
      raw_.erase(0, end + 2);
      auto pos = ev.find("data: ");
      if (pos != std::string::npos)
        on_data(std::string_view{ev}.substr(pos + 6));
    }
  }

  std::shared_ptr<shttp_session> session_;
  const uint64_t stream_no_;
  const bool json_;
  std::vector<std::string> heads_;
  std::vector<bool> answered_;
  size_t n_answered_ = 0;
  std::shared_ptr<transport::http_exchange> exchange_;
  std::vector<std::string> parts_;
  std::string buf_;
  std::string raw_;
  std::string held_;
  bool holding_ = false;
  bool cut_ = false;
  bool written_ = false;
  bool finished_ = false;
  bool finish_deferred_ = false;
  bool delivering_ = false;
  bool finish_due_ = false;
};

void shttp_session::attach(uint64_t no,
                           const std::shared_ptr<transport::event_stream>& out) {
  std::shared_ptr<transport::event_stream> old;
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto& rec = streams[no];
    old = std::move(rec.out);
    rec.out = out;
  }
  if (old && old != out)
    old->dispatch([old] { old->close(); });
  // When the client goes away, the stream's events are only kept.
  std::weak_ptr<shttp_session> weak = shared_from_this();
  auto* raw = out.get();
  out->on_close([weak, no, raw] {
    if (auto s = weak.lock()) {
      std::lock_guard<std::mutex> guard{s->mtx};
      auto i = s->streams.find(no);
      if (i != s->streams.end() && i->second.out.get() == raw)
        i->second.out.reset();
    }
  });
}

} // namespace

// -- the endpoint -------------------------------------------------------------

struct streamable_endpoint::impl {
  impl(const mcp_handler& hdl, server_control& sc, streamable_options o,
       bool v)
    : handler(hdl), srv(sc), opts(std::move(o)), verbose(v) {
    // nop
  }

  const mcp_handler& handler;
  server_control& srv;
  const streamable_options opts;
  const bool verbose;
  net::any_io_executor base;
  bool strands = false;
  std::atomic<uint64_t> opened{0};

  mutable std::mutex mtx;
  std::unordered_map<std::string, std::shared_ptr<shttp_session>> sessions;

  std::shared_ptr<shttp_session> find(std::string_view id) const {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = sessions.find(std::string{id});
    return i != sessions.end() ? i->second : nullptr;
  }

  void on_request(transport::http_request& req, transport::http_exchange& ex);

  void post(transport::http_request& req, transport::http_exchange& ex);

  void get(transport::http_request& req, transport::http_exchange& ex);

  void del(transport::http_request& req, transport::http_exchange& ex);

  /// Ends a session: unregisters it, ends its connections, answers its
  /// waiting JSON POSTs 404 and cancels its calls.
  void end_session(const std::shared_ptr<shttp_session>& s);

  /// Checks `MCP-Protocol-Version`; answers 400 and returns false if bad.
  bool version_ok(transport::http_request& req, transport::http_exchange& ex);

  /// Finds the session of a request; answers 400/404 and returns null.
  std::shared_ptr<shttp_session> session_of(transport::http_request& req,
                                            transport::http_exchange& ex);

  void error(transport::http_request& req, transport::http_exchange& ex,
             unsigned status, int64_t code, std::string_view message,
             std::vector<std::pair<std::string, std::string>> headers = {});

  /// Hands a POST's messages to the handler on the session's executor.
  void deliver(std::shared_ptr<post_context> ctx, decode_result msgs);
};

server_control& post_context::server() noexcept {
  return session_->endpoint.srv;
}

void post_context::close() {
  // The session ends (its id becomes unknown).
  auto s = session_;
  s->endpoint.end_session(s);
}

void streamable_endpoint::impl::error(
  transport::http_request& req, transport::http_exchange& ex, unsigned status,
  int64_t code, std::string_view message,
  std::vector<std::pair<std::string, std::string>> headers) {
  if (verbose) {
    auto target = req.target();
    std::fprintf(stderr, "demo-server: %s %.*s -> %u %.*s\n",
                 std::string{req.method()}.c_str(),
                 static_cast<int>(target.size()), target.data(), status,
                 static_cast<int>(message.size()), message.data());
  }
  transport::http_response res;
  res.status = status;
  res.content_type = "application/json";
  res.headers = std::move(headers);
  // A JSON-RPC error without id, as the SDK's server sends.
  res.body = R"({"jsonrpc":"2.0","error":{"code":)";
  res.body += std::to_string(code);
  res.body += R"(,"message":)";
  append_json_string(res.body, message);
  res.body += R"(},"id":null})";
  ex.respond(std::move(res));
}

bool streamable_endpoint::impl::version_ok(transport::http_request& req,
                                           transport::http_exchange& ex) {
  if (!req.has_header("MCP-Protocol-Version"))
    return true; // assumed 2025-03-26, as the spec says
  auto v = req.header("MCP-Protocol-Version");
  if (is_supported_protocol_version(v))
    return true;
  std::string msg = "Bad Request: Unsupported protocol version: ";
  msg += v.substr(0, 64);
  error(req, ex, 400, -32000, msg);
  return false;
}

std::shared_ptr<shttp_session>
streamable_endpoint::impl::session_of(transport::http_request& req,
                                      transport::http_exchange& ex) {
  if (!req.has_header(session_header)) {
    error(req, ex, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
    return nullptr;
  }
  auto s = find(req.header(session_header));
  if (!s)
    error(req, ex, 404, -32001, "Session not found");
  return s;
}

void streamable_endpoint::impl::on_request(transport::http_request& req,
                                           transport::http_exchange& ex) {
  if (!origin_ok(req.header("Origin")))
    return error(req, ex, 403, -32000, "Forbidden: Origin not allowed");
  auto m = req.method();
  if (m == "POST")
    return post(req, ex);
  if (m == "GET")
    return get(req, ex);
  if (m == "DELETE")
    return del(req, ex);
  error(req, ex, 405, -32000, "Method not allowed",
        {{"Allow", opts.get_stream ? "GET, POST, DELETE" : "POST, DELETE"}});
}

void streamable_endpoint::impl::post(transport::http_request& req,
                                     transport::http_exchange& ex) {
  auto accept = req.header("Accept");
  if (!contains_ci(accept, "application/json")
      || !contains_ci(accept, "text/event-stream"))
    return error(req, ex, 406, -32000,
                 "Not Acceptable: Client must accept both application/json "
                 "and text/event-stream");
  if (!contains_ci(req.header("Content-Type"), "application/json"))
    return error(req, ex, 415, -32000,
                 "Unsupported Media Type: Content-Type must be "
                 "application/json");
  const auto& body = req.body();
  decode_result msgs;
  decode(body, make_decode_arena(body.size()), msgs);
  if (msgs.messages.empty()) {
    if (!msgs.errors.empty() && msgs.errors.front().code
                                  == jsonrpc_code::parse_error)
      return error(req, ex, 400, jsonrpc_code::parse_error,
                   "Parse error: " + msgs.errors.front().message);
    return error(req, ex, 400, jsonrpc_code::invalid_request,
                 msgs.errors.empty() ? std::string{"Invalid Request: empty batch"}
                                     : "Invalid Request: "
                                         + msgs.errors.front().message);
  }
  size_t requests = 0;
  bool init = false;
  for (auto& msg : msgs.messages)
    if (auto r = std::get_if<request>(&msg)) {
      ++requests;
      init = init || r->method == methods::initialize;
    }
  std::shared_ptr<shttp_session> s;
  if (init && !req.has_header(session_header)) {
    if (msgs.messages.size() != 1)
      return error(req, ex, 400, jsonrpc_code::invalid_request,
                   "Invalid Request: initialize must be sent alone");
    // A POST fault may take the initialize too (no session is made then).
    if (auto alt = handler.on_post(post_info{{}, body, msgs})) {
      if (alt->action == post_action::no_answer)
        return ex.hold();
      if (alt->action == post_action::drop)
        return ex.drop();
      transport::http_response res;
      res.status = alt->status;
      res.content_type = alt->content_type;
      res.headers = alt->headers;
      res.body = std::move(alt->body);
      return ex.respond(std::move(res));
    }
    auto exec = strands ? net::any_io_executor{net::make_strand(base)} : base;
    s = std::make_shared<shttp_session>(*this, std::move(exec));
    s->standalone = std::make_shared<post_context>(s, 0, false);
    {
      std::lock_guard<std::mutex> guard{mtx};
      sessions.emplace(s->id, s);
    }
    opened.fetch_add(1, std::memory_order_relaxed);
    if (verbose)
      std::fprintf(stderr, "demo-server: streamable session %s opened\n",
                   s->id.c_str());
  } else {
    if (!version_ok(req, ex))
      return;
    s = session_of(req, ex);
    if (!s)
      return;
    if (auto alt = handler.on_post(post_info{s->id, body, msgs})) {
      auto process = alt->process;
      switch (alt->action) {
        case post_action::no_answer:
          ex.hold();
          break;
        case post_action::drop:
          ex.drop();
          break;
        case post_action::reply: {
          transport::http_response res;
          res.status = alt->status;
          res.content_type = alt->content_type;
          res.headers = alt->headers;
          res.body = std::move(alt->body);
          ex.respond(std::move(res));
        }
      }
      if (process) {
        // The messages run; their answers go nowhere but the ring of a
        // stream nobody reads.
        std::shared_ptr<post_context> ctx;
        {
          std::lock_guard<std::mutex> guard{s->mtx};
          ctx = std::make_shared<post_context>(s, s->next_stream++, false);
        }
        deliver(std::move(ctx), std::move(msgs));
      }
      return;
    }
  }
  auto json = opts.json_response;
  auto fault = init ? streamable_fault::none
                   : handler.on_streamable_post(
                               post_info{s->id, body, msgs}, requests, json);
  if (fault == streamable_fault::session_gone && !init) {
    end_session(s);
    return error(req, ex, 404, -32001, "Session not found");
  }
  if (fault == streamable_fault::json_instead_of_stream)
    json = true;
  else if (fault == streamable_fault::stream_instead_of_json)
    json = false;
  if (requests == 0) {
    // Notifications and responses: 202, no body.
    transport::http_response res;
    res.status = 202;
    res.headers.emplace_back(std::string{session_header}, s->id);
    ex.respond(std::move(res));
    if (auto ctx = s->standalone)
      deliver(std::move(ctx), std::move(msgs));
    return;
  }
  std::shared_ptr<post_context> ctx;
  uint64_t no = 0;
  {
    std::lock_guard<std::mutex> guard{s->mtx};
    no = s->next_stream++;
    if (!json)
      s->streams.emplace(no, stream_rec{});
  }
  ctx = std::make_shared<post_context>(s, no, json);
  for (auto& msg : msgs.messages)
    if (auto r = std::get_if<request>(&msg))
      ctx->expect(r->id);
  if (json) {
    ctx->set_exchange(ex.keep());
    std::lock_guard<std::mutex> guard{s->mtx};
    auto& w = s->waiting;
    if (w.size() > 64)
      w.erase(std::remove_if(w.begin(), w.end(),
                             [](const auto& x) { return x.expired(); }),
              w.end());
    w.push_back(ctx);
  } else {
    if (fault == streamable_fault::cut_response)
      ctx->cut_before_response();
    transport::http_response head;
    head.headers.emplace_back(std::string{session_header}, s->id);
    auto out = ex.start_stream(std::move(head));
    if (!out)
      return;
    s->attach(no, out);
    // 2025-11-25 clients get a priming event (an id, no data) first: they
    // can resume from it (the SDK's server does the same).
    auto v = req.header("MCP-Protocol-Version");
    if (!init && v >= protocol_version_2025_11_25) {
      std::string text;
      s->add_event(no, {}, text);
      out->append(text);
      ctx->primed(out);
    }
  }
  deliver(std::move(ctx), std::move(msgs));
}

void streamable_endpoint::impl::deliver(std::shared_ptr<post_context> ctx,
                                        decode_result msgs) {
  auto& exec = ctx->executor();
  net::dispatch(exec, [c = std::move(ctx), m = std::move(msgs),
                       &hdl = handler]() mutable {
    c->begin_delivery();
    for (auto& msg : m.messages)
      hdl.on_message(*c, std::move(msg));
    for (auto& err : m.errors)
      hdl.on_invalid(*c, err);
    c->end_delivery();
  });
}

void streamable_endpoint::impl::get(transport::http_request& req,
                                    transport::http_exchange& ex) {
  if (!opts.get_stream)
    return error(req, ex, 405, -32000,
                 "Method not allowed: this server has no GET stream",
                 {{"Allow", "POST, DELETE"}});
  if (!contains_ci(req.header("Accept"), "text/event-stream"))
    return error(req, ex, 406, -32000,
                 "Not Acceptable: Client must accept text/event-stream");
  if (!version_ok(req, ex))
    return;
  auto s = session_of(req, ex);
  if (!s)
    return;
  transport::http_response head;
  head.headers.emplace_back(std::string{session_header}, s->id);
  if (req.has_header("Last-Event-ID")) {
    // Resumption: `<stream>-<seq>`.
    auto last = req.header("Last-Event-ID");
    auto dash = last.find('-');
    uint64_t no = 0;
    uint64_t seq = 0;
    auto ok = dash != std::string_view::npos && dash > 0;
    if (ok) {
      auto r1 = std::from_chars(last.data(), last.data() + dash, no);
      auto r2 = std::from_chars(last.data() + dash + 1,
                                last.data() + last.size(), seq);
      ok = r1.ec == std::errc{} && r1.ptr == last.data() + dash
           && r2.ec == std::errc{} && r2.ptr == last.data() + last.size();
    }
    std::vector<std::string> replay;
    bool done = false;
    {
      std::lock_guard<std::mutex> guard{s->mtx};
      auto i = ok ? s->streams.find(no) : s->streams.end();
      ok = i != s->streams.end() && seq <= i->second.seq;
      if (ok) {
        auto& rec = i->second;
        // Every event after `seq` must still be in the ring.
        ok = seq == rec.seq || (!rec.ring.empty()
                                && rec.ring.front().first <= seq + 1);
        if (ok) {
          for (auto& [n, text] : rec.ring)
            if (n > seq)
              replay.push_back(text);
          done = rec.done;
        }
      }
    }
    if (!ok)
      return error(req, ex, 400, -32000,
                   "Bad Request: cannot resume from that Last-Event-ID "
                   "(unknown, or its events are no longer kept)");
    auto out = ex.start_stream(std::move(head));
    if (!out)
      return;
    for (auto& text : replay)
      out->append(text);
    if (done)
      return out->finish();
    s->attach(no, out);
    // The stream may have ended meanwhile (another thread).
    bool ended = false;
    {
      std::lock_guard<std::mutex> guard{s->mtx};
      auto i = s->streams.find(no);
      if (i != s->streams.end() && i->second.done && i->second.out == out) {
        i->second.out.reset();
        ended = true;
      }
    }
    if (ended)
      finish(out);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{s->mtx};
    auto& rec = s->streams[0];
    if (rec.out && rec.out->is_open())
      return error(req, ex, 409, -32000,
                   "Conflict: Only one SSE stream is allowed per session");
  }
  auto out = ex.start_stream(std::move(head));
  if (!out)
    return;
  s->attach(0, out);
  if (req.header("MCP-Protocol-Version") >= protocol_version_2025_11_25) {
    std::string text;
    s->add_event(0, {}, text);
    out->append(text);
  }
}

void streamable_endpoint::impl::del(transport::http_request& req,
                                    transport::http_exchange& ex) {
  if (!version_ok(req, ex))
    return;
  auto s = session_of(req, ex);
  if (!s)
    return;
  end_session(s);
  if (verbose)
    std::fprintf(stderr, "demo-server: streamable session %s deleted\n",
                 s->id.c_str());
  transport::http_response res;
  res.status = 200;
  res.body = "Session ended";
  ex.respond(std::move(res));
}

void streamable_endpoint::impl::end_session(
  const std::shared_ptr<shttp_session>& s) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = sessions.find(s->id);
    if (i != sessions.end() && i->second == s)
      sessions.erase(i);
  }
  std::vector<std::shared_ptr<transport::event_stream>> outs;
  std::vector<std::shared_ptr<post_context>> waiting;
  {
    std::lock_guard<std::mutex> guard{s->mtx};
    if (!s->open)
      return;
    s->open = false;
    for (auto& kvp : s->streams)
      if (kvp.second.out)
        outs.push_back(std::move(kvp.second.out));
    for (auto& w : s->waiting)
      if (auto c = w.lock())
        waiting.push_back(std::move(c));
    s->waiting.clear();
  }
  for (auto& out : outs)
    out->dispatch([out] { out->close(); });
  net::dispatch(s->executor, [s, w = std::move(waiting), &hdl = handler] {
    for (auto& c : w)
      c->session_gone();
    if (s->standalone) {
      hdl.on_close(*s->standalone);
      s->standalone.reset(); // it refers to the session
    }
  });
}

// -- streamable_endpoint ------------------------------------------------------

streamable_endpoint::streamable_endpoint(const mcp_handler& handler,
                                         server_control& srv,
                                         streamable_options opts,
                                         bool verbose)
  : impl_(std::make_shared<impl>(handler, srv, std::move(opts), verbose)) {
  // nop
}

streamable_endpoint::~streamable_endpoint() {
  // The io_context may be gone: no handler runs now, only the cycles
  // between sessions and their standalone contexts are broken.
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& kvp : impl_->sessions)
    kvp.second->standalone.reset();
  impl_->sessions.clear();
}

void streamable_endpoint::set_executor(const net::any_io_executor& ex,
                                       bool strands) {
  impl_->base = ex;
  impl_->strands = strands;
}

const streamable_options& streamable_endpoint::options() const noexcept {
  return impl_->opts;
}

void streamable_endpoint::on_request(transport::http_request& req,
                                     transport::http_exchange& ex) {
  impl_->on_request(req, ex);
}

size_t streamable_endpoint::forget_all() {
  std::unordered_map<std::string, std::shared_ptr<shttp_session>> all;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    all.swap(impl_->sessions);
  }
  for (auto& kvp : all)
    impl_->end_session(kvp.second);
  return all.size();
}

uint64_t streamable_endpoint::sessions_opened() const noexcept {
  return impl_->opened.load(std::memory_order_relaxed);
}

size_t streamable_endpoint::sessions_open() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->sessions.size();
}

} // namespace caf_mcp::app::demo
