// The HTTP server on Boost.Beast: see http_server.hpp. Shaped like Beast's
// advanced server example: one method per async step, lifetime held by
// shared_from_this(), a timeout before every read of a request.
//
// Speed: a handler that answers inline (the demo server's 202) writes from
// inside the read completion, without a hop; event-stream bytes appended
// while a write is in flight leave in the next write as one chunk (one
// writev for chunk header, events and trailer).
#include "caf_mcp/transport/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include "caf_mcp/transport/log.hpp"
#include "caf_mcp/transport/url.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace caf_mcp::transport {

namespace {

using request_type = http::request<http::string_body>;

request_type& req_of(void* impl) noexcept {
  return *static_cast<request_type*>(impl);
}

/// Output buffers above this size are released after a write.
constexpr size_t keep_buffer_capacity = 1024 * 1024;

} // namespace

// -- http_request ---------------------------------------------------------------

std::string_view http_request::method() const noexcept {
  auto m = req_of(impl_).method_string();
  return {m.data(), m.size()};
}

std::string_view http_request::target() const noexcept {
  auto t = req_of(impl_).target();
  return {t.data(), t.size()};
}

std::string_view http_request::path() const noexcept {
  auto t = target();
  return t.substr(0, t.find('?'));
}

std::string_view http_request::query() const noexcept {
  auto t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view http_request::header(std::string_view name) const noexcept {
  auto& req = req_of(impl_);
  auto i = req.find(beast::string_view{name.data(), name.size()});
  if (i == req.end())
    return {};
  auto v = i->value();
  return {v.data(), v.size()};
}

bool http_request::has_header(std::string_view name) const noexcept {
  auto& req = req_of(impl_);
  return req.find(beast::string_view{name.data(), name.size()}) != req.end();
}

const std::string& http_request::body() const noexcept {
  return req_of(impl_).body();
}

std::string& http_request::body() noexcept {
  return req_of(impl_).body();
}

unsigned http_request::version() const noexcept {
  return req_of(impl_).version();
}

bool http_request::keep_alive() const noexcept {
  return req_of(impl_).keep_alive();
}

const std::string& http_request::remote_address() const noexcept {
  return *remote_;
}

std::string query_param(std::string_view query, std::string_view key,
                        bool* found) {
  if (found != nullptr)
    *found = false;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    auto name = pair.substr(0, eq);
    if (name == key || (name.find('%') != std::string_view::npos
                        && percent_decode(name, true) == key)) {
      if (found != nullptr)
        *found = true;
      return eq == std::string_view::npos ? std::string{}
                                          : percent_decode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string_view reason_phrase(unsigned status) noexcept {
  auto r = http::obsolete_reason(static_cast<http::status>(status));
  return {r.data(), r.size()};
}

http_exchange::~http_exchange() = default;
event_stream::~event_stream() = default;
http_handler::~http_handler() = default;

// -- shared state -----------------------------------------------------------------

class stream_impl;
class connection;

/// Hands a socket whose event stream ended properly back to a new keep-alive
/// connection; `leftover` holds bytes already read from it.
void resume_connection(tcp::socket&& socket,
                       std::shared_ptr<http_server::impl> srv,
                       std::string leftover);

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(net::io_context& ctx, http_handler& hdl, http_server_options o)
    : ioc(ctx), handler(hdl), opts(std::move(o)), acceptor(ctx), retry(ctx) {
    // nop
  }

  net::any_io_executor connection_executor() {
    if (!opts.strands)
      return ioc.get_executor();
    return net::make_strand(ioc);
  }

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);

  void add_stream(const std::shared_ptr<stream_impl>& s) {
    std::lock_guard<std::mutex> guard{mtx};
    prune();
    streams.push_back(s);
    opened.fetch_add(1, std::memory_order_relaxed);
  }

  void add_held(const std::shared_ptr<connection>& c) {
    std::lock_guard<std::mutex> guard{mtx};
    prune();
    held.push_back(c);
  }

  /// Drops expired entries (with `mtx` held); amortized by doubling.
  void prune() {
    if (streams.size() + held.size() < prune_at)
      return;
    streams.erase(std::remove_if(streams.begin(), streams.end(),
                                 [](const auto& w) { return w.expired(); }),
                  streams.end());
    held.erase(std::remove_if(held.begin(), held.end(),
                              [](const auto& w) { return w.expired(); }),
               held.end());
    prune_at = std::max<size_t>(64, 2 * (streams.size() + held.size()));
  }

  net::io_context& ioc;
  http_handler& handler;
  http_server_options opts;
  tcp::acceptor acceptor;
  net::steady_timer retry;
  std::atomic<bool> stopped{false};
  mutable std::mutex mtx;
  std::vector<std::weak_ptr<stream_impl>> streams;
  std::vector<std::weak_ptr<connection>> held;
  size_t prune_at = 64;
  std::atomic<uint64_t> opened{0};
};

// -- event stream -------------------------------------------------------------------

class stream_impl final : public event_stream,
                          public std::enable_shared_from_this<stream_impl> {
public:
  stream_impl(tcp::socket&& socket, std::shared_ptr<http_server::impl> srv,
              std::string leftover)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      srv_(std::move(srv)),
      leftover_(std::move(leftover)) {
    // nop
  }

  void start(unsigned version, http_response head) {
    res_.result(head.status);
    res_.version(version == 10 ? 10 : 11);
    res_.set(http::field::content_type, head.content_type.empty()
                                          ? std::string{"text/event-stream"}
                                          : head.content_type);
    res_.set(http::field::cache_control, "no-cache");
    for (auto& [name, value] : head.headers)
      res_.set(name, value);
    // HTTP/1.0 has no chunked encoding: the body then ends with the
    // connection.
    chunked_ = version >= 11;
    if (chunked_) {
      res_.set(http::field::connection, "keep-alive");
      res_.chunked(true);
    }
    // The header leaves with the first events (one write): what the
    // handler appends in this round of the event loop joins it.
    http::fields::writer fw{res_, res_.version(), res_.result_int()};
    auto bufs = fw.get();
    head_.resize(net::buffer_size(bufs));
    net::buffer_copy(net::buffer(head_), bufs);
    header_done_ = true;
    flush_scheduled_ = true;
    net::post(executor_, [self = shared_from_this()] {
      self->flush_scheduled_ = false;
      self->flush();
      if (self->close_when_written_ && !self->writing_)
        self->close_socket();
    });
  }

  void append(std::string_view bytes) override {
    if (!open_)
      return;
    pending_ += bytes;
    commit();
  }

  std::string& buffer() override {
    if (!open_) {
      discard_.clear();
      return discard_;
    }
    return pending_;
  }

  void commit() override {
    if (!open_) {
      discard_.clear();
      return;
    }
    if (pending_.size() + out_.size() > srv_->opts.max_pending_output) {
      CAF_MCP_LOG_INFO(srv_->opts.log_name,
                       "an event stream's client reads too slowly: closing");
      return close();
    }
    // Write later in this round of the event loop: what other completions
    // of this round append leaves in the same write.
    if (flush_scheduled_ || writing_ || !header_done_)
      return;
    flush_scheduled_ = true;
    net::post(executor_, [self = shared_from_this()] {
      self->flush_scheduled_ = false;
      self->flush();
      if (self->close_when_written_ && !self->writing_)
        self->close_socket();
    });
  }

  size_t pending() const noexcept override {
    return pending_.size() + out_.size();
  }

  bool is_open() const noexcept override {
    return open_;
  }

  void close() override {
    end();
    close_socket();
  }

  void close_after_write() override {
    if (!open_)
      return;
    end();
    if (writing_ || flush_scheduled_ || !header_done_) {
      close_when_written_ = true;
      return;
    }
    if (pending_.empty())
      return close_socket();
    close_when_written_ = true;
    flush();
  }

  void finish() override {
    if (!open_)
      return;
    end();
    if (!chunked_) {
      // HTTP/1.0: the body ends with the connection.
      close_after_write_ended();
      return;
    }
    finishing_ = true;
    if (!header_done_ || writing_ || flush_scheduled_)
      return; // on_header / on_write / the scheduled flush go on
    flush();
  }

  void dispatch(std::function<void()> fn) override {
    net::dispatch(executor_, std::move(fn));
  }

  void on_close(std::function<void()> fn) override {
    on_close_ = std::move(fn);
  }

  const void* native_executor() const noexcept override {
    return &executor_;
  }

  /// Closes from any thread.
  void close_from_outside() {
    net::dispatch(executor_, [self = shared_from_this()] { self->close(); });
  }

private:
  void end() {
    if (!open_)
      return;
    open_ = false;
    if (auto fn = std::move(on_close_)) {
      on_close_ = nullptr;
      fn();
    }
  }

  /// close_after_write for a stream that already ended.
  void close_after_write_ended() {
    if (writing_ || flush_scheduled_ || !header_done_) {
      close_when_written_ = true;
      return;
    }
    if (pending_.empty())
      return close_socket();
    close_when_written_ = true;
    flush();
  }

  /// After the last chunk: the connection reads requests again. The read
  /// that watched the stream is cancelled first; what it read is kept.
  void hand_off() {
    if (handed_off_)
      return;
    handing_off_ = true;
    if (reading_) {
      beast::error_code ec;
      socket_.cancel(ec);
      return; // on_read goes on
    }
    handed_off_ = true;
    resume_connection(std::move(socket_), srv_, std::move(leftover_));
  }

  void close_socket() {
    close_when_written_ = false;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void do_read() {
    reading_ = true;
    socket_.async_read_some(net::buffer(read_buf_),
                            beast::bind_front_handler(&stream_impl::on_read,
                                                      shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t n) {
    reading_ = false;
    // What the client sends on the stream is kept for the connection that
    // takes over after `finish` (a next request sent early), up to a bound;
    // EOF or an error ends the stream.
    if (n > 0 && leftover_.size() < srv_->opts.max_body + 65536)
      leftover_.append(read_buf_, n);
    if (handing_off_ && (!ec || ec == net::error::operation_aborted))
      return hand_off();
    if (ec)
      return close();
    if (socket_.is_open())
      do_read();
  }

  void flush() {
    if (!header_done_ || writing_ || !socket_.is_open())
      return;
    auto last = finishing_ && !last_chunk_written_;
    if (pending_.empty() && !last && head_.empty())
      return;
    out_.swap(pending_);
    pending_.clear();
    writing_ = true;
    auto self = shared_from_this();
    if (chunked_) {
      size_t len = 0;
      if (!out_.empty()) {
        auto res = std::to_chars(chunk_header_,
                                 chunk_header_ + sizeof(chunk_header_) - 2,
                                 out_.size(), 16);
        *res.ptr++ = '\r';
        *res.ptr++ = '\n';
        len = static_cast<size_t>(res.ptr - chunk_header_);
      }
      last_chunk_written_ = last;
      std::array<net::const_buffer, 5> bufs{
        net::buffer(head_),
        net::const_buffer{chunk_header_, len},
        net::buffer(out_),
        net::const_buffer{"\r\n", out_.empty() ? size_t{0} : size_t{2}},
        net::const_buffer{"0\r\n\r\n", last ? size_t{5} : size_t{0}},
      };
      net::async_write(socket_, bufs,
                       beast::bind_front_handler(&stream_impl::on_write,
                                                 std::move(self)));
    } else {
      std::array<net::const_buffer, 2> bufs{net::buffer(head_),
                                            net::buffer(out_)};
      net::async_write(socket_, bufs,
                       beast::bind_front_handler(&stream_impl::on_write,
                                                 std::move(self)));
    }
  }

  void on_write(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec)
      return close();
    out_.clear();
    if (out_.capacity() > keep_buffer_capacity)
      std::string{}.swap(out_);
    auto first = !head_.empty();
    if (first)
      std::string{}.swap(head_);
    if (last_chunk_written_)
      return hand_off();
    if (first)
      do_read(); // the client's end (EOF) ends the stream
    flush();
    if (close_when_written_ && !writing_)
      close_socket();
  }

  tcp::socket socket_;
  net::any_io_executor executor_;
  std::shared_ptr<http_server::impl> srv_;
  http::response<http::empty_body> res_;
  /// The response header until it is written.
  std::string head_;
  std::function<void()> on_close_;
  std::atomic<bool> open_{true};
  bool chunked_ = true;
  bool header_done_ = false;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool close_when_written_ = false;
  /// `finish` was called: the last chunk follows what is pending.
  bool finishing_ = false;
  bool last_chunk_written_ = false;
  bool reading_ = false;
  bool handing_off_ = false;
  bool handed_off_ = false;
  /// Bytes read from the client on the stream (see on_read).
  std::string leftover_;
  std::string pending_;
  std::string out_;
  std::string discard_;
  char chunk_header_[24];
  char read_buf_[512];
};

// -- connection -----------------------------------------------------------------------

/// One accepted connection: reads requests and hands them to the handler
/// until it closes or turns into an event stream.
class connection final : public http_exchange,
                         public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& socket, std::shared_ptr<http_server::impl> srv,
             std::string_view leftover = {})
    : stream_(std::move(socket)), srv_(std::move(srv)) {
    if (!leftover.empty()) {
      auto buf = buffer_.prepare(leftover.size());
      net::buffer_copy(buf, net::buffer(leftover.data(), leftover.size()));
      buffer_.commit(leftover.size());
    }
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&connection::do_read,
                                            shared_from_this()));
  }

  void close_from_outside() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->close_socket(); });
  }

  // -- http_exchange ----------------------------------------------------------

  void respond(http_response res) override {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), r = std::move(res)]() mutable {
                    self->write_response(std::move(r));
                  });
  }

  void respond_raw(std::shared_ptr<const std::string> bytes) override {
    if (!awaiting_)
      return;
    awaiting_ = false;
    raw_ = std::move(bytes);
    net::async_write(stream_, net::buffer(*raw_),
                     beast::bind_front_handler(&connection::on_write,
                                               shared_from_this(), true));
  }

  std::shared_ptr<event_stream> start_stream(http_response head) override {
    if (!awaiting_)
      return nullptr;
    awaiting_ = false;
    auto version = parser_->get().version();
    // Bytes of a next request read with this one go with the socket.
    std::string leftover;
    if (auto n = buffer_.size(); n > 0) {
      leftover.resize(n);
      net::buffer_copy(net::buffer(leftover), buffer_.data());
    }
    auto s = std::make_shared<stream_impl>(stream_.release_socket(), srv_,
                                           std::move(leftover));
    srv_->add_stream(s);
    s->start(version, std::move(head));
    return s;
  }

  void hold() override {
    if (!awaiting_)
      return;
    awaiting_ = false;
    stream_.expires_never();
    srv_->add_held(shared_from_this());
    do_drain();
  }

  void drop() override {
    awaiting_ = false;
    close_socket();
  }

  std::shared_ptr<http_exchange> keep() override {
    return shared_from_this();
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(srv_->opts.max_body);
    stream_.expires_after(srv_->opts.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&connection::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream)
      return shutdown_send();
    if (ec == http::error::body_limit)
      return error_reply(413);
    if (ec) {
      // A malformed request gets a 400; a timeout or reset just ends here.
      if (ec.category() == http::make_error_code(http::error::bad_target)
                             .category()
          && ec != http::error::partial_message)
        return error_reply(400);
      return;
    }
    stream_.expires_never();
    awaiting_ = true;
    http_request req{&parser_->get(), &remote_};
    srv_->handler.on_request(req, *this);
  }

  void error_reply(unsigned status) {
    // The path only: a query may carry a token.
    auto& req = parser_->get();
    auto target = std::string_view{req.target().data(), req.target().size()};
    CAF_MCP_LOG_INFO(srv_->opts.log_name,
                     req.method_string()
                       << ' ' << target.substr(0, target.find('?')) << " -> "
                       << status << ' ' << reason_phrase(status));
    awaiting_ = true;
    http_response res;
    res.status = status;
    res.body = std::string{reason_phrase(status)};
    res.close = true;
    write_response(std::move(res));
  }

  void write_response(http_response&& r) {
    if (!awaiting_ || !stream_.socket().is_open())
      return;
    awaiting_ = false;
    auto& req = parser_->get();
    auto keep_alive = !r.close && req.keep_alive();
    res_.emplace();
    res_->result(r.status);
    // After a parse error the version may be unknown (0): answer 1.1.
    res_->version(req.version() == 10 ? 10u : 11u);
    res_->set(http::field::content_type, r.content_type.empty()
                                           ? std::string{"text/plain; "
                                                         "charset=utf-8"}
                                           : std::move(r.content_type));
    for (auto& [name, value] : r.headers)
      res_->set(name, value);
    res_->keep_alive(keep_alive);
    res_->body() = std::move(r.body);
    res_->prepare_payload();
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&connection::on_write,
                                                shared_from_this(),
                                                keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, size_t) {
    raw_.reset();
    if (ec)
      return;
    if (!keep_alive)
      return shutdown_send();
    do_read();
  }

  void do_drain() {
    stream_.async_read_some(net::buffer(drain_buf_),
                            beast::bind_front_handler(&connection::on_drain,
                                                      shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t) {
    if (ec)
      return close_socket();
    do_drain();
  }

  void shutdown_send() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  void close_socket() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<http_server::impl> srv_;
  std::string remote_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  std::shared_ptr<const std::string> raw_;
  /// A request was read and is not answered yet.
  bool awaiting_ = false;
  char drain_buf_[512];
};

void resume_connection(tcp::socket&& socket,
                       std::shared_ptr<http_server::impl> srv,
                       std::string leftover) {
  if (!socket.is_open())
    return;
  std::make_shared<connection>(std::move(socket), std::move(srv), leftover)
    ->run();
}

// -- listener -------------------------------------------------------------------------

void http_server::impl::do_accept() {
  acceptor.async_accept(connection_executor(),
                        beast::bind_front_handler(&impl::on_accept,
                                                  shared_from_this()));
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()
      || stopped.load())
    return;
  if (ec) {
    // Out of file descriptors and the like: try again a little later
    // instead of spinning.
    CAF_MCP_LOG_WARN(opts.log_name, "accept: " << ec.message());
    retry.expires_after(std::chrono::milliseconds(50));
    retry.async_wait([self = shared_from_this()](beast::error_code err) {
      if (!err)
        self->do_accept();
    });
    return;
  }
  // Small answers and events must leave at once, not wait for Nagle.
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<connection>(std::move(socket), shared_from_this())->run();
  do_accept();
}

