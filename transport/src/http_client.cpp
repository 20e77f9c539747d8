// The io runtime and the pieces shared by the SSE stream and the POST
// channel: origin info and request headers, the plain/TLS socket, the
// connect sequence (resolve -> connect -> handshake) and error texts.
//
// The stream lives in sse_stream.cpp, the channel in post_channel.cpp.

#include "http_detail.hpp"

#include <boost/asio/steady_timer.hpp>

#include "caf_mcp/transport/headers.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iterator>
#include <map>
#include <mutex>
#include <utility>

namespace caf_mcp::transport {

// -- io runtime ---------------------------------------------------------------

namespace {

/// Which runtime and which of its threads the calling thread is (set once
/// when an io thread starts).
thread_local const void* this_runtime = nullptr;
thread_local size_t this_index = io_runtime::npos;

/// A posted task as an Asio handler: runs it once, or drops it when Asio
/// destroys the handler unrun (shutdown).
class task_handler {
public:
  task_handler(io_runtime::task_fn fn, void* owner, void* arg) noexcept
    : fn_(fn), owner_(owner), arg_(arg) {
    // nop
  }

  task_handler(task_handler&& other) noexcept
    : fn_(std::exchange(other.fn_, nullptr)),
      owner_(other.owner_),
      arg_(other.arg_) {
    // nop
  }

  task_handler(const task_handler&) = delete;
  task_handler& operator=(const task_handler&) = delete;
  task_handler& operator=(task_handler&&) = delete;

  ~task_handler() {
    if (fn_ != nullptr)
      fn_(owner_, arg_, false);
  }

  void operator()() noexcept {
    if (auto f = std::exchange(fn_, nullptr))
      f(owner_, arg_, true);
  }

private:
  io_runtime::task_fn fn_;
  void* owner_;
  void* arg_;
};

} // namespace

io_runtime::impl::impl(size_t n) {
  ctxs.reserve(n);
  work.resize(n);
  for (size_t i = 0; i < n; ++i) {
    // Hint 1: one thread runs this loop, so Asio keeps work posted from that
    // thread in a thread-private queue (no lock, no wake-up).
    ctxs.emplace_back(std::make_shared<detail::shared_context>(1));
    work[i].emplace(ctxs[i]->get_executor());
  }
}

namespace {

/// Runs one loop until it is stopped. With a busy-poll window, a thread
/// that ran out of work keeps polling its sockets (without sleeping) until
/// the window has passed since its last handler, and only then blocks:
/// an answer that arrives meanwhile costs no wake-up.
void run_loop(detail::shared_context& ctx, std::chrono::microseconds window) {
  if (window.count() <= 0) {
    ctx.run();
    return;
  }
  auto last = detail::clock_type::now();
  while (!ctx.stopped()) {
    if (ctx.poll() > 0) {
      last = detail::clock_type::now();
    } else if (detail::clock_type::now() - last >= window) {
      ctx.run_one();
      last = detail::clock_type::now();
    } else {
      // Polling, not computing: any other thread that wants this core (the
      // peer we wait for may share it) goes first.
      std::this_thread::yield();
    }
  }
}

} // namespace

io_runtime::io_runtime(size_t threads) : io_runtime(threads, {}) {
  // nop
}

io_runtime::io_runtime(size_t threads, std::chrono::microseconds busy_poll)
  : impl_(std::make_unique<impl>(std::max<size_t>(threads, 1))) {
  auto n = impl_->ctxs.size();
  impl_->busy_poll = busy_poll;
  try {
    impl_->threads.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      // Counted before it starts, uncounted as its last touch of the
      // state: shut_down waits for every thread to leave its loop, also one
      // that stop() detached (called from one of its handlers). The thread
      // holds its loop, which may outlive the runtime's state.
      impl_->in_loop.fetch_add(1);
      try {
        impl_->threads.emplace_back(
          [rt = impl_.get(), ctx = impl_->ctxs[i], i, busy_poll] {
            this_runtime = rt;
            this_index = i;
            run_loop(*ctx, busy_poll);
            rt->in_loop.fetch_sub(1);
          });
      } catch (...) {
        impl_->in_loop.fetch_sub(1);
        throw;
      }
    }
  } catch (...) {
    stop();
    throw;
  }
}

