// Integration tests for the Beast side of transport/: the SSE GET stream, the
// POST channel and the io runtime, against a scripted loopback server that
// lives in this file (raw Asio, blocking I/O, one thread per connection).
//
// Nothing here sleeps in place of a condition: tests wait on condition
// variables with a bound (`wait_limit`) and fail when it runs out.
#define CAF_SUITE http_client
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/log.hpp"

// GCC 12 reports -Wnull-dereference false positives from inlined Asio
// internals; silenced for the Boost headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace caf_mcp::transport;
using namespace std::chrono_literals;

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

/// Upper bound for every wait on a condition.
constexpr auto wait_limit = 5s;

std::string code(const transport_error& e) {
  return to_string(e.code);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(),
                       [](char x, char y) { return lower(x) == lower(y); });
}

/// A one-shot signal between threads.
class gate {
public:
  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }

  /// Returns false if the gate did not open within `wait_limit`.
  bool wait() {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [this] { return open_; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

using gate_ptr = std::shared_ptr<gate>;

/// Counts the library's log lines (at trace) of one component that contain
/// a text, and lets a thread wait for a count: how a test learns that the
/// client read from its socket or that a timer fired. Logging goes back
/// off when it ends.
class log_watch {
public:
  log_watch(std::string component, std::string text)
    : state_(std::make_shared<shared>()) {
    auto st = state_;
    caf_mcp::log::set_sink(
      [st, component, text](caf_mcp::log::level, std::string_view comp,
                            std::string_view line) {
        if (comp != component || line.find(text) == std::string_view::npos)
          return;
        std::lock_guard<std::mutex> guard{st->mtx};
        ++st->count;
        st->cv.notify_all();
      },
      caf_mcp::log::level::trace);
  }

  log_watch(const log_watch&) = delete;
  log_watch& operator=(const log_watch&) = delete;

  ~log_watch() {
    caf_mcp::log::reset();
  }

  size_t count() const {
    std::lock_guard<std::mutex> guard{state_->mtx};
    return state_->count;
  }

  /// Returns false if fewer than `n` lines came within `wait_limit`.
  bool wait_for(size_t n) const {
    std::unique_lock<std::mutex> guard{state_->mtx};
    return state_->cv.wait_for(guard, wait_limit,
                               [&] { return state_->count >= n; });
  }

private:
  struct shared {
    std::mutex mtx;
    std::condition_variable cv;
    size_t count = 0;
  };
  std::shared_ptr<shared> state_;
};

// -- the scripted loopback server -----------------------------------------------

/// One HTTP request as the server saw it.
struct request {
  size_t conn = 0;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// All values of a header (case-insensitive name).
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (auto& [n, v] : headers)
      if (iequals(n, name))
        out.push_back(v);
    return out;
  }

  /// The first value of a header, or "<none>".
  std::string header(const std::string& name) const {
    auto vs = all(name);
    return vs.empty() ? std::string{"<none>"} : vs.front();
  }
};

class test_server;

/// The server side of one connection, used from its own thread by a script.
class server_conn {
public:
  server_conn(test_server& srv, tcp::socket sock, ssl::context* tls,
              size_t index);

  /// 0-based accept order.
  size_t index() const {
    return index_;
  }

  test_server& server() {
    return srv_;
  }

  /// TLS handshake (no-op for plain connections); false on failure.
  bool handshake();

  /// Reads one request (head and Content-Length body) and records it;
  /// nullopt on EOF or error.
  std::optional<request> read_request();

  /// Writes bytes; false on error.
  bool write(const std::string& bytes);

  /// Reads one byte (after any buffered ones); false on EOF or error.
  bool read_byte(char& out);

  /// Reads and discards until the peer closes (or the server stops).
  void wait_eof();

  /// Closes the connection (idempotent).
  void close();

  /// Unblocks a pending read or write from another thread.
  void abort();

private:
  size_t read_some(std::string& out, boost::system::error_code& ec);

  test_server& srv_;
  tcp::socket sock_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  size_t index_;
  std::string buf_;
  std::mutex mtx_;
  bool open_ = true;
};

using script = std::function<void(server_conn&)>;

/// Accepts on 127.0.0.1 (port 0) and runs `script` per connection on its own
/// thread; counts accepts and records requests.
class test_server {
public:
  explicit test_server(script s, ssl::context* tls = nullptr)
    : script_(std::move(s)), tls_(tls), acceptor_(ctx_) {
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread{[this] { accept_loop(); }};
  }

  ~test_server() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR); // wakes accept()
    accept_thread_.join();
    std::vector<std::shared_ptr<server_conn>> conns;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      conns = conns_;
    }
    for (auto& c : conns)
      c->abort();
    for (auto& t : threads_)
      t.join();
  }

  uint16_t port() const {
    return port_;
  }

  std::string url(const std::string& path) const {
    return std::string{tls_ ? "https" : "http"} + "://127.0.0.1:"
           + std::to_string(port_) + path;
  }

  size_t accepts() {
    std::lock_guard<std::mutex> guard{mtx_};
    return accepts_;
  }

  std::vector<request> requests() {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

  /// Waits until at least `n` connections were accepted.
  bool wait_accepts(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [&] { return accepts_ >= n; });
  }

  /// Waits until at least `n` requests were read.
  bool wait_requests(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit,
                        [&] { return requests_.size() >= n; });
  }

  /// Waits until at least `n` connections ended (script done), at most
  /// `limit`.
  bool wait_closed(size_t n,
                   std::chrono::milliseconds limit = wait_limit) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, limit, [&] { return closed_ >= n; });
  }

  void record(request r) {
    std::lock_guard<std::mutex> guard{mtx_};
    requests_.push_back(std::move(r));
    cv_.notify_all();
  }

private:
  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock{ctx_};
      acceptor_.accept(sock, ec);
      if (ec || stopping_)
        return;
      sock.set_option(tcp::no_delay(true), ec);
      std::shared_ptr<server_conn> conn;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        conn = std::make_shared<server_conn>(*this, std::move(sock), tls_,
                                             accepts_++);
        conns_.push_back(conn);
        cv_.notify_all();
      }
      threads_.emplace_back([this, conn] {
        if (conn->handshake())
          script_(*conn);
        conn->close();
        std::lock_guard<std::mutex> guard{mtx_};
        ++closed_;
        cv_.notify_all();
      });
    }
  }

  script script_;
  ssl::context* tls_;
  net::io_context ctx_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::vector<std::thread> threads_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<server_conn>> conns_;
  std::vector<request> requests_;
  size_t accepts_ = 0;
  size_t closed_ = 0;
};

server_conn::server_conn(test_server& srv, tcp::socket sock, ssl::context* tls,
                         size_t index)
  : srv_(srv), sock_(std::move(sock)), index_(index) {
  if (tls != nullptr)
    tls_.emplace(sock_, *tls);
}

bool server_conn::handshake() {
  if (!tls_)
    return true;
  boost::system::error_code ec;
  tls_->handshake(ssl::stream_base::server, ec);
  return !ec;
}

size_t server_conn::read_some(std::string& out,
                              boost::system::error_code& ec) {
  char tmp[4096];
  auto n = tls_ ? tls_->read_some(net::buffer(tmp), ec)
                : sock_.read_some(net::buffer(tmp), ec);
  out.append(tmp, n);
  return n;
}

std::optional<request> server_conn::read_request() {
  boost::system::error_code ec;
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    read_some(buf_, ec);
    if (ec)
      return std::nullopt;
  }
  request r;
  r.conn = index_;
  auto head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  auto line_end = head.find("\r\n");
  auto first = head.substr(0, line_end);
  auto sp1 = first.find(' ');
  auto sp2 = first.find(' ', sp1 + 1);
  r.method = first.substr(0, sp1);
  r.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t content_length = 0;
  while (line_end != std::string::npos && line_end < head.size()) {
    auto next = head.find("\r\n", line_end + 2);
    auto line = head.substr(line_end + 2, next == std::string::npos
                                            ? std::string::npos
                                            : next - line_end - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
      if (iequals(line.substr(0, colon), "content-length"))
        content_length = std::stoul(value);
    }
    line_end = next;
  }
  while (buf_.size() < content_length) {
    read_some(buf_, ec);
    if (ec)
      return std::nullopt;
  }
  r.body = buf_.substr(0, content_length);
  buf_.erase(0, content_length);
  srv_.record(r);
  return r;
}

