// The POST channel: a small pool of keep-alive HTTP/1.1 connections to one
// origin, with a FIFO queue of jobs when every connection is busy.
//
//   post -> enqueue -> dispatch -> start -> (on_open) -> send -> on_write
//     http:  ... on_wait -> read_response -> on_response -> finish -> dispatch
//     https: ... on_tls_read -> on_response -> finish -> dispatch
//
// The channel and all its connections run on one io thread (no strand
// needed: each loop has one thread).
//
// Memory: an idle connection holds its link and nothing else; the response
// parser, the request head and unparsed response bytes live from `send` to
// `finish`. A plain http connection keeps exactly one readiness wait on its
// socket while open: it is the idle watch (the server closing a keep-alive
// connection) and the wait for the next response in one, and response
// bytes are read into the io thread's buffer (`thread_buffer`). https
// connections read through OpenSSL into a buffer that lives per request, and
// watch for a close with a readiness wait while idle.
//
// Deadlines: one timer per channel, armed for the earliest deadline of a
// job in flight or queued. Jobs rarely expire and a new job rarely moves the
// earliest deadline (they share post_timeout), so a POST costs no timer
// syscall. When it fires it closes the connections of expired jobs (which
// then fail with `timeout`), fails expired queued jobs and re-arms.
//
// A request that fails on a connection that waited idle (reused, or a
// spare) before any response byte arrived is sent again once on a fresh
// connection (the server closed it while idle) if none of it was written,
// or if its job may be resent (`may_resend`: it changes nothing on the
// server). A request that was written may have been read and run before
// the server closed: it fails with `request_sent`, never sent twice. Every job's `done` runs exactly once: the job
// calls it with `cancelled` from its destructor if nothing else did
// (runtime shutdown).

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
#include <array>
#include <cstring>
#include <utility>

namespace caf_mcp::transport {

namespace {

using namespace detail;

/// A 2xx or error body beyond this is not drained: the connection is closed.
constexpr uint64_t drain_limit = uint64_t{1} << 20;

struct post_job;

using job_ptr = std::unique_ptr<post_job>;

/// One POST, on the heap from `post()` to its completion. Calls `done` with
/// `cancelled` if destroyed unfinished.
struct post_job {
  /// POST, or DELETE (`request`).
  std::string method = "POST";
  std::string target;
  std::string body;
  header_list extra;
  std::function<void(post_result)> done;
  clock_type::time_point deadline;
  /// The next job in the channel's queue.
  job_ptr next;
  bool retried = false;
  /// The caller allows a second send after a written request failed.
  bool may_resend = false;
  /// Gets the header and a 2xx body (`post_channel::request`); null: the
  /// body is drained.
  std::shared_ptr<response_handler> handler;

  post_job() = default;

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

/// FIFO of jobs linked through `post_job::next`: no allocation of its own.
class job_queue {
public:
  job_queue() = default;

  job_queue(const job_queue&) = delete;
  job_queue& operator=(const job_queue&) = delete;

  ~job_queue() {
    while (head_)
      head_ = std::move(head_->next); // no recursion on long queues
  }

  bool empty() const noexcept {
    return head_ == nullptr;
  }

  post_job& front() noexcept {
    return *head_;
  }

  void push(job_ptr job) {
    auto* raw = job.get();
    if (tail_ != nullptr)
      tail_->next = std::move(job);
    else
      head_ = std::move(job);
    tail_ = raw;
  }

  job_ptr pop() {
    auto job = std::move(head_);
    head_ = std::move(job->next);
    if (!head_)
      tail_ = nullptr;
    return job;
  }

