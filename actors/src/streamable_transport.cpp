// The Streamable HTTP transport of one session: one POST channel, one
// `exchange` per POST (the response handler that reads its answer), the
// optional standalone GET stream and the GETs that resume broken response
// streams. See the header and docs/transports.md.
//
// Threads: `post`, `set_header`, `listen` and `close` are called by the
// session (one call at a time); everything else runs on the transport's io
// thread. What both sides touch (the session id, the protocol version, the
// count of POSTs in flight, the closed flag) sits in `core` under a mutex;
// the GET streams are opened and closed on the io thread only.

#include "caf_mcp/actors/streamable_transport.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <boost/algorithm/string/predicate.hpp>

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"

#include "caf_mcp/actors/transport_errors.hpp"
#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/streamable_http.hpp"

namespace caf_mcp {

streamable_transport::~streamable_transport() {
  // nop
}

namespace {

using namespace std::chrono_literals;

/// The flag bits a POST tag may carry above a request id.
constexpr uint64_t tag_flags = ack_tag_bit | notification_tag_bit
                               | resend_ok_tag_bit;

/// The tag of a `post_outcome` that is about no POST of the session: a GET
/// learned that the session or the server is gone (`core::session_gone`).
/// A notification tag (no request fails with it) that the session's own
/// counter never reaches.
constexpr uint64_t session_gone_tag = notification_tag_bit
                                      | (uint64_t{1} << 60);

/// State shared by the transport, its exchanges and its GET streams.
struct core {
  std::shared_ptr<const stream_config> cfg;
  caf::weak_actor_ptr owner;
  streamable_options opts;
  std::shared_ptr<transport::post_channel> channel;
  /// The io thread of the channel and every GET.
  size_t thread = 0;

  std::mutex mtx;
  std::string session_id;
  std::string version;
  size_t in_flight = 0;
  std::function<void()> on_idle;
  bool closed = false;
  /// Stateless MCP 2026-07-28: no session id; JSON-RPC errors in non-2xx
  /// answers go to the session as responses.
  bool stateless = false;

  /// io thread only: the open GET streams (standalone and resumptions).
  std::vector<std::shared_ptr<transport::sse_stream>> streams;

  template <class... Ts>
  void to_owner(Ts&&... xs) {
    if (auto ptr = owner.lock())
      caf::anon_send(caf::actor_cast<session_impl_actor>(ptr),
                     std::forward<Ts>(xs)...);
  }

  bool is_closed() {
    std::lock_guard<std::mutex> guard{mtx};
    return closed;
  }

  /// Session id and version headers (under the lock).
  transport::header_list mcp_headers() {
    std::lock_guard<std::mutex> guard{mtx};
    return transport::mcp_request_headers(session_id, version);
  }

  /// Takes the first valid session id a 2xx answer carries.
  void take_session_id(std::string_view id) {
    if (!transport::valid_session_id(id)) {
      CAF_MCP_LOG_WARN("shttp", "ignoring an invalid Mcp-Session-Id ("
                                  << id.size() << " bytes)");
      return;
    }
    std::lock_guard<std::mutex> guard{mtx};
    if (session_id.empty() && !stateless)
      session_id = std::string{id};
  }

  /// One POST (or resumption) is settled.
  void done_one() {
    std::function<void()> f;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (--in_flight == 0)
        f.swap(on_idle);
    }
    if (f)
      f();
  }

  /// HTTP options of a GET: the configured ones plus the MCP headers.
  std::shared_ptr<transport::http_options> get_options() {
    auto http = std::make_shared<transport::http_options>(*cfg->http);
    for (auto& h : mcp_headers())
      http->headers.emplace_back(std::move(h));
    return http;
  }

  /// Tells the session that the server no longer knows this session (a
  /// 404 to a GET with our session id) or cannot be reached (a refused
  /// connect): no request fails with it, the session ends (as after a
  /// 404 to a POST) and its supervisor starts a new one.
  void session_gone(caf::error err) {
    to_owner(post_done_atom::value, post_outcome{session_gone_tag,
                                                 std::move(err)});
  }

