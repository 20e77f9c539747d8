// The MCP side of the demo server's HTTP: see http_server.hpp. The HTTP
// server itself (accept loop, keep-alive, request parsing, event streams)
// is caf-mcp's one HTTP server, transport/http_server.hpp, which the node
// runs on too; this file routes the MCP endpoints onto it and keeps the
// sessions.
//
// Threads: with one io thread (the default) every connection and stream
// uses the io_context's executor directly, so handing a POST's messages to
// its session runs inline, without a queue hop. With more threads each
// connection gets a strand and a POST hands its messages to the session's
// strand; only the session registry is shared (a mutex).
//
// Speed: the 202 answer is serialized once at start and shared by all
// connections; a POST body is decoded once into a monotonic arena; answers
// are encoded straight into the stream's output buffer, and everything
// queued while a write is in flight leaves in the next write as one chunk.
#include "http_server.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#pragma GCC diagnostic pop

#include "caf_mcp/transport/http_server.hpp"
#include "caf_mcp/transport/log.hpp"

#include "../commands.hpp"
#include "mcp_handler.hpp"
#include "token_auth.hpp"

namespace net = boost::asio;

namespace caf_mcp::app::demo {

namespace {

/// A client that reads its stream slower than we write it is dropped when
/// this much output is waiting (held output included).
constexpr size_t max_pending_output = 64 * 1024 * 1024;

bool ends_with(std::string_view str, std::string_view suffix) noexcept {
  return str.size() >= suffix.size()
         && str.substr(str.size() - suffix.size()) == suffix;
}

} // namespace

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

namespace {

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

/// The demo server: routes requests, owns the session registry.
struct demo_http final : server_control, transport::http_handler {
  demo_http(const mcp_handler& hdl, bool verbose_log,
            const streamable_options& sopts)
    : handler(hdl), verbose(verbose_log), shttp(hdl, *this, sopts, verbose_log) {
    accepted = std::make_shared<const std::string>(
      "HTTP/1.1 202 Accepted\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 8\r\n\r\nAccepted");
  }

  size_t close_all_sessions() override {
    // The streams end (their sessions unregister as they close) and held
    // POSTs are closed; the listener keeps accepting.
    sessions.take_all();
    auto n = shttp.forget_all();
    return n + (server != nullptr ? server->close_streams() : 0);
  }

  uint64_t sessions_opened() const noexcept override {
    return opened.load(std::memory_order_relaxed) + shttp.sessions_opened();
  }

  size_t sessions_open() const override {
    return sessions.size() + shttp.sessions_open();
  }

  void on_request(transport::http_request& req,
                  transport::http_exchange& ex) override;

  /// Token mode: true if the request may go on, else answers 401.
  bool authorized(transport::http_request& req, transport::http_exchange& ex);

  void start_sse(transport::http_request& req, transport::http_exchange& ex,
                 std::string_view path);

  void post(transport::http_request& req, transport::http_exchange& ex);

  /// Does what a hook's reply asks.
  void answer(transport::http_request& req, transport::http_exchange& ex,
              http_reply&& alt);

  void reply(transport::http_request& req, transport::http_exchange& ex,
             unsigned status, std::string body,
             const http_reply* extra = nullptr);

  const mcp_handler& handler;
  const bool verbose;
  /// The Streamable HTTP endpoint.
  streamable_endpoint shttp;
  session_registry sessions;
  std::atomic<uint64_t> opened{0};
  transport::http_server* server = nullptr;
  /// The answer to every good POST on a keep-alive HTTP/1.1 connection,
  /// written once (building it per POST was the largest user-space cost
  /// in profiles).
  std::shared_ptr<const std::string> accepted;
};

// -- sse_session --------------------------------------------------------------

/// One SSE stream = one MCP session, on top of an event stream of the HTTP
/// server. The stream keeps the session alive until it ends.
class sse_session final : public session_context {
public:
  sse_session(std::shared_ptr<transport::event_stream> stream, demo_http& srv)
    : stream_(std::move(stream)),
      executor_(*static_cast<const net::any_io_executor*>(
        stream_->native_executor())),
      srv_(srv),
      id_(make_uuid()) {
    // nop
  }