void io_runtime::impl::stop_loops() {
  std::lock_guard<std::mutex> guard{mtx};
  if (stopped)
    return;
  stopped = true;
  for (auto& w : work)
    w.reset();
  for (auto& ctx : ctxs)
    ctx->stop();
  auto self = std::this_thread::get_id();
  for (auto& t : threads) {
    if (!t.joinable())
      continue;
    if (t.get_id() == self)
      t.detach(); // stop() called from a handler: cannot join ourselves
    else
      t.join();
  }
}

// Destroys every pending handler once the loops stopped: streams and
// channels that only pending operations kept alive go away and report
// `cancelled`. Objects still held elsewhere keep the (shut down) context's
// memory alive and are abandoned: they report `cancelled` now, not when
// their handle goes.
void io_runtime::impl::shut_down() {
  stop_loops();
  // A loop is shut down only once its thread left it (see ~io_runtime); the
  // calling thread waits for none when it is one of them itself (the
  // fallback when no helper thread could be started).
  if (this_runtime != this)
    while (in_loop.load() != 0)
      std::this_thread::yield();
  for (auto& ctx : ctxs)
    ctx->shutdown_services();
  for (auto& ctx : ctxs)
    ctx->abandon_members();
}

io_runtime::~io_runtime() {
  if (this_thread_index() == npos) {
    impl_->shut_down();
    return;
  }
  // The last reference went in a handler on one of our own threads (a
  // stream's handler holding the runtime, an actor's state on an io
  // thread). That loop cannot be shut down from inside its handler: Asio
  // keeps the completions this handler caused (say, the aborted connect of
  // a stream it closed) in the thread's private queue until it returns, and
  // a shutdown now would leave them queued forever, holding their streams,
  // which hold the loop. A helper thread shuts down once every io thread
  // has left its loop.
  // The helper owns the state once it runs; it cannot delete it before this
  // thread left its loop, which happens after this destructor returned.
  auto* rt = impl_.get();
  try {
    std::thread{[rt] {
      std::unique_ptr<impl> owner{rt};
      owner->shut_down();
    }}.detach();
    static_cast<void>(impl_.release());
  } catch (...) {
    // No thread to be had: shut down here, as before (may leak at exit).
    impl_->shut_down();
  }
}

size_t io_runtime::pick() noexcept {
  auto i = this_thread_index();
  if (i == npos)
    i = impl_->next.fetch_add(1, std::memory_order_relaxed)
        % impl_->ctxs.size();
  return i;
}

boost::asio::io_context& io_runtime::context() noexcept {
  return context(pick());
}

boost::asio::io_context& io_runtime::context(size_t index) noexcept {
  return *impl_->ctxs[index % impl_->ctxs.size()];
}

size_t io_runtime::threads() const noexcept {
  return impl_->ctxs.size();
}

std::chrono::microseconds io_runtime::busy_poll() const noexcept {
  return impl_->busy_poll;
}

size_t io_runtime::this_thread_index() const noexcept {
  return this_runtime == impl_.get() ? this_index : npos;
}

void io_runtime::post(size_t index, task_fn fn, void* owner, void* arg) {
  detail::net::post(context(index), task_handler{fn, owner, arg});
}

bool io_runtime::stopped() const noexcept {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->stopped;
}

void io_runtime::stop() {
  impl_->stop_loops();
}

// -- names and virtual destructors --------------------------------------------

const char* to_string(transport_errc code) noexcept {
  switch (code) {
    case transport_errc::resolve_failed:
      return "resolve_failed";
    case transport_errc::connect_failed:
      return "connect_failed";
    case transport_errc::tls_failed:
      return "tls_failed";
    case transport_errc::timeout:
      return "timeout";
    case transport_errc::http_status:
      return "http_status";
    case transport_errc::bad_content_type:
      return "bad_content_type";
    case transport_errc::stream_ended:
      return "stream_ended";
    case transport_errc::read_failed:
      return "read_failed";
    case transport_errc::write_failed:
      return "write_failed";
    case transport_errc::event_too_large:
      return "event_too_large";
    case transport_errc::cancelled:
      return "cancelled";
    case transport_errc::protocol_error:
      return "protocol_error";
  }
  return "unknown";
}