http_server::http_server(net::io_context& ioc, http_handler& handler,
                         http_server_options opts)
  : impl_(std::make_shared<impl>(ioc, handler, std::move(opts))) {
  // nop
}

http_server::~http_server() {
  close_all();
}

std::string http_server::listen(const std::string& host, uint16_t port) {
  auto& st = *impl_;
  tcp::endpoint ep;
  {
    tcp::resolver resolver{st.ioc};
    beast::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive
                                      | tcp::resolver::numeric_service,
                                    ec);
    if (ec || results.empty())
      return "cannot resolve " + host + ": "
             + (ec ? ec.message() : std::string{"no address"});
    ep = results.begin()->endpoint();
  }
  beast::error_code ec;
  st.acceptor.open(ep.protocol(), ec);
  if (!ec)
    st.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    st.acceptor.bind(ep, ec);
  if (!ec)
    st.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    auto addr = ep.address().to_string();
    if (ep.address().is_v6())
      addr = "[" + addr + "]";
    beast::error_code ignored;
    st.acceptor.close(ignored);
    return "cannot listen on " + addr + ":" + std::to_string(ep.port()) + ": "
           + ec.message();
  }
  return {};
}

uint16_t http_server::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::string http_server::address() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  auto addr = ep.address().to_string();
  if (ep.address().is_v6())
    addr = "[" + addr + "]";
  return addr;
}

