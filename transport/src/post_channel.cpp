// The POST channel: a small pool of keep-alive HTTP/1.1 connections to one
// origin, with a FIFO queue of jobs when every connection is busy.
//
//   post -> enqueue -> dispatch -> start -> (on_open) -> send -> on_write
//                                                              -> on_read -> complete -> dispatch
//
// One strand per channel serializes the pool and all its connections.
// An idle connection keeps a readiness wait on its socket (confirmed with a
// non-blocking MSG_PEEK, since a readiness edge may be stale): if the server
// closes it (keep-alive timeout), it leaves the pool at once. If a request
// still fails on a reused connection before any byte of the response
// arrived, it is retried once on a fresh connection; never otherwise.
// Every job's `done` runs exactly once: the job object calls it with
// `cancelled` from its destructor if nothing else did (runtime shutdown).

#include "caf_mcp/transport/trace_tmp.hpp"
#include "http_detail.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <utility>

namespace caf_mcp::transport {

namespace {

using namespace detail;

/// A 2xx or error body beyond this is not drained: the connection is closed.
constexpr uint64_t drain_limit = uint64_t{1} << 20;

/// One POST. Move-only; calls `done` with `cancelled` if destroyed unfinished.
struct post_job {
  std::string target;
  std::string body;
  header_list extra;
  std::function<void(post_result)> done;
  clock_type::time_point deadline;
  bool retried = false;

  post_job() = default;

  post_job(post_job&& other) noexcept
    : target(std::move(other.target)),
      body(std::move(other.body)),
      extra(std::move(other.extra)),
      done(std::exchange(other.done, nullptr)),
      deadline(other.deadline),
      retried(other.retried) {
    // nop
  }

  post_job& operator=(post_job&& other) noexcept {
    if (this != &other) {
      if (done)
        cancel("POST " + redact(target) + ": dropped");
      target = std::move(other.target);
      body = std::move(other.body);
      extra = std::move(other.extra);
      done = std::exchange(other.done, nullptr);
      deadline = other.deadline;
      retried = other.retried;
    }
    return *this;
  }

  post_job(const post_job&) = delete;
  post_job& operator=(const post_job&) = delete;

  ~post_job() {
    if (done)
      cancel("POST " + redact(target) + ": io runtime stopped");
  }

  void complete(post_result result) {
    if (auto f = std::exchange(done, nullptr))
      f(std::move(result));
  }

  void cancel(std::string message) {
    if (!done)
      return;
    post_result r;
    r.error = make_error(transport_errc::cancelled, std::move(message));
    complete(std::move(r));
  }
};

/// One keep-alive connection and the state of its current exchange.
struct post_conn final : body_consumer {
  std::shared_ptr<origin_link> link;
  std::optional<http::response_parser<consumer_body>> parser;
  /// The request head, rebuilt in place per request (capacity reused).
  std::string head;
  std::string excerpt;
  std::optional<post_job> job;
  /// Responses completed on this connection (> 0: a reused connection).
  size_t uses = 0;
  /// Generation of the idle readiness wait; bumped when the wait is void.
  uint64_t idle_gen = 0;
  bool idle_wait = false;
  std::chrono::milliseconds open_budget{0};