sse_stream_handler::~sse_stream_handler() {
  // nop
}

sse_stream::~sse_stream() {
  // nop
}

void run_after(io_runtime& rt, size_t thread, std::chrono::milliseconds delay,
               std::function<void()> fn) {
  auto& ctx = rt.context(thread);
  auto timer = std::make_shared<boost::asio::steady_timer>(ctx, delay);
  timer->async_wait([timer, f = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec)
      f();
  });
}

response_fields::~response_fields() {
  // nop
}

response_handler::~response_handler() {
  // nop
}

post_channel::~post_channel() {
  // nop
}

} // namespace caf_mcp::transport

namespace caf_mcp::transport::detail {

runtime_member::~runtime_member() {
  // nop
}

void shared_context::add_member(std::weak_ptr<runtime_member> member) {
  std::lock_guard<std::mutex> guard{members_mtx_};
  if (members_.size() >= prune_at_) {
    members_.erase(std::remove_if(members_.begin(), members_.end(),
                                  [](const auto& w) { return w.expired(); }),
                   members_.end());
    prune_at_ = std::max<size_t>(64, members_.size() * 2);
  }
  members_.push_back(std::move(member));
}

void shared_context::abandon_members() {
  std::vector<std::weak_ptr<runtime_member>> members;
  {
    std::lock_guard<std::mutex> guard{members_mtx_};
    members.swap(members_);
  }
  for (auto& weak : members)
    if (auto member = weak.lock())
      member->abandon();
}

namespace {

/// A header we can send (transport::check_header: a token name, a value
/// without CR, LF or NUL, not one of the framing headers). Anything else
/// could split the request (header injection) and is skipped here; the
/// session and the CLI refuse such headers before they get this far.
bool valid_header(std::string_view name, std::string_view value) {
  return check_header(name, value).empty();
}

/// Names the caller can never set: framing and Host belong to us, and each
/// request kind keeps the header its protocol depends on.
bool is_protected(std::string_view name, request_kind kind) noexcept {
  if (iequals(name, "host") || iequals(name, "content-length")
      || iequals(name, "transfer-encoding") || iequals(name, "connection"))
    return true;
  if (kind == request_kind::sse_get)
    return iequals(name, "accept") || iequals(name, "last-event-id");
  return iequals(name, "content-type");
}

void append_line(std::string& out, std::string_view name,
                 std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

/// A TLS client context with these settings, shared by every origin that
/// uses the same ones: each loads the system's CA store (about 900 KB with
/// Debian's), and every held https session has two origins. Contexts are
/// only read once set up (OpenSSL makes connections from them on any
/// thread); one lives as long as an origin uses it, so a CA file is read
/// again once no origin uses the contexts made from it. Returns nullptr
/// with `why` set if the setup fails.
std::shared_ptr<ssl::context> tls_context(bool verify,
                                          const std::string& ca_file,
                                          std::string& why) {
  using key_type = std::pair<bool, std::string>;
  static std::mutex mtx;
  static std::map<key_type, std::weak_ptr<ssl::context>> contexts;
  key_type key{verify, verify ? ca_file : std::string{}};
  std::lock_guard<std::mutex> guard{mtx};
  if (auto i = contexts.find(key); i != contexts.end()) {
    if (auto ctx = i->second.lock())
      return ctx;
    contexts.erase(i);
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  if (verify) {
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (!ec)
      ctx->set_default_verify_paths(ec);
    if (!ec && !ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
      if (ec) {
        why = "cannot load CA file '" + ca_file + "': " + ec.message();
        return nullptr;
      }
    } else if (ec) {
      why = ec.message();
      return nullptr;
    }
  } else {
    ctx->set_verify_mode(ssl::verify_none, ec);
  }
  // Drop entries whose contexts are gone (distinct settings are few).
  for (auto i = contexts.begin(); i != contexts.end();)
    i = i->second.expired() ? contexts.erase(i) : std::next(i);
  contexts.emplace(std::move(key), ctx);
  return ctx;
}

} // namespace

bool is_event_stream(std::string_view ct) noexcept {
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t'))
    ct.remove_prefix(1);
  constexpr std::string_view expected = "text/event-stream";
  if (ct.size() < expected.size()
      || !iequals(ct.substr(0, expected.size()), expected))
    return false;
  ct.remove_prefix(expected.size());
  return ct.empty() || ct.front() == ';' || ct.front() == ' '
         || ct.front() == '\t';
}

std::string printable(std::string_view text, size_t n) {
  std::string out{text.substr(0, n)};
  for (auto& c : out)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
      c = ' ';
  return out;
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

std::string origin_info::redacted(std::string_view target) const {
  std::string text = origin_text;
  text.append(target);
  return redact(text);
}

void append_merged_headers(std::string& out, std::string_view lines,
                           const header_list& extra, request_kind kind) {
  while (!lines.empty()) {
    auto end = lines.find("\r\n");
    auto line = lines.substr(0, end == std::string_view::npos ? lines.size()
                                                              : end + 2);
    lines.remove_prefix(line.size());
    auto name = line.substr(0, line.find(':'));
    auto overridden = std::any_of(extra.begin(), extra.end(),
                                  [name](const auto& e) {
                                    return iequals(e.first, name);
                                  });
    if (!overridden)
      out.append(line);
  }
  for (auto& [name, value] : extra)
    if (valid_header(name, value) && !is_protected(name, kind))
      append_line(out, name, value);
}

std::shared_ptr<origin_info>
make_origin(const parsed_url& url, const http_options& opts,
            request_kind kind) {
  auto result = std::make_shared<origin_info>();
  auto& o = *result;
  o.host = url.host;
  o.port = url.port;
  o.is_tls = url.is_tls;
  if (kind == request_kind::sse_get)
    o.sse_target = url.target;
  o.opts.connect_timeout = opts.connect_timeout;
  o.opts.idle_timeout = opts.idle_timeout;
  o.opts.post_timeout = opts.post_timeout;
  o.opts.max_event_size = opts.max_event_size;
  o.opts.verify_tls = opts.tls.verify && !opts.tls.insecure;
  o.origin_text = url.scheme + "://" + url.bracketed_host;
  if (!url.has_default_port()) {
    o.origin_text += ':';
    o.origin_text += std::to_string(url.port);
  }
  o.host_line = "Host: " + url.host_header() + "\r\n";
  // Defaults first; a configured header of the same name replaces a default
  // (unless protected); other configured headers are appended in order.
  header_list merged;
  if (kind == request_kind::sse_get) {
    merged.emplace_back("Accept", "text/event-stream");
    merged.emplace_back("Cache-Control", "no-cache");
  } else {
    merged.emplace_back("Content-Type", "application/json");
    merged.emplace_back("Accept", "application/json, text/event-stream");
  }
  merged.emplace_back("User-Agent", opts.user_agent);
  auto defaults = merged.size();
  bool has_authorization = false;
  for (auto& [name, value] : opts.headers) {
    if (!valid_header(name, value) || is_protected(name, kind))
      continue;
    if (iequals(name, "authorization"))
      has_authorization = true;
    auto last = merged.begin() + static_cast<std::ptrdiff_t>(defaults);
    auto i = std::find_if(merged.begin(), last, [&n = name](const auto& h) {
      return iequals(h.first, n);
    });
    if (i != last)
      i->second = value;
    else
      merged.emplace_back(name, value);
  }
  if (url.has_userinfo && !has_authorization)
    merged.emplace_back("Authorization",
                        "Basic " + base64_encode(url.user + ":" + url.password));
  size_t lines = 0;
  for (auto& [name, value] : merged)
    lines += name.size() + value.size() + 4;
  o.header_lines.reserve(lines);
  for (auto& [name, value] : merged)
    append_line(o.header_lines, name, value);
  // TLS context: verification on unless explicitly switched off.
  if (url.is_tls) {
    std::string why;
    o.tls = tls_context(opts.tls.verify && !opts.tls.insecure,
                        opts.tls.ca_file, why);
    if (!o.tls)
      o.tls_error = "TLS setup for " + redact(url.text) + ": " + why;
  }
  return result;
}

// -- socket -------------------------------------------------------------------

socket_stream::socket_stream(const executor_type& ex, ssl::context* tls) {
  if (tls != nullptr)
    tls_.emplace(ex, *tls);
  else
    plain_.emplace(ex);
}

void socket_stream::close() noexcept {
  auto& s = socket();
  error_code ec;
  s.cancel(ec);
  s.close(ec);
}

// -- connect sequence ---------------------------------------------------------

origin_link::origin_link(const executor_type& ex,
                         std::shared_ptr<const origin_info> origin)
  : origin_(std::move(origin)), stream_(ex, origin_->tls.get()), timer_(ex) {
  // nop
}

void origin_link::async_open(clock_type::time_point deadline,
                             open_handler done) {
  opening_ = std::make_unique<opening>();
  opening_->done = std::move(done);
  if (origin_->is_tls && !origin_->tls) {
    net::post(timer_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_)
        self->finish(make_error_code(net::error::invalid_argument),
                     step::tls_setup);
    });
    return;
  }
  timer_.expires_at(deadline);
  timer_.async_wait(
    beast::bind_front_handler(&origin_link::on_deadline, shared_from_this()));
  error_code ec;
  auto addr = net::ip::make_address(origin_->host, ec);
  if (!ec) {
    // An IP literal needs no resolver (and no resolver thread).
    stream_.socket().async_connect(
      tcp::endpoint{addr, origin_->port},
      beast::bind_front_handler(&origin_link::on_connect, shared_from_this()));
    return;
  }
  opening_->resolver = std::make_unique<resolver_type>(timer_.get_executor());
  opening_->resolver->async_resolve(
    origin_->host, std::to_string(origin_->port),
    beast::bind_front_handler(&origin_link::on_resolve, shared_from_this()));
}

void origin_link::on_deadline(error_code ec) {
  if (ec == net::error::operation_aborted || closed_ || !opening_)
    return;
  // The step in progress completes with an error and reports the timeout.
  timed_out_ = true;
  if (opening_->resolver)
    opening_->resolver->cancel();
  stream_.close();
}

void origin_link::on_resolve(error_code ec,
                             tcp::resolver::results_type results) {
  if (closed_ || !opening_)
    return;
  opening_->resolver.reset();
  if (timed_out_)
    return finish(make_error_code(beast::error::timeout), step::resolve);
  if (ec)
    return finish(ec, step::resolve);
  net::async_connect(
    stream_.socket(), results,
    [self = shared_from_this()](error_code err, const tcp::endpoint&) {
      self->on_connect(err);
    });
}

void origin_link::on_connect(error_code ec) {
  if (closed_)
    return;
  if (timed_out_)
    return finish(make_error_code(beast::error::timeout), step::connect);
  if (ec)
    return finish(ec, step::connect);
  auto* tls = stream_.tls();
  if (tls == nullptr) {
    open_ = true;
    timer_.cancel();
    return finish({}, step::connect);
  }
  auto& host = origin_->host;
  // SNI for names only (RFC 6066 forbids IP literals in SNI).
  if (!is_ip_literal(host)
      && SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                  TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(host.c_str()))
           != 1) // SSL_set_tlsext_host_name without its C cast
    return finish(error_code{static_cast<int>(::ERR_get_error()),
                             net::error::get_ssl_category()},
                  step::handshake);
  if (origin_->opts.verify_tls) {
    // Host name (or IP address) check by OpenSSL itself during chain
    // verification (what asio's host_name_verification does in a callback,
    // but with a precise verify error such as "Hostname mismatch").
    auto* handle = tls->native_handle();
    auto ok = is_ip_literal(host)
                ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle),
                                                host.c_str())
                : SSL_set1_host(handle, host.c_str());
    SSL_set_hostflags(handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (ok != 1)
      return finish(error_code{static_cast<int>(::ERR_get_error()),
                               net::error::get_ssl_category()},
                    step::handshake);
  }
  tls->async_handshake(ssl::stream_base::client,
                       beast::bind_front_handler(&origin_link::on_handshake,
                                                 shared_from_this()));
}