  /// True if a GET failed in a way that says the session or the server is
  /// gone: 404 to our session id, or a refused connection.
  static bool gone(const transport::transport_error& why) {
    using transport::transport_errc;
    return (why.code == transport_errc::http_status && why.status == 404)
           || why.code == transport_errc::connect_failed
           || why.code == transport_errc::resolve_failed;
  }

  void forget(const std::shared_ptr<transport::sse_stream>& s) {
    streams.erase(std::remove(streams.begin(), streams.end(), s),
                  streams.end());
  }
};

using core_ptr = std::shared_ptr<core>;

/// Decodes JSON-RPC texts into one batch and notes whether the response to
/// `request_id` (0: none awaited) went by.
class batch_builder : public transport::message_sink {
public:
  explicit batch_builder(int64_t request_id) : request_id_(request_id) {
    // nop
  }

  void on_message(std::string_view json) override {
    auto res = decode(json);
    for (auto& m : res.messages) {
      if (auto id = id_of(m); id != nullptr && request_id_ != 0
                              && id->is_integer()
                              && id->integer() == request_id_
                              && !std::holds_alternative<request>(m))
        got_response_ = true;
      batch_.messages.emplace_back(std::move(m));
    }
    for (auto& e : res.errors) {
      if (e.id && request_id_ != 0 && e.id->is_integer()
          && e.id->integer() == request_id_)
        got_response_ = true;
      batch_.errors.emplace_back(std::move(e));
    }
  }

  /// Sends what was collected (if anything) to the session.
  void flush(core& c) {
    if (batch_.messages.empty() && batch_.errors.empty())
      return;
    c.to_owner(inbound_atom::value, std::move(batch_));
    batch_ = inbound_batch{};
  }