  ~sse_session() override {
    if (registered_)
      srv_.sessions.remove(id_);
  }

  /// Registers the session and queues the endpoint event. `prefix` is the
  /// GET path without its final `sse`.
  void start(std::string_view prefix) {
    auto self = std::static_pointer_cast<sse_session>(shared_from_this());
    srv_.sessions.add(id_, self);
    srv_.opened.fetch_add(1, std::memory_order_relaxed);
    registered_ = true;
    if (srv_.verbose)
      std::fprintf(stderr, "demo-server: session %s opened\n", id_.c_str());
    // The stream holds the session until it ends.
    stream_->on_close([self] { self->end_session(); });
    auto& buf = stream_->buffer();
    buf += "event: endpoint\ndata: ";
    buf += prefix;
    buf += "message?sessionId=";
    buf += id_;
    buf += "\n\n";
    stream_->commit();
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
    stream_->append(bytes);
  }

  void close() override {
    end_session();
    stream_->close();
  }

  void close_after_write() override {
    if (!open_)
      return;
    end_session();
    stream_->close_after_write();
  }

  void hold_output() override {
    holding_ = open_;
  }

  void release_output() override {
    if (!holding_)
      return;
    holding_ = false;
    if (!open_) {
      std::string{}.swap(held_);
      return;
    }
    std::string held;
    held.swap(held_);
    stream_->append(held);
  }

  server_control& server() noexcept override {
    return srv_;
  }

protected:
  std::string& begin_message() override {
    // While closed, events go to a scratch string that is thrown away;
    // while held, to the held bytes.
    auto& buf = !open_ ? discard_ : holding_ ? held_ : stream_->buffer();
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
    stream_->buffer() += "\n\n";
    stream_->commit();
  }

private:
  /// Ends the session (unregisters it, cancels its calls) but leaves the
  /// stream alone.
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

  void check_held() {
    if (held_.size() > max_pending_output) {
      if (srv_.verbose)
        std::fprintf(stderr, "demo-server: session %s: too much held "
                             "output, closing\n", id_.c_str());
      close();
    }
  }