void origin_link::on_handshake(error_code ec) {
  if (closed_)
    return;
  if (timed_out_)
    return finish(make_error_code(beast::error::timeout), step::handshake);
  if (ec) {
    // Say why verification failed ("Hostname mismatch", "unable to get
    // local issuer certificate", ...): the error code alone cannot.
    auto result = SSL_get_verify_result(stream_.tls()->native_handle());
    if (result != X509_V_OK)
      opening_->detail = X509_verify_cert_error_string(result);
    return finish(ec, step::handshake);
  }
  open_ = true;
  timer_.cancel();
  finish({}, step::handshake);
}

void origin_link::finish(error_code ec, step where) {
  auto state = std::move(opening_);
  if (state && state->done)
    state->done(ec, where, state->detail);
}

void origin_link::close() noexcept {
  if (closed_)
    return;
  closed_ = true;
  open_ = false;
  timer_.cancel();
  if (opening_ && opening_->resolver)
    opening_->resolver->cancel();
  opening_.reset();
  stream_.close();
}

// -- errors -------------------------------------------------------------------

bool is_timeout(const error_code& ec) noexcept {
  return ec == beast::error::timeout;
}

namespace {

bool is_http_error(const error_code& ec) noexcept {
  return ec.category() == http::make_error_code(http::error::need_more).category();
}

bool is_end_of_stream(const error_code& ec) noexcept {
  return ec == net::error::eof || ec == http::error::end_of_stream
         || ec == http::error::partial_message
         || ec == net::ssl::error::stream_truncated;
}

} // namespace

