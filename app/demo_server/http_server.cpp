// The HTTP side of `caf-mcp demo-server` on Boost.Beast: see
// http_server.hpp. Shaped like Beast's advanced server example: one method
// per async step, lifetime held by shared_from_this(), a timeout before every
// read of a request.
//
// Threads: with one io thread (the default) every socket uses the
// io_context's executor directly, so handing a POST's messages to its
// session runs inline, without a queue hop. With more threads each
// connection gets a strand and a POST hands its messages to the session's
// strand; only the session registry is shared (a mutex).
//
// Speed: the 202 answer is serialized once at start and shared by all
// connections; a POST body is decoded once into a monotonic arena; answers
// are encoded straight into the stream's output buffer, and everything
// queued while a write is in flight leaves in the next write as one HTTP
// chunk (one writev for chunk header, events and trailer).
#include "http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// internals (as in transport/src/http_detail.hpp): silenced for Boost only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include "../commands.hpp"
#include "mcp_handler.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace caf_mcp::app::demo {

namespace {

/// How long a connection may take to send (the rest of) a request, and how
/// long an idle keep-alive connection stays open.
constexpr auto request_timeout = std::chrono::seconds(30);

/// The largest POST body.
constexpr uint64_t max_body_size = 4 * 1024 * 1024;

/// A client that reads its stream slower than we write it is dropped when
/// this much output is waiting.
constexpr size_t max_pending_output = 64 * 1024 * 1024;

/// Output buffers above this size are released after a write.
constexpr size_t keep_buffer_capacity = 1024 * 1024;

bool ends_with(std::string_view str, std::string_view suffix) noexcept {
  return str.size() >= suffix.size()
         && str.substr(str.size() - suffix.size()) == suffix;
}

/// Returns a random UUID (version 4, RFC 9562) in lowercase hex.
std::string make_uuid() {
  static std::mutex mtx;
  static std::random_device rd;
  std::array<uint8_t, 16> bytes;
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (size_t i = 0; i < bytes.size(); i += 4) {
      auto r = rd();
      for (size_t j = 0; j < 4; ++j)
        bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string result;
  result.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      result += '-';
    result += hex[bytes[i] >> 4];
    result += hex[bytes[i] & 0x0F];
  }
  return result;
}

/// Finds `key` in a raw query string (`a=1&b=2`); values are not
/// percent-decoded (our session ids never need it).
std::optional<std::string_view> find_param(std::string_view query,
                                           std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{}
                                          : pair.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

class sse_session;

/// The open sessions by id; shared by all io threads.
class session_registry {
public:
  /// The registry owns its keys: a key that viewed the session's own id
  /// could outlive the session, which another io thread may free.
  void add(std::string_view id, const std::shared_ptr<sse_session>& s) {
    std::string key{id};
    std::lock_guard<std::mutex> guard{mtx_};
    map_.emplace(std::move(key), s);
  }

  void remove(std::string_view id) {
    std::string key{id};
    std::lock_guard<std::mutex> guard{mtx_};
    map_.erase(key);
  }

  std::shared_ptr<sse_session> find(std::string_view id) {
    std::string key{id};
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = map_.find(key);
    return i != map_.end() ? i->second.lock() : nullptr;
  }

  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return map_.size();
  }

  /// Forgets all sessions and returns those still alive.
  std::vector<std::shared_ptr<sse_session>> take_all() {
    std::unordered_map<std::string, std::weak_ptr<sse_session>> map;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      map.swap(map_);
    }
    std::vector<std::shared_ptr<sse_session>> result;
    result.reserve(map.size());
    for (auto& kvp : map)
      if (auto s = kvp.second.lock())
        result.push_back(std::move(s));
    return result;
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::weak_ptr<sse_session>> map_;
};

class http_connection;

/// What all connections share.
struct server_state final : server_control {
  server_state(const mcp_handler& hdl, bool verbose_log)
    : handler(hdl), verbose(verbose_log) {
    http::response<http::string_body> res;
    res.result(http::status::accepted);
    res.version(11);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(true);
    res.body() = "Accepted";
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    accepted = out.str();
  }

