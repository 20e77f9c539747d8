#pragma once

/// The one HTTP/1.1 server of caf-mcp, on Boost.Beast: the demo server's
/// MCP endpoints and the node's API, page, event stream and metrics all run
/// on it. It knows nothing of MCP: a handler gets each request and answers
/// it (at once or later, from any thread), holds it, drops it, or turns the
/// connection into an event stream.
///
/// - Keep-alive: a connection reads its next request once the answer to the
///   previous one is written. A request has `request_timeout` to arrive;
///   an idle keep-alive connection closes after that time too.
/// - A body over `max_body` gets 413, a malformed request 400 (the
///   connection closes after either); a timeout or reset just ends it.
/// - Event streams (`text/event-stream`, chunked for HTTP/1.1) own their
///   socket; bytes appended while a write is in flight leave with the next
///   write as one chunk. A client that reads slower than we write is cut
///   off when `max_pending_output` bytes wait (`event_stream::pending`
///   lets a producer drop or coalesce before that).
/// - Threads: the server runs on the io_context it is given. With
///   `strands` each connection gets a strand (for an io_context run by
///   several threads); otherwise every connection uses the context's
///   executor and a handler that answers inline answers without a hop.
///
/// This header keeps Beast and Asio out: it forward-declares io_context.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace caf_mcp::transport {

/// One request, valid during `http_handler::on_request` only (copy what an
/// answer given later needs).
class http_request {
public:
  /// "GET", "POST", ...
  std::string_view method() const noexcept;

  /// The request target as sent: path and query.
  std::string_view target() const noexcept;

  /// The target up to '?'.
  std::string_view path() const noexcept;

  /// The target after '?' (empty if none), not decoded.
  std::string_view query() const noexcept;

  /// The value of the first header of that name (case-insensitive), or an
  /// empty view.
  std::string_view header(std::string_view name) const noexcept;

  /// True if a header of that name is present.
  bool has_header(std::string_view name) const noexcept;

  const std::string& body() const noexcept;

  /// The body, for a handler that moves it away.
  std::string& body() noexcept;

  /// 10 or 11.
  unsigned version() const noexcept;

  bool keep_alive() const noexcept;

  /// The peer's address ("127.0.0.1", "::1").
  const std::string& remote_address() const noexcept;

  /// Made by the server.
  http_request(void* impl, const std::string* remote) noexcept
    : impl_(impl), remote_(remote) {
    // nop
  }

private:
  void* impl_;
  const std::string* remote_;
};

/// Returns the value of `key` in a raw query string (`a=1&b=2`),
/// percent-decoded (and '+' as space, transport::percent_decode); `found`
/// tells whether it was there.
std::string query_param(std::string_view query, std::string_view key,
                        bool* found = nullptr);

/// An answer.
struct http_response {
  unsigned status = 200;
  /// Empty: "text/plain; charset=utf-8".
  std::string content_type;
  /// Extra headers (no framing headers: the server sets those).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Close the connection after this answer.
  bool close = false;
};

/// Returns the reason phrase of an HTTP status ("Not Found").
std::string_view reason_phrase(unsigned status) noexcept;

class event_stream;

/// A request waiting for its answer: exactly one of `respond`,
/// `respond_raw`, `start_stream`, `hold` or `drop` ends it. A handler that
/// answers later keeps it with `keep()`; `respond` may then run on any
/// thread (it hands the answer to the connection's executor). An exchange
/// whose connection closed meanwhile drops the answer.
class http_exchange {
public:
  virtual ~http_exchange();

  /// Writes `res`; keep-alive unless `res.close` or the request said
  /// otherwise. Any thread.
  virtual void respond(http_response res) = 0;

  /// Writes bytes that are a complete HTTP/1.1 keep-alive response (the
  /// demo server's 202, serialized once). Only for a keep-alive HTTP/1.1
  /// request, on the connection's executor (inline in `on_request`).
  virtual void respond_raw(std::shared_ptr<const std::string> bytes) = 0;

  /// Answers 200 with `head`'s status and headers and turns the
  /// connection into an event stream (chunked; `text/event-stream` unless
  /// `head.content_type` says otherwise). The stream owns the socket from
  /// now on. Only in `on_request`.
  virtual std::shared_ptr<event_stream> start_stream(http_response head) = 0;

  /// Sends nothing and keeps the connection until the client closes it (or
  /// `http_server::close_all`): a fault the demo server injects.
  virtual void hold() = 0;

