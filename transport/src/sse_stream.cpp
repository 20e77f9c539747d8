// The SSE GET stream: one session per open_sse_stream() call.
//
//   run -> on_link_open -> on_write -> on_read_header
//     |-- non-2xx: read_excerpt -> on_read_excerpt -> fail_status
//     |-- 2xx, wrong type: finish(bad_content_type)
//     '-- 2xx event-stream: on_open, deliver -> read_body -> on_readable (http)
//                                       ^                   or on_tls_read
//                                       '____________________________|
// Everything runs on the session's io thread. `finish` is the only way out and
// runs once; a completion that arrives after it is dropped (`closed_`).
// The body goes from the read buffer straight into the sse_parser through
// `consumer_body`; the events of one read are handed over in one call.
//
// Reading the body: a plain http stream waits for readability and then reads
// once, without blocking, into its io thread's buffer (`thread_buffer`); it
// holds no read buffer while it waits, only the few bytes the HTTP parser
// could not take yet (a cut chunk header). An https stream reads through
// OpenSSL into its own buffer (1 KiB, doubling while reads fill it).

#include "http_detail.hpp"

#include "caf_mcp/transport/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace caf_mcp::transport {

namespace {

using namespace detail;

/// First read size of an https stream (grows up to `read_buffer_size`).
constexpr size_t initial_read_size = 1024;

class sse_session final : public std::enable_shared_from_this<sse_session>,
                          public runtime_member,
                          private sse_sink,
                          private body_consumer {
public:
  sse_session(context_ptr ctx, const parsed_url& url, const http_options& opts,
              std::shared_ptr<sse_stream_handler> handler,
              std::string last_event_id)
    : ctx_(std::move(ctx)),
      ex_(ctx_->get_executor()),
      origin_(make_origin(url, opts, request_kind::sse_get)),
      url_text_(redact(url.text)),
      handler_(std::move(handler)),
      sse_(opts.max_event_size, std::move(last_event_id)),
      max_read_size_(std::max<size_t>(opts.read_buffer_size, 512)),
      read_size_(std::min<size_t>(max_read_size_, initial_read_size)) {
    // nop
  }

  ~sse_session() override {
    // Only when the io runtime dropped our pending work (shutdown).
    if (!closed_) {
      closed_ = true;
      if (auto h = std::move(handler_))
        h->on_closed(make_error(transport_errc::cancelled,
                                "GET " + url_text_ + ": io runtime stopped"));
    }
  }

  void start() {
    ctx_->post([self = shared_from_this()] { self->run(); });
  }

  /// Thread-safe.
  void close() {
    ctx_->post([self = shared_from_this()] {
      self->finish(make_error(transport_errc::cancelled,
                              "GET " + self->url_text_
                                + ": closed by the client"));
    });
  }

  void abandon() noexcept override {
    finish(make_error(transport_errc::cancelled,
                      "GET " + url_text_ + ": io runtime stopped"));
  }

private:
  enum class mode : uint8_t { header, excerpt, events };

  const origin_settings& opts() const noexcept {
    return origin_->opts;
  }

  socket_type& socket() noexcept {
    return link_->stream().socket();
  }

  /// The error of an operation the header deadline cut short.
  error_code cut(error_code ec) const noexcept {
    return timed_out_ ? make_error_code(beast::error::timeout) : ec;
  }

  void run() {
    if (closed_)
      return;
    CAF_MCP_LOG_DEBUG("sse", "GET " << url_text_ << ": connecting");
    link_ = std::make_shared<origin_link>(ex_, origin_);
    link_->async_open(clock_type::now() + opts().connect_timeout,
                      [self = shared_from_this()](error_code ec, step where,
                                                  const std::string& detail) {
                        self->on_link_open(ec, where, detail);
                      });
  }

  void on_link_open(error_code ec, step where, const std::string& detail) {
    if (closed_)
      return;
    if (ec) {
      if (where == step::tls_setup)
        return finish(
          make_error(transport_errc::tls_failed, origin_->tls_error));
      auto timed_out = link_->timed_out();
      return finish(make_error(classify(where, ec, timed_out),
                               step_message(where, url_text_, ec, timed_out,
                                            opts().connect_timeout,
                                            detail)));
    }
    // The request lives with the write (the stream may live for days).
    auto request = std::make_shared<std::string>();
    auto& last_id = sse_.last_event_id(); // the resumed one: nothing parsed yet
    request->reserve(64 + origin_->sse_target.size()
                     + origin_->host_line.size() + origin_->header_lines.size()
                     + last_id.size());
    *request = "GET ";
    *request += origin_->sse_target;
    *request += " HTTP/1.1\r\n";
    *request += origin_->host_line;
    *request += origin_->header_lines;
    if (!last_id.empty()
        && last_id.find_first_of(std::string_view{"\r\n\0", 3})
             == std::string::npos) {
      *request += "Last-Event-ID: ";
      *request += last_id;
      *request += "\r\n";
    }
    // The parser reads identity bodies only: say so (a server may still
    // compress; that is refused at the header, see on_read_header).
    *request += "Accept-Encoding: identity\r\n";
    *request += "\r\n";
    arm_timer(clock_type::now() + opts().connect_timeout);
    link_->stream().visit([this, &request](auto& s) {
      net::async_write(s, net::buffer(*request),
                       [self = shared_from_this(), request](error_code err,
                                                           size_t) {
                         self->on_write(err);
                       });
    });
  }

  void on_write(error_code ec) {
    if (closed_)
      return;
    if (ec || timed_out_) // the deadline closed the socket as this succeeded
      return fail_step(step::write, cut(ec), opts().connect_timeout);
    read_header();
  }

  /// Reads the next response header (again after an interim 1xx answer),
  /// still under the connect deadline.
  void read_header() {
    parser_.emplace();
    parser_->body_limit(boost::none); // the stream has no end
    parser_->get().body() = static_cast<body_consumer*>(this);
    arm_timer(clock_type::now() + opts().connect_timeout);
    link_->stream().visit([this](auto& s) {
      http::async_read_header(s, link_->buffer(), *parser_,
                              beast::bind_front_handler(
                                &sse_session::on_read_header,
                                shared_from_this()));
    });
  }

  void on_read_header(error_code ec, size_t) {
    if (closed_)
      return;
    if (ec || timed_out_) // the deadline closed the socket as this succeeded
      return fail_step(step::read_header, cut(ec), opts().connect_timeout);
    auto& res = parser_->get();
    auto status = static_cast<int>(res.result_int());
    if (status >= 100 && status <= 199 && status != 101) {
      // An interim answer (100 Continue, 103 Early Hints): the final one
      // follows on the same connection (RFC 9110 15.2). A server that
      // sends nothing else is stopped by the header deadline.
      if (++interim_answers_ > max_interim_answers)
        return finish(make_error(transport_errc::protocol_error,
                                 "GET " + url_text_ + ": more than "
                                   + std::to_string(max_interim_answers)
                                   + " interim (1xx) answers"));
      CAF_MCP_LOG_DEBUG("sse", "GET " << url_text_ << " -> " << status
                                      << ": interim answer skipped");
      return read_header();
    }
    if (status < 200 || status > 299) {
      auto reason = printable(res.reason(), 80);
      reply_ = std::make_unique<transport_error>(make_error(
        transport_errc::http_status,
        "GET " + url_text_ + " -> " + std::to_string(status)
          + (reason.empty() ? "" : " " + reason),
        status));
      reply_->retry_after = std::string{res[http::field::retry_after]};
      mode_ = mode::excerpt;
      if (parser_->is_done())
        return fail_status();
      // The excerpt is a courtesy: read it under a short deadline.
      arm_timer(clock_type::now()
                + std::min(opts().connect_timeout,
                           std::chrono::milliseconds{2000}));
      return read_excerpt();
    }
    auto content_type = res[http::field::content_type];
    if (!is_event_stream(content_type))
      return finish(make_error(transport_errc::bad_content_type,
                               "GET " + url_text_ + " -> "
                                 + std::to_string(status)
                                 + " with Content-Type '"
                                 + printable(content_type, 80)
                                 + "', expected text/event-stream",
                               status));
    auto coding = res[http::field::content_encoding];
    if (!coding.empty() && !iequals(coding, "identity"))
      // Compressed events cannot be parsed: say so at once instead of
      // waiting for an endpoint event that never decodes.
      return finish(make_error(transport_errc::bad_content_type,
                               "GET " + url_text_ + " -> "
                                 + std::to_string(status)
                                 + " with Content-Encoding '"
                                 + printable(coding, 40)
                                 + "'; caf-mcp reads uncompressed event "
                                   "streams only (it asks for identity)",
                               status));
    mode_ = mode::events;
    parser_->eager(true); // parse every chunk in the buffer per put
    // The parser needs no header fields for the body: free them.
    res.clear();
    res.reason({});
    start_idle_timer(); // the header deadline ends here
    CAF_MCP_LOG_INFO("sse", "GET " << url_text_ << " -> " << status
                                   << ": stream open");
    handler_->on_open(status);
    // Events that came with the header; a plain stream then lets go of the
    // link's buffer and keeps only what the parser could not take.
    auto& buf = link_->buffer();
    error_code parse_ec;
    buf.consume(parse(buffer_view(buf), parse_ec));
    if (link_->stream().tls() == nullptr) {
      if (!parse_ec)
        keep_pending(buffer_view(buf), parse_ec);
      link_->release_buffer();
    }
    deliver({}, parse_ec);
  }

  // -- error response ---------------------------------------------------------

  void read_excerpt() {
    link_->stream().visit([this](auto& s) {
      http::async_read_some(s, link_->buffer(), *parser_,
                            beast::bind_front_handler(
                              &sse_session::on_read_excerpt,
                              shared_from_this()));
    });
  }

  void on_read_excerpt(error_code ec, size_t) {
    if (closed_)
      return;
    // Whatever happens now, the status is the error; the excerpt is best
    // effort (a read error or the deadline just ends it).
    if (ec || parser_->is_done() || reply_->body_excerpt.size() >= max_excerpt)
      return fail_status();
    read_excerpt();
  }

  void fail_status() {
    finish(std::move(*reply_));
  }

  // -- the event stream -------------------------------------------------------
  //
  // Socket reads parsed here with an eager parser: one read gives one batch.
  // (http::async_read_some would keep reading when a read ends inside a
  // chunk header, holding back events that are already complete.)

  static std::string_view buffer_view(const beast::flat_buffer& buf) noexcept {
    return {static_cast<const char*>(buf.data().data()), buf.size()};
  }

  void read_body() {
    if (auto* tls = link_->stream().tls()) {
      auto& buf = link_->buffer();
      auto n = std::max(read_size_, buf.capacity() - buf.size());
      last_read_size_ = n;
      tls->async_read_some(buf.prepare(n),
                           beast::bind_front_handler(
                             &sse_session::on_tls_read, shared_from_this()));
      return;
    }
    if (read_again_) {
      // The last read filled the buffer: more may be waiting, and no new
      // readiness edge would announce it. Read again after pending work.
      read_again_ = false;
      ctx_->post([self = shared_from_this()] {
        self->on_readable({});
      });
      return;
    }
    socket().async_wait(socket_type::wait_read,
                        long_lived([self = shared_from_this()](error_code ec) {
                          self->on_readable(ec);
                        }));
  }

  /// Plain http: the socket is readable (or was, for a stale wake-up).
  void on_readable(error_code ec) {
    if (closed_)
      return;
    if (ec)
      return deliver(ec, {});
    // The bytes the parser left last time (usually the CRLF that ends a
    // chunk, at most half the buffer) go first, the read right after them.
    auto* buf = thread_buffer();
    auto kept = pending_.size();
    std::memcpy(buf, pending_.data(), kept);
    auto want = std::min(max_read_size_, thread_buffer_size - kept);
    auto n = read_now(socket().native_handle(), buf + kept, want, ec);
    if (ec == net::error::would_block)
      return read_body();
    if (n == 0)
      return deliver(ec, {});
    touch();
    read_again_ = n == want;
    // No view into the thread's buffer survives this call.
    std::string_view input{buf, kept + n};
    error_code parse_ec;
    auto used = parse(input, parse_ec);
    if (!parse_ec)
      keep_pending(input.substr(used), parse_ec);
    deliver({}, parse_ec);
  }

  /// Keeps `rest` for the next read (plain http), without holding on to a
  /// large allocation once it is small again. More than half the thread
  /// buffer is a chunk header without end: `header_limit`.
  void keep_pending(std::string_view rest, error_code& ec) {
    if (rest.size() > thread_buffer_size / 2) {
      ec = http::error::header_limit;
      return;
    }
    pending_.assign(rest);
    if (pending_.capacity() > 64 && pending_.size() < pending_.capacity() / 4)
      pending_.shrink_to_fit();
  }

  /// https: a read through OpenSSL into the link's buffer.
  void on_tls_read(error_code ec, size_t n) {
    if (closed_)
      return;
    auto& buf = link_->buffer();
    buf.commit(n);
    if (n > 0)
      touch();
    // A read that filled the space asks for twice as much next time, up to
    // read_buffer_size: idle streams stay small, busy ones read big.
    if (n == last_read_size_ && read_size_ < max_read_size_)
      read_size_ = std::min(read_size_ * 2, max_read_size_);
    error_code parse_ec;
    buf.consume(parse(buffer_view(buf), parse_ec));
    deliver(ec, parse_ec);
  }

  /// Feeds `input` to the HTTP parser (and through it the SSE parser) and
  /// returns the bytes it took: all of them, unless the message ends, the
  /// framing is broken or a chunk header is cut.
  size_t parse(std::string_view input, error_code& ec) {
    return feed(*parser_, input, ec);
  }

  /// Delivers the events of the last read, then either ends the stream or
  /// reads on.
  void deliver(error_code read_ec, error_code parse_ec) {
    // Events that arrived before an error or the end are delivered first.
    if (!batch_.empty()) {
      auto events = std::move(batch_);
      batch_.clear();
      handler_->on_events(std::move(events), std::exchange(retry_ms_, 0));
    }
    if (overflow_)
      return finish(make_error(transport_errc::event_too_large,
                               "event from " + url_text_ + " exceeds "
                                 + std::to_string(opts().max_event_size)
                                 + " bytes"));
    if (parse_ec)
      return finish(make_error(transport_errc::protocol_error,
                               "read stream from " + url_text_ + ": "
                                 + parse_ec.message()));
    if (parser_->is_done())
      return finish(make_error(transport_errc::stream_ended,
                               "stream from " + url_text_
                                 + " ended by the server"));
    if (read_ec) {
      auto code = classify(step::read_body, read_ec);
      if (code == transport_errc::stream_ended)
        return finish(make_error(code, "stream from " + url_text_
                                         + " ended by the server"));
      return fail_step(step::read_body, read_ec, opts().idle_timeout);
    }
    read_body();
  }

  // -- deadlines --------------------------------------------------------------
  //
  // The link's timer: until the stream is open it is the deadline of the
  // request and of the response header (each connect_timeout) or of the
  // error excerpt; at the deadline the socket is closed and the operation
  // in progress reports the timeout. Then it is the idle timeout: armed for
  // the limit after the last data; a read only notes the time, and the
  // timer re-arms itself when it fires early.

  void arm_timer(clock_type::time_point at) {
    auto& timer = link_->timer();
    timer.expires_at(at); // a pending wait ends with operation_aborted
    timer.async_wait(long_lived([self = shared_from_this()](error_code ec) {
      if (ec != net::error::operation_aborted)
        self->on_timer();
    }));
  }

  void on_timer() {
    if (closed_)
      return;
    if (mode_ != mode::events) {
      timed_out_ = true;
      error_code ignored;
      socket().close(ignored);
      return;
    }
    if (opts().idle_timeout.count() <= 0)
      return; // the header deadline, fired just as the header came
    auto due = last_data_ + opts().idle_timeout;
    if (clock_type::now() < due)
      return arm_timer(due);
    finish(make_error(transport_errc::timeout,
                      "no data from " + url_text_ + " for "
                        + millis(opts().idle_timeout)));
  }

  void start_idle_timer() {
    if (opts().idle_timeout.count() <= 0) {
      link_->timer().cancel();
      return;
    }
    last_data_ = clock_type::now();
    arm_timer(last_data_ + opts().idle_timeout);
  }

  void touch() {
    if (opts().idle_timeout.count() > 0)
      last_data_ = clock_type::now();
  }

  // body_consumer: bytes straight from the read buffer.
  void on_body(std::string_view bytes) override {
    if (mode_ == mode::events) {
      if (!overflow_)
        sse_.put(bytes, *this);
    } else if (mode_ == mode::excerpt) {
      auto& excerpt = reply_->body_excerpt;
      if (excerpt.size() < max_excerpt)
        excerpt.append(bytes.substr(0, max_excerpt - excerpt.size()));
    }
  }

  // sse_sink
  void on_event(std::string_view type, std::string_view data,
                std::string_view last_event_id) override {
    if (overflow_)
      return;
    batch_.push_back(sse_event_record{std::string{type}, std::string{data},
                                      std::string{last_event_id}});
  }

  void on_retry(uint64_t milliseconds) override {
    retry_ms_ = milliseconds;
  }

  void on_error(sse_errc, size_t) override {
    overflow_ = true;
  }

  // -- the way out ------------------------------------------------------------

  void fail_step(step where, error_code ec, std::chrono::milliseconds limit) {
    finish(make_error(classify(where, ec),
                      step_message(where, url_text_, ec, false, limit)));
  }

  void finish(transport_error err) {
    if (closed_)
      return;
    closed_ = true;
    err.retry_ms = std::exchange(retry_ms_, 0);
    // The cause, one line (its URL is redacted, it holds no header value).
    // The client closing its own stream is routine; the rest is a failure.
    if (err.code == transport_errc::cancelled)
      CAF_MCP_LOG_DEBUG("sse", "stream closed: " << err.message);
    else
      CAF_MCP_LOG_WARN("sse", "stream closed (" << to_string(err.code)
                                                 << "): " << err.message);
    if (link_)
      link_->close(); // pending operations complete with operation_aborted
    if (auto h = std::move(handler_))
      h->on_closed(std::move(err));
  }

  /// Declared first: the io_context outlives every Asio object below.
  context_ptr ctx_;
  executor_type ex_;
  std::shared_ptr<const origin_info> origin_;
  std::string url_text_;
  std::shared_ptr<sse_stream_handler> handler_;
  std::shared_ptr<origin_link> link_;
  std::optional<http::response_parser<consumer_body>> parser_;
  sse_parser sse_;
  std::vector<sse_event_record> batch_;
  /// Plain http: bytes of earlier reads the HTTP parser could not take yet.
  std::string pending_;
  /// Most bytes per read (`read_buffer_size`; plain http: at most the
  /// thread buffer).
  size_t max_read_size_;
  /// https: bytes asked for per read, from initial_read_size doubling while
  /// reads fill the space, up to max_read_size_.
  size_t read_size_;
  size_t last_read_size_ = 0;
  /// When data last arrived (only kept with an idle timeout).
  clock_type::time_point last_data_;
  uint64_t retry_ms_ = 0;
  /// A non-2xx answer: its error, completed with the body excerpt.
  std::unique_ptr<transport_error> reply_;
  mode mode_ = mode::header;
  /// Interim (1xx) answers skipped before the final header.
  int interim_answers_ = 0;
  static constexpr int max_interim_answers = 8;
  bool overflow_ = false;
  /// Plain http: the last read filled the buffer, read again at once.
  bool read_again_ = false;
  /// The header (or excerpt) deadline closed the socket.
  bool timed_out_ = false;
  bool closed_ = false;
};

/// What the caller holds: closing on destruction, so a forgotten stream does
/// not stay open for the server's lifetime.
class sse_stream_handle final : public sse_stream {
public:
  explicit sse_stream_handle(std::shared_ptr<sse_session> session)
    : session_(std::move(session)) {
    // nop
  }

  ~sse_stream_handle() override {
    session_->close();
  }

  void close() override {
    session_->close();
  }

private:
  std::shared_ptr<sse_session> session_;
};

} // namespace

std::shared_ptr<sse_stream>
open_sse_stream(io_runtime& rt, const parsed_url& url, const http_options& opts,
                std::shared_ptr<sse_stream_handler> handler,
                std::string last_event_id, size_t thread) {
  if (!handler)
    throw std::invalid_argument("open_sse_stream: null handler");
  auto ctx = context_of(rt, thread);
  auto session = std::make_shared<sse_session>(
    ctx, url, opts, std::move(handler), std::move(last_event_id));
  ctx->add_member(session);
  session->start();
  return std::make_shared<sse_stream_handle>(std::move(session));
}

} // namespace caf_mcp::transport