  size_t close_all_sessions() override;

  uint64_t sessions_opened() const noexcept override {
    return opened.load(std::memory_order_relaxed);
  }

  size_t sessions_open() const override {
    return sessions.size();
  }

  /// Remembers a POST connection held open without an answer, so that
  /// `close_all_sessions` can close it.
  void hold(const std::shared_ptr<http_connection>& conn) {
    std::lock_guard<std::mutex> guard{held_mtx};
    held.erase(std::remove_if(held.begin(), held.end(),
                              [](const auto& w) { return w.expired(); }),
               held.end());
    held.push_back(conn);
  }

  const mcp_handler& handler;
  const bool verbose;
  session_registry sessions;
  std::atomic<uint64_t> opened{0};
  std::mutex held_mtx;
  std::vector<std::weak_ptr<http_connection>> held;

  /// The answer to every good POST on a keep-alive HTTP/1.1 connection,
  /// serialized once by Beast (running Beast's serializer for every POST
  /// was the largest user-space cost in profiles).
  std::string accepted;
};

// -- sse_session --------------------------------------------------------------

/// One SSE stream = one MCP session. Owns the socket of the GET; reads only
/// to notice the close.
class sse_session final : public session_context {
public:
  sse_session(tcp::socket&& socket, server_state& srv)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      srv_(srv),
      id_(make_uuid()) {
    // nop
  }

  ~sse_session() override {
    if (registered_)
      srv_.sessions.remove(id_);
  }

  /// Registers the session, writes the response header, queues the endpoint
  /// event. `prefix` is the GET path without its final `sse`.
  void start(unsigned http_version, std::string_view prefix) {
    auto self = std::static_pointer_cast<sse_session>(shared_from_this());
    srv_.sessions.add(id_, self);
    srv_.opened.fetch_add(1, std::memory_order_relaxed);
    registered_ = true;
    if (srv_.verbose)
      std::fprintf(stderr, "demo-server: session %s opened\n", id_.c_str());
    res_.result(http::status::ok);
    res_.version(http_version);
    res_.set(http::field::content_type, "text/event-stream");
    res_.set(http::field::cache_control, "no-cache");
    // HTTP/1.0 has no chunked encoding: the body then ends with the
    // connection.
    chunked_ = http_version >= 11;
    if (chunked_) {
      res_.set(http::field::connection, "keep-alive");
      res_.chunked(true);
    }
    pending_ = "event: endpoint\ndata: ";
    pending_ += prefix;
    pending_ += "message?sessionId=";
    pending_ += id_;
    pending_ += "\n\n";
    serializer_.emplace(res_);
    http::async_write_header(
      socket_, *serializer_,
      beast::bind_front_handler(&sse_session::on_header, std::move(self)));
  }

  std::string_view id() const noexcept override {
    return id_;
  }

  const net::any_io_executor& executor() const noexcept override {
    return executor_;
  }

  session_state& state() noexcept override {
    return state_;
  }

  bool is_open() const noexcept override {
    return open_;
  }

  void send_raw(std::string_view bytes) override {
    if (!open_)
      return;
    if (holding_) {
      held_ += bytes;
      return check_held();
    }
    pending_ += bytes;
    after_append();
  }

  void close() override {
    end_session();
    close_socket();
  }

  void close_after_write() override {
    if (!open_)
      return;
    end_session();
    if (writing_ || flush_scheduled_ || !header_done_) {
      // on_write (or on_header) writes the rest and closes.
      close_when_written_ = true;
      return;
    }
    if (pending_.empty())
      return close_socket();
    close_when_written_ = true;
    flush();
  }

  void hold_output() override {
    holding_ = open_;
  }

  void release_output() override {
    if (!holding_)
      return;
    holding_ = false;
    if (!open_) {
      held_.clear();
      return;
    }
    pending_ += held_;
    std::string{}.swap(held_);
    after_append();
  }

