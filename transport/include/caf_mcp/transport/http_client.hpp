#pragma once

/// The HTTP(S) side of the MCP HTTP+SSE transport on Boost.Beast: the io
/// runtime (the only place in caf-mcp that creates threads), the SSE GET
/// stream and the POST channel.
///
/// No CAF here. Results arrive through callbacks that run on an io thread;
/// the actor layer turns each callback into one message to the owning actor
/// and does nothing else in it (callbacks must not throw). Every object is
/// held by `shared_ptr`; a completion that arrives after its owner closed it
/// is dropped. Dropping the last `shared_ptr` to a stream or channel closes
/// it (as `close()` does).
///
/// Lifetime: streams and channels may outlive their io_runtime (they keep
/// the shut-down io_context's memory alive). Destroying the runtime ends
/// everything still open: `on_closed` / `done` then run once with
/// `cancelled`, on the thread that destroys the runtime.
///
/// Headers: defaults first (GET: Accept, Cache-Control, User-Agent; POST:
/// Content-Type, Accept, User-Agent), then the configured headers in order;
/// a configured header named like a default replaces it, except the ones
/// the protocol needs (GET Accept, POST Content-Type) and framing (Host,
/// Content-Length, Transfer-Encoding, Connection), which are ours. A header
/// whose name is not a token or whose value holds CR, LF or NUL is skipped
/// (no request splitting). `Authorization: Basic` is derived from the URL's
/// userinfo only if no Authorization header is configured.
///
/// This header keeps Beast and Asio out: it forward-declares io_context.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "caf_mcp/transport/sse_parser.hpp"
#include "caf_mcp/transport/url.hpp"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace caf_mcp::transport {

/// Owns the io threads: one Asio io_context (event loop) per thread, each
/// run by exactly that thread, so work posted from an io thread to its own
/// loop wakes nobody. A stream or channel lives on one loop: the calling io
/// thread's own, else the next in turn (so a POST channel made from a stream
/// callback shares the stream's thread).
///
/// `post` lets a scheduler above run its work on these threads too (the
/// actor layer runs CAF actors here: see caf_mcp/actors/io.hpp).
class io_runtime {
public:
  /// Starts `threads` threads, each running its own loop (at least 1).
  explicit io_runtime(size_t threads = 1);

  /// As above; a thread that ran out of work keeps polling its sockets
  /// without sleeping for `busy_poll` after its last piece of work before
  /// it blocks. An answer that arrives within the window then costs no
  /// thread wake-up (on virtual machines tens of microseconds each), at
  /// the price of up to `busy_poll` of CPU time per idle period. 0 = off.
  io_runtime(size_t threads, std::chrono::microseconds busy_poll);

  /// Stops the loops and joins the threads, then ends what is still open
  /// (see the lifetime note above). Destroyed on one of its own io threads
  /// (the last reference held by a stream's handler or an actor running
  /// there), it hands that work to a short-lived thread of its own, which
  /// does it once every io thread has left its loop.
  ~io_runtime();

  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// The loop for a new stream or channel: the calling io thread's own, else
  /// the next in turn.
  boost::asio::io_context& context() noexcept;

  /// The loop of io thread `index` (modulo the number of threads).
  boost::asio::io_context& context(size_t index) noexcept;

  /// The calling io thread's index, else the next in turn: where a new
  /// stream or channel goes (`context()` is `context(pick())`).
  size_t pick() noexcept;

  /// Number of io threads.
  size_t threads() const noexcept;

  /// The busy-poll window (0 = off).
  std::chrono::microseconds busy_poll() const noexcept;

  /// Returned by `this_thread_index` off the io threads.
  static constexpr size_t npos = static_cast<size_t>(-1);

  /// The index of the calling thread among this runtime's io threads, or
  /// `npos` if it is not one of them.
  size_t this_thread_index() const noexcept;

  /// A unit of work for `post`: called once, with `run == true` on the io
  /// thread, or with `run == false` (on any thread) if the runtime stops
  /// before it ran. Must not throw.
  using task_fn = void (*)(void* owner, void* arg, bool run) noexcept;

  /// Queues `fn(owner, arg, true)` on io thread `index` (modulo the number
  /// of threads), after the work already queued there. Thread-safe; from
  /// that thread itself it takes no lock beyond Asio's and wakes nobody.
  void post(size_t index, task_fn fn, void* owner, void* arg);

  /// Stops the loops and joins the threads (idempotent). Pending work is
  /// not run; it ends when the runtime is destroyed.
  void stop();