bool server_conn::read_byte(char& out) {
  boost::system::error_code ec;
  while (buf_.empty()) {
    read_some(buf_, ec);
    if (ec)
      return false;
  }
  out = buf_.front();
  buf_.erase(0, 1);
  return true;
}

bool server_conn::write(const std::string& bytes) {
  boost::system::error_code ec;
  if (tls_)
    net::write(*tls_, net::buffer(bytes), ec);
  else
    net::write(sock_, net::buffer(bytes), ec);
  return !ec;
}

void server_conn::wait_eof() {
  boost::system::error_code ec;
  std::string scratch;
  while (!ec) {
    scratch.clear();
    read_some(scratch, ec);
  }
}

void server_conn::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!open_)
    return;
  open_ = false;
  boost::system::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

void server_conn::abort() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (open_)
    ::shutdown(sock_.native_handle(), SHUT_RDWR);
}

// -- response helpers ---------------------------------------------------------

/// 200 text/event-stream, body until the connection closes.
std::string sse_head(const std::string& content_type = "text/event-stream") {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type
         + "\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
}

/// 200 text/event-stream with chunked transfer encoding.
std::string sse_chunked_head() {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
         "Transfer-Encoding: chunked\r\n\r\n";
}

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::string response(int status, const std::string& reason,
                     const std::string& body,
                     const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason
         + "\r\nContent-Type: text/plain\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n"
         + body;
}

const std::string accepted = response(202, "Accepted", "Accepted");

parsed_url url_of(const std::string& text) {
  auto r = parse_url(text);
  if (!r)
    CAF_FAIL("bad test URL " << text);
  return *r;
}

/// A port that refuses connections while this object lives: a socket
/// bound to it that never listens. Held, not closed again: a port that was
/// merely free could be taken by a test running beside this one.
class refusing_port {
public:
  refusing_port() : sock_(ctx_) {
    sock_.open(tcp::v4());
    sock_.bind(tcp::endpoint{net::ip::make_address("127.0.0.1"), 0});
  }

  uint16_t number() const {
    return sock_.local_endpoint().port();
  }

private:
  net::io_context ctx_;
  tcp::socket sock_;
};

/// A loopback port whose accept queue is full: a listener with backlog 0
/// that never accepts, plus connections filling its queue. The kernel
/// drops further SYNs, so a new connect neither succeeds nor fails.
class full_listener {
public:
  full_listener() : acc_(ctx_) {
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
    acc_.open(ep.protocol());
    acc_.bind(ep);
    acc_.listen(0);
    port_ = acc_.local_endpoint().port();
    // Fill the queue: non-blocking connects (the ones beyond the queue
    // stay in progress and keep retrying their SYN).
    tcp::endpoint target{ep.address(), port_};
    for (int i = 0; i < 8; ++i) {
      tcp::socket s{ctx_};
      s.open(tcp::v4());
      s.non_blocking(true);
      // Asio's connect would poll until done even on a non-blocking socket.
      auto len = static_cast<socklen_t>(target.size());
      [[maybe_unused]] auto rc = ::connect(s.native_handle(), target.data(),
                                           len);
      fillers_.push_back(std::move(s));
    }
  }

  uint16_t port() const {
    return port_;
  }

private:
  net::io_context ctx_;
  tcp::acceptor acc_;
  uint16_t port_ = 0;
  std::vector<tcp::socket> fillers_;
};

// -- the SSE client side ------------------------------------------------------

/// What an sse_stream_handler saw, in order.
struct sse_log {
  struct batch {
    std::vector<sse_event_record> events;
    uint64_t retry_ms;
  };
  std::vector<int> opens;
  std::vector<batch> batches;
  std::vector<transport_error> closes;
  /// "open", "events", "closed" in call order.
  std::vector<std::string> calls;
  steady::time_point opened_at;
  steady::time_point closed_at;

  std::vector<sse_event_record> events() const {
    std::vector<sse_event_record> out;
    for (auto& b : batches)
      out.insert(out.end(), b.events.begin(), b.events.end());
    return out;
  }
};

class recorder : public sse_stream_handler {
public:
  void on_open(int status) override {
    std::lock_guard<std::mutex> guard{mtx_};
    log_.opens.push_back(status);
    log_.calls.emplace_back("open");
    log_.opened_at = steady::now();
    cv_.notify_all();
  }

  void on_events(std::vector<sse_event_record> events,
                 uint64_t retry_ms) override {
    std::lock_guard<std::mutex> guard{mtx_};
    log_.batches.push_back({std::move(events), retry_ms});
    log_.calls.emplace_back("events");
    cv_.notify_all();
  }

  void on_closed(transport_error why) override {
    std::lock_guard<std::mutex> guard{mtx_};
    log_.closes.push_back(std::move(why));
    log_.calls.emplace_back("closed");
    log_.closed_at = steady::now();
    cv_.notify_all();
  }

  /// Waits until `pred(log)` holds; false after `wait_limit`.
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [&] { return pred(log_); });
  }

  bool wait_closed() {
    return wait([](const sse_log& l) { return !l.closes.empty(); });
  }

  bool wait_events(size_t n) {
    return wait([n](const sse_log& l) { return l.events().size() >= n; });
  }

  sse_log log() {
    std::lock_guard<std::mutex> guard{mtx_};
    return log_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  sse_log log_;
};

// -- the POST client side -----------------------------------------------------

/// Collects POST results by job index; counts calls per index.
class post_log {
public:
  std::function<void(post_result)> callback(size_t index) {
    return [this, index](post_result r) {
      std::lock_guard<std::mutex> guard{mtx_};
      results_.emplace_back(index, std::move(r));
      cv_.notify_all();
    };
  }

  bool wait(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [&] { return results_.size() >= n; });
  }

  std::vector<std::pair<size_t, post_result>> results() {
    std::lock_guard<std::mutex> guard{mtx_};
    return results_;
  }

  /// The result of job `index` (the first one if it ran twice).
  post_result at(size_t index) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [i, r] : results_)
      if (i == index)
        return r;
    post_result none;
    none.error.message = "<no result>";
    return none;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::pair<size_t, post_result>> results_;
};

/// Posts and waits for the result (fails the test after wait_limit).
post_result post_and_wait(post_channel& ch, const std::string& target,
                          const std::string& body = "{}",
                          header_list extra = {}, bool may_resend = false) {
  auto result = std::make_shared<std::promise<post_result>>();
  auto fut = result->get_future();
  ch.post(target, body, std::move(extra),
          [result](post_result r) { result->set_value(std::move(r)); },
          may_resend);
  if (fut.wait_for(wait_limit) != std::future_status::ready) {
    CAF_FAIL("POST " << target << " got no result within the wait limit");
  }
  return fut.get();
}

http_options fast_options() {
  http_options opts;
  opts.connect_timeout = 2s;
  opts.post_timeout = 3s;
  return opts;
}

// -- TLS material ---------------------------------------------------------------

/// A CA, a server certificate for 127.0.0.1/localhost and one for another
/// name, generated once per run with the openssl CLI in a temp directory.
struct tls_material {
  std::filesystem::path dir;
  bool ok = false;

  tls_material() {
    if (std::system("openssl version >/dev/null 2>&1") != 0)
      return;
    char tmpl[] = "/tmp/caf-mcp-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      return;
    dir = tmpl;
    std::ofstream{dir / "ca.cnf"}
      << "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\n"
         "prompt = no\n[dn]\nCN = caf-mcp test CA\n[v3_ca]\n"
         "basicConstraints = critical,CA:TRUE\n"
         "keyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n";
    std::ofstream{dir / "ip.ext"}
      << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::ofstream{dir / "other.ext"}
      << "subjectAltName=DNS:other.invalid\n"
         "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    auto d = dir.string();
    auto cmd
      = "cd '" + d
        + "' && openssl ecparam -name prime256v1 -genkey -noout -out ca.key"
          " && openssl req -x509 -new -key ca.key -config ca.cnf -days 2"
          " -sha256 -out ca.pem"
          " && for n in ip other; do"
          " openssl ecparam -name prime256v1 -genkey -noout -out $n.key &&"
          " openssl req -new -key $n.key -subj /CN=test -config ca.cnf"
          " -out $n.csr &&"
          " openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key"
          " -CAcreateserial -days 2 -sha256 -extfile $n.ext -out $n.pem"
          " || exit 1; done >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }

  ~tls_material() {
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }

  std::string file(const std::string& name) const {
    return (dir / name).string();
  }

  /// A server context presenting `<name>.pem`.
  std::unique_ptr<ssl::context> server_context(const std::string& name) const {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(file(name + ".pem"));
    ctx->use_private_key_file(file(name + ".key"), ssl::context::pem);
    return ctx;
  }
};

tls_material& tls() {
  static tls_material instance;
  return instance;
}

/// Answers a GET with an event stream of one event, then waits for EOF.
void answer_one_event(server_conn& c) {
  c.write(sse_head() + "event: endpoint\ndata: /message?sessionId=1\n\n");
  c.wait_eof();
}

/// A script: read the GET, answer with one event, then wait for EOF.
void serve_one_event(server_conn& c) {
  if (c.read_request())
    answer_one_event(c);
}

} // namespace