void http_server::start() {
  net::dispatch(impl_->acceptor.get_executor(),
                [st = impl_] { st->do_accept(); });
}

void http_server::stop() {
  auto st = impl_;
  if (st->stopped.exchange(true))
    return;
  net::dispatch(st->acceptor.get_executor(), [st] {
    beast::error_code ec;
    st->acceptor.close(ec);
    st->retry.cancel();
  });
}

size_t http_server::close_all() {
  stop();
  return close_streams();
}

size_t http_server::close_streams() {
  std::vector<std::weak_ptr<stream_impl>> streams;
  std::vector<std::weak_ptr<connection>> held;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    streams.swap(impl_->streams);
    held.swap(impl_->held);
  }
  // Counts the streams still open: one that ended already (its session
  // object may still be alive, e.g. in a timer) was not ended here.
  size_t n = 0;
  for (auto& w : streams)
    if (auto s = w.lock()) {
      if (s->is_open())
        ++n;
      s->close_from_outside();
    }
  for (auto& w : held)
    if (auto c = w.lock())
      c->close_from_outside();
  return n;
}

size_t http_server::open_streams() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  size_t n = 0;
  for (auto& w : impl_->streams)
    if (auto s = w.lock(); s && s->is_open())
      ++n;
  return n;
}

uint64_t http_server::streams_opened() const noexcept {
  return impl_->opened.load(std::memory_order_relaxed);
}

} // namespace caf_mcp::transport