  void on_body(std::string_view bytes) override {
    if (excerpt.size() < max_excerpt)
      excerpt.append(bytes.substr(0, max_excerpt - excerpt.size()));
  }
};

using conn_ptr = std::shared_ptr<post_conn>;

class channel_impl final : public std::enable_shared_from_this<channel_impl>,
                           public runtime_member {
public:
  channel_impl(context_ptr ctx, const parsed_url& origin,
               const http_options& opts)
    : ctx_(std::move(ctx)),
      strand_(net::make_strand(ctx_->get_executor())),
      origin_(make_origin(origin, opts, request_kind::post)),
      max_conns_(std::max<size_t>(opts.max_post_connections, 1)) {
    // nop
  }

  ~channel_impl() {
    // Unfinished jobs (runtime shutdown) report `cancelled` from their
    // destructors; connections close with their links.
    for (auto& c : conns_)
      c->link->close();
  }

  /// Thread-safe.
  void post(post_job job) {
    net::post(strand_, [self = shared_from_this(), j = std::move(job)]() mutable {
      self->enqueue(std::move(j));
    });
  }

  /// Thread-safe.
  void close() {
    net::post(strand_,
              [self = shared_from_this()] { self->do_close("channel closed"); });
  }

  const http_options& opts() const noexcept {
    return origin_->opts;
  }

  void abandon() noexcept override {
    do_close("io runtime stopped");
  }

private:
  std::string url_of(const post_job& job) const {
    return origin_->redacted(job.target);
  }

  void enqueue(post_job job) {
    if (closed_)
      return job.cancel("POST " + url_of(job) + ": channel closed");
    queue_.push_back(std::move(job));
    dispatch();
  }

  void dispatch() {
    while (!closed_ && !queue_.empty()) {
      auto& front = queue_.front();
      if (clock_type::now() >= front.deadline) {
        auto job = std::move(front);
        queue_.pop_front();
        complete(job, error_result(job, transport_errc::timeout,
                                   "POST " + url_of(job)
                                     + ": no connection within "
                                     + millis(opts().post_timeout)));
        continue;
      }
      conn_ptr c;
      if (!idle_.empty()) {
        c = std::move(idle_.back()); // most recently used: least likely stale
        idle_.pop_back();
      } else if (conns_.size() < max_conns_) {
        c = new_conn();
      } else {
        break;
      }
      auto job = std::move(front);
      queue_.pop_front();
      start(c, std::move(job));
    }
  }

  conn_ptr new_conn() {
    auto c = std::make_shared<post_conn>();
    c->link = std::make_shared<origin_link>(strand_, origin_);
    conns_.push_back(c);
    return c;
  }

  void start(const conn_ptr& c, post_job job) {
    c->job.emplace(std::move(job));
    if (c->idle_wait) {
      c->idle_wait = false;
      ++c->idle_gen;
      error_code ec;
      c->link->stream().tcp().socket().cancel(ec);
    }
    if (c->link->open())
      return send(c);
    auto now = clock_type::now();
    auto deadline = std::min(now + opts().connect_timeout, c->job->deadline);
    c->open_budget
      = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    c->link->async_open(deadline, [self = shared_from_this(),
                                   c](error_code ec, step where) {
      self->on_open(c, ec, where);
    });
  }

  bool stale(const conn_ptr& c) const noexcept {
    return closed_ || !c->job || c->link->closed();
  }

  void on_open(const conn_ptr& c, error_code ec, step where) {
    caf_mcp_trace("post: connected");
    if (stale(c))
      return;
    if (ec) {
      auto& job = *c->job;
      if (where == step::tls_setup)
        return fail(c, transport_errc::tls_failed, origin_->tls_error);
      auto timed_out = c->link->resolve_timed_out();
      return fail(c, classify(where, ec, timed_out),
                  step_message(where, url_of(job), ec, timed_out,
                               c->open_budget, c->link->detail()));
    }
    send(c);
  }

  void send(const conn_ptr& c) {
    caf_mcp_trace("post: send");
    auto& job = *c->job;
    auto& head = c->head;
    head.clear();
    head += "POST ";
    head += job.target;
    head += " HTTP/1.1\r\n";
    head += origin_->host_line;
    if (job.extra.empty())
      head += origin_->header_lines;
    else
      append_merged_headers(head, origin_->merged, job.extra,
                            request_kind::post);
    head += "Content-Length: ";
    head += std::to_string(job.body.size());
    head += "\r\n\r\n";
    c->excerpt.clear();
    c->parser.emplace();
    c->parser->body_limit(drain_limit);
    c->parser->get().body() = c.get();
    c->link->stream().tcp().expires_at(job.deadline);
    std::array<net::const_buffer, 2> buffers{net::buffer(head),
                                             net::buffer(job.body)};
    c->link->stream().visit([&](auto& s) {
      net::async_write(s, buffers,
                       [self = shared_from_this(), c](error_code ec, size_t) {
                         self->on_write(c, ec);
                       });
    });
  }

  void on_write(const conn_ptr& c, error_code ec) {
    if (stale(c))
      return;
    if (ec) {
      if (may_retry(c, ec))
        return retry(c);
      return fail_io(c, step::write, ec);
    }
    c->link->stream().visit([&](auto& s) {
      http::async_read(s, c->link->buffer(), *c->parser,
                       [self = shared_from_this(), c](error_code err, size_t) {
                         self->on_read(c, err);
                       });
    });
  }

  void on_read(const conn_ptr& c, error_code ec) {
    caf_mcp_trace("post: response");
    if (stale(c))
      return;
    auto& p = *c->parser;
    if (ec && !p.is_header_done()) {
      if (may_retry(c, ec))
        return retry(c);
      return fail_io(c, step::read_header, ec);
    }
    // The status is known: it decides the result even if the body failed.
    auto& res = p.get();
    auto status = static_cast<int>(res.result_int());
    post_result r;
    r.status = status;
    if (status >= 200 && status <= 299) {
      r.ok = true;
    } else {
      auto& job = *c->job;
      auto reason = printable(res.reason(), 80);
      r.error = make_error(transport_errc::http_status,
                           "POST " + url_of(job) + " -> "
                             + std::to_string(status)
                             + (reason.empty() ? "" : " " + reason),
                           status);
      r.error.retry_after = std::string{res[http::field::retry_after]};
      r.error.body_excerpt = c->excerpt;
    }
    auto reusable = !ec && p.is_done() && res.keep_alive()
                    && c->link->buffer().size() == 0;
    finish(c, std::move(r), reusable);
  }

  /// A reused connection failed before any byte of the response: the server
  /// most likely closed it while idle, so the request was not processed.
  bool may_retry(const conn_ptr& c, const error_code& ec) const {
    return c->uses > 0 && !c->job->retried && !is_timeout(ec)
           && ec != net::error::operation_aborted && !c->parser->got_some()
           && c->link->buffer().size() == 0;
  }

  void retry(const conn_ptr& c) {
    auto job = std::move(*c->job);
    c->job.reset();
    discard(c);
    job.retried = true;
    start(new_conn(), std::move(job));
  }

  void fail_io(const conn_ptr& c, step where, const error_code& ec) {
    auto& job = *c->job;
    if (is_timeout(ec))
      return fail(c, transport_errc::timeout,
                  "POST " + url_of(job) + ": no response within "
                    + millis(opts().post_timeout));
    fail(c, classify(where, ec),
         step_message(where, url_of(job), ec, false, opts().post_timeout));
  }

  void fail(const conn_ptr& c, transport_errc code, std::string message) {
    finish(c, error_result(*c->job, code, std::move(message)), false);
  }

  static post_result error_result(const post_job&, transport_errc code,
                                  std::string message) {
    post_result r;
    r.error = make_error(code, std::move(message));
    return r;
  }

  void finish(const conn_ptr& c, post_result r, bool reusable) {
    // No operation is pending on `c` here, so its job may go.
    auto job = std::move(*c->job);
    c->job.reset();
    if (reusable) {
      ++c->uses;
      idle_.push_back(c);
      watch_idle(c);
    } else {
      discard(c);
    }
    dispatch();
    complete(job, std::move(r));
  }

  static void complete(post_job& job, post_result r) {
    job.complete(std::move(r));
  }

  void discard(const conn_ptr& c) {
    c->link->close();
    c->idle_wait = false;
    ++c->idle_gen;
    conns_.erase(std::remove(conns_.begin(), conns_.end(), c), conns_.end());
    idle_.erase(std::remove(idle_.begin(), idle_.end(), c), idle_.end());
  }

  /// While idle, any readable event (EOF, reset, stray bytes) means the
  /// connection cannot carry the next request: drop it right away.
  void watch_idle(const conn_ptr& c) {
    c->idle_wait = true;
    auto gen = ++c->idle_gen;
    c->link->stream().tcp().socket().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this(), c, gen](error_code ec) {
        self->on_idle_readable(c, gen, ec);
      });
  }