// -- SSE stream -----------------------------------------------------------------

CAF_TEST(sse events arrive across several reads and a CRLF split across writes) {
  auto first_seen = std::make_shared<gate>();
  auto second_seen = std::make_shared<gate>();
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    // One event, then an event whose CRLF line end is split across writes.
    c.write(sse_head()
            + "event: endpoint\r\ndata: /message?sessionId=1\r\n\r\n"
              "data: x\r");
    if (!first_seen->wait())
      return;
    c.write("\ndata: y\r\n\r\n");
    if (!second_seen->wait())
      return;
    c.write(": comment\r\nid: 7\r\ndata: z\r\n\r\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto opts = fast_options();
  opts.headers = {{"X-Custom", "v1"}};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec, "41");
  CAF_REQUIRE(rec->wait_events(1));
  first_seen->open();
  CAF_REQUIRE(rec->wait_events(2));
  second_seen->open();
  CAF_REQUIRE(rec->wait_events(3));
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.opens, std::vector<int>{200});
  CAF_CHECK_GREATER_OR_EQUAL(log.batches.size(), 3u);
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 3u);
  CAF_CHECK_EQUAL(events[0].type, "endpoint");
  CAF_CHECK_EQUAL(events[0].data, "/message?sessionId=1");
  CAF_CHECK_EQUAL(events[0].id, "41"); // resumed last event id persists
  CAF_CHECK_EQUAL(events[1].type, "message");
  CAF_CHECK_EQUAL(events[1].data, "x\ny"); // the split CRLF is one line end
  CAF_CHECK_EQUAL(events[2].data, "z");
  CAF_CHECK_EQUAL(events[2].id, "7");
  CAF_CHECK(log.closes.empty());
  // The request.
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 1u);
  auto& req = reqs[0];
  CAF_CHECK_EQUAL(req.method, "GET");
  CAF_CHECK_EQUAL(req.target, "/sse");
  CAF_CHECK_EQUAL(req.header("Host"), "127.0.0.1:" + std::to_string(srv.port()));
  CAF_CHECK_EQUAL(req.header("Accept"), "text/event-stream");
  CAF_CHECK_EQUAL(req.header("Cache-Control"), "no-cache");
  CAF_CHECK_EQUAL(req.header("User-Agent"), "caf-mcp/0.1");
  CAF_CHECK_EQUAL(req.header("X-Custom"), "v1");
  CAF_CHECK_EQUAL(req.header("Last-Event-ID"), "41");
  CAF_CHECK_EQUAL(req.header("Authorization"), "<none>");
  stream->close();
  CAF_REQUIRE(rec->wait_closed());
  CAF_CHECK_EQUAL(code(rec->log().closes[0]), "cancelled");
}

CAF_TEST(interim 1xx answers before the stream are skipped) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    // 100 Continue and 103 Early Hints (with a header), each in its own
    // write, then the real answer.
    c.write("HTTP/1.1 100 Continue\r\n\r\n");
    c.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload"
            "\r\n\r\n");
    answer_one_event(c);
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.opens, std::vector<int>{200});
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].type, "endpoint");
  CAF_CHECK(log.closes.empty());
  // The GET asks for an uncompressed stream.
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 1u);
  CAF_CHECK_EQUAL(reqs[0].header("Accept-Encoding"), "identity");
  stream->close();
  CAF_REQUIRE(rec->wait_closed());
}

CAF_TEST(a compressed event stream is refused at once) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  CAF_CHECK(log.opens.empty());
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "bad_content_type");
  CAF_CHECK(log.closes[0].message.find("Content-Encoding 'gzip'")
            != std::string::npos);
}

CAF_TEST(sse over chunked transfer encoding with chunk and line splits) {
  auto one_seen = std::make_shared<gate>();
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_chunked_head() + chunk("data: one\n\ndata: par"));
    if (!one_seen->wait())
      return;
    // A chunk ("tial\n\n") whose data is split across writes.
    c.write("6\r\ntia");
    c.write("l\n\n\r\n" + chunk("event: t\ndata: three\n\n") + "0\r\n\r\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  one_seen->open();
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 3u);
  CAF_CHECK_EQUAL(events[0].data, "one");
  CAF_CHECK_EQUAL(events[1].data, "partial");
  CAF_CHECK_EQUAL(events[2].type, "t");
  CAF_CHECK_EQUAL(events[2].data, "three");
  // The last chunk ends the stream, after every event was delivered.
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "stream_ended");
  CAF_CHECK_EQUAL(log.calls.back(), "closed");
  CAF_CHECK_EQUAL(log.calls.front(), "open");
}

CAF_TEST(a chunk header cut across reads is kept until its end arrives) {
  // Plain streams read into their io thread's buffer and keep only the
  // bytes the HTTP parser could not take: here a chunk header cut in its
  // size, then one cut between CR and LF, then the header's own first
  // bytes arriving with the response head.
  auto step1 = std::make_shared<gate>();
  auto step2 = std::make_shared<gate>();
  auto step3 = std::make_shared<gate>();
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_chunked_head() + chunk("data: one\n\n") + "1");
    if (!step1->wait())
      return;
    c.write("0\r\ndata: two-xxxx\n\n\r\nd\r"); // 0x10 bytes, then 0xd
    if (!step2->wait())
      return;
    c.write("\ndata: three\r\n\r\n" + chunk("\n") + "0\r\n\r\n");
    if (!step3->wait())
      return;
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  step1->open();
  CAF_REQUIRE(rec->wait_events(2));
  step2->open();
  CAF_REQUIRE(rec->wait_closed());
  step3->open();
  auto log = rec->log();
  for (auto& e : log.closes)
    CAF_MESSAGE("closed: " << code(e) << ": " << e.message);
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 3u);
  CAF_CHECK_EQUAL(events[0].data, "one");
  CAF_CHECK_EQUAL(events[1].data, "two-xxxx");
  CAF_CHECK_EQUAL(events[2].data, "three");
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "stream_ended");
}

CAF_TEST(a chunk header that never ends is a protocol error) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_chunked_head() + chunk("data: one\n\n"));
    // A chunk size followed by an endless extension: more than any read.
    std::string ext = "5;" + std::string(100 * 1024, 'x');
    c.write(ext);
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.events().size(), 1u);
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "protocol_error");
  CAF_MESSAGE("message: " << log.closes[0].message);
}

CAF_TEST(a stream with data more often than the idle timeout stays open) {
  // The idle timer is armed once and re-armed when it fires early: data
  // every 60 ms for 600 ms keeps a 250 ms idle limit from firing; after the
  // last event the limit ends the stream.
  constexpr int events = 10;
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_head());
    for (int i = 0; i < events; ++i) {
      // Pacing the peer, not waiting for a condition.
      std::this_thread::sleep_for(60ms);
      if (!c.write("data: " + std::to_string(i) + "\n\n"))
        return;
    }
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto opts = fast_options();
  opts.idle_timeout = 250ms;
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.events().size(), static_cast<size_t>(events));
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "timeout");
  CAF_CHECK(contains(log.closes[0].message, "no data"));
  // 600 ms of events, then at least most of the 250 ms of silence (the
  // opening is stamped when on_open runs, a little after the server wrote).
  CAF_CHECK(log.closed_at - log.opened_at >= 600ms + 100ms);
}