  std::shared_ptr<transport::event_stream> stream_;
  net::any_io_executor executor_;
  demo_http& srv_;
  std::string id_;
  session_state state_;
  bool registered_ = false;
  bool open_ = true;
  /// Set by hold_output: new output goes to `held_`.
  bool holding_ = false;
  /// Where events go after the close.
  std::string discard_;
  /// Output held back by hold_output.
  std::string held_;
};

// -- routing --------------------------------------------------------------------

void demo_http::on_request(transport::http_request& req,
                           transport::http_exchange& ex) {
  auto path = req.path();
  auto method = req.method();
  if (path == shttp.options().path) {
    if (!authorized(req, ex))
      return;
    return shttp.on_request(req, ex);
  }
  auto sse = ends_with(path, "/sse");
  if ((sse || ends_with(path, "/message")) && !authorized(req, ex))
    return;
  if (sse) {
    if (method != "GET")
      return reply(req, ex, 405, "Method Not Allowed");
    return start_sse(req, ex, path);
  }
  if (ends_with(path, "/message")) {
    if (method != "POST")
      return reply(req, ex, 405, "Method Not Allowed");
    return post(req, ex);
  }
  control_request creq{method, path, req.query(), req.body()};
  if (auto alt = handler.on_control(*this, creq))
    return answer(req, ex, std::move(*alt));
  reply(req, ex, 404, "Not Found");
}

bool demo_http::authorized(transport::http_request& req,
                           transport::http_exchange& ex) {
  auto* auth = handler.options().auth.get();
  if (auth == nullptr)
    return true;
  // The header's value is never logged (reply() prints the target and
  // our body only).
  auto v = auth->check(req.header("Authorization"));
  if (v == token_auth::verdict::ok)
    return true;
  // RFC 6750 section 3: no error code when the request had no credentials.
  http_reply r;
  r.status = 401;
  r.headers.emplace_back("WWW-Authenticate",
                         v == token_auth::verdict::missing
                           ? R"(Bearer realm="caf-mcp demo-server")"
                           : R"(Bearer realm="caf-mcp demo-server", )"
                             R"(error="invalid_token")");
  reply(req, ex, 401,
        v == token_auth::verdict::missing ? "Unauthorized: no bearer token"
                                          : "Unauthorized: invalid token",
        &r);
  return false;
}

void demo_http::start_sse(transport::http_request&,
                          transport::http_exchange& ex,
                          std::string_view path) {
  std::string prefix{path.substr(0, path.size() - 3)}; // drop "sse"
  auto stream = ex.start_stream({});
  if (!stream)
    return;
  std::make_shared<sse_session>(std::move(stream), *this)->start(prefix);
}

void demo_http::post(transport::http_request& req,
                     transport::http_exchange& ex) {
  auto sid = find_param(req.query(), "sessionId");
  if (!sid)
    return reply(req, ex, 400, "Missing sessionId parameter");
  auto session = sessions.find(*sid);
  if (!session)
    return reply(req, ex, 404, "Session not found");
  const auto& body = req.body();
  decode_result msgs;
  decode(body, make_decode_arena(body.size()), msgs);
  auto deliver = [&] {
    // Hands the messages of a POST to its session, on its executor.
    auto& executor = session->executor();
    net::dispatch(executor, [s = std::move(session), m = std::move(msgs),
                             &hdl = handler]() mutable {
      for (auto& msg : m.messages)
        hdl.on_message(*s, std::move(msg));
      // Only a batch gets here with errors (a single invalid message got
      // a 400): answer each invalid element with -32600.
      for (auto& err : m.errors)
        hdl.on_invalid(*s, err);
    });
  };
  if (auto alt = handler.on_post(post_info{*sid, body, msgs})) {
    auto process = alt->process && !msgs.messages.empty();
    answer(req, ex, std::move(*alt));
    if (process)
      deliver();
    return;
  }
  if (msgs.messages.empty()) {
    // Not JSON, or no valid JSON-RPC message in it: a plain-text 400, like
    // the TypeScript SDK's SSEServerTransport.
    std::string text;
    if (msgs.errors.empty()) {
      text = "Invalid message: empty batch";
    } else {
      text = "Invalid message: ";
      text += msgs.errors.front().message; // "invalid JSON: ..."
    }
    return reply(req, ex, 400, std::move(text));
  }
  // 202 first: it frees the client's POST connection for its next call
  // (the write usually completes inside this call); the answers follow on
  // the stream.
  if (req.keep_alive() && req.version() == 11)
    ex.respond_raw(accepted);
  else
    reply(req, ex, 202, "Accepted");
  deliver();
}

void demo_http::answer(transport::http_request& req,
                       transport::http_exchange& ex, http_reply&& alt) {
  switch (alt.action) {
    case post_action::no_answer:
      if (verbose)
        std::fprintf(stderr, "demo-server: holding a request unanswered\n");
      return ex.hold();
    case post_action::drop:
      if (verbose)
        std::fprintf(stderr, "demo-server: dropping a connection\n");
      return ex.drop();
    case post_action::reply:
      break;
  }
  reply(req, ex, alt.status, std::move(alt.body), &alt);
}

void demo_http::reply(transport::http_request& req,
                      transport::http_exchange& ex, unsigned status,
                      std::string body, const http_reply* extra) {
  if (verbose) {
    auto target = req.target();
    std::fprintf(stderr, "demo-server: %s %.*s -> %u %s\n",
                 std::string{req.method()}.c_str(),
                 static_cast<int>(target.size()), target.data(), status,
                 body.c_str());
  }
  transport::http_response res;
  res.status = status;
  if (extra != nullptr) {
    res.content_type = extra->content_type;
    res.headers = extra->headers;
  }
  if (status == 405)
    res.headers.emplace_back("Allow",
                             ends_with(req.path(), "/sse") ? "GET" : "POST");
  res.body = std::move(body);
  ex.respond(std::move(res));
}

} // namespace

int run_http_server(const server_options& opts, const mcp_handler& handler) {
  // Declared before the io_context: sessions destroyed with the context
  // still unregister themselves.
  demo_http srv{handler, opts.verbose, opts.streamable};
  // The shared server reports what it rejects or cuts off itself (a
  // malformed or oversized request, a client reading too slowly, accept
  // errors) through the log: --verbose shows those lines too.
  if (opts.verbose)
    log::set_sink(log::stderr_sink(), log::level::info);
  auto threads = opts.threads == 0 ? size_t{1} : opts.threads;
  net::io_context ioc{static_cast<int>(threads)};
  transport::http_server_options http_opts;
  http_opts.strands = threads > 1;
  http_opts.max_pending_output = max_pending_output;
  http_opts.log_name = "demo-server";
  transport::http_server server{ioc, srv, http_opts};
  srv.server = &server;
  srv.shttp.set_executor(ioc.get_executor(), threads > 1);
  if (auto problem = server.listen(opts.host, opts.port); !problem.empty()) {
    std::fprintf(stderr, "caf-mcp demo-server: %s\n", problem.c_str());
    return exit_failure;
  }
  if (!opts.port_file.empty()) {
    auto tmp = opts.port_file + ".tmp";
    auto ok = false;
    if (auto f = std::fopen(tmp.c_str(), "w")) {
      ok = std::fprintf(f, "%u\n", static_cast<unsigned>(server.port())) > 0;
      ok = std::fclose(f) == 0 && ok;
      ok = ok && std::rename(tmp.c_str(), opts.port_file.c_str()) == 0;
    }
    if (!ok) {
      std::fprintf(stderr, "caf-mcp demo-server: cannot write %s\n",
                   opts.port_file.c_str());
      return exit_failure;
    }
  }
  std::printf("listening on http://%s:%u/sse\n", server.address().c_str(),
              static_cast<unsigned>(server.port()));
  std::printf("streamable http on http://%s:%u%s%s\n",
              server.address().c_str(), static_cast<unsigned>(server.port()),
              opts.streamable.path.c_str(),
              opts.streamable.json_response ? " (json responses)" : "");
  std::fflush(stdout);
  server.start();
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    server.stop();
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

struct background_server::impl {
  impl(const mcp_handler& handler, bool verbose,
       const streamable_options& sopts)
    : srv(handler, verbose, sopts), work(net::make_work_guard(ioc)) {
    srv.shttp.set_executor(ioc.get_executor(), false);
  }

  // Declared before the io_context (see run_http_server).
  demo_http srv;
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> work;
  std::unique_ptr<transport::http_server> server;
  std::thread thread;
};

background_server::background_server(std::unique_ptr<impl> x)
  : impl_(std::move(x)) {
  // nop
}

std::unique_ptr<background_server>
background_server::start(const server_options& opts,
                         const mcp_handler& handler, std::string& error) {
  auto x = std::make_unique<impl>(handler, opts.verbose, opts.streamable);
  transport::http_server_options http_opts;
  http_opts.max_pending_output = max_pending_output;
  http_opts.log_name = "demo-server";
  x->server = std::make_unique<transport::http_server>(x->ioc, x->srv,
                                                       http_opts);
  x->srv.server = x->server.get();
  error = x->server->listen(opts.host, opts.port);
  if (!error.empty())
    return nullptr;
  x->server->start();
  auto ioc = &x->ioc;
  x->thread = std::thread{[ioc] { ioc->run(); }};
  return std::unique_ptr<background_server>{new background_server(std::move(x))};
}

background_server::~background_server() {
  impl_->server->close_all();
  impl_->work.reset();
  impl_->ioc.stop();
  impl_->thread.join();
  impl_->server.reset();
}

uint16_t background_server::port() const noexcept {
  return impl_->server->port();
}

} // namespace caf_mcp::app::demo