  /// True once `stop` was called.
  bool stopped() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Header name/value pairs, sent in order.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Each header of `extra` replaces those of `base` with the same name (any
/// case), appended at the end: a call's own headers over configured ones.
void replace_headers(header_list& base, header_list extra);

/// TLS settings for https URLs.
struct tls_options {
  /// Verify the certificate chain and the host name (default on).
  bool verify = true;
  /// A PEM file of CA certificates trusted in addition to the system store.
  std::string ca_file;
  /// Explicitly named opt-out: skip all verification. Never the default.
  bool insecure = false;
};

/// Settings shared by the SSE stream and the POST channel.
struct http_options {
  /// Configured headers (Authorization, ...), sent on the GET and every POST.
  header_list headers;
  /// Resolve + TCP connect + TLS handshake, under one deadline. The SSE GET
  /// then gets the same time again for sending the request and receiving
  /// the response header.
  std::chrono::milliseconds connect_timeout{10000};
  /// Longest silence on the SSE stream before it counts as dead; 0 = off.
  /// (TS servers send no keep-alives at all: liveness is better judged by
  /// our own MCP pings, so the session layer decides the default.)
  std::chrono::milliseconds idle_timeout{0};
  /// Whole POST round trip, counted from `post()`: waiting for a pooled
  /// connection, connecting, writing the request, reading status and body.
  std::chrono::milliseconds post_timeout{30000};
  /// Largest SSE event before `event_too_large`.
  size_t max_event_size = sse_parser::default_max_event_size;
  /// Keep-alive connections the POST channel may hold to the origin. They
  /// are opened only while every open one is busy and a POST waits, so a
  /// session with one call at a time keeps one (docs/transports.md).
  size_t max_post_connections = 16;
  /// Most bytes the SSE stream reads from the socket at once. An http
  /// stream reads into its io thread's 64 KiB buffer (so at most that much)
  /// and holds no buffer while it waits; an https stream keeps its own,
  /// starting at 1 KiB and doubling while reads fill it, up to this size.
  size_t read_buffer_size = size_t{64} * 1024;
  tls_options tls;
  std::string user_agent = "caf-mcp/0.1";
};

/// What went wrong on the wire.
enum class transport_errc : uint8_t {
  resolve_failed = 1,
  connect_failed,
  tls_failed,
  /// connect, idle or POST timeout.
  timeout,
  /// A non-2xx status; see `status`, `retry_after`, `body_excerpt`.
  http_status,
  /// The GET answered 2xx without `text/event-stream`.
  bad_content_type,
  /// The server closed the SSE stream.
  stream_ended,
  read_failed,
  write_failed,
  /// An SSE event exceeded `max_event_size` (the stream is closed).
  event_too_large,
  /// Closed by us.
  cancelled,
  /// The peer broke HTTP framing.
  protocol_error,
};

const char* to_string(transport_errc code) noexcept;

/// A failure with everything a caller needs to classify and report it.
/// Bytes of an error body an error text shows.
inline constexpr size_t shown_excerpt = 256;

struct transport_error {
  transport_errc code = transport_errc::cancelled;
  /// HTTP status for `http_status` (and `bad_content_type`), else 0.
  int status = 0;
  /// The Retry-After header value, if the server sent one.
  std::string retry_after;
  /// The first bytes (at most 4096) of an error response body; error
  /// texts show at most `shown_excerpt` of them.
  std::string body_excerpt;
  /// One human-readable line; URLs in it are redacted.
  std::string message;
  /// SSE only: a valid `retry` value (ms) the stream sent after its last
  /// `on_events` call, so a server that sets `retry` and closes is heard.
  uint64_t retry_ms = 0;
  /// POST only: bytes of the request left us before it failed, so the
  /// server may have received (and run) it. False: provably never sent.
  bool request_sent = false;
};

/// One dispatched SSE event, owned.
struct sse_event_record {
  std::string type;
  std::string data;
  std::string id;
};

/// Receives what an SSE stream produces. Calls come from an io thread, never
/// concurrently for one stream, in stream order.
class sse_stream_handler {
public:
  virtual ~sse_stream_handler();

  /// The GET was answered 2xx with `text/event-stream`.
  virtual void on_open(int status) = 0;

  /// The events of one read (never empty), plus the last valid `retry`
  /// value seen since the previous call (0 if none; a `retry` in a read
  /// without events is reported with the next events, or in `on_closed`).
  virtual void on_events(std::vector<sse_event_record> events,
                         uint64_t retry_ms)
    = 0;

  /// The stream is over: called exactly once, and nothing after it.
  virtual void on_closed(transport_error why) = 0;
};

/// One SSE GET stream (closed when the last reference goes).
class sse_stream {
public:
  virtual ~sse_stream();

  /// Closes the stream (thread-safe, idempotent). The handler then gets
  /// `on_closed` with `cancelled` unless it was already closed.
  virtual void close() = 0;
};

/// Opens `GET url` with `Accept: text/event-stream`, `Cache-Control:
/// no-cache` and the configured headers (plus `Last-Event-ID` if
/// `last_event_id` is not empty), checks status and Content-Type, and feeds
/// the body to an `sse_parser` as it arrives (no body limit). A non-2xx
/// status ends in `on_closed(http_status)` with Retry-After and up to 256
/// bytes of the body; redirects are not followed. Throws
/// std::invalid_argument for a null handler. The stream runs on io thread
/// `thread` (`io_runtime::npos`: the calling io thread, else the next in
/// turn; see io_runtime::pick).
std::shared_ptr<sse_stream>
open_sse_stream(io_runtime& rt, const parsed_url& url, const http_options& opts,
                std::shared_ptr<sse_stream_handler> handler,
                std::string last_event_id = {},
                size_t thread = io_runtime::npos);

/// Outcome of one POST.
struct post_result {
  /// True for any 2xx (the body is drained and ignored, or handed to the
  /// request's `response_handler`).
  bool ok = false;
  /// The HTTP status, 0 if none was received.
  int status = 0;
  /// For `ok`: the whole body arrived (false: the connection broke or timed
  /// out after the status line; the handler saw only part of the body).
  bool complete = true;
  /// Set when `ok` is false.
  transport_error error;
};

/// The header fields of a response, as a response_handler sees them.
class response_fields {
public:
  virtual ~response_fields();

  /// The value of the first field named `name` (any case), or empty.
  virtual std::string_view get(std::string_view name) const = 0;
};

/// Receives the answer of a request sent with `post_channel::request`, on
/// the channel's io thread, in order: `on_header` once (as soon as the
/// header is complete, any status), then `on_body` for each piece of a 2xx
/// body as it is parsed (non-2xx bodies go into the error excerpt as
/// usual), then the request's `done`.
class response_handler {
public:
  virtual ~response_handler();

  /// The header arrived. Returns how long the rest of the response may
  /// take from now (a long-lived event stream); 0 keeps the POST timeout.
  virtual std::chrono::milliseconds on_header(int status,
                                              const response_fields& fields)
    = 0;

  /// The next bytes of a 2xx body.
  virtual void on_body(std::string_view bytes) = 0;
};

/// A small pool of keep-alive connections to one origin for the POSTs of
/// one MCP session; POSTs wait in FIFO order while all are busy. An idle
/// connection the server closed is dropped. A POST that fails on a
/// connection that waited idle (reused, or opened by `preconnect`) before
/// any response byte arrived is sent again, once, on a fresh connection
/// only if none of it was written, or if the caller said it may be
/// (`may_resend`: a request that changes nothing on the server). A request
/// that was written may have been read and run by the server before it
/// closed the connection (RFC 9110 9.2.2): it fails with
/// `error.request_sent` set. Never sent again otherwise.
/// Closed when the last reference goes.
class post_channel {
public:
  virtual ~post_channel();

  /// Sends `body` as `POST target` (path and query on the channel's origin)
  /// with `Content-Type: application/json`, the configured headers and
  /// `extra` (e.g. MCP-Protocol-Version). Thread-safe. `done` runs exactly
  /// once on an io thread (with `cancelled` if the channel is closed first).
  virtual void post(std::string target, std::string body, header_list extra,
                    std::function<void(post_result)> done, bool may_resend)
    = 0;

  /// Sends `method target` (POST, DELETE) like `post`, but hands the
  /// response header and a 2xx body to `handler` (if not null) as they
  /// arrive, without a body size limit (the handler bounds what it keeps).
  /// `timeout` > 0 replaces the POST timeout for this request.
  virtual void request(std::string method, std::string target,
                       std::string body, header_list extra,
                       std::shared_ptr<response_handler> handler,
                       std::function<void(post_result)> done, bool may_resend,
                       std::chrono::milliseconds timeout)
    = 0;

  /// A POST that is never sent twice (`may_resend` false).
  void post(std::string target, std::string body, header_list extra,
            std::function<void(post_result)> done) {
    post(std::move(target), std::move(body), std::move(extra),
         std::move(done), false);
  }

  /// Fails queued POSTs with `cancelled` and closes every connection.
  virtual void close() = 0;

  /// Opens one connection now, unless one is open or opening, so that the
  /// first POST need not wait for connect (and TLS handshake). If it fails,
  /// nothing is reported: the first POST connects again and reports its own
  /// failure. Thread-safe.
  virtual void preconnect() = 0;
};

/// Runs `fn` on io thread `thread` of `rt` once `delay` has passed (a
/// resumption or reconnection wait). Dropped unrun if the runtime stops
/// first. Thread-safe.
void run_after(io_runtime& rt, size_t thread, std::chrono::milliseconds delay,
               std::function<void()> fn);

/// Creates a POST channel for the origin of `origin` (scheme, host, port),
/// running on io thread `thread` (as for open_sse_stream).
std::shared_ptr<post_channel>
make_post_channel(io_runtime& rt, const parsed_url& origin,
                  const http_options& opts, size_t thread = io_runtime::npos);

} // namespace caf_mcp::transport