CAF_TEST(events of one read arrive in one batch with the retry value) {
  auto opened = std::make_shared<gate>();
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_head("Text/Event-Stream; charset=utf-8"));
    if (!opened->wait())
      return;
    c.write("retry: 1500\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait([](const sse_log& l) { return !l.opens.empty(); }));
  opened->open();
  CAF_REQUIRE(rec->wait_events(3));
  auto log = rec->log();
  CAF_REQUIRE_EQUAL(log.batches.size(), 1u);
  CAF_REQUIRE_EQUAL(log.batches[0].events.size(), 3u);
  CAF_CHECK_EQUAL(log.batches[0].retry_ms, 1500u);
  CAF_CHECK_EQUAL(log.batches[0].events[0].data, "a");
  CAF_CHECK_EQUAL(log.batches[0].events[1].data, "b");
  CAF_CHECK_EQUAL(log.batches[0].events[2].type, "e");
  CAF_CHECK_EQUAL(log.batches[0].events[2].data, "c");
}

CAF_TEST(a 401 reports status and body excerpt and never leaks credentials) {
  std::string body = "Unauthorized: " + std::string(5000, 'x');
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(response(401, "Unauthorized", body,
                     "WWW-Authenticate: Basic realm=\"mcp\"\r\n"));
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto url = url_of("http://alice:s3cret@127.0.0.1:" + std::to_string(srv.port())
                    + "/sse?token=tok123&x=1");
  auto stream = open_sse_stream(rt, url, fast_options(), rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  CAF_CHECK(log.opens.empty());
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  auto& err = log.closes[0];
  CAF_CHECK_EQUAL(code(err), "http_status");
  CAF_CHECK_EQUAL(err.status, 401);
  CAF_CHECK_EQUAL(err.body_excerpt, body.substr(0, 4096));
  CAF_CHECK(contains(err.message, "401"));
  CAF_CHECK(contains(err.message, "127.0.0.1"));
  CAF_CHECK(!contains(err.message, "s3cret"));
  CAF_CHECK(!contains(err.message, "alice"));
  CAF_CHECK(!contains(err.message, "tok123"));
  CAF_MESSAGE("message: " << err.message);
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 1u);
  CAF_CHECK_EQUAL(reqs[0].header("Authorization"), "Basic YWxpY2U6czNjcmV0");
  CAF_CHECK_EQUAL(reqs[0].target, "/sse?token=tok123&x=1");
}

CAF_TEST(a 429 reports Retry-After) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
            "Content-Length: 0\r\n\r\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_closed());
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "http_status");
  CAF_CHECK_EQUAL(err.status, 429);
  CAF_CHECK_EQUAL(err.retry_after, "7");
  CAF_CHECK_EQUAL(err.body_excerpt, "");
}

CAF_TEST(a 2xx without text/event-stream is bad_content_type) {
  for (std::string type : {"text/html", "text/event-streams", ""}) {
    CAF_MESSAGE("Content-Type: '" << type << "'");
    test_server srv{[=](server_conn& c) {
      if (!c.read_request())
        return;
      std::string head = "HTTP/1.1 200 OK\r\n";
      if (!type.empty())
        head += "Content-Type: " + type + "\r\n";
      c.write(head + "Content-Length: 5\r\n\r\nhello");
      c.wait_eof();
    }};
    auto rec = std::make_shared<recorder>();
    io_runtime rt{1};
    auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                  rec);
    CAF_REQUIRE(rec->wait_closed());
    auto log = rec->log();
    CAF_CHECK(log.opens.empty());
    CAF_CHECK_EQUAL(code(log.closes.at(0)), "bad_content_type");
    CAF_CHECK_EQUAL(log.closes.at(0).status, 200);
  }
}

CAF_TEST(the server ending the stream is stream_ended after its events) {
  auto seen = std::make_shared<gate>();
  test_server srv{[=](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_head() + "data: last\n\n");
    if (!seen->wait())
      return;
    // The incomplete last event is dropped; a retry sent after the last
    // delivered event comes with on_closed.
    c.write("retry: 2500\ndata: incomplete");
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  seen->open();
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].data, "last");
  CAF_CHECK_EQUAL(log.batches.at(0).retry_ms, 0u);
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "stream_ended");
  CAF_CHECK_EQUAL(log.closes[0].retry_ms, 2500u);
  CAF_CHECK_EQUAL(log.calls.back(), "closed");
  CAF_MESSAGE("message: " << log.closes[0].message);
}

CAF_TEST(a silent stream hits the idle timeout) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_head() + "data: a\n\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto opts = fast_options();
  opts.idle_timeout = 300ms;
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.events().size(), 1u);
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "timeout");
  CAF_CHECK(contains(log.closes[0].message, "no data"));
  CAF_CHECK(log.closed_at - log.opened_at >= 250ms);
  // The client closed the socket: the server sees EOF.
  CAF_CHECK(srv.wait_closed(1));
}

CAF_TEST(close from other threads reports cancelled exactly once) {
  test_server srv{serve_one_event};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  std::thread t1{[&] { stream->close(); }};
  std::thread t2{[&] { stream->close(); }};
  stream->close();
  t1.join();
  t2.join();
  CAF_REQUIRE(rec->wait_closed());
  CAF_CHECK(srv.wait_closed(1)); // the socket is really closed
  rt.stop();                     // no callback can come after this
  auto log = rec->log();
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "cancelled");
  CAF_CHECK_EQUAL(log.calls.back(), "closed");
}

CAF_TEST(close before the connection is up reports cancelled once) {
  test_server srv{serve_one_event};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  stream->close();
  CAF_REQUIRE(rec->wait_closed());
  rt.stop();
  auto log = rec->log();
  CAF_CHECK_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes.at(0)), "cancelled");
  CAF_CHECK(log.opens.empty());
}

CAF_TEST(dropping the stream handle closes the stream) {
  test_server srv{serve_one_event};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  stream.reset();
  CAF_REQUIRE(rec->wait_closed());
  CAF_CHECK(srv.wait_closed(1));
  CAF_CHECK_EQUAL(code(rec->log().closes.at(0)), "cancelled");
}

CAF_TEST(destroying the io runtime closes open streams exactly once) {
  test_server srv{serve_one_event};
  auto rec = std::make_shared<recorder>();
  auto rt = std::make_unique<io_runtime>(2);
  auto stream = open_sse_stream(*rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_events(1));
  rt.reset();
  auto log = rec->log();
  CAF_REQUIRE_EQUAL(log.closes.size(), 1u);
  CAF_CHECK_EQUAL(code(log.closes[0]), "cancelled");
  // The handle outlives the runtime: closing and dropping it is harmless.
  stream->close();
  stream.reset();
  CAF_CHECK_EQUAL(rec->log().closes.size(), 1u);
}

namespace {

/// A handler that owns the io runtime and a POST channel, as the actor
/// layer's stream handler does (through its stream config): the last
/// reference to the runtime can go on the runtime's own io thread.
class owning_handler : public sse_stream_handler {
public:
  owning_handler(std::shared_ptr<io_runtime> rt,
                 std::shared_ptr<post_channel> channel,
                 std::shared_ptr<recorder> rec)
    : rt_(std::move(rt)), channel_(std::move(channel)), rec_(std::move(rec)) {
    // nop
  }

  void on_open(int status) override {
    rec_->on_open(status);
  }

  void on_events(std::vector<sse_event_record> events,
                 uint64_t retry_ms) override {
    rec_->on_events(std::move(events), retry_ms);
  }

  void on_closed(transport_error why) override {
    rec_->on_closed(std::move(why));
  }

private:
  // Declared first, destroyed last: after the channel, as in the actors.
  std::shared_ptr<io_runtime> rt_;
  std::shared_ptr<post_channel> channel_;
  std::shared_ptr<recorder> rec_;
};

} // namespace

/// An Asio service that tells when its io_context is destroyed.
class context_probe : public net::execution_context::service {
public:
  using key_type = context_probe;
  static inline net::execution_context::id id;

  context_probe(net::execution_context& ctx,
                std::shared_ptr<std::atomic<bool>> gone)
    : service(ctx), gone_(std::move(gone)) {
    // nop
  }

  ~context_probe() override {
    gone_->store(true);
  }

private:
  void shutdown() override {
    // nop
  }

  std::shared_ptr<std::atomic<bool>> gone_;
};