  /// Calls `f` with each job, front to back.
  template <class F>
  void for_each(F&& f) const {
    for (auto* j = head_.get(); j != nullptr; j = j->next.get())
      f(*j);
  }

private:
  job_ptr head_;
  post_job* tail_ = nullptr;
};

using response_parser = http::response_parser<consumer_body>;

/// One keep-alive connection and the state of its current exchange.
struct post_conn final : body_consumer {
  std::shared_ptr<origin_link> link;
  /// The job being sent or answered.
  job_ptr job;
  /// The response parser, from `send` to `finish`.
  std::unique_ptr<response_parser> parser;
  /// The request head, until it is written.
  std::string head;
  /// Bytes of the current request written (head and body).
  size_t written = 0;
  /// http: response bytes the parser could not take yet (a cut header).
  std::string pending;
  std::string excerpt;
  /// It waited idle before its current job (a spare, or after a response):
  /// the server may have closed it meanwhile.
  bool idled = false;
  /// A readiness wait (or a posted read) is pending on the socket.
  bool waiting = false;
  /// The request is being written.
  bool writing = false;
  /// The job's deadline passed and the link was closed: the next
  /// completion reports the timeout.
  bool expired = false;
  /// Connecting; for a spare (no job yet, see `preconnect`) until
  /// `open_deadline`.
  bool opening = false;
  clock_type::time_point open_deadline;

  bool tls() noexcept {
    return link->stream().tls() != nullptr;
  }

  /// True if response bytes arrived for the current job.
  bool got_response_bytes() const noexcept {
    return (parser && parser->got_some()) || !pending.empty()
           || link->buffered() > 0;
  }

  /// The job's handler saw the header.
  bool header_seen = false;
  /// The job's handler takes the body (a 2xx answer).
  bool pass_body = false;

  /// Tells the job's handler (if any) about the header, once.
  void notify_header() {
    if (!job || !job->handler || header_seen || !parser
        || !parser->is_header_done())
      return;
    header_seen = true;
    auto& res = parser->get();
    auto status = static_cast<int>(res.result_int());
    pass_body = status >= 200 && status <= 299;
    struct fields_view final : response_fields {
      const http::fields& f;
      explicit fields_view(const http::fields& x) : f(x) {
        // nop
      }
      std::string_view get(std::string_view name) const override {
        auto i = f.find(boost::beast::string_view{name.data(), name.size()});
        if (i == f.end())
          return {};
        auto v = i->value();
        return {v.data(), v.size()};
      }
    };
    fields_view view{res};
    auto more = job->handler->on_header(status, view);
    if (more.count() > 0)
      job->deadline = std::max(job->deadline, clock_type::now() + more);
  }

  void on_begin() override {
    notify_header();
  }