  server_control& server() noexcept override {
    return srv_;
  }

protected:
  std::string& begin_message() override {
    // While closed, events go to a scratch string that is thrown away;
    // while held, to the held bytes.
    auto& buf = !open_ ? discard_ : holding_ ? held_ : pending_;
    buf += "event: message\ndata: ";
    return buf;
  }

  void end_message() override {
    if (!open_) {
      discard_.clear();
      return;
    }
    if (holding_) {
      held_ += "\n\n";
      return check_held();
    }
    pending_ += "\n\n";
    after_append();
  }

private:
  /// Ends the session (unregisters it, cancels its calls) but leaves the
  /// socket alone.
  void end_session() {
    if (!open_)
      return;
    open_ = false;
    holding_ = false;
    std::string{}.swap(held_);
    if (registered_) {
      srv_.sessions.remove(id_);
      registered_ = false;
    }
    if (srv_.verbose)
      std::fprintf(stderr, "demo-server: session %s closed\n", id_.c_str());
    srv_.handler.on_close(*this);
  }

  void close_socket() {
    close_when_written_ = false;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void check_held() {
    if (held_.size() > max_pending_output) {
      if (srv_.verbose)
        std::fprintf(stderr, "demo-server: session %s: too much held "
                             "output, closing\n", id_.c_str());
      close();
    }
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec)
      return close();
    header_done_ = true;
    flush();
    if (close_when_written_ && !writing_)
      return close_socket();
    do_read();
  }

  void do_read() {
    socket_.async_read_some(
      net::buffer(read_buf_),
      beast::bind_front_handler(
        &sse_session::on_read,
        std::static_pointer_cast<sse_session>(shared_from_this())));
  }

  void on_read(beast::error_code ec, size_t) {
    // Whatever the client sends on the stream is ignored; EOF or an error
    // ends the session.
    if (ec)
      return close();
    if (socket_.is_open())
      do_read();
  }

  void after_append() {
    if (pending_.size() > max_pending_output) {
      if (srv_.verbose)
        std::fprintf(stderr, "demo-server: session %s: client reads too "
                             "slowly, closing\n", id_.c_str());
      return close();
    }
    // Write later in this round of the event loop: the other POSTs that
    // epoll reported together with this one append their answers first,
    // and all of them leave in one write (one syscall instead of one per
    // answer). A write in flight picks them up when it completes.
    if (flush_scheduled_ || writing_ || !header_done_)
      return;
    flush_scheduled_ = true;
    net::post(executor_,
              [self = std::static_pointer_cast<sse_session>(
                 shared_from_this())] {
                self->flush_scheduled_ = false;
                self->flush();
                if (self->close_when_written_ && !self->writing_)
                  self->close_socket();
              });
  }

  /// Starts writing everything pending, unless a write is in flight (its
  /// completion comes back here).
  void flush() {
    if (!header_done_ || writing_ || pending_.empty() || !socket_.is_open())
      return;
    out_.swap(pending_);
    pending_.clear();
    writing_ = true;
    auto self = std::static_pointer_cast<sse_session>(shared_from_this());
    if (chunked_) {
      auto res = std::to_chars(chunk_header_,
                               chunk_header_ + sizeof(chunk_header_) - 2,
                               out_.size(), 16);
      *res.ptr++ = '\r';
      *res.ptr++ = '\n';
      auto len = static_cast<size_t>(res.ptr - chunk_header_);
      std::array<net::const_buffer, 3> bufs{
        net::const_buffer{chunk_header_, len},
        net::buffer(out_),
        net::const_buffer{"\r\n", 2},
      };
      net::async_write(socket_, bufs,
                       beast::bind_front_handler(&sse_session::on_write,
                                                 std::move(self)));
    } else {
      net::async_write(socket_, net::buffer(out_),
                       beast::bind_front_handler(&sse_session::on_write,
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
    flush();
    if (close_when_written_ && !writing_)
      close_socket();
  }

  tcp::socket socket_;
  net::any_io_executor executor_;
  server_state& srv_;
  std::string id_;
  session_state state_;
  http::response<http::empty_body> res_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  bool registered_ = false;
  bool open_ = true;
  bool chunked_ = true;
  bool header_done_ = false;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  /// Set by hold_output: new output goes to `held_`.
  bool holding_ = false;
  /// Set by close_after_write: close once `pending_` is written.
  bool close_when_written_ = false;
  /// Events not yet handed to a write.
  std::string pending_;
  /// The bytes of the write in flight.
  std::string out_;
  /// Where events go after the close.
  std::string discard_;
  /// Output held back by hold_output.
  std::string held_;
  char chunk_header_[24];
  char read_buf_[512];
};

// -- http_connection ----------------------------------------------------------

/// One accepted connection: reads requests until it turns into an SSE
/// stream (GET) or closes; answers POSTs with keep-alive.
class http_connection : public std::enable_shared_from_this<http_connection> {
public:
  http_connection(tcp::socket&& socket, server_state& srv)
    : stream_(std::move(socket)), srv_(srv) {
    // nop
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_connection::do_read,
                                            shared_from_this()));
  }

  /// Closes the connection from any thread (for `close_all_sessions`).
  void close_from_outside() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->drop(); });
  }