  bool got_response() const noexcept {
    return got_response_;
  }

private:
  int64_t request_id_;
  bool got_response_ = false;
  inbound_batch batch_;
};

/// One POST: reads its answer and settles it exactly once.
class exchange : public transport::response_handler,
                 public std::enable_shared_from_this<exchange> {
public:
  exchange(core_ptr c, uint64_t tag, bool sent_session_id, bool stateless)
    : core_(std::move(c)),
      tag_(tag),
      sent_session_id_(sent_session_id),
      stateless_(stateless),
      builder_((tag & notification_tag_bit) == 0
                 ? static_cast<int64_t>(tag & ~tag_flags)
                 : 0) {
    // nop
  }

  std::chrono::milliseconds
  on_header(int status, const transport::response_fields& fields) override {
    status_ = status;
    auto ok = status >= 200 && status <= 299;
    if (ok) {
      if (auto sid = fields.get(transport::session_id_header); !sid.empty())
        core_->take_session_id(sid);
    }
    content_type_ = std::string{fields.get("Content-Type")};
    auto length = fields.get("Content-Length");
    auto has_body = !(length == "0")
                    || !fields.get("Transfer-Encoding").empty();
    kind_ = transport::classify_response(status, content_type_, has_body);
    if (kind_ == transport::response_kind::json
        || kind_ == transport::response_kind::event_stream)
      reader_.emplace(kind_, core_->cfg->http->max_event_size);
    if (kind_ == transport::response_kind::event_stream)
      return core_->opts.max_response_time;
    return std::chrono::milliseconds{0};
  }

  void on_body(std::string_view bytes) override {
    if (!reader_)
      return;
    reader_->feed(bytes, builder_);
    builder_.flush(*core_);
  }

  /// The POST's `done`.
  void on_done(transport::post_result res) {
    using transport::response_kind;
    if (!res.ok) {
      if (kind_ == response_kind::event_stream)
        return broken("the response stream failed: " + res.error.message);
      if (stateless_ && is_request() && rpc_error_answer(res.error))
        return settle(caf::error{});
      auto phase = sent_session_id_ ? http_phase::post
                                    : http_phase::post_without_session;
      return settle(to_error(res.error, phase));
    }
    if (reader_)
      reader_->finish(builder_);
    builder_.flush(*core_);
    if (!is_request())
      return settle(caf::error{});
    switch (kind_) {
      case response_kind::event_stream:
        if (builder_.got_response())
          return settle(caf::error{});
        return broken(res.complete ? "the response stream ended before the "
                                     "response"
                                   : "the response stream broke before the "
                                     "response");
      case response_kind::json:
        if (builder_.got_response())
          return settle(caf::error{});
        if (reader_ && reader_->overflowed())
          return settle(caf::make_error(
            mcp_errc::event_too_large,
            "the JSON answer exceeds "
              + std::to_string(core_->cfg->http->max_event_size) + " bytes"));
        return settle(caf::make_error(mcp_errc::outcome_unknown,
                                      "the JSON answer holds no response to "
                                      "this request"));
      case response_kind::unexpected_content_type:
        return settle(caf::make_error(
          mcp_errc::bad_content_type,
          "POST answered " + std::to_string(status_) + " with Content-Type '"
            + content_type_.substr(0, 80)
            + "' (expected application/json or text/event-stream)"));
      default:
        // 202 to a request: the answer should come on the GET stream
        // (the 2025-03-26 rules allow only notifications and responses
        // to be answered 202; we wait for the request's deadline).
        return settle(caf::error{});
    }
  }

  /// The events of a resumed stream (a GET with Last-Event-ID).
  void on_resumed_events(std::vector<transport::sse_event_record>& events,
                         uint64_t retry_ms) {
    if (retry_ms > 0)
      retry_ms_ = retry_ms;
    for (auto& e : events) {
      if (!e.id.empty())
        last_event_id_ = e.id;
      if (e.type == "message" && !e.data.empty())
        builder_.on_message(e.data);
    }
    builder_.flush(*core_);
  }

  /// A resumed stream is over.
  void on_resumed_closed(const transport::transport_error& why) {
    if (why.retry_ms > 0)
      retry_ms_ = why.retry_ms;
    if (builder_.got_response())
      return settle(caf::error{});
    if (why.code == transport::transport_errc::cancelled)
      return settle(caf::make_error(mcp_errc::cancelled,
                                    "the transport closed"));
    if (core::gone(why)) {
      // The call may have run; the session is over either way.
      settle(caf::make_error(mcp_errc::outcome_unknown,
                             "resuming the answer stream failed ("
                               + why.message
                               + "): the server may have run it"));
      core_->session_gone(to_error(why, http_phase::post));
      return;
    }
    broken("the resumed stream ended before the response ("
           + (why.message.empty() ? std::string{to_string(why.code)}
                                  : why.message)
           + ")");
  }

  bool got_response() const noexcept {
    return builder_.got_response();
  }

private:
  bool is_request() const noexcept {
    return (tag_ & notification_tag_bit) == 0;
  }

  /// Stateless era: a non-2xx answer whose body is a JSON-RPC error goes to
  /// the session as the error response to this request (whatever id the
  /// server wrote: the answer to this POST is about this request). True
  /// if it did. Statuses with a meaning of their own stay HTTP errors.
  bool rpc_error_answer(const transport::transport_error& err) {
    if (err.code != transport::transport_errc::http_status)
      return false;
    switch (err.status) {
      case 401: case 403: case 429: case 502: case 503: case 504:
        return false;
      default:
        break;
    }
    if (err.body_excerpt.empty())
      return false;
    auto res = decode(err.body_excerpt);
    if (res.messages.size() != 1 || !res.errors.empty())
      return false;
    auto rpc = std::get_if<error_response>(&res.messages.front());
    if (rpc == nullptr)
      return false;
    rpc->id = request_id{static_cast<int64_t>(tag_ & ~tag_flags)};
    inbound_batch batch;
    batch.messages.emplace_back(std::move(*rpc));
    core_->to_owner(inbound_atom::value, std::move(batch));
    return true;
  }

  /// The answer broke off before the response: resume if the stream had
  /// event ids, else the outcome is unknown (the server may have run it).
  void broken(std::string what) {
    if (reader_) {
      if (!reader_->last_event_id().empty())
        last_event_id_ = reader_->last_event_id();
      if (reader_->retry_ms() > 0)
        retry_ms_ = reader_->retry_ms();
      reader_.reset();
    }
    if (!is_request())
      return settle(caf::error{});
    if (last_event_id_.empty() || resumptions_ >= core_->opts.max_resumptions
        || core_->is_closed()) {
      CAF_MCP_LOG_INFO("shttp", "request " << (tag_ & ~tag_flags) << ": "
                                           << what << "; not resumable");
      return settle(caf::make_error(mcp_errc::outcome_unknown,
                                    what + " (the server may have run it)"));
    }
    ++resumptions_;
    auto delay = retry_ms_ > 0 ? std::chrono::milliseconds{retry_ms_}
                               : core_->opts.default_retry;
    CAF_MCP_LOG_INFO("shttp", "request " << (tag_ & ~tag_flags) << ": "
                                         << what << "; resuming in "
                                         << delay.count() << " ms");
    auto self = shared_from_this();
    transport::run_after(*core_->cfg->io, core_->thread, delay,
                         [self] { self->resume(); });
  }

  void resume();

  void settle(caf::error err) {
    if (settled_)
      return;
    settled_ = true;
    if (err || (tag_ & ack_tag_bit) != 0)
      core_->to_owner(post_done_atom::value,
                      post_outcome{tag_, std::move(err)});
    core_->done_one();
  }

  core_ptr core_;
  uint64_t tag_;
  bool sent_session_id_;
  bool stateless_;
  batch_builder builder_;
  std::optional<transport::response_reader> reader_;
  transport::response_kind kind_ = transport::response_kind::error;
  int status_ = 0;
  std::string content_type_;
  std::string last_event_id_;
  uint64_t retry_ms_ = 0;
  size_t resumptions_ = 0;
  bool settled_ = false;
};

/// The handler of a GET that resumes one exchange's stream.
class resume_handler : public transport::sse_stream_handler {
public:
  explicit resume_handler(std::shared_ptr<exchange> ex) : ex_(std::move(ex)) {
    // nop
  }