  void on_body(std::string_view bytes) override {
    if (pass_body) {
      job->handler->on_body(bytes);
      return;
    }
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
      ex_(ctx_->get_executor()),
      origin_(make_origin(origin, opts, request_kind::post)),
      timer_(ex_),
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
  void post(job_ptr job) {
    ctx_->post([self = shared_from_this(), j = std::move(job)]() mutable {
      self->enqueue(std::move(j));
    });
  }

  /// Thread-safe.
  void close() {
    ctx_->post(
      [self = shared_from_this()] { self->do_close("channel closed"); });
  }

  /// Thread-safe.
  void preconnect() {
    ctx_->post([self = shared_from_this()] { self->open_spare(); });
  }

  const origin_settings& opts() const noexcept {
    return origin_->opts;
  }

  void abandon() noexcept override {
    do_close("io runtime stopped");
  }

private:
  std::string url_of(const post_job& job) const {
    return origin_->redacted(job.target);
  }

  void enqueue(job_ptr job) {
    if (closed_)
      return job->cancel("POST " + url_of(*job) + ": channel closed");
    arm_deadline(job->deadline);
    queue_.push(std::move(job));
    dispatch();
  }

  void dispatch() {
    while (!closed_ && !queue_.empty()) {
      if (clock_type::now() >= queue_.front().deadline) {
        auto job = queue_.pop();
        auto r = error_result(transport_errc::timeout,
                              "POST " + url_of(*job) + ": no connection within "
                                + millis(opts().post_timeout));
        CAF_MCP_LOG_INFO("post", r.error.message);
        job->complete(std::move(r));
        continue;
      }
      conn_ptr c;
      if (!idle_.empty()) {
        c = std::move(idle_.back()); // most recently used: least likely stale
        idle_.pop_back();
      } else if (auto spare = opening_spare(queue_.front().deadline)) {
        c = std::move(spare); // connecting already: it sends once open
      } else if (conns_.size() < max_conns_) {
        c = new_conn();
      } else {
        break;
      }
      start(c, queue_.pop());
    }
  }

  conn_ptr new_conn() {
    auto c = std::make_shared<post_conn>();
    c->link = std::make_shared<origin_link>(ex_, origin_);
    conns_.push_back(c);
    CAF_MCP_LOG_DEBUG("post", origin_->redacted("/")
                                << ": new connection (" << conns_.size()
                                << " of at most " << max_conns_ << ")");
    return c;
  }

  void start(const conn_ptr& c, job_ptr job) {
    c->job = std::move(job);
    if (c->tls() && c->waiting) {
      // The idle watch ends; OpenSSL reads the response.
      error_code ec;
      c->link->stream().socket().cancel(ec);
    }
    if (c->link->open())
      return send(c);
    if (c->opening)
      return; // a spare on its way: on_open sends
    auto now = clock_type::now();
    open(c, now, std::min(now + opts().connect_timeout, c->job->deadline));
  }

  /// Resolves, connects and handshakes `c` by `deadline` (from `now`).
  void open(const conn_ptr& c, clock_type::time_point now,
            clock_type::time_point deadline) {
    c->opening = true;
    c->open_deadline = deadline;
    auto budget
      = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    c->link->async_open(deadline,
                        [self = shared_from_this(), c,
                         budget](error_code ec, step where,
                                 const std::string& detail) {
                          self->on_open(c, ec, where, budget, detail);
                        });
  }

  /// Opens one connection ahead of the first POST, unless there is one: the
  /// POST channel of a session is made when the endpoint event arrives, and
  /// connecting then would cost the first POST (initialize) a round trip.
  void open_spare() {
    if (closed_ || !conns_.empty())
      return;
    auto now = clock_type::now();
    open(new_conn(), now, now + opts().connect_timeout);
  }

  /// A spare still connecting that can carry a job due at `deadline` (its
  /// connect ends no later than that), or null.
  conn_ptr opening_spare(clock_type::time_point deadline) const {
    for (auto& c : conns_)
      if (c->opening && !c->job && c->open_deadline <= deadline)
        return c;
    return nullptr;
  }

  /// True if a completion for `c` has nothing left to do: the channel is
  /// closed, the job is gone, or the connection was dropped (not expired).
  bool stale(const conn_ptr& c) const noexcept {
    return closed_ || !c->job || (c->link->closed() && !c->expired);
  }

  void on_open(const conn_ptr& c, error_code ec, step where,
               std::chrono::milliseconds budget, const std::string& detail) {
    c->opening = false;
    if (!closed_ && !c->job && !c->link->closed()) {
      // A spare with no POST for it yet: idle if it opened; if it did not,
      // it goes quietly (the next POST connects and reports its own error).
      if (ec) {
        CAF_MCP_LOG_DEBUG("post", origin_->redacted("/")
                                    << ": spare connection failed: "
                                    << ec.message());
        discard(c);
        return dispatch(); // a job that could not wait for it may go now
      }
      c->idled = true;
      idle_.push_back(c);
      // The idle watch, for plain sockets only: a TLS 1.3 server sends
      // session tickets right after the handshake, which the raw socket
      // would show as bytes nobody asked for. OpenSSL reads them with the
      // first response; if the server closed the spare meanwhile, the first
      // POST fails before any response byte and goes out again (may_retry).
      if (!c->tls())
        arm_wait(c);
      return dispatch();
    }
    if (stale(c))
      return;
    if (ec) {
      auto& job = *c->job;
      if (where == step::tls_setup)
        return fail(c, transport_errc::tls_failed, origin_->tls_error);
      auto timed_out = c->link->timed_out();
      return fail(c, classify(where, ec, timed_out),
                  step_message(where, url_of(job), ec, timed_out, budget,
                               detail));
    }
    if (!c->tls())
      arm_wait(c); // from now on, always one wait on the socket
    send(c);
  }

  void send(const conn_ptr& c) {
    auto& job = *c->job;
    auto& head = c->head;
    head.reserve(64 + job.target.size() + origin_->host_line.size()
                 + origin_->header_lines.size());
    head += job.method;
    head += ' ';
    head += job.target;
    head += " HTTP/1.1\r\n";
    head += origin_->host_line;
    if (job.extra.empty())
      head += origin_->header_lines;
    else
      append_merged_headers(head, origin_->header_lines, job.extra,
                            request_kind::post);
    head += "Content-Length: ";
    head += std::to_string(job.body.size());
    head += "\r\n\r\n";
    c->parser = std::make_unique<response_parser>();
    c->header_seen = false;
    c->pass_body = false;
    if (job.handler)
      c->parser->body_limit(boost::none); // the handler bounds what it keeps
    else
      c->parser->body_limit(drain_limit);
    c->parser->get().body() = c.get();
    c->writing = true;
    c->written = 0;
    std::array<net::const_buffer, 2> buffers{net::buffer(head),
                                             net::buffer(job.body)};
    c->link->stream().visit([&](auto& s) {
      net::async_write(s, buffers,
                       [self = shared_from_this(), c](error_code ec,
                                                      size_t n) {
                         c->written = n;
                         self->on_write(c, ec);
                       });
    });
  }

  void on_write(const conn_ptr& c, error_code ec) {
    c->writing = false;
    std::string{}.swap(c->head); // written (or never will be)
    if (stale(c))
      return;
    if (c->expired)
      return fail_timeout(c);
    if (ec) {
      if (resend_decision(c, ec))
        return retry(c);
      return fail_io(c, step::write, ec);
    }
    if (c->tls()) {
      c->link->stream().visit([&](auto& s) {
        http::async_read(s, c->link->buffer(), *c->parser,
                         [self = shared_from_this(), c](error_code err,
                                                        size_t) {
                           self->on_tls_read(c, err);
                         });
      });
      return;
    }
    arm_wait(c); // completes at once if the answer is already there
  }

  // -- reading (http) ---------------------------------------------------------

  /// Keeps one readiness wait on a plain connection's socket.
  void arm_wait(const conn_ptr& c) {
    if (c->waiting || c->link->closed())
      return;
    c->waiting = true;
    c->link->stream().socket().async_wait(
      socket_type::wait_read,
      long_lived([self = shared_from_this(), c](error_code ec) {
        self->on_wait(c, ec);
      }));
  }

  void on_wait(const conn_ptr& c, error_code ec) {
    c->waiting = false;
    if (closed_)
      return;
    if (c->expired) {
      // http: the wait is the only operation left unless the request is
      // still being written (then on_write reports the timeout). https:
      // the OpenSSL read or write reports it.
      if (c->job && !c->writing && !c->tls())
        fail_timeout(c);
      return;
    }
    if (c->link->closed() || ec == net::error::operation_aborted)
      return;
    if (!c->job)
      return on_idle_readable(c);
    if (c->tls())
      return; // a watch that fired as the request went out: OpenSSL reads
    if (c->writing)
      return; // on_write waits again once the request is out
    read_response(c); // a socket error shows in the read
  }

  /// Reads once into the io thread's buffer and parses; bytes the parser
  /// cannot take yet (a cut header) wait in `pending` for the next read.
  void read_response(const conn_ptr& c) {
    auto* buf = thread_buffer();
    auto kept = c->pending.size();
    std::memcpy(buf, c->pending.data(), kept);
    auto want = thread_buffer_size - kept;
    error_code ec;
    auto n = read_now(c->link->stream().socket().native_handle(),
                      buf + kept, want, ec);
    if (ec == net::error::would_block)
      return arm_wait(c);
    CAF_MCP_LOG(log::level::trace, "post",
                "read " << n << " response bytes (" << kept << " kept)");
    auto& p = *c->parser;
    if (n == 0) {
      // As http::async_read: EOF ends a message that runs to EOF, else it
      // is a partial message, or `end_of_stream` before any byte.
      if (ec == net::error::eof) {
        if (p.got_some())
          p.put_eof(ec);
        else
          ec = http::error::end_of_stream;
      }
      return on_response(c, ec);
    }
    std::string_view input{buf, kept + n};
    auto used = feed(p, input, ec);
    if (ec || p.is_done()) {
      // Bytes after the response: the connection cannot be reused.
      c->pending.assign(input.substr(used));
      return on_response(c, ec);
    }
    if (input.size() - used > thread_buffer_size / 2)
      return on_response(c, http::error::header_limit);
    c->pending.assign(input.substr(used));
    if (n < want)
      return arm_wait(c);
    // A full read: more may be there, and no readiness edge would say so.
    c->waiting = true;
    ctx_->post([self = shared_from_this(), c] {
      self->on_wait(c, {});
    });
  }

  /// An idle connection became readable: EOF, a reset or bytes nobody asked
  /// for all mean it cannot carry the next request. A readiness edge left
  /// over from the last response (nothing to read) is just a stale wake-up.
  void on_idle_readable(const conn_ptr& c) {
    error_code ec;
    read_now(c->link->stream().socket().native_handle(), thread_buffer(),
             1, ec);
    if (ec == net::error::would_block)
      return arm_wait(c);
    CAF_MCP_LOG_DEBUG("post", origin_->redacted("/")
                                << ": idle connection closed by the server");
    discard(c);
  }

  // -- reading (https) --------------------------------------------------------

  void on_tls_read(const conn_ptr& c, error_code ec) {
    if (stale(c))
      return;
    if (c->expired)
      return fail_timeout(c);
    on_response(c, ec);
  }

  // -- the response -----------------------------------------------------------

  void on_response(const conn_ptr& c, error_code ec) {
    auto& p = *c->parser;
    if (ec && !p.is_header_done()) {
      if (resend_decision(c, ec))
        return retry(c);
      return fail_io(c, step::read_header, ec);
    }
    // The status is known: it decides the result even if the body failed.
    c->notify_header(); // a response without body never began one
    auto& res = p.get();
    auto status = static_cast<int>(res.result_int());
    post_result r;
    r.status = status;
    if (status >= 200 && status <= 299) {
      r.ok = true;
      r.complete = !ec && p.is_done();
      CAF_MCP_LOG_DEBUG("post", "POST " << url_of(*c->job) << " -> "
                                        << status);
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
      CAF_MCP_LOG_INFO("post", r.error.message);
    }
    auto reusable = !ec && p.is_done() && res.keep_alive()
                    && c->pending.empty() && c->link->buffered() == 0;
    finish(c, std::move(r), reusable);
  }

  /// A connection that waited idle failed before any byte of the response:
  /// the server most likely closed it meanwhile. Sent again only if none
  /// of the request left (it cannot have run) or the job may be resent:
  /// a written request may have been read and run before the close.
  bool may_retry(const conn_ptr& c, const error_code& ec) const {
    return c->idled && !c->job->retried && !is_timeout(ec)
           && ec != net::error::operation_aborted && !c->got_response_bytes()
           && (c->written == 0 || c->job->may_resend);
  }

  /// `may_retry`, with the decision in the log when the connection idled
  /// (the only case where a resend is considered at all).
  bool resend_decision(const conn_ptr& c, const error_code& ec) const {
    auto yes = may_retry(c, ec);
    if (c->idled && c->job) {
      if (yes)
        CAF_MCP_LOG_INFO("post", "POST " << url_of(*c->job)
                                         << ": the reused connection failed ("
                                         << ec.message()
                                         << ") before any answer; sending "
                                            "again on a fresh connection");
      else
        CAF_MCP_LOG_INFO("post",
                         "POST " << url_of(*c->job)
                                 << ": the reused connection failed ("
                                 << ec.message() << "); not sent again ("
                                 << (c->job->retried ? "already resent"
                                     : c->got_response_bytes()
                                       ? "answer bytes arrived"
                                     : c->written > 0
                                       ? "the request was written and may "
                                         "have run"
                                       : "timeout or cancelled")
                                 << ")");
    }
    return yes;
  }

  void retry(const conn_ptr& c) {
    auto job = std::move(c->job);
    discard(c);
    job->retried = true;
    start(new_conn(), std::move(job));
  }

  void fail_timeout(const conn_ptr& c) {
    fail(c, transport_errc::timeout,
         "POST " + url_of(*c->job) + ": no response within "
           + millis(opts().post_timeout));
  }

  void fail_io(const conn_ptr& c, step where, const error_code& ec) {
    auto& job = *c->job;
    if (is_timeout(ec))
      return fail_timeout(c);
    fail(c, classify(where, ec),
         step_message(where, url_of(job), ec, false, opts().post_timeout));
  }

  /// Failures of single POSTs are logged at info, not warn: the caller
  /// gets each one as its error, and a server that stops answering would
  /// otherwise fill a long-running node's log with one line per call.
  void fail(const conn_ptr& c, transport_errc code, std::string message) {
    auto r = error_result(code, std::move(message));
    r.error.request_sent = c->written > 0 || c->got_response_bytes();
    CAF_MCP_LOG_INFO("post", "failed (" << to_string(code) << ", request "
                                        << (r.error.request_sent ? "sent"
                                                                 : "not sent")
                                        << "): " << r.error.message);
    finish(c, std::move(r), false);
  }

  static post_result error_result(transport_errc code, std::string message) {
    post_result r;
    r.error = make_error(code, std::move(message));
    return r;
  }

  void finish(const conn_ptr& c, post_result r, bool reusable) {
    // No operation that uses the job's buffers is pending on `c` here, so
    // the job may go; so does everything the exchange needed.
    auto job = std::move(c->job);
    c->pass_body = false;
    c->parser.reset();
    std::string{}.swap(c->head);
    std::string{}.swap(c->pending);
    std::string{}.swap(c->excerpt);
    if (reusable) {
      c->link->release_buffer(); // https: empty here
      c->idled = true;
      idle_.push_back(c);
      arm_wait(c); // the idle watch (http: also the next response's wait)
    } else {
      discard(c);
    }
    dispatch();
    job->complete(std::move(r));
  }

  void discard(const conn_ptr& c) {
    c->link->close();
    conns_.erase(std::remove(conns_.begin(), conns_.end(), c), conns_.end());
    idle_.erase(std::remove(idle_.begin(), idle_.end(), c), idle_.end());
  }

  // -- deadlines --------------------------------------------------------------

  /// Makes the timer fire no later than `at`.
  void arm_deadline(clock_type::time_point at) {
    if (timer_armed_ && timer_at_ <= at)
      return;
    timer_armed_ = true;
    timer_at_ = at;
    timer_.expires_at(at); // a pending wait ends with operation_aborted
    timer_.async_wait(long_lived([self = shared_from_this()](error_code ec) {
      if (ec != net::error::operation_aborted)
        self->on_deadline();
    }));
  }

  /// Closes the connections of expired jobs (their next completion fails
  /// them with `timeout`), fails expired queued jobs and re-arms for the
  /// earliest deadline left.
  void on_deadline() {
    timer_armed_ = false;
    if (closed_)
      return;
    CAF_MCP_LOG(log::level::trace, "post", "deadline timer fired");
    auto now = clock_type::now();
    auto next = clock_type::time_point::max();
    for (auto& c : conns_) {
      if (!c->job || c->expired)
        continue;
      auto deadline = c->job->deadline;
      if (!c->link->open()) {
        // Connecting: the link's own deadline (never later) ends it.
        if (deadline > now)
          next = std::min(next, deadline);
        continue;
      }
      if (deadline <= now) {
        c->expired = true;
        c->link->close();
      } else {
        next = std::min(next, deadline);
      }
    }
    dispatch();
    queue_.for_each(
      [&](const post_job& job) { next = std::min(next, job.deadline); });
    if (next != clock_type::time_point::max())
      arm_deadline(next);
  }

  void do_close(const char* why) {
    if (closed_)
      return;
    closed_ = true;
    CAF_MCP_LOG_DEBUG("post", origin_->redacted("/") << ": channel closed ("
                                                     << why << ")");
    timer_.cancel();
    auto conns = std::move(conns_);
    conns_.clear();
    idle_.clear();
    // Close the sockets before any job lets go of its buffers; the jobs
    // themselves stay in their connections until the aborted operations
    // have completed.
    for (auto& c : conns)
      c->link->close();
    for (auto& c : conns)
      if (c->job)
        c->job->cancel("POST " + url_of(*c->job) + ": " + why);
    while (!queue_.empty()) {
      auto job = queue_.pop();
      job->cancel("POST " + url_of(*job) + ": " + why);
    }
  }

  /// Declared first: the io_context outlives every Asio object below.
  context_ptr ctx_;
  executor_type ex_;
  std::shared_ptr<const origin_info> origin_;
  /// The deadline timer: armed for `timer_at_` while `timer_armed_`.
  timer_type timer_;
  clock_type::time_point timer_at_;
  size_t max_conns_;
  job_queue queue_;
  std::vector<conn_ptr> conns_;
  std::vector<conn_ptr> idle_;
  bool timer_armed_ = false;
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

  using post_channel::post;

  void post(std::string target, std::string body, header_list extra,
            std::function<void(post_result)> done,
            bool may_resend) override {
    auto job = std::make_unique<post_job>();
    job->target = std::move(target);
    job->body = std::move(body);
    job->extra = std::move(extra);
    job->done = std::move(done);
    job->may_resend = may_resend;
    job->deadline = clock_type::now() + impl_->opts().post_timeout;
    impl_->post(std::move(job));
  }

  void request(std::string method, std::string target, std::string body,
               header_list extra, std::shared_ptr<response_handler> handler,
               std::function<void(post_result)> done, bool may_resend,
               std::chrono::milliseconds timeout) override {
    auto job = std::make_unique<post_job>();
    job->method = std::move(method);
    job->target = std::move(target);
    job->body = std::move(body);
    job->extra = std::move(extra);
    job->handler = std::move(handler);
    job->done = std::move(done);
    job->may_resend = may_resend;
    job->deadline = clock_type::now()
                    + (timeout.count() > 0 ? timeout
                                           : impl_->opts().post_timeout);
    impl_->post(std::move(job));
  }

  void close() override {
    impl_->close();
  }

  void preconnect() override {
    impl_->preconnect();
  }

private:
  std::shared_ptr<channel_impl> impl_;
};

} // namespace

std::shared_ptr<post_channel>
make_post_channel(io_runtime& rt, const parsed_url& origin,
                  const http_options& opts, size_t thread) {
  auto ctx = context_of(rt, thread);
  auto impl = std::make_shared<channel_impl>(ctx, origin, opts);
  ctx->add_member(impl);
  return std::make_shared<post_channel_handle>(std::move(impl));
}

} // namespace caf_mcp::transport