private:
  using request_type = http::request<http::string_body>;

  void do_read() {
    parser_.emplace();
    parser_->body_limit(max_body_size);
    stream_.expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_connection::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream)
      return do_close();
    if (ec == http::error::body_limit)
      return reply(413, "Payload Too Large", false);
    if (ec) {
      // A malformed request gets a 400; a timeout or reset just ends here.
      if (ec.category() == http::make_error_code(http::error::bad_target)
                             .category()
          && ec != http::error::partial_message)
        return reply(400, "Bad Request", false);
      return;
    }
    handle(parser_->get());
  }

  void handle(request_type& req) {
    auto target = std::string_view{req.target().data(), req.target().size()};
    auto qpos = target.find('?');
    auto path = target.substr(0, qpos);
    auto query = qpos == std::string_view::npos ? std::string_view{}
                                                : target.substr(qpos + 1);
    auto method = req.method();
    if (ends_with(path, "/sse")) {
      if (method != http::verb::get)
        return reply(405, "Method Not Allowed", req.keep_alive());
      return start_sse(req, path);
    }
    if (ends_with(path, "/message")) {
      if (method != http::verb::post)
        return reply(405, "Method Not Allowed", req.keep_alive());
      return post(req, query);
    }
    auto method_text = req.method_string();
    control_request creq{{method_text.data(), method_text.size()}, path,
                         query, req.body()};
    if (auto alt = srv_.handler.on_control(srv_, creq))
      return answer(std::move(*alt), req.keep_alive());
    reply(404, "Not Found", req.keep_alive());
  }

  void start_sse(request_type& req, std::string_view path) {
    auto prefix = path.substr(0, path.size() - 3); // drop "sse"
    auto session = std::make_shared<sse_session>(stream_.release_socket(),
                                                 srv_);
    // This connection ends here: the session owns the socket now.
    session->start(req.version(), prefix);
  }

  void post(request_type& req, std::string_view query) {
    auto keep_alive = req.keep_alive();
    auto sid = find_param(query, "sessionId");
    if (!sid)
      return reply(400, "Missing sessionId parameter", keep_alive);
    auto session = srv_.sessions.find(*sid);
    if (!session)
      return reply(404, "Session not found", keep_alive);
    const auto& body = req.body();
    decode_result msgs;
    decode(body, make_decode_arena(body.size()), msgs);
    if (auto alt = srv_.handler.on_post(post_info{*sid, body, msgs})) {
      if (alt->process && !msgs.messages.empty())
        deliver(std::move(session), std::move(msgs));
      return answer(std::move(*alt), keep_alive);
    }
    if (msgs.messages.empty()) {
      // Not JSON, or no valid JSON-RPC message in it: a plain-text 400,
      // like the TypeScript SDK's SSEServerTransport.
      std::string text;
      if (msgs.errors.empty()) {
        text = "Invalid message: empty batch";
      } else {
        const auto& err = msgs.errors.front();
        text = "Invalid message: ";
        text += err.message; // "invalid JSON: ..." for a parse error
      }
      return reply(400, std::move(text), keep_alive);
    }
    // 202 first: it frees the client's POST connection for its next call
    // (the write usually completes inside this call); the answers follow
    // on the stream.
    if (keep_alive && req.version() == 11) {
      net::async_write(stream_, net::buffer(srv_.accepted),
                        beast::bind_front_handler(&http_connection::on_write,
                                                  shared_from_this(), true));
    } else {
      reply(202, "Accepted", keep_alive);
    }
    deliver(std::move(session), std::move(msgs));
  }

  /// Hands the messages of a POST to its session.
  void deliver(std::shared_ptr<sse_session> session, decode_result&& msgs) {
    auto& executor = session->executor();
    net::dispatch(executor, [s = std::move(session), m = std::move(msgs),
                             &handler = srv_.handler]() mutable {
      for (auto& msg : m.messages)
        handler.on_message(*s, std::move(msg));
      // Only a batch gets here with errors (a single invalid message got a
      // 400): answer each invalid element with -32600.
      for (auto& err : m.errors)
        handler.on_invalid(*s, err);
    });
  }

  /// Does what a hook's reply asks.
  void answer(http_reply&& alt, bool keep_alive) {
    switch (alt.action) {
      case post_action::no_answer:
        return hold();
      case post_action::drop:
        if (srv_.verbose)
          std::fprintf(stderr, "demo-server: dropping a connection\n");
        return drop();
      case post_action::reply:
        break;
    }
    reply(alt.status, std::move(alt.body), keep_alive, &alt);
  }

  /// Sends nothing and keeps the connection until the client closes it.
  void hold() {
    if (srv_.verbose)
      std::fprintf(stderr, "demo-server: holding a request unanswered\n");
    stream_.expires_never();
    srv_.hold(shared_from_this());
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(net::buffer(drain_buf_),
                            beast::bind_front_handler(&http_connection::on_drain,
                                                      shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t) {
    if (ec)
      return drop();
    do_drain();
  }

  void drop() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  void reply(unsigned status, std::string body, bool keep_alive,
             const http_reply* extra = nullptr) {
    if (srv_.verbose) {
      auto& req = parser_->get();
      std::fprintf(stderr, "demo-server: %s %.*s -> %u %s\n",
                   std::string{req.method_string()}.c_str(),
                   static_cast<int>(req.target().size()),
                   req.target().data(), status, body.c_str());
    }
    res_.emplace();
    res_->result(status);
    // After a parse error the version may be unknown (0): answer 1.1.
    auto version = parser_->get().version();
    res_->version(version == 10 ? 10u : 11u);
    if (extra != nullptr && !extra->content_type.empty())
      res_->set(http::field::content_type, extra->content_type);
    else
      res_->set(http::field::content_type, "text/plain; charset=utf-8");
    if (extra != nullptr)
      for (auto& [name, value] : extra->headers)
        res_->set(name, value);
    if (status == 405) {
      auto path = std::string_view{parser_->get().target().data(),
                                   parser_->get().target().size()};
      res_->set(http::field::allow,
                ends_with(path.substr(0, path.find('?')), "/sse") ? "GET"
                                                                  : "POST");
    }
    res_->keep_alive(keep_alive);
    res_->body() = std::move(body);
    res_->prepare_payload();
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&http_connection::on_write,
                                                shared_from_this(),
                                                keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, size_t) {
    if (ec)
      return;
    if (!keep_alive)
      return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  server_state& srv_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  char drain_buf_[512];
};

size_t server_state::close_all_sessions() {
  auto all = sessions.take_all();
  for (auto& s : all) {
    auto& ex = s->executor();
    net::post(ex, [s = std::move(s)] { s->close(); });
  }
  std::vector<std::weak_ptr<http_connection>> conns;
  {
    std::lock_guard<std::mutex> guard{held_mtx};
    conns.swap(held);
  }
  for (auto& w : conns)
    if (auto c = w.lock())
      c->close_from_outside();
  return all.size();
}

// -- listener -----------------------------------------------------------------

/// Accepts connections and starts an http_connection for each.
class listener : public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ioc, server_state& srv, size_t threads)
    : ioc_(ioc), acceptor_(ioc), retry_(ioc), srv_(srv), threads_(threads) {
    // nop
  }

  beast::error_code listen(const tcp::endpoint& ep) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  tcp::endpoint local_endpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void run() {
    do_accept();
  }

  void stop() {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

private:
  net::any_io_executor connection_executor() {
    if (threads_ == 1)
      return ioc_.get_executor();
    return net::make_strand(ioc_);
  }

  void do_accept() {
    acceptor_.async_accept(connection_executor(),
                           beast::bind_front_handler(&listener::on_accept,
                                                     shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
      return;
    if (ec) {
      // Out of file descriptors and the like: try again a little later
      // instead of spinning.
      if (srv_.verbose)
        std::fprintf(stderr, "demo-server: accept: %s\n",
                     ec.message().c_str());
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](beast::error_code err) {
        if (!err)
          self->do_accept();
      });
      return;
    }
    // Small events and 202s must leave at once, not wait for Nagle.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_connection>(std::move(socket), srv_)->run();
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  server_state& srv_;
  size_t threads_;
};

} // namespace

int run_http_server(const server_options& opts, const mcp_handler& handler) {
  // Declared before the io_context: sessions destroyed with the context
  // still unregister themselves.
  server_state srv{handler, opts.verbose};
  auto threads = opts.threads == 0 ? size_t{1} : opts.threads;
  net::io_context ioc{static_cast<int>(threads)};
  tcp::endpoint ep;
  {
    tcp::resolver resolver{ioc};
    beast::error_code ec;
    auto results = resolver.resolve(opts.host, std::to_string(opts.port),
                                    tcp::resolver::passive
                                      | tcp::resolver::numeric_service,
                                    ec);
    if (ec || results.empty()) {
      std::fprintf(stderr, "caf-mcp demo-server: cannot resolve %s: %s\n",
                   opts.host.c_str(),
                   ec ? ec.message().c_str() : "no address");
      return exit_failure;
    }
    ep = results.begin()->endpoint();
  }
  auto lst = std::make_shared<listener>(ioc, srv, threads);
  if (auto ec = lst->listen(ep)) {
    std::fprintf(stderr, "caf-mcp demo-server: cannot listen on %s:%u: %s\n",
                 ep.address().to_string().c_str(),
                 static_cast<unsigned>(ep.port()), ec.message().c_str());
    return exit_failure;
  }
  auto bound = lst->local_endpoint();
  auto addr = bound.address().to_string();
  if (bound.address().is_v6())
    addr = "[" + addr + "]";
  if (!opts.port_file.empty()) {
    auto tmp = opts.port_file + ".tmp";
    auto ok = false;
    if (auto f = std::fopen(tmp.c_str(), "w")) {
      ok = std::fprintf(f, "%u\n", static_cast<unsigned>(bound.port())) > 0;
      ok = std::fclose(f) == 0 && ok;
      ok = ok && std::rename(tmp.c_str(), opts.port_file.c_str()) == 0;
    }
    if (!ok) {
      std::fprintf(stderr, "caf-mcp demo-server: cannot write %s\n",
                   opts.port_file.c_str());
      return exit_failure;
    }
  }
  std::printf("listening on http://%s:%u/sse\n", addr.c_str(),
              static_cast<unsigned>(bound.port()));
  std::fflush(stdout);
  lst->run();
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](beast::error_code ec, int) {
    if (ec)
      return;
    lst->stop();
    ioc.stop();
  });
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  return exit_ok;
}

} // namespace caf_mcp::app::demo