  std::shared_ptr<transport::sse_stream> stream;
  core* owner_core = nullptr;

  void on_open(int) override {
    // nop
  }

  void on_events(std::vector<transport::sse_event_record> events,
                 uint64_t retry_ms) override {
    ex_->on_resumed_events(events, retry_ms);
    if (ex_->got_response() && stream)
      stream->close(); // on_closed settles
  }

  void on_closed(transport::transport_error why) override {
    if (owner_core != nullptr && stream)
      owner_core->forget(stream);
    stream = nullptr;
    ex_->on_resumed_closed(why);
  }

private:
  std::shared_ptr<exchange> ex_;
};

void exchange::resume() {
  if (core_->is_closed())
    return settle(caf::make_error(mcp_errc::cancelled, "the transport closed"));
  auto handler = std::make_shared<resume_handler>(shared_from_this());
  handler->owner_core = core_.get();
  auto http = core_->get_options();
  auto stream = transport::open_sse_stream(*core_->cfg->io,
                                           core_->cfg->sse_url, *http, handler,
                                           last_event_id_, core_->thread);
  handler->stream = stream;
  core_->streams.push_back(std::move(stream));
}

/// The standalone GET stream: server-initiated messages.
class listen_handler : public transport::sse_stream_handler {
public:
  explicit listen_handler(core_ptr c) : core_(std::move(c)) {
    // nop
  }

  std::shared_ptr<transport::sse_stream> stream;

  void on_open(int) override {
    CAF_MCP_LOG_DEBUG("shttp", "GET stream open");
    ever_open_ = true;
    settled();
  }

  /// The first GET of `listen()` has its answer: tell the session (once).
  void settled() {
    if (!announce_)
      return;
    announce_ = false;
    core_->to_owner(post_done_atom::value,
                    post_outcome{listen_settled_tag, caf::error{}});
  }

  /// Set on the handler of the first GET of `listen()`.
  bool announce_ = false;