  void on_idle_readable(const conn_ptr& c, uint64_t gen, error_code ec) {
    if (closed_ || gen != c->idle_gen || !c->idle_wait
        || ec == net::error::operation_aborted)
      return;
    c->idle_wait = false;
    if (!ec) {
      // The reactor may report a readiness edge that belongs to the last
      // response (already read): look before dropping the connection.
      char byte;
      auto n = ::recv(c->link->stream().tcp().socket().native_handle(), &byte,
                      1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return watch_idle(c);
    }
    // EOF, reset or bytes nobody asked for: the connection is done.
    discard(c);
  }

  void do_close(const char* why) {
    if (closed_)
      return;
    closed_ = true;
    auto conns = std::move(conns_);
    conns_.clear();
    idle_.clear();
    auto queued = std::move(queue_);
    queue_.clear();
    // Close the sockets before any job lets go of its buffers; the jobs
    // themselves stay in their connections until the aborted operations
    // have completed.
    for (auto& c : conns)
      c->link->close();
    for (auto& c : conns)
      if (c->job)
        c->job->cancel("POST " + url_of(*c->job) + ": " + why);
    for (auto& job : queued)
      job.cancel("POST " + url_of(job) + ": " + why);
  }

  /// Declared first: the io_context outlives every Asio object below.
  context_ptr ctx_;
  strand_type strand_;
  std::shared_ptr<const origin_info> origin_;
  size_t max_conns_;
  std::deque<post_job> queue_;
  std::vector<conn_ptr> conns_;
  std::vector<conn_ptr> idle_;
  bool closed_ = false;
};

/// What the caller holds: closes the channel on destruction.
class post_channel_handle final : public post_channel {
public:
  explicit post_channel_handle(std::shared_ptr<channel_impl> impl)
    : impl_(std::move(impl)) {
    // nop
  }

  ~post_channel_handle() override {
    impl_->close();
  }

  void post(std::string target, std::string body, header_list extra,
            std::function<void(post_result)> done) override {
    post_job job;
    job.target = std::move(target);
    job.body = std::move(body);
    job.extra = std::move(extra);
    job.done = std::move(done);
    job.deadline = clock_type::now() + impl_->opts().post_timeout;
    impl_->post(std::move(job));
  }

  void close() override {
    impl_->close();
  }

private:
  std::shared_ptr<channel_impl> impl_;
};

} // namespace

std::shared_ptr<post_channel> make_post_channel(io_runtime& rt,
                                                const parsed_url& origin,
                                                const http_options& opts) {
  auto ctx = context_of(rt);
  auto impl = std::make_shared<channel_impl>(ctx, origin, opts);
  ctx->add_member(impl);
  return std::make_shared<post_channel_handle>(std::move(impl));
}

} // namespace caf_mcp::transport