  /// Closes the connection without an answer.
  virtual void drop() = 0;

  /// Keeps this exchange alive for an answer given later.
  virtual std::shared_ptr<http_exchange> keep() = 0;
};

/// An event stream that owns its connection. `append` and friends run on
/// the stream's executor (use `dispatch` from elsewhere).
class event_stream {
public:
  virtual ~event_stream();

  /// Appends raw bytes (whole events) to what is to be written; the write
  /// starts later in this round of the event loop, so bytes appended
  /// together leave together. Closes the stream if more than
  /// `max_pending_output` bytes wait. No effect once closed.
  virtual void append(std::string_view bytes) = 0;

  /// The buffer `append` writes to, for encoding in place: append to it,
  /// then call `commit()`. Closed streams give a scratch buffer.
  virtual std::string& buffer() = 0;

  /// Schedules the write of what `buffer()` holds (and checks the limit).
  virtual void commit() = 0;

  /// Bytes waiting to be written (appended, not yet handed to a write,
  /// plus the write in flight).
  virtual size_t pending() const noexcept = 0;

  virtual bool is_open() const noexcept = 0;

  /// Closes at once; the rest is lost.
  virtual void close() = 0;

  /// Closes once everything appended so far is written.
  virtual void close_after_write() = 0;

  /// Ends the response properly once everything appended so far is
  /// written: the last chunk of an HTTP/1.1 body, after which the
  /// connection reads its next request (keep-alive); an HTTP/1.0 body ends
  /// with the connection. For answers that are streams of a known end (a
  /// Streamable HTTP POST's SSE answer). Runs `on_close` now; later
  /// appends are dropped.
  virtual void finish() = 0;

  /// Runs `fn` on the stream's executor: inline if the caller runs there
  /// already, else queued (any thread).
  virtual void dispatch(std::function<void()> fn) = 0;

  /// Runs `fn` once when the stream ends (client gone, error, close; on
  /// the stream's executor). Set it before anything can close the stream.
  virtual void on_close(std::function<void()> fn) = 0;

  /// The stream's `boost::asio::any_io_executor`, type-erased so that this
  /// header stays free of Asio: code that includes Asio casts it back and
  /// uses it for timers and work that must run beside the stream (the
  /// demo server's sessions do).
  virtual const void* native_executor() const noexcept = 0;
};

/// Gets every request.
class http_handler {
public:
  virtual ~http_handler();

  /// Answer through `ex` (see http_exchange). Runs on the connection's
  /// executor; must not throw.
  virtual void on_request(http_request& req, http_exchange& ex) = 0;
};

struct http_server_options {
  /// How long a request may take to arrive; also the idle keep-alive time.
  std::chrono::milliseconds request_timeout{30000};
  /// The largest request body.
  uint64_t max_body = 4 * 1024 * 1024;
  /// An event stream is closed when this much output waits.
  size_t max_pending_output = 64 * 1024 * 1024;
  /// One strand per connection (the io_context runs on several threads).
  bool strands = false;
  /// Prefix of log lines ("demo-server", "node").
  std::string log_name = "http";
};

/// The server. Create, `listen`, `start`; `stop` closes the listener, and
/// `close_all` also ends every event stream and held request.
class http_server {
public:
  http_server(boost::asio::io_context& ioc, http_handler& handler,
              http_server_options opts = {});

  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Resolves `host` (the first address), binds with SO_REUSEADDR (a
  /// restarted server gets a killed one's port at once) and listens.
  /// Returns an empty string, or what went wrong.
  std::string listen(const std::string& host, uint16_t port);

  /// The bound port (after `listen`).
  uint16_t port() const noexcept;

  /// The bound address as text for a URL: "127.0.0.1", "[::1]".
  std::string address() const;

  /// Starts accepting (on the io_context's threads).
  void start();

  /// Stops accepting (thread-safe). Open connections stay.
  void stop();

  /// Ends every event stream and held request, and keeps accepting
  /// (thread-safe): what a restarting server looks like to its clients.
  /// Returns the number of event streams that were still open.
  size_t close_streams();

  /// Stops accepting, then `close_streams` (thread-safe).
  size_t close_all();

  /// Event streams open now.
  size_t open_streams() const;

  /// Event streams opened so far.
  uint64_t streams_opened() const noexcept;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace caf_mcp::transport