  void on_events(std::vector<transport::sse_event_record> events,
                 uint64_t retry_ms) override {
    if (retry_ms > 0)
      retry_ms_ = retry_ms;
    failures_ = 0;
    batch_builder b{0};
    for (auto& e : events) {
      if (!e.id.empty())
        last_event_id_ = e.id;
      if (e.type == "message" && !e.data.empty())
        b.on_message(e.data);
    }
    b.flush(*core_);
  }

  void on_closed(transport::transport_error why) override {
    if (stream)
      core_->forget(stream);
    stream = nullptr;
    settled();
    if (why.retry_ms > 0)
      retry_ms_ = why.retry_ms;
    if (why.code == transport::transport_errc::cancelled
        || core_->is_closed())
      return;
    // A 404 counts only once a GET stream of this session was open: a
    // server that answers the first GET 404 instead of 405 merely has none.
    if (core::gone(why)
        && (ever_open_
            || why.code != transport::transport_errc::http_status)) {
      // 404 to our session id, or the server cannot be reached: the
      // session is over (the supervisor starts a new one).
      CAF_MCP_LOG_INFO("shttp", "GET stream: " << why.message
                                               << "; the session is gone");
      core_->session_gone(to_error(why, http_phase::post));
      return;
    }
    if (why.code == transport::transport_errc::http_status) {
      // 405: the server offers no GET stream; other refusals are not
      // fatal either (the session works without it).
      if (why.status == 405)
        CAF_MCP_LOG_DEBUG("shttp", "the server offers no GET stream (405)");
      else
        CAF_MCP_LOG_INFO("shttp", "GET stream refused: " << why.message);
      return;
    }
    if (++failures_ > core_->opts.max_get_reconnects) {
      CAF_MCP_LOG_INFO("shttp", "GET stream ended (" << why.message
                                                     << "); not reopened");
      return;
    }
    auto delay = retry_ms_ > 0 ? std::chrono::milliseconds{retry_ms_}
                               : core_->opts.default_retry
                                   * static_cast<int64_t>(failures_);
    auto c = core_;
    auto last = last_event_id_;
    auto fails = failures_;
    auto retry = retry_ms_;
    auto was_open = ever_open_;
    transport::run_after(*c->cfg->io, c->thread, delay,
                         [c, last, fails, retry, was_open] {
                           open(c, last, fails, retry, was_open);
                         });
  }

  /// Opens the GET (on the io thread).
  static void open(const core_ptr& c, std::string last_event_id,
                   size_t failures, uint64_t retry_ms, bool was_open,
                   bool announce = false) {
    if (c->is_closed())
      return;
    auto h = std::make_shared<listen_handler>(c);
    h->announce_ = announce;
    h->last_event_id_ = last_event_id;
    h->failures_ = failures;
    h->retry_ms_ = retry_ms;
    h->ever_open_ = was_open;
    auto http = c->get_options();
    auto s = transport::open_sse_stream(*c->cfg->io, c->cfg->sse_url, *http, h,
                                        std::move(last_event_id), c->thread);
    h->stream = s;
    c->streams.push_back(std::move(s));
  }

private:
  core_ptr core_;
  std::string last_event_id_;
  size_t failures_ = 0;
  uint64_t retry_ms_ = 0;
  /// A GET stream of this session was open once.
  bool ever_open_ = false;
};

class transport_impl final : public streamable_transport {
public:
  explicit transport_impl(core_ptr c) : core_(std::move(c)) {
    // nop
  }

  ~transport_impl() override {
    close(false);
  }

  void post(uint64_t tag, std::string body) override {
    send(tag, std::move(body), extra_);
  }

  void post_with_headers(uint64_t tag, std::string body,
                         const transport::header_list& headers) override {
    // The call's own headers replace the sink's of the same name.
    auto extra = extra_;
    transport::replace_headers(extra, headers);
    send(tag, std::move(body), std::move(extra));
  }

  void set_header(std::string name, std::string value) override {
    if (boost::iequals(name, transport::protocol_version_header)) {
      std::lock_guard<std::mutex> guard{core_->mtx};
      core_->version = value;
    }
    for (auto& kvp : extra_)
      if (kvp.first == name) {
        kvp.second = std::move(value);
        return;
      }
    extra_.emplace_back(std::move(name), std::move(value));
  }