CAF_TEST(the runtime released on its own io thread frees everything) {
  // Regression (LeakSanitizer in example.list_and_call): when the last
  // reference went inside one of its own handlers, the runtime shut its
  // loop down while that handler's completions (here: the aborted connect
  // and deadline of a stream closed while connecting) still sat in the
  // thread's private queue. They stayed queued forever, holding the stream,
  // which holds the loop: nothing of it was ever freed.
  full_listener peer; // connects stay in progress
  auto gone = std::make_shared<std::atomic<bool>>(false);
  auto rec = std::make_shared<recorder>();
  auto rt = std::make_shared<io_runtime>(1);
  net::make_service<context_probe>(rt->context(0), gone);
  auto url = url_of("http://127.0.0.1:" + std::to_string(peer.port())
                    + "/sse");
  auto channel = make_post_channel(*rt, url, fast_options(), 0);
  channel->preconnect();
  auto stream = open_sse_stream(
    *rt, url, fast_options(),
    std::make_shared<owning_handler>(rt, std::move(channel), rec), {}, 0);
  rt.reset(); // now only the handler holds the runtime
  stream.reset(); // closes: the handler, the channel and the runtime go
  CAF_REQUIRE(rec->wait_closed());
  CAF_CHECK_EQUAL(code(rec->log().closes.at(0)), "cancelled");
  // The loop itself is destroyed once its thread has left it.
  auto deadline = steady::now() + wait_limit;
  for (int i = 0; i < 5000 && !gone->load() && steady::now() < deadline; ++i)
    std::this_thread::sleep_for(1ms);
  CAF_CHECK(gone->load());
}

CAF_TEST(a GET never answered times out after connect_timeout) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto opts = fast_options();
  opts.connect_timeout = 300ms;
  auto start = steady::now();
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto elapsed = steady::now() - start;
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "timeout");
  CAF_CHECK_EQUAL(err.message, "read response from " + srv.url("/sse")
                                 + ": timed out after 300 ms");
  CAF_CHECK(elapsed >= 280ms);
  CAF_CHECK(srv.wait_closed(1)); // the client closed the socket
}

CAF_TEST(an error body that stalls ends the excerpt at its deadline) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\n"
            "overloaded");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto opts = fast_options();
  opts.connect_timeout = 300ms;
  auto start = steady::now();
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto elapsed = steady::now() - start;
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "http_status");
  CAF_CHECK_EQUAL(err.status, 503);
  CAF_CHECK_EQUAL(err.body_excerpt, "overloaded");
  CAF_CHECK(elapsed >= 280ms);
  CAF_CHECK(elapsed < 3s);
}

CAF_TEST(a connect that never completes times out for GET and POST) {
  full_listener peer;
  io_runtime rt{1};
  auto opts = fast_options();
  opts.connect_timeout = 300ms;
  auto base = "http://127.0.0.1:" + std::to_string(peer.port());
  auto rec = std::make_shared<recorder>();
  auto start = steady::now();
  auto stream = open_sse_stream(rt, url_of(base + "/sse"), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto elapsed = steady::now() - start;
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "timeout");
  CAF_CHECK_EQUAL(err.message,
                  "connect to " + base + "/sse: timed out after 300 ms");
  CAF_CHECK(elapsed >= 280ms);
  auto ch = make_post_channel(rt, url_of(base + "/sse"), opts);
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK_EQUAL(code(r.error), "timeout");
  CAF_CHECK_EQUAL(r.error.message,
                  "connect to " + base + "/message: timed out after 300 ms");
}

CAF_TEST(a refused connection is connect_failed with a clear message) {
  refusing_port refusing;
  auto port = refusing.number();
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto text = "http://127.0.0.1:" + std::to_string(port) + "/sse";
  auto stream = open_sse_stream(rt, url_of(text), fast_options(), rec);
  CAF_REQUIRE(rec->wait_closed());
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "connect_failed");
  CAF_CHECK_EQUAL(err.message, "connect to " + text + ": Connection refused");
}

CAF_TEST(an oversized event closes the stream with event_too_large) {
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    c.write(sse_head() + "data: small\n\ndata: " + std::string(4000, 'x')
            + "\n\ndata: after\n\n");
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{1};
  auto opts = fast_options();
  opts.max_event_size = 1024;
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto log = rec->log();
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].data, "small");
  CAF_CHECK_EQUAL(code(log.closes.at(0)), "event_too_large");
}

CAF_TEST(many events across many reads keep their order) {
  constexpr size_t n = 20000;
  test_server srv{[](server_conn& c) {
    if (!c.read_request())
      return;
    std::string all = sse_chunked_head();
    std::string body;
    for (size_t i = 0; i < n; ++i) {
      body += "data: {\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(i) + "}\n\n";
      if (body.size() > 3000) {
        all += chunk(body);
        body.clear();
      }
    }
    all += chunk(body) + "0\r\n\r\n";
    c.write(all);
    c.wait_eof();
  }};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto start = steady::now();
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                rec);
  CAF_REQUIRE(rec->wait_closed());
  auto elapsed = steady::now() - start;
  auto log = rec->log();
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), n);
  bool ordered = true;
  for (size_t i = 0; i < n; ++i)
    ordered = ordered
              && events[i].data
                   == "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(i) + "}";
  CAF_CHECK(ordered);
  CAF_CHECK_LESS(log.batches.size(), n); // batched, not one call per event
  CAF_CHECK_EQUAL(code(log.closes.at(0)), "stream_ended");
  CAF_MESSAGE(n << " events in " << log.batches.size() << " batches, "
                << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
                     .count()
                << " ms");
}

// -- POST channel ---------------------------------------------------------------

CAF_TEST(a POST answered 202 is ok and carries the expected headers) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.headers = {{"X-Custom", "v1"},
                  {"Authorization", "Bearer t"},
                  {"User-Agent", "my-agent/2"},  // replaces the default
                  {"X-Bad", "a\r\nInjected: 1"}, // would split the head
                  {"Host", "evil.example"},      // framing is ours
                  {"Content-Type", "text/plain"}};
  auto origin = url_of("http://bob:pw@127.0.0.1:" + std::to_string(srv.port())
                       + "/sse");
  auto ch = make_post_channel(rt, origin, opts);
  std::string body = R"({"jsonrpc":"2.0","method":"ping","id":1})";
  auto r = post_and_wait(*ch, "/message?sessionId=abc", body,
                         {{"MCP-Protocol-Version", "2024-11-05"}});
  CAF_CHECK(r.ok);
  CAF_CHECK_EQUAL(r.status, 202);
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 1u);
  auto& req = reqs[0];
  CAF_CHECK_EQUAL(req.method, "POST");
  CAF_CHECK_EQUAL(req.target, "/message?sessionId=abc");
  CAF_CHECK_EQUAL(req.body, body);
  CAF_CHECK_EQUAL(req.header("Host"), "127.0.0.1:" + std::to_string(srv.port()));
  CAF_CHECK_EQUAL(req.header("Content-Type"), "application/json");
  CAF_CHECK_EQUAL(req.header("Accept"), "application/json, text/event-stream");
  CAF_CHECK_EQUAL(req.header("Content-Length"), std::to_string(body.size()));
  CAF_CHECK_EQUAL(req.all("User-Agent"), std::vector<std::string>{"my-agent/2"});
  CAF_CHECK_EQUAL(req.header("X-Custom"), "v1");
  CAF_CHECK_EQUAL(req.header("MCP-Protocol-Version"), "2024-11-05");
  CAF_CHECK_EQUAL(req.header("X-Bad"), "<none>");
  CAF_CHECK_EQUAL(req.header("Injected"), "<none>");
  CAF_CHECK_EQUAL(req.all("Host").size(), 1u);
  CAF_CHECK_EQUAL(req.all("Content-Type"),
                  std::vector<std::string>{"application/json"});
  // A configured Authorization wins over the URL's userinfo.
  CAF_CHECK_EQUAL(req.all("Authorization"), std::vector<std::string>{"Bearer t"});
}

CAF_TEST(a per-request header replaces a configured one of the same name) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{1};
  auto opts = fast_options();
  opts.headers = {{"X-Custom", "v1"}, {"X-Other", "o"}};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  CAF_CHECK(post_and_wait(*ch, "/message", "{}",
                          {{"x-custom", "v2"},
                           {"User-Agent", "per-request/1"},
                           {"X-Bad", "a\rb"}})
              .ok);
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 1u);
  auto& req = reqs[0];
  CAF_CHECK_EQUAL(req.all("X-Custom"), std::vector<std::string>{"v2"});
  CAF_CHECK_EQUAL(req.all("User-Agent"),
                  std::vector<std::string>{"per-request/1"});
  CAF_CHECK_EQUAL(req.header("X-Other"), "o");
  CAF_CHECK_EQUAL(req.header("X-Bad"), "<none>");
  CAF_CHECK_EQUAL(req.all("Content-Type"),
                  std::vector<std::string>{"application/json"});
  CAF_CHECK_EQUAL(req.header("Accept"), "application/json, text/event-stream");
}

