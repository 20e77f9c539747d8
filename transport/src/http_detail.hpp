// Private to transport/src: the Beast/Asio pieces shared by the io runtime,
// the SSE stream (sse_stream.cpp) and the POST channel (post_channel.cpp).
// Beast and Asio headers stay in transport/src; the public header only
// forward-declares io_context.
#pragma once

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/http_client.hpp"

// GCC 12 reports -Wnull-dereference false positives from inlined Asio and
// libstdc++ internals (strand_impl, scheduler); silence them for the Boost
// headers only, our own code below keeps the warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#pragma GCC diagnostic pop

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace caf_mcp::transport::detail {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
/// Where a stream or channel runs: its io thread's loop. Each loop is run
/// by exactly one thread (see io_runtime), so the handlers of one object
/// never run concurrently and need no strand.
using executor_type = net::io_context::executor_type;
/// A TCP socket, timer and resolver on such an executor (no type erasure:
/// smaller objects and operations than with any_io_executor).
using socket_type = net::basic_stream_socket<tcp, executor_type>;
using timer_type = net::basic_waitable_timer<clock_type,
                                             net::wait_traits<clock_type>,
                                             executor_type>;
using resolver_type = net::ip::basic_resolver<tcp, executor_type>;

// -- the io context ---------------------------------------------------------

/// A stream or channel made on a runtime. When the runtime is destroyed
/// (threads joined, pending handlers dropped), every member still alive is
/// abandoned: it ends its work with `cancelled` at once, on that thread, so
/// callbacks never wait for the caller to drop a handle.
class runtime_member {
public:
  virtual ~runtime_member();

  /// Runs at most once, after no io thread can run our handlers any more.
  virtual void abandon() noexcept = 0;
};

/// The runtime's io_context, shared by every stream and channel made on it so
/// that Asio objects never outlive it whatever the destruction order: the
/// runtime shuts its services down (dropping pending handlers) when it is
/// destroyed; the memory goes when the last stream or channel is gone.
class shared_context : public net::io_context,
                       public std::enable_shared_from_this<shared_context> {
public:
  explicit shared_context(int concurrency_hint)
    : net::io_context(concurrency_hint) {
    // nop
  }

  /// Destroys every pending handler; later `post`s are dropped at once.
  /// Called once the loop's thread has stopped.
  void shutdown_services() {
    shut_down_.store(true);
    // A `post` that saw the flag clear finishes before the queue goes.
    while (posting_.load() != 0)
      std::this_thread::yield();
    shutdown();
  }

  /// Queues `f` on the loop; thread-safe. After `shutdown_services`, `f` is
  /// destroyed at once instead (Asio would keep it queued, unrun and
  /// undestroyed, for as long as the context lives).
  template <class F>
  void post(F&& f) {
    posting_.fetch_add(1);
    if (!shut_down_.load())
      net::post(get_executor(), std::forward<F>(f));
    posting_.fetch_sub(1);
  }

  /// Registers a member (weakly); thread-safe.
  void add_member(std::weak_ptr<runtime_member> member);

  /// Abandons every member still alive (once, from the runtime's destructor).
  void abandon_members();

private:
  /// Set (sequentially consistent) before the queue is destroyed; `post`
  /// counts itself in `posting_` before it looks at the flag.
  std::atomic<bool> shut_down_{false};
  std::atomic<size_t> posting_{0};
  std::mutex members_mtx_;
  std::vector<std::weak_ptr<runtime_member>> members_;
  /// Prune expired members when the list reaches this size.
  size_t prune_at_ = 64;
};

using context_ptr = std::shared_ptr<shared_context>;

/// Returns the shared context of io thread `thread` of a runtime (npos:
/// `rt.pick()`).
inline context_ptr context_of(io_runtime& rt,
                              size_t thread = io_runtime::npos) {
  auto& ctx = thread == io_runtime::npos ? rt.context() : rt.context(thread);
  return static_cast<shared_context&>(ctx).shared_from_this();
}

// -- the origin -------------------------------------------------------------

/// The options a stream or channel still reads once it is made (headers,
/// user agent and CA file are folded into its origin_info).
struct origin_settings {
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::milliseconds post_timeout{0};
  size_t max_event_size = 0;
  /// Check the certificate chain and host name (verify and not insecure).
  bool verify_tls = true;
};

/// Everything one stream or channel needs about its origin, computed once.
/// Every held session has two (stream and channel): only what is used
/// later is kept.
struct origin_info {
  /// Host for DNS, SNI and the certificate check.
  std::string host;
  uint16_t port = 0;
  bool is_tls = false;
  /// SSE: the GET request target; empty for a POST channel.
  std::string sse_target;
  origin_settings opts;
  /// `scheme://host[:port]` (no userinfo), the prefix for targets in logs.
  std::string origin_text;
  /// The TLS context for https (shared by all connections of the origin).
  std::shared_ptr<ssl::context> tls;
  /// Set if building the TLS context failed (e.g. an unreadable ca_file).
  std::string tls_error;
  /// The merged request headers after Host (defaults, configured headers,
  /// Authorization from the userinfo), one "Name: value\r\n" line each.
  std::string header_lines;
  /// "Host: <host_header>\r\n".
  std::string host_line;

  /// Returns the redacted URL `origin_text + target` for messages.
  std::string redacted(std::string_view target) const;
};

/// Kind of request, for the default and protected header names.
enum class request_kind : uint8_t { sse_get, post };

/// Builds the origin info; never throws except std::bad_alloc.
std::shared_ptr<origin_info>
make_origin(const parsed_url& url, const http_options& opts,
            request_kind kind);

/// Appends the header lines `lines` ("Name: value\r\n" each) except those
/// `extra` names, then the headers of `extra` (same rules as for configured
/// headers), to `out`.
void append_merged_headers(std::string& out, std::string_view lines,
                           const header_list& extra, request_kind kind);

/// Returns true if `content_type` is text/event-stream (any case, with
/// optional parameters).
bool is_event_stream(std::string_view content_type) noexcept;

/// Returns at most `n` bytes of `text` with control characters other than
/// tab replaced, for one-line messages.
std::string printable(std::string_view text, size_t n);

/// Returns "N ms".
std::string millis(std::chrono::milliseconds d);

// -- the socket -------------------------------------------------------------

/// A TCP socket with an optional TLS layer: one code path for http and
/// https. No timeouts of its own (Beast's tcp_stream keeps three timers per
/// stream and arms one per operation): owners keep deadlines with timers.
class socket_stream {
public:
  using tls_stream = beast::ssl_stream<socket_type>;

  socket_stream(const executor_type& ex, ssl::context* tls);

  /// The TCP socket.
  socket_type& socket() noexcept {
    return tls_ ? tls_->next_layer() : *plain_;
  }

  /// The TLS layer, or nullptr for http.
  tls_stream* tls() noexcept {
    return tls_ ? &*tls_ : nullptr;
  }

  /// Calls `f` with the top layer (the TLS stream or the TCP stream).
  template <class F>
  void visit(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  /// Cancels pending operations and closes the socket. No TLS shutdown:
  /// `async_shutdown` waits for the peer and can hang.
  void close() noexcept;

private:
  std::optional<socket_type> plain_;
  std::optional<tls_stream> tls_;
};

/// The step an error occurred in, for codes and messages.
enum class step : uint8_t {
  tls_setup,
  resolve,
  connect,
  handshake,
  write,
  read_header,
  read_body,
};

/// One connection to an origin: resolve (IP literals skip the resolver),
/// connect and TLS handshake under one deadline, kept by the link's timer.
/// The owner drives the HTTP exchange on `stream()` afterwards. Lives in a
/// shared_ptr; every pending operation holds it.
class origin_link : public std::enable_shared_from_this<origin_link> {
public:
  /// Receives the outcome of `async_open`: the error, the failing step and
  /// extra words on a failure (the certificate verify error) or "".
  using open_handler
    = std::function<void(error_code, step, const std::string& detail)>;

  origin_link(const executor_type& ex,
              std::shared_ptr<const origin_info> origin);

  socket_stream& stream() noexcept {
    return stream_;
  }

  /// A read buffer for Beast's readers (SSE header, https), made on first
  /// use; plain POST connections never need one.
  beast::flat_buffer& buffer() {
    if (!buffer_)
      buffer_ = std::make_unique<beast::flat_buffer>();
    return *buffer_;
  }

  /// Bytes in the read buffer.
  size_t buffered() const noexcept {
    return buffer_ ? buffer_->size() : 0;
  }

  /// Frees the read buffer and what it holds.
  void release_buffer() noexcept {
    buffer_.reset();
  }

  /// The open deadline's timer; free for the owner once the link is open.
  timer_type& timer() noexcept {
    return timer_;
  }

  /// Resolves, connects and (for https) handshakes; `done` runs on the
  /// io thread with the failing step, unless `close()` came first. At the
  /// deadline the socket is closed and `done` gets beast's `timeout`.
  void async_open(clock_type::time_point deadline, open_handler done);

  /// Cancels everything and closes the socket (idempotent). A pending
  /// `async_open` then never calls its handler.
  void close() noexcept;

  bool closed() const noexcept {
    return closed_;
  }

  /// True once connected (and handshaken).
  bool open() const noexcept {
    return open_;
  }

  /// True if the open deadline passed.
  bool timed_out() const noexcept {
    return timed_out_;
  }


private:
  void on_resolve(error_code ec, tcp::resolver::results_type results);
  void on_deadline(error_code ec);
  void on_connect(error_code ec);
  void on_handshake(error_code ec);
  void finish(error_code ec, step where);

  /// What only `async_open` needs, dropped once it is over.
  struct opening {
    open_handler done;
    /// Only for host names (IP literals connect at once).
    std::unique_ptr<resolver_type> resolver;
    std::string detail;
  };

  std::shared_ptr<const origin_info> origin_;
  socket_stream stream_;
  timer_type timer_;
  std::unique_ptr<beast::flat_buffer> buffer_;
  std::unique_ptr<opening> opening_;
  bool timed_out_ = false;
  bool open_ = false;
  bool closed_ = false;
};

/// Maps an error of `where` to a code (timeouts first).
transport_errc classify(step where, const error_code& ec,
                        bool timed_out = false) noexcept;

/// True for beast's timeout error.
bool is_timeout(const error_code& ec) noexcept;

/// One line: "<step text> <url>: <reason>[: <detail>]".
std::string step_message(step where, std::string_view url,
                         const error_code& ec, bool timed_out,
                         std::chrono::milliseconds limit,
                         std::string_view detail = {});

/// Makes a transport_error with a code and message.
transport_error make_error(transport_errc code, std::string message,
                           int status = 0);

// -- operations that wait long ------------------------------------------------

/// Allocates with plain operator new, exactly the size asked for.
template <class T>
struct exact_allocator {
  using value_type = T;

  exact_allocator() noexcept = default;

  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {
    // nop
  }

  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* ptr, size_t) noexcept {
    ::operator delete(ptr);
  }

  template <class U>
  bool operator==(const exact_allocator<U>&) const noexcept {
    return true;
  }

  template <class U>
  bool operator!=(const exact_allocator<U>&) const noexcept {
    return false;
  }
};

/// Wraps the handler of an operation that may stay pending for hours (the
/// readiness wait of an idle stream or connection, a deadline): Asio then
/// allocates the operation with its own size instead of taking its thread's
/// recycled block, which is as large as the largest operation that ran
/// before it (a composed write) and would stay parked in every idle stream.
template <class Handler>
auto long_lived(Handler&& handler) {
  return net::bind_allocator(exact_allocator<void>{},
                             std::forward<Handler>(handler));
}

// -- reading ------------------------------------------------------------------

/// Size of the io thread's read buffer.
constexpr size_t thread_buffer_size = size_t{64} * 1024;

/// The calling io thread's read buffer (`thread_buffer_size` bytes,
/// allocated on first use). Plain-TCP streams and connections wait for
/// readability, read into it and parse what they read before their handler
/// returns, so none of them holds a read buffer while it waits; only bytes
/// the HTTP parser could not take yet (a cut chunk header) are kept.
char* thread_buffer();

/// Reads at most `n` bytes from socket `fd` without blocking (one recv with
/// MSG_DONTWAIT). Returns the bytes read (> 0), or 0 with `ec` set:
/// `would_block` if nothing is there (a stale readiness wake-up), `eof` if
/// the peer closed, else the socket error.
size_t read_now(int fd, char* buf, size_t n, error_code& ec);

// -- body types ---------------------------------------------------------------

/// Receives body bytes straight from the parser's read buffer (no copy).
class body_consumer {
public:
  virtual ~body_consumer();
  /// The header is complete and the body begins (not called for a
  /// response without body).
  virtual void on_begin() {
    // nop
  }
  virtual void on_body(std::string_view bytes) = 0;
};

/// A Beast Body whose reader hands every body byte to a `body_consumer`:
/// the SSE parser reads straight from the socket buffer, and POST responses
/// are drained without storing them.
struct consumer_body {
  using value_type = body_consumer*;

  class reader {
  public:
    template <bool IsRequest, class Fields>
    reader(http::header<IsRequest, Fields>&, value_type& consumer)
      : consumer_(consumer) {
      // nop
    }

    void init(const boost::optional<std::uint64_t>&, error_code& ec) {
      ec = {};
      if (consumer_ != nullptr)
        consumer_->on_begin();
    }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      ec = {};
      size_t n = 0;
      auto last = net::buffer_sequence_end(buffers);
      for (auto i = net::buffer_sequence_begin(buffers); i != last; ++i) {
        net::const_buffer b = *i;
        if (consumer_ != nullptr && b.size() > 0)
          consumer_->on_body(
            std::string_view{static_cast<const char*>(b.data()), b.size()});
        n += b.size();
      }
      return n;
    }

    void finish(error_code& ec) {
      ec = {};
    }

  private:
    value_type& consumer_;
  };
};