  void when_idle(std::function<void()> f) override {
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      if (core_->in_flight > 0) {
        core_->on_idle = std::move(f);
        return;
      }
    }
    f();
  }

  void listen() override {
    auto c = core_;
    transport::run_after(*c->cfg->io, c->thread, std::chrono::milliseconds{0},
                         [c] { listen_handler::open(c, {}, 0, 0, false, true); });
  }

  void close(bool terminate) override {
    std::string sid;
    std::string version;
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      if (core_->closed)
        return;
      core_->closed = true;
      sid = core_->session_id;
      version = core_->version;
    }
    if (terminate && !sid.empty()) {
      // A channel of its own: the session's may be full of response
      // streams that are about to be cancelled.
      auto& c = *core_->cfg;
      auto ch = transport::make_post_channel(*c.io, c.sse_url, *c.http,
                                             core_->thread);
      auto headers = extra_;
      headers.emplace_back(std::string{transport::session_id_header}, sid);
      auto url = transport::redact(c.sse_url.text);
      ch->request("DELETE", c.sse_url.target, {}, std::move(headers), nullptr,
                  [ch, url](transport::post_result r) mutable {
                    if (r.ok || r.status == 405)
                      CAF_MCP_LOG_DEBUG("shttp", "DELETE " << url << " -> "
                                                           << r.status);
                    else
                      CAF_MCP_LOG_INFO("shttp", "DELETE " << url << ": "
                                                          << r.error.message);
                    ch = nullptr; // lets the channel go
                  },
                  false, core_->opts.delete_timeout);
    }
    core_->channel->close();
    auto c = core_;
    transport::run_after(*c->cfg->io, c->thread, std::chrono::milliseconds{0},
                         [c] {
                           auto streams = std::move(c->streams);
                           c->streams.clear();
                           for (auto& s : streams)
                             s->close();
                         });
  }

  std::string session_id() const override {
    std::lock_guard<std::mutex> guard{core_->mtx};
    return core_->session_id;
  }

  void set_stateless(bool on) override {
    std::lock_guard<std::mutex> guard{core_->mtx};
    core_->stateless = on;
  }

private:
  void send(uint64_t tag, std::string body, transport::header_list extra) {
    bool with_sid = false;
    bool stateless = false;
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      ++core_->in_flight;
      stateless = core_->stateless;
      if (!core_->session_id.empty()) {
        extra.emplace_back(std::string{transport::session_id_header},
                           core_->session_id);
        with_sid = true;
      }
    }
    auto ex = std::make_shared<exchange>(core_, tag, with_sid, stateless);
    auto& c = *core_->cfg;
    // A request's answer may come only when the server is done with it
    // (a JSON answer): its POST may take as long as the session lets the
    // request run (the session's own deadline fails it first). Other POSTs
    // are answered at once (202) and keep the POST timeout.
    auto timeout = (tag & notification_tag_bit) == 0
                     ? core_->opts.max_response_time
                     : std::chrono::milliseconds{0};
    core_->channel->request("POST", c.sse_url.target, std::move(body),
                            std::move(extra), ex,
                            [ex](transport::post_result res) {
                              ex->on_done(std::move(res));
                            },
                            (tag & resend_ok_tag_bit) != 0, timeout);
  }

  core_ptr core_;
  /// The session's headers (MCP-Protocol-Version); session thread only.
  transport::header_list extra_;
};

} // namespace

std::shared_ptr<streamable_transport>
open_streamable_transport(std::shared_ptr<const stream_config> cfg,
                          caf::weak_actor_ptr owner, streamable_options opts) {
  auto c = std::make_shared<core>();
  auto& io = *cfg->io;
  c->thread = io.pick();
  c->channel = transport::make_post_channel(io, cfg->sse_url, *cfg->http,
                                            c->thread);
  c->cfg = std::move(cfg);
  c->owner = std::move(owner);
  c->opts = opts;
  c->channel->preconnect();
  return std::make_shared<transport_impl>(std::move(c));
}

} // namespace caf_mcp