CAF_TEST(a POST answered 404 reports status and the plain-text body) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(response(404, "Not Found", "Session not found"));
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  auto r = post_and_wait(*ch, "/message?sessionId=abc&token=xyz");
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(r.status, 404);
  CAF_CHECK_EQUAL(code(r.error), "http_status");
  CAF_CHECK_EQUAL(r.error.status, 404);
  CAF_CHECK_EQUAL(r.error.body_excerpt, "Session not found");
  CAF_CHECK(contains(r.error.message, "POST http://127.0.0.1:"));
  CAF_CHECK(contains(r.error.message, "404"));
  CAF_CHECK(!contains(r.error.message, "xyz"));
  CAF_MESSAGE("message: " << r.error.message);
  // The error body was drained: the connection is reused.
  auto r2 = post_and_wait(*ch, "/message?sessionId=abc");
  CAF_CHECK_EQUAL(r2.status, 404);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
}

CAF_TEST(a POST answered 503 reports Retry-After) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(response(503, "Service Unavailable", "busy",
                       "Retry-After: 120\r\n"));
  }};
  io_runtime rt{1};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(r.error.status, 503);
  CAF_CHECK_EQUAL(r.error.retry_after, "120");
  CAF_CHECK_EQUAL(r.error.body_excerpt, "busy");
}

CAF_TEST(a POST never answered times out within post_timeout) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.wait_eof();
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.post_timeout = 300ms;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  auto start = steady::now();
  auto r = post_and_wait(*ch, "/message");
  auto elapsed = steady::now() - start;
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(code(r.error), "timeout");
  CAF_CHECK(contains(r.error.message, "no response within 300 ms"));
  CAF_CHECK(elapsed >= 280ms);
  CAF_CHECK(elapsed < 3s);
  CAF_CHECK_EQUAL(srv.accepts(), 1u); // never retried
}

CAF_TEST(POSTs in flight time out one after another at their own deadlines) {
  // One deadline timer per channel: after the first job expires it re-arms
  // for the next one.
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      ; // never answered
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.post_timeout = 300ms;
  opts.max_post_connections = 2;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  post_log log;
  auto start = steady::now();
  ch->post("/message", "{\"id\":0}", {}, log.callback(0));
  CAF_REQUIRE(srv.wait_requests(1));
  // Pacing: the second job's deadline comes clearly later.
  std::this_thread::sleep_for(100ms);
  ch->post("/message", "{\"id\":1}", {}, log.callback(1));
  CAF_REQUIRE(log.wait(1));
  auto first_done = steady::now() - start;
  CAF_REQUIRE(log.wait(2));
  auto second_done = steady::now() - start;
  auto results = log.results();
  CAF_REQUIRE_EQUAL(results.size(), 2u);
  CAF_CHECK_EQUAL(results[0].first, 0u);
  CAF_CHECK_EQUAL(results[1].first, 1u);
  for (auto& [i, r] : results) {
    CAF_CHECK_EQUAL(code(r.error), "timeout");
    CAF_CHECK(contains(r.error.message, "no response within 300 ms"));
  }
  CAF_CHECK(first_done >= 280ms);
  CAF_CHECK(second_done >= 380ms);
  CAF_CHECK(second_done < 3s);
  CAF_CHECK_EQUAL(srv.accepts(), 2u);
}

CAF_TEST(a queued POST whose deadline passes times out) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      ; // never answered
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.post_timeout = 300ms;
  opts.max_post_connections = 1;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  post_log log;
  auto start = steady::now();
  for (size_t i = 0; i < 3; ++i)
    ch->post("/message", "{}", {}, log.callback(i));
  CAF_REQUIRE(log.wait(3));
  auto elapsed = steady::now() - start;
  // Each job exactly once, every one a timeout: the one on the connection
  // and the two that waited in the queue for it.
  auto results = log.results();
  CAF_CHECK_EQUAL(results.size(), 3u);
  std::set<size_t> seen;
  for (auto& [i, r] : results) {
    seen.insert(i);
    CAF_CHECK_EQUAL(code(r.error), "timeout");
    CAF_MESSAGE("job " << i << ": " << r.error.message);
  }
  CAF_CHECK_EQUAL(seen, (std::set<size_t>{0, 1, 2}));
  CAF_CHECK(elapsed >= 280ms);
  CAF_CHECK(elapsed < 3s);
}

CAF_TEST(a POST whose body cannot be written in time times out) {
  // The server never reads: the write stalls, the deadline closes the
  // connection and the aborted write reports the timeout.
  auto done = std::make_shared<gate>();
  test_server srv{[=](server_conn&) { done->wait(); }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.post_timeout = 300ms;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  auto start = steady::now();
  auto r = post_and_wait(*ch, "/message", std::string(64 * 1024 * 1024, 'x'));
  auto elapsed = steady::now() - start;
  done->open();
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(code(r.error), "timeout");
  CAF_CHECK(contains(r.error.message, "no response within 300 ms"));
  CAF_CHECK(elapsed >= 280ms);
  CAF_CHECK(elapsed < 3s);
}

CAF_TEST(an answer that arrives while the body is still written is read) {
  // The server answers after the head, then drains the body: the client
  // sees the socket readable before its write is done.
  test_server srv{[](server_conn& c) {
    std::string head;
    char byte;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (!c.read_byte(byte))
        return;
      head += byte;
    }
    c.write(response(413, "Payload Too Large", "too big",
                     "Connection: close\r\n"));
    c.wait_eof();
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  auto r = post_and_wait(*ch, "/message", std::string(8 * 1024 * 1024, 'x'));
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(r.status, 413);
  CAF_CHECK_EQUAL(code(r.error), "http_status");
  CAF_CHECK_EQUAL(r.error.body_excerpt, "too big");
}

CAF_TEST(a response cut inside its header and body is read and reused) {
  // Each piece goes out only after the client read the one before (its
  // trace line "read N response bytes"): three reads per response.
  auto reads = std::make_shared<log_watch>("post", "response bytes");
  auto pieces_read = std::make_shared<std::atomic<bool>>(true);
  test_server srv{[reads, pieces_read](server_conn& c) {
    while (c.read_request()) {
      auto base = reads->count();
      c.write("HTTP/1.1 202 Acc");
      if (!reads->wait_for(base + 1))
        pieces_read->store(false);
      c.write("epted\r\nContent-Length: 8\r\n\r\nAccep");
      if (!reads->wait_for(base + 2))
        pieces_read->store(false);
      c.write("ted");
    }
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  for (int i = 0; i < 3; ++i) {
    auto r = post_and_wait(*ch, "/message");
    CAF_CHECK(r.ok);
    CAF_CHECK_EQUAL(r.status, 202);
  }
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  // The pieces did arrive in reads of their own.
  CAF_CHECK(pieces_read->load());
  CAF_CHECK_EQUAL(reads->count(), 9u);
}

CAF_TEST(a deadline timer that fires after its job finished fails nothing) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.post_timeout = 200ms;
  log_watch fired{"post", "deadline timer fired"};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  // The channel's timer, armed for the first job's deadline, fires (its
  // trace line says so) with no job left to fail.
  CAF_REQUIRE(fired.wait_for(1));
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
}

CAF_TEST(sequential POSTs reuse one keep-alive connection) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  for (int i = 0; i < 5; ++i) {
    auto r = post_and_wait(*ch, "/message", "{\"id\":" + std::to_string(i) + "}");
    CAF_CHECK(r.ok);
  }
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  CAF_CHECK_EQUAL(srv.requests().size(), 5u);
}

CAF_TEST(an idle keep-alive closed by the server is replaced) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.write(accepted); // keep-alive response, then the server closes
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_REQUIRE(srv.wait_closed(1));
  // Usually the idle watch saw the close and the POST opens a new
  // connection; if the POST raced the close onto the dead connection, it
  // went out again only because it is marked resendable (a request that may
  // run twice would fail with request_sent: see the tests below).
  CAF_CHECK(post_and_wait(*ch, "/message", "{}", {}, true).ok);
  CAF_CHECK_EQUAL(srv.accepts(), 2u);
  CAF_CHECK_EQUAL(srv.requests().size(), 2u);
}

CAF_TEST(a response with Connection close is not reused) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.write(response(202, "Accepted", "Accepted", "Connection: close\r\n"));
    c.wait_eof(); // the client must close it, not wait for the server
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK(srv.wait_closed(1));
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK_EQUAL(srv.accepts(), 2u);
  CAF_CHECK_EQUAL(srv.requests().size(), 2u);
}