/// Largest body excerpt kept of an error answer: room for a JSON-RPC error
/// with its `data` (stateless MCP's -32020/-32022 answers are read from
/// it); error texts show at most `transport::shown_excerpt` of it.
constexpr size_t max_excerpt = 4096;

/// Feeds `input` to `parser` and returns the bytes it took: all of them,
/// unless the message ends, the framing is broken (`ec`) or a chunk header
/// is cut (then `ec` is clear and the rest must wait for more bytes).
template <class Parser>
size_t feed(Parser& parser, std::string_view input, error_code& ec) {
  size_t used = 0;
  while (used < input.size() && !parser.is_done()) {
    auto n = parser.put(
      net::const_buffer{input.data() + used, input.size() - used}, ec);
    used += n;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec || n == 0)
      break;
  }
  return used;
}

} // namespace caf_mcp::transport::detail

namespace caf_mcp::transport {

/// The io runtime's state (defined here so the stream and channel sources
/// reach the shared contexts).
struct io_runtime::impl {
  explicit impl(size_t n);

  /// Stops the loops and joins their threads; an io thread that stops its
  /// own runtime detaches itself instead (it cannot join itself).
  void stop_loops();

  /// Stops the loops, then destroys every pending handler and abandons
  /// every stream and channel still alive (see ~io_runtime).
  void shut_down();

  using work_guard
    = detail::net::executor_work_guard<detail::net::io_context::executor_type>;

  /// One loop per thread; `ctxs[i]` is run by `threads[i]` only.
  std::vector<detail::context_ptr> ctxs;
  std::vector<std::optional<work_guard>> work;
  std::vector<std::thread> threads;
  /// Round robin for streams and channels made off the io threads.
  std::atomic<size_t> next{0};
  std::chrono::microseconds busy_poll{0};
  mutable std::mutex mtx;
  bool stopped = false;
  /// Threads not yet out of their loop (joined or not).
  std::atomic<size_t> in_loop{0};
};

} // namespace caf_mcp::transport