transport_errc classify(step where, const error_code& ec,
                        bool timed_out) noexcept {
  if (timed_out || is_timeout(ec))
    return transport_errc::timeout;
  switch (where) {
    case step::tls_setup:
    case step::handshake:
      return transport_errc::tls_failed;
    case step::resolve:
      return transport_errc::resolve_failed;
    case step::connect:
      return transport_errc::connect_failed;
    case step::write:
      return transport_errc::write_failed;
    case step::read_header:
      if (is_http_error(ec) && !is_end_of_stream(ec))
        return transport_errc::protocol_error;
      return transport_errc::read_failed;
    case step::read_body:
      if (is_end_of_stream(ec))
        return transport_errc::stream_ended;
      if (is_http_error(ec))
        return transport_errc::protocol_error;
      return transport_errc::read_failed;
  }
  return transport_errc::read_failed;
}

std::string step_message(step where, std::string_view url,
                         const error_code& ec, bool timed_out,
                         std::chrono::milliseconds limit,
                         std::string_view detail) {
  std::string out;
  switch (where) {
    case step::tls_setup:
      out = "TLS setup for ";
      break;
    case step::resolve:
      out = "resolve ";
      break;
    case step::connect:
      out = "connect to ";
      break;
    case step::handshake:
      out = "TLS handshake with ";
      break;
    case step::write:
      out = "send request to ";
      break;
    case step::read_header:
      out = "read response from ";
      break;
    case step::read_body:
      out = "read stream from ";
      break;
  }
  out.append(url);
  out.append(": ");
  if (timed_out || is_timeout(ec))
    out += "timed out after " + millis(limit);
  else
    out += ec.message();
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

transport_error make_error(transport_errc code, std::string message,
                           int status) {
  transport_error err;
  err.code = code;
  err.status = status;
  err.message = std::move(message);
  return err;
}

body_consumer::~body_consumer() {
  // nop
}

// -- reading ------------------------------------------------------------------

char* thread_buffer() {
  thread_local std::unique_ptr<char[]> buf;
  if (!buf)
    buf.reset(new char[thread_buffer_size]); // uninitialised on purpose
  return buf.get();
}

size_t read_now(int fd, char* buf, size_t n, error_code& ec) {
  for (;;) {
    auto got = ::recv(fd, buf, n, MSG_DONTWAIT);
    if (got > 0) {
      ec = {};
      return static_cast<size_t>(got);
    }
    if (got == 0) {
      ec = net::error::eof;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      ec = net::error::would_block;
    else
      ec = error_code{errno, net::error::get_system_category()};
    return 0;
  }
}

} // namespace caf_mcp::transport::detail

namespace caf_mcp::transport {

void replace_headers(header_list& base, header_list extra) {
  for (auto& h : extra) {
    base.erase(std::remove_if(base.begin(), base.end(),
                              [&h](const auto& x) {
                                return iequals(x.first, h.first);
                              }),
               base.end());
    base.emplace_back(std::move(h));
  }
}

} // namespace caf_mcp::transport