CAF_TEST(a written request on a reused connection closed unanswered is not resent) {
  // The server read the request (it may have run it) and closed: sending
  // it again could run a tools/call twice (RFC 9110 9.2.2).
  test_server srv{[](server_conn& c) {
    if (c.index() == 0) {
      if (c.read_request())
        c.write(accepted);
      c.read_request(); // the second request: closed without an answer
      return;
    }
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  CAF_CHECK(post_and_wait(*ch, "/message", "one").ok);
  auto r = post_and_wait(*ch, "/message", "two");
  CAF_CHECK(!r.ok);
  CAF_CHECK(r.error.request_sent);
  CAF_CHECK_EQUAL(r.status, 0);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 2u);
  CAF_CHECK_EQUAL(reqs[1].body, "two");
  CAF_MESSAGE("code " << code(r.error) << ": " << r.error.message);
}

CAF_TEST(a resendable request on a reused connection closed unanswered retries once) {
  test_server srv{[](server_conn& c) {
    if (c.index() == 0) {
      if (c.read_request())
        c.write(accepted);
      c.read_request(); // the second request: closed without an answer
      return;
    }
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  CAF_CHECK(post_and_wait(*ch, "/message", "one").ok);
  auto r = post_and_wait(*ch, "/message", "two", {}, true);
  CAF_CHECK(r.ok);
  CAF_CHECK_EQUAL(srv.accepts(), 2u);
  auto reqs = srv.requests();
  CAF_REQUIRE_EQUAL(reqs.size(), 3u);
  CAF_CHECK_EQUAL(reqs[1].body, "two");
  CAF_CHECK_EQUAL(reqs[1].conn, 0u);
  CAF_CHECK_EQUAL(reqs[2].body, "two");
  CAF_CHECK_EQUAL(reqs[2].conn, 1u);
}

CAF_TEST(a fresh connection closed without a response is not retried) {
  test_server srv{[](server_conn& c) { c.read_request(); }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(code(r.error), "read_failed");
  CAF_CHECK(r.error.request_sent);
  CAF_CHECK_EQUAL(r.status, 0);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  CAF_MESSAGE("message: " << r.error.message);
}

CAF_TEST(a reused connection failing after response bytes is not retried) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.write(accepted);
    if (c.read_request())
      c.write("HTTP/1.1 200 O"); // then close mid-status-line
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK(!r.ok);
  CAF_CHECK_NOT_EQUAL(code(r.error), "cancelled");
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  CAF_CHECK_EQUAL(srv.requests().size(), 2u);
  CAF_MESSAGE("code " << code(r.error) << ": " << r.error.message);
}

CAF_TEST(concurrent POSTs use at most max_post_connections connections) {
  std::mutex mtx;
  size_t active = 0;
  size_t peak = 0;
  test_server srv{[&](server_conn& c) {
    while (c.read_request()) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        peak = std::max(peak, ++active);
      }
      // Hold every answer until the pool has opened all it may.
      c.server().wait_accepts(4);
      {
        std::lock_guard<std::mutex> guard{mtx};
        --active;
      }
      c.write(accepted);
    }
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.max_post_connections = 4;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  post_log log;
  for (size_t i = 0; i < 20; ++i)
    ch->post("/message", "{\"id\":" + std::to_string(i) + "}", {},
             log.callback(i));
  CAF_REQUIRE(log.wait(20));
  auto results = log.results();
  CAF_CHECK_EQUAL(results.size(), 20u);
  CAF_CHECK(std::all_of(results.begin(), results.end(),
                        [](const auto& x) { return x.second.ok; }));
  std::set<size_t> seen;
  for (auto& x : results)
    seen.insert(x.first);
  CAF_CHECK_EQUAL(seen.size(), 20u);
  CAF_CHECK_EQUAL(srv.accepts(), 4u);
  CAF_CHECK_EQUAL(srv.requests().size(), 20u);
  std::lock_guard<std::mutex> guard{mtx};
  CAF_CHECK_LESS_OR_EQUAL(peak, 4u);
}

CAF_TEST(close cancels queued and in-flight POSTs exactly once) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.wait_eof();
  }};
  io_runtime rt{2};
  auto opts = fast_options();
  opts.max_post_connections = 1;
  opts.post_timeout = 30s;
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  post_log log;
  for (size_t i = 0; i < 3; ++i)
    ch->post("/message", "{}", {}, log.callback(i));
  CAF_REQUIRE(srv.wait_requests(1)); // one in flight, two queued
  ch->close();
  CAF_REQUIRE(log.wait(3));
  ch->post("/message", "{}", {}, log.callback(3)); // after close
  CAF_REQUIRE(log.wait(4));
  CAF_CHECK(srv.wait_closed(1)); // the socket was closed
  rt.stop();
  auto results = log.results();
  CAF_REQUIRE_EQUAL(results.size(), 4u);
  std::set<size_t> seen;
  for (auto& [i, r] : results) {
    seen.insert(i);
    CAF_CHECK(!r.ok);
    CAF_CHECK_EQUAL(code(r.error), "cancelled");
  }
  CAF_CHECK_EQUAL(seen.size(), 4u);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
}

CAF_TEST(destroying the io runtime completes pending POSTs exactly once) {
  test_server srv{[](server_conn& c) {
    if (c.read_request())
      c.wait_eof();
  }};
  auto rt = std::make_unique<io_runtime>(2);
  auto opts = fast_options();
  opts.max_post_connections = 1;
  opts.post_timeout = 30s;
  auto ch = make_post_channel(*rt, url_of(srv.url("/sse")), opts);
  post_log log;
  for (size_t i = 0; i < 3; ++i)
    ch->post("/message", "{}", {}, log.callback(i));
  CAF_REQUIRE(srv.wait_requests(1));
  rt.reset();
  ch->post("/message", "{}", {}, log.callback(3)); // runtime gone
  ch.reset();
  auto results = log.results();
  CAF_REQUIRE_EQUAL(results.size(), 4u);
  std::set<size_t> seen;
  for (auto& [i, r] : results) {
    seen.insert(i);
    CAF_CHECK_EQUAL(code(r.error), "cancelled");
  }
  CAF_CHECK_EQUAL(seen.size(), 4u);
}

CAF_TEST(a POST to a refused port is connect_failed) {
  refusing_port refusing;
  auto port = refusing.number();
  io_runtime rt{1};
  auto text = "http://127.0.0.1:" + std::to_string(port);
  auto ch = make_post_channel(rt, url_of(text + "/sse"), fast_options());
  auto r = post_and_wait(*ch, "/message?sessionId=1");
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(code(r.error), "connect_failed");
  CAF_CHECK(!r.error.request_sent);
  // The session id is a capability: messages show a hash of it (FNV-1a
  // of "1"), as transport::redact does.
  CAF_CHECK_EQUAL(r.error.message,
                  "connect to " + text
                    + "/message?sessionId=REDACTED-340ca71c: Connection "
                      "refused");
}

CAF_TEST(preconnect opens one connection that the first POST uses) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{2};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  ch->preconnect();
  ch->preconnect(); // one is open or opening: nothing more
  CAF_REQUIRE(srv.wait_accepts(1));
  CAF_CHECK(srv.requests().empty());
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  CAF_CHECK_EQUAL(srv.requests().size(), 3u);
  ch->preconnect(); // a connection is open: nothing more
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
}

CAF_TEST(a POST made while the spare connection opens goes out on it) {
  test_server srv{[](server_conn& c) {
    while (c.read_request())
      c.write(accepted);
  }};
  io_runtime rt{1};
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), fast_options());
  ch->preconnect();
  // Whether the spare is still connecting or already idle, the POST takes
  // it: no second connection.
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
  CAF_CHECK_EQUAL(srv.requests().size(), 1u);
}

CAF_TEST(a spare that cannot connect leaves the error to the first POST) {
  refusing_port refusing;
  auto port = refusing.number();
  io_runtime rt{1};
  auto text = "http://127.0.0.1:" + std::to_string(port);
  auto ch = make_post_channel(rt, url_of(text + "/sse"), fast_options());
  ch->preconnect();
  auto r = post_and_wait(*ch, "/message?sessionId=1");
  CAF_CHECK(!r.ok);
  CAF_CHECK_EQUAL(code(r.error), "connect_failed");
  CAF_CHECK(!r.error.request_sent);
  // The session id is a capability: messages show a hash of it (FNV-1a
  // of "1"), as transport::redact does.
  CAF_CHECK_EQUAL(r.error.message,
                  "connect to " + text
                    + "/message?sessionId=REDACTED-340ca71c: Connection "
                      "refused");
}

// -- TLS ------------------------------------------------------------------------

CAF_TEST(an https spare survives the session tickets and carries a POST) {
  // TLS 1.3 servers send session tickets right after the handshake. An
  // idle watch on the raw socket took them for stray bytes and dropped the
  // spare, so the first POST connected again.
  if (!tls().ok)
    CAF_FAIL("could not generate TLS test certificates with openssl");
  auto server_ctx = tls().server_context("ip");
  auto handshaken = std::make_shared<gate>();
  test_server srv{[handshaken](server_conn& c) {
                    handshaken->open(); // the tickets went out with it
                    while (c.read_request())
                      c.write(accepted);
                  },
                  server_ctx.get()};
  io_runtime rt{1};
  auto opts = fast_options();
  opts.tls.ca_file = tls().file("ca.pem");
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  ch->preconnect();
  CAF_REQUIRE(handshaken->wait());
  // The spare stays open while idle (what is checked is an absence: a
  // window of 300 ms, in which the dropped spare closed within a few ms).
  CAF_CHECK(!srv.wait_closed(1, 300ms));
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK(r.ok);
  CAF_CHECK_EQUAL(r.error.message, "");
  CAF_CHECK_EQUAL(srv.accepts(), 1u);
}

CAF_TEST(https with the test CA works for the stream and the POST channel) {
  if (!tls().ok)
    CAF_FAIL("could not generate TLS test certificates with openssl");
  auto server_ctx = tls().server_context("ip");
  test_server srv{[](server_conn& c) {
    auto req = c.read_request();
    if (!req)
      return;
    if (req->method == "GET") {
      answer_one_event(c);
      return;
    }
    c.write(accepted);
    while (c.read_request())
      c.write(accepted);
  },
                  server_ctx.get()};
  auto rec = std::make_shared<recorder>();
  io_runtime rt{2};
  auto opts = fast_options();
  opts.tls.ca_file = tls().file("ca.pem");
  auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
  CAF_REQUIRE(rec->wait([](const sse_log& l) {
    return !l.events().empty() || !l.closes.empty();
  }));
  auto log = rec->log();
  for (auto& e : log.closes)
    CAF_MESSAGE("closed: " << code(e) << ": " << e.message);
  CAF_CHECK(log.closes.empty());
  auto events = log.events();
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].type, "endpoint");
  auto ch = make_post_channel(rt, url_of(srv.url("/sse")), opts);
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK(r.ok);
  CAF_CHECK_EQUAL(r.error.message, "");
  CAF_CHECK(post_and_wait(*ch, "/message").ok);
  // By name (resolver, SNI, DNS name check): the certificate names localhost.
  auto by_name = "https://localhost:" + std::to_string(srv.port());
  auto rec2 = std::make_shared<recorder>();
  auto stream2 = open_sse_stream(rt, url_of(by_name + "/sse"), opts, rec2);
  CAF_REQUIRE(rec2->wait([](const sse_log& l) {
    return !l.events().empty() || !l.closes.empty();
  }));
  auto log2 = rec2->log();
  for (auto& e : log2.closes)
    CAF_MESSAGE("closed: " << code(e) << ": " << e.message);
  CAF_CHECK_EQUAL(log2.events().size(), 1u);
  auto ch2 = make_post_channel(rt, url_of(by_name + "/sse"), opts);
  CAF_CHECK(post_and_wait(*ch2, "/message").ok);
}

CAF_TEST(https without the CA fails verification unless insecure) {
  if (!tls().ok)
    CAF_FAIL("could not generate TLS test certificates with openssl");
  auto server_ctx = tls().server_context("ip");
  test_server srv{serve_one_event, server_ctx.get()};
  io_runtime rt{2};
  {
    auto rec = std::make_shared<recorder>();
    auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), fast_options(),
                                  rec);
    CAF_REQUIRE(rec->wait_closed());
    auto err = rec->log().closes.at(0);
    CAF_CHECK_EQUAL(code(err), "tls_failed");
    CAF_CHECK(contains(err.message, "TLS handshake with https://127.0.0.1:"));
    CAF_CHECK(contains(err.message, "unable to get local issuer certificate"));
    CAF_MESSAGE("message: " << err.message);
  }
  {
    auto rec = std::make_shared<recorder>();
    auto opts = fast_options();
    opts.tls.insecure = true;
    auto stream = open_sse_stream(rt, url_of(srv.url("/sse")), opts, rec);
    CAF_REQUIRE(rec->wait([](const sse_log& l) {
      return !l.events().empty() || !l.closes.empty();
    }));
    auto log = rec->log();
    CAF_CHECK(log.closes.empty());
    CAF_CHECK_EQUAL(log.events().size(), 1u);
  }
}

CAF_TEST(https checks the host name against the certificate) {
  if (!tls().ok)
    CAF_FAIL("could not generate TLS test certificates with openssl");
  auto server_ctx = tls().server_context("other"); // for other.invalid only
  test_server srv{serve_one_event, server_ctx.get()};
  io_runtime rt{1};
  auto opts = fast_options();
  opts.tls.ca_file = tls().file("ca.pem");
  auto port = std::to_string(srv.port());
  std::pair<std::string, std::string> cases[] = {
    {"https://127.0.0.1:" + port + "/sse", "IP address mismatch"},
    {"https://localhost:" + port + "/sse", "hostname mismatch"},
  };
  for (auto& [url, why] : cases) {
    auto rec = std::make_shared<recorder>();
    auto stream = open_sse_stream(rt, url_of(url), opts, rec);
    CAF_REQUIRE(rec->wait_closed());
    auto err = rec->log().closes.at(0);
    CAF_CHECK_EQUAL(code(err), "tls_failed");
    CAF_CHECK(contains(err.message, why));
    CAF_MESSAGE("message: " << err.message);
  }
}

CAF_TEST(a TLS handshake never answered times out for GET and POST) {
  // A plain server that never speaks TLS: the handshake waits for bytes.
  test_server srv{[](server_conn& c) { c.wait_eof(); }};
  io_runtime rt{1};
  auto opts = fast_options();
  opts.connect_timeout = 300ms;
  opts.tls.insecure = true;
  auto base = "https://127.0.0.1:" + std::to_string(srv.port());
  auto rec = std::make_shared<recorder>();
  auto stream = open_sse_stream(rt, url_of(base + "/sse"), opts, rec);
  CAF_REQUIRE(rec->wait_closed());
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "timeout");
  CAF_CHECK_EQUAL(err.message, "TLS handshake with " + base
                                 + "/sse: timed out after 300 ms");
  auto ch = make_post_channel(rt, url_of(base + "/sse"), opts);
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK_EQUAL(code(r.error), "timeout");
  CAF_CHECK_EQUAL(r.error.message, "TLS handshake with " + base
                                     + "/message: timed out after 300 ms");
}

CAF_TEST(an unreadable ca_file is tls_failed) {
  io_runtime rt{1};
  auto opts = fast_options();
  opts.tls.ca_file = "/nonexistent/ca.pem";
  auto rec = std::make_shared<recorder>();
  auto stream = open_sse_stream(rt, url_of("https://127.0.0.1:1/sse"), opts,
                                rec);
  CAF_REQUIRE(rec->wait_closed());
  auto err = rec->log().closes.at(0);
  CAF_CHECK_EQUAL(code(err), "tls_failed");
  CAF_CHECK(contains(err.message, "/nonexistent/ca.pem"));
  auto ch = make_post_channel(rt, url_of("https://127.0.0.1:1/sse"), opts);
  auto r = post_and_wait(*ch, "/message");
  CAF_CHECK_EQUAL(code(r.error), "tls_failed");
}
