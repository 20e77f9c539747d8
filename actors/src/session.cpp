#include "caf_mcp/actors/session.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json/value.hpp>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf_mcp/actors/session_stream.hpp"
#include "caf_mcp/actors/streamable_transport.hpp"
#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/log.hpp"

namespace caf_mcp {

namespace {

using self_ptr = session_impl_actor::stateful_pointer<session_state>;

/// The tag of the note "no POST is in flight any more" (post_sink's
/// when_idle) that ends the wait after a lost stream. Request tags are
/// JSON-RPC ids; other POSTs count up from notification_tag_bit + 1.
constexpr uint64_t posts_idle_tag = notification_tag_bit;

/// The flag bits a POST tag may carry above a request id.
constexpr uint64_t tag_flags = ack_tag_bit | notification_tag_bit
                               | resend_ok_tag_bit;

/// Counts one more in `st.stats` (and in the config's totals, if any).
void count(session_state& st, uint64_t session_stats::*field,
           std::atomic<uint64_t> session_counters::*total) {
  ++(st.stats.*field);
  if (st.cfg && st.cfg->totals)
    ((*st.cfg->totals).*total).fetch_add(1, std::memory_order_relaxed);
}

/// The name of the server in messages and logs: its configured name, or
/// its redacted URL.
std::string display_name(const session_config& cfg) {
  if (cfg.server_name.empty())
    return transport::redact(cfg.sse_url);
  if (cfg.server_name.find("://") != std::string::npos)
    return transport::redact(cfg.server_name);
  return cfg.server_name;
}

/// `reason` as a connection_lost error (as it is, if it is one already:
/// no "connection_lost: connection_lost: ...").
caf::error as_connection_lost(const caf::error& reason) {
  mcp_errc code{};
  if (get_mcp_errc(reason, code) && code == mcp_errc::connection_lost)
    return reason;
  return caf::make_error(mcp_errc::connection_lost, render(reason));
}

/// Room for a JSON-RPC envelope around method and params (encoded straight
/// into the body that is POSTed: no scratch buffer kept per session).
constexpr size_t envelope_size = 64;

/// An empty POST body with room for the envelope and `payload` bytes.
std::string make_body(size_t payload) {
  std::string body;
  body.reserve(envelope_size + payload);
  return body;
}

/// Connections a Streamable HTTP session may open at least (see
/// connect_with).
constexpr size_t streamable_min_connections = 64;

/// Longest wait for the outcomes of POSTs in flight when the stream ended.
constexpr auto drain_limit = std::chrono::milliseconds{500};
using time_point = caf::actor_clock::time_point;

/// The protocol version that introduced the MCP-Protocol-Version header.
constexpr std::string_view header_version = protocol_version_2025_06_18;

std::string ms_text(caf::timespan d) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(d).count())
         + " ms";
}

caf::timespan effective(caf::timespan x, caf::timespan fallback) {
  return x.count() > 0 ? x : fallback;
}

/// Posts a JSON-RPC body through the sink, or through the connection if
/// it gave none.
void post(self_ptr self, uint64_t tag, std::string body) {
  auto& st = self->state;
  if (st.sink)
    st.sink->post(tag, std::move(body));
  else
    self->send(st.conn, post_atom::value, tag, std::move(body));
}

/// Like `post`, with a call's own headers (`call_options::headers`).
/// The test seam's connection gets no headers (it has no HTTP).
void post(self_ptr self, uint64_t tag, std::string body,
          const std::vector<std::pair<std::string, std::string>>& headers) {
  auto& st = self->state;
  if (headers.empty() || !st.sink)
    post(self, tag, std::move(body));
  else
    st.sink->post_with_headers(tag, std::move(body), headers);
}

/// The first of a call's own headers that may not be sent, as an error
/// (`invalid_argument`, naming the header, never its value); none if all
/// may (the same rule as the CLI's -H).
caf::error check_call_headers(const call_options& opts) {
  for (auto& h : opts.headers) {
    auto why = transport::check_header(h.first, h.second);
    if (!why.empty())
      return caf::make_error(mcp_errc::invalid_argument,
                             "call header refused: " + std::move(why));
  }
  return caf::error{};
}

/// Sends a request and registers its callbacks. `params_json` may be empty.
/// `resend_ok`: the POST may go out once more on a fresh connection even
/// if it was fully written when a reused connection broke (requests that
/// change nothing on the server: initialize, listings, pings).
int64_t send_request(self_ptr self, std::string_view method,
                     std::string_view params_json, const call_options& opts,
                     std::function<void(boost::json::value&)> on_result,
                     std::function<void(const caf::error&)> on_error,
                     int64_t id = 0, bool resend_ok = false) {
  auto& st = self->state;
  if (id == 0)
    id = st.next_id++;
  auto now = self->clock().now();
  pending_request req;
  req.method = std::string{method};
  req.on_result = std::move(on_result);
  req.on_error = std::move(on_error);
  req.started = now;
  req.timeout = effective(opts.timeout, st.cfg->request_timeout);
  auto req_timeout = req.timeout;
  req.deadline = now + req.timeout;
  req.hard_deadline = now
                      + std::max(req.timeout,
                                 effective(opts.max_timeout,
                                           st.cfg->max_request_timeout));
  req.listener = opts.listener;
  st.pending.emplace(id, std::move(req));
  auto body = make_body(method.size() + params_json.size());
  encode_request_into(body, request_id{id}, method, params_json);
  count(st, &session_stats::requests_sent, &session_counters::requests_sent);
  auto tag = static_cast<uint64_t>(id);
  if (resend_ok)
    tag |= resend_ok_tag_bit;
  post(self, tag, std::move(body), opts.headers);
  // One timer for all deadlines: requests mostly share one timeout, so a
  // new one rarely comes due before the armed time and moves nothing.
  st.deadlines.arm_no_later(now + req_timeout);
  return id;
}

void send_notification(self_ptr self, std::string_view method,
                       std::string_view params_json, uint64_t tag) {
  auto body = make_body(method.size() + params_json.size());
  encode_notification_into(body, method, params_json);
  post(self, tag | resend_ok_tag_bit, std::move(body));
}

/// Closes the stream (or tells the test seam's connection to go). A
/// Streamable HTTP session is ended on the server too (DELETE), unless
/// `reason` says the server no longer knows it.
void close_transport(self_ptr self, const caf::error& reason = caf::error{}) {
  auto& st = self->state;
  if (auto stream = std::move(st.stream))
    stream->close();
  if (auto t = std::move(st.shttp)) {
    mcp_errc code{};
    auto gone = get_mcp_errc(reason, code) && code == mcp_errc::session_expired;
    t->close(!gone);
  }
  if (st.conn)
    self->send(st.conn, caf::close_atom::value);
}

/// Fails everything and quits with `reason`. Pending calls get
/// `pending_error`, init waiters and queued calls get `reason`.
void shut_down(self_ptr self, caf::error reason, caf::error pending_error) {
  auto& st = self->state;
  if (st.phase == session_phase::closed) {
    self->quit(std::move(reason));
    return;
  }
  if (st.cfg && st.cfg->transport == session_transport::automatic
      && st.phase != session_phase::ready)
    // Failed before it was ready: the server may now speak the other
    // transport; the next session detects again.
    st.cfg->detected->found.store(0, std::memory_order_relaxed);
  st.phase = session_phase::closed;
  st.failure = reason;
  st.deadlines.cancel();
  st.endpoint_wait.cancel();
  st.drain_wait.cancel();
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": session closed (" << render(reason)
                                << "); " << st.pending.size()
                                << " pending requests fail");
  for (auto& rp : st.init_waiters)
    rp.deliver(reason);
  st.init_waiters.clear();
  auto queued = std::move(st.queued);
  st.queued.clear();
  for (auto& q : queued)
    q.fail(reason);
  auto pending = std::move(st.pending);
  st.pending.clear();
  for (auto& kvp : pending)
    kvp.second.on_error(pending_error);
  close_transport(self, reason);
  self->quit(std::move(reason));
}

void fail_session(self_ptr self, caf::error reason) {
  auto ctx = render(reason);
  shut_down(self, reason,
            caf::make_error(mcp_errc::connection_lost,
                            "session ended: " + std::move(ctx)));
}

void relist_and_notify(self_ptr self);

void finish_ready(self_ptr self);

/// Longest wait for the standalone GET's answer before a Streamable HTTP
/// session becomes ready without it.
constexpr auto listen_wait = std::chrono::seconds{5};

void become_ready(self_ptr self) {
  auto& st = self->state;
  if (st.shttp) {
    // The optional GET stream first: servers send requests that belong to
    // no call (elicitation, sampling) on it only, so a call made before it
    // is open could wait for an answer that was lost. Ready once the GET
    // has its answer (open, or none), at most `listen_wait` later.
    st.awaiting_listen = true;
    st.shttp->listen();
    self->delayed_send(self, listen_wait, post_done_atom::value,
                       post_outcome{listen_settled_tag, caf::error{}});
    return;
  }
  finish_ready(self);
}

void finish_ready(self_ptr self) {
  auto& st = self->state;
  st.awaiting_listen = false;
  st.phase = session_phase::ready;
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": ready (protocol "
                                << st.init.protocol_version << ", transport "
                                << to_string(st.effective) << ")");
  if (st.relist_when_ready) {
    st.relist_when_ready = false;
    relist_and_notify(self);
  }
  for (auto& rp : st.init_waiters)
    rp.deliver(st.init);
  st.init_waiters.clear();
  auto queued = std::move(st.queued);
  st.queued.clear();
  for (auto& q : queued)
    q.run();
}

/// Runs `run` now if ready, queues it while connecting, fails it if closed.
template <class Promise>
void when_ready(self_ptr self, Promise rp, std::function<void()> run) {
  auto& st = self->state;
  if (st.draining) {
    // Not sent: the stream is gone. A supervisor sends it again.
    rp.deliver(caf::make_error(mcp_errc::not_initialized,
                               "the session's stream ended; the call was not "
                               "sent"));
    return;
  }
  switch (st.phase) {
    case session_phase::ready:
      if (st.pending.size() >= st.cfg->max_in_flight) {
        rp.deliver(caf::make_error(mcp_errc::queue_full,
                                   std::to_string(st.pending.size())
                                     + " requests already in flight to "
                                     + display_name(*st.cfg)
                                     + " (max_in_flight)"));
        return;
      }
      run();
      return;
    case session_phase::closed:
      rp.deliver(st.failure ? st.failure
                            : caf::make_error(mcp_errc::closed,
                                              "the session is closed"));
      return;
    default:
      if (st.queued.size() >= st.cfg->max_queued_calls) {
        rp.deliver(caf::make_error(mcp_errc::queue_full,
                                   "session not ready and "
                                     + std::to_string(st.queued.size())
                                     + " calls already waiting"));
        return;
      }
      st.queued.push_back(queued_call{
        std::move(run), [rp](const caf::error& err) mutable {
          rp.deliver(err);
        }});
  }
}

// -- tools/list ---------------------------------------------------------------

using list_done = std::function<void(caf::expected<std::vector<tool>>)>;

/// What a listing collected so far.
struct list_acc {
  std::vector<tool> tools;
  /// Bytes of names, titles, descriptions, schemas and annotations.
  size_t bytes = 0;
};

size_t tool_bytes(const tool& t) {
  return t.name.size() + (t.title ? t.title->size() : 0)
         + (t.description ? t.description->size() : 0)
         + t.input_schema.size() + t.output_schema.size()
         + t.annotations.size() + t.meta.size();
}

/// Every page of a listing shares the listing's deadline.
void list_page(self_ptr self, std::string cursor,
               std::shared_ptr<list_acc> acc, size_t page,
               caf::actor_clock::time_point deadline, list_done done) {
  std::string params;
  if (!cursor.empty()) {
    params = "{\"cursor\":";
    append_json_string(params, cursor);
    params += '}';
  }
  call_options opts;
  opts.timeout = std::max(caf::timespan{1},
                          caf::timespan{deadline - self->clock().now()});
  send_request(
    self, methods::tools_list, params, opts,
    [self, acc, page, deadline, done](boost::json::value& v) {
      auto& cfg = *self->state.cfg;
      auto over = [&](bool too_many_tools) {
        auto err = caf::make_error(
          mcp_errc::limit_exceeded,
          "tools/list of " + display_name(cfg) + ": more than "
            + (too_many_tools
                 ? std::to_string(cfg.max_tools) + " tools (max_tools)"
                 : std::to_string(cfg.max_tools_bytes)
                     + " bytes of tool descriptions (max_tools_bytes)"));
        CAF_MCP_LOG_WARN("session", render(err));
        done(std::move(err));
      };
      // A page with too many tools fails before it is converted.
      if (auto obj = v.if_object())
        if (auto arr = obj->if_contains("tools"))
          if (arr->is_array()
              && acc->tools.size() + arr->get_array().size()
                   > cfg.max_tools)
            return over(true);
      list_tools_result res;
      if (auto err = from_json(v, res)) {
        done(std::move(err));
        return;
      }
      for (auto& t : res.tools) {
        acc->bytes += tool_bytes(t);
        acc->tools.emplace_back(std::move(t));
      }
      if (acc->tools.size() > cfg.max_tools
          || acc->bytes > cfg.max_tools_bytes)
        return over(acc->tools.size() > cfg.max_tools);
      if (res.next_cursor && !res.next_cursor->empty()) {
        if (page + 1 >= self->state.cfg->max_list_pages) {
          done(caf::make_error(mcp_errc::invalid_result,
                               "tools/list: more than "
                                 + std::to_string(page + 1)
                                 + " pages, giving up"));
          return;
        }
        list_page(self, *res.next_cursor, acc, page + 1, deadline, done);
        return;
      }
      auto tools = std::move(acc->tools);
      tools.shrink_to_fit();
      done(std::move(tools));
    },
    [done](const caf::error& err) { done(err); }, 0, true);
}

void list_tools(self_ptr self, const call_options& opts, list_done done) {
  auto timeout = effective(opts.timeout, self->state.cfg->request_timeout);
  list_page(self, {}, std::make_shared<list_acc>(), 0,
            self->clock().now() + timeout, std::move(done));
}

void notify_subscribers(self_ptr self, const caf::message& msg);

/// Lists tools again (tools/list_changed) and tells subscribers. At most
/// one such listing runs; notifications meanwhile make one more listing
/// after it (10,000 notifications in a burst cost two listings, not
/// 10,000).
void relist_and_notify(self_ptr self) {
  auto& st = self->state;
  if (st.relisting) {
    if (st.relist_pending)
      count(st, &session_stats::relists_coalesced,
            &session_counters::relists_coalesced);
    st.relist_pending = true;
    return;
  }
  st.relisting = true;
  list_tools(self, call_options{},
             [self](caf::expected<std::vector<tool>> res) {
               auto& state = self->state;
               state.relisting = false;
               if (state.relist_pending) {
                 // A newer list_changed arrived: this list may be stale.
                 state.relist_pending = false;
                 if (state.phase == session_phase::ready)
                   relist_and_notify(self);
                 return;
               }
               if (res)
                 notify_subscribers(
                   self, caf::make_message(tools_changed_atom::value,
                                           state.cfg->server_name,
                                           std::move(*res)));
             });
}

// -- initialize ---------------------------------------------------------------

void on_initialize_result(self_ptr self, boost::json::value& v) {
  auto& st = self->state;
  initialize_result res;
  if (auto err = from_json(v, res)) {
    fail_session(self, std::move(err));
    return;
  }
  if (!is_supported_protocol_version(res.protocol_version)) {
    fail_session(self,
                 caf::make_error(mcp_errc::unsupported_protocol_version,
                                 "server chose protocol version \""
                                   + res.protocol_version
                                   + "\"; we speak 2024-11-05, 2025-03-26, "
                                     "2025-06-18 and 2025-11-25"));
    return;
  }
  st.init = std::move(res);
  if (st.probing) {
    st.probing = false;
    st.cfg->detected->found.store(
      static_cast<uint8_t>(session_transport::streamable_http) + 1,
      std::memory_order_relaxed);
    CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                  << ": detected Streamable HTTP");
  }
  if (st.init.protocol_version >= header_version)
  {
    if (st.sink)
      st.sink->set_header("MCP-Protocol-Version", st.init.protocol_version);
    else
      self->send(st.conn, header_atom::value,
                 std::string{"MCP-Protocol-Version"}, st.init.protocol_version);
  }
  // Nothing may overtake notifications/initialized: wait for its POST.
  st.initialized_tag = ack_tag_bit | ++st.next_tag;
  send_notification(self, methods::initialized, {}, st.initialized_tag);
}

/// True if `err`, the answer to a Streamable HTTP `initialize` POST, says
/// the server is an older one (the spec's backwards-compatibility rule: a
/// 4xx such as 404 or 405). 401, 403 and 429 have codes of their own and
/// would be the same on the SSE URL.
bool falls_back_to_sse(const caf::error& err) {
  mcp_errc code{};
  return get_mcp_errc(err, code)
         && (code == mcp_errc::http_status
             || code == mcp_errc::bad_content_type);
}

void open_sse_transport(self_ptr self);

/// Detection found an older server: the same URL as an SSE stream.
void fall_back_to_sse(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.probing = false;
  st.cfg->detected->found.store(static_cast<uint8_t>(session_transport::sse)
                                  + 1,
                                std::memory_order_relaxed);
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": POST initialize refused ("
                                << render(err) << "); trying HTTP+SSE");
  if (auto t = std::move(st.shttp))
    t->close(false);
  st.sink = nullptr;
  st.phase = session_phase::connecting;
  st.effective = session_transport::sse;
  open_sse_transport(self);
  st.endpoint_wait.arm_in(st.cfg->endpoint_timeout);
}

void start_initialize(self_ptr self) {
  auto& st = self->state;
  st.phase = session_phase::initializing;
  initialize_params params;
  params.protocol_version = st.cfg->protocol_version;
  params.capabilities = st.cfg->capabilities;
  if (!st.cfg->roots.empty())
    params.capabilities.roots = true;
  params.client_info = st.cfg->client_info;
  std::string json;
  append_json(json, params);
  send_request(
    self, methods::initialize, json, call_options{},
    [self](boost::json::value& v) { on_initialize_result(self, v); },
    [self](const caf::error& err) {
      if (self->state.probing && falls_back_to_sse(err))
        return fall_back_to_sse(self, err);
      fail_session(self, err);
    },
    0, true);
}

// -- inbound ------------------------------------------------------------------

void respond(self_ptr self, const request_id& id, std::string_view result) {
  auto& st = self->state;
  auto body = make_body(result.size());
  encode_response_into(body, id, result);
  post(self, ++st.next_tag | resend_ok_tag_bit, std::move(body));
}

void respond_error(self_ptr self, const request_id& id, int64_t code,
                   std::string_view message) {
  auto& st = self->state;
  auto body = make_body(message.size());
  encode_error_into(body, id, code, message);
  post(self, ++st.next_tag | resend_ok_tag_bit, std::move(body));
}

void on_server_request(self_ptr self, request& req) {
  auto& st = self->state;
  count(st, &session_stats::server_requests,
        &session_counters::server_requests);
  if (req.method == methods::ping) {
    respond(self, req.id, "{}");
    return;
  }
  if (req.method == methods::roots_list && !st.cfg->roots.empty()) {
    list_roots_result res;
    res.roots = st.cfg->roots;
    std::string json;
    append_json(json, res);
    respond(self, req.id, json);
    return;
  }
  if (st.cfg->server_request_handler) {
    auto params = req.params ? to_json_text(*req.params) : std::string{};
    auto id = req.id;
    self
      ->request(st.cfg->server_request_handler, st.cfg->request_timeout,
                request_atom::value, req.method, std::move(params),
                call_options{})
      .then(
        [self, id, method = req.method](std::string& result) {
          if (self->state.phase == session_phase::closed)
            return;
          // A result is a JSON object: anything else would make us send
          // the server a malformed response.
          if (auto err = check_json_object_text(result)) {
            CAF_MCP_LOG_WARN("session", "the handler of server request "
                                          << method
                                          << " returned no JSON object: "
                                          << render(err));
            respond_error(self, id, jsonrpc_code::internal_error,
                          "the client's handler returned an invalid "
                          "result");
            return;
          }
          respond(self, id, result);
        },
        [self, id](caf::error& err) {
          if (self->state.phase == session_phase::closed)
            return;
          respond_error(self, id, jsonrpc_code::internal_error,
                        render(err));
        });
    return;
  }
  respond_error(self, req.id, jsonrpc_code::method_not_found,
                "Method not found: " + req.method);
}

void on_progress(self_ptr self, const notification& note) {
  auto& st = self->state;
  if (!note.params)
    return;
  progress_params params;
  if (from_json(*note.params, params))
    return;
  if (!params.progress_token.is_integer())
    return;
  auto it = st.pending.find(params.progress_token.integer());
  if (it == st.pending.end())
    return;
  auto& req = it->second;
  auto now = self->clock().now();
  req.deadline = std::min(now + req.timeout, req.hard_deadline);
  if (req.listener)
    caf::anon_send(req.listener, progress_atom::value, std::move(params));
}

void notify_subscribers(self_ptr self, const caf::message& msg) {
  // Subscribers are dynamically typed (a typed actor may not `send` to
  // them), but they learn who sent it: a supervisor takes tool lists and
  // logs only from its current session.
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : self->state.subscribers)
    caf::send_as(me, sub, msg);
}

void on_notification(self_ptr self, notification& note) {
  auto& st = self->state;
  count(st, &session_stats::notifications, &session_counters::notifications);
  if (note.method == methods::progress) {
    on_progress(self, note);
  } else if (note.method == methods::message) {
    logging_message_params params;
    if (note.params && !from_json(*note.params, params))
      notify_subscribers(self, caf::make_message(log_atom::value,
                                                 st.cfg->server_name,
                                                 std::move(params)));
  } else if (note.method == methods::tools_list_changed) {
    if (st.phase == session_phase::initializing) {
      // Servers send it right after `initialized`, and its event may beat
      // the POST's 202: re-list once ready.
      st.relist_when_ready = true;
      return;
    }
    if (st.phase != session_phase::ready)
      return;
    relist_and_notify(self);
  }
  // Other notifications (cancelled, resources, prompts) are ignored.
}

void on_response(self_ptr self, const request_id& id,
                 boost::json::value* result, const caf::error* err) {
  auto& st = self->state;
  if (!id.is_integer()) {
    count(st, &session_stats::unknown_responses,
          &session_counters::unknown_responses);
    return;
  }
  auto it = st.pending.find(id.integer());
  if (it == st.pending.end()) {
    count(st, &session_stats::unknown_responses,
          &session_counters::unknown_responses);
    CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg)
                                   << ": response to unknown id "
                                   << id.integer() << " dropped");
    return;
  }
  auto req = std::move(it->second);
  st.pending.erase(it);
  count(st, &session_stats::responses, &session_counters::responses);
  if (result != nullptr)
    req.on_result(*result);
  else
    req.on_error(*err);
}

void on_inbound(self_ptr self, inbound_batch& batch) {
  auto& st = self->state;
  for (auto& msg : batch.messages) {
    if (st.phase == session_phase::closed)
      return;
    if (auto req = std::get_if<request>(&msg)) {
      on_server_request(self, *req);
    } else if (auto note = std::get_if<notification>(&msg)) {
      on_notification(self, *note);
    } else if (auto res = std::get_if<response>(&msg)) {
      on_response(self, res->id, &res->result, nullptr);
    } else if (auto err = std::get_if<error_response>(&msg)) {
      if (!err->id) {
        count(st, &session_stats::malformed_messages,
              &session_counters::malformed_messages);
        continue;
      }
      auto e = to_error(*err);
      on_response(self, *err->id, nullptr, &e);
    }
  }
  for (auto& derr : batch.errors) {
    count(st, &session_stats::malformed_messages,
          &session_counters::malformed_messages);
    if (derr.id) {
      auto e = to_error(derr);
      on_response(self, *derr.id, nullptr, &e);
    }
  }
}

/// Fails one request whose deadline passed.
void expire(self_ptr self, int64_t id, time_point now) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end())
    return;
  auto req = std::move(it->second);
  st.pending.erase(it);
  count(st, &session_stats::timeouts, &session_counters::timeouts);
  auto err = caf::make_error(mcp_errc::timeout,
                             req.method + " (id " + std::to_string(id)
                               + ") got no response within "
                               + ms_text(now - req.started));
  if (req.method == methods::initialize) {
    fail_session(self, err);
    return;
  }
  CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg) << ": " << render(err));
  // Tell the server, unless the stream is gone (draining): nobody would
  // read it, and a sink whose stream ended must take no new POSTs.
  if (!st.draining) {
    std::string params = "{\"requestId\":" + std::to_string(id)
                         + ",\"reason\":\"timeout\"}";
    send_notification(self, methods::cancelled, params, ++st.next_tag);
  }
  req.on_error(err);
}

/// The POSTs of a lost stream are all answered, or we waited long enough:
/// the remaining calls fail.
void end_drain(self_ptr self) {
  auto& st = self->state;
  if (!st.draining)
    return;
  st.draining = false;
  auto reason = std::move(st.drain_reason);
  shut_down(self, reason, as_connection_lost(reason));
}

void on_endpoint_timeout(self_ptr self) {
  auto& st = self->state;
  if (st.phase == session_phase::connecting)
    fail_session(self,
                 caf::make_error(mcp_errc::endpoint_timeout,
                                 "no endpoint event from "
                                   + transport::redact(
                                     st.stream_cfg->sse_url.text)
                                   + " within "
                                   + ms_text(st.cfg->endpoint_timeout)));
}

/// The deadline timer fired: fails what is due, re-arms for the rest.
void sweep_deadlines(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::vector<int64_t> expired;
  auto next = time_point::max();
  for (auto& kvp : st.pending) {
    if (now >= kvp.second.deadline)
      expired.push_back(kvp.first);
    else
      next = std::min(next, kvp.second.deadline);
  }
  std::sort(expired.begin(), expired.end());
  for (auto id : expired) {
    if (st.phase == session_phase::closed)
      return;
    expire(self, id, now);
  }
  if (st.phase != session_phase::closed && next != time_point::max())
    st.deadlines.arm_no_later(next);
}

/// Opens the SSE stream or the Streamable HTTP transport, or spawns the
/// test seam's connection actor.
void open_transport(self_ptr self) {
  auto& st = self->state;
  auto owner = caf::actor_cast<session_impl_actor>(self);
  if (st.cfg->make_connection) {
    st.conn = st.cfg->make_connection(self->system(), *st.cfg,
                                      st.stream_cfg->sse_url, owner);
    self->monitor(st.conn);
    return;
  }
  auto kind = st.cfg->transport;
  if (kind == session_transport::automatic) {
    auto found = st.cfg->detected->found.load(std::memory_order_relaxed);
    st.probing = found == 0;
    kind = st.probing ? session_transport::streamable_http
                      : static_cast<session_transport>(found - 1);
  }
  st.effective = kind;
  if (kind == session_transport::streamable_http) {
    // No endpoint to wait for: the URL is the endpoint. initialize goes
    // out at once. Every request in flight holds a connection until its
    // answer is complete (HTTP/1.1 has no multiplexing): as many
    // connections as calls in flight, up to a bound.
    auto sc = std::make_shared<stream_config>(*st.stream_cfg);
    auto http = std::make_shared<transport::http_options>(*sc->http);
    http->max_post_connections = std::max(http->max_post_connections,
                                          streamable_min_connections);
    sc->http = std::move(http);
    streamable_options opts;
    opts.max_response_time = std::chrono::duration_cast<
      std::chrono::milliseconds>(std::max(st.cfg->max_request_timeout,
                                          st.cfg->request_timeout));
    st.shttp = open_streamable_transport(
      std::move(sc), caf::actor_cast<caf::weak_actor_ptr>(self), opts);
    st.sink = st.shttp;
    CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg)
                                   << ": Streamable HTTP; initializing");
    start_initialize(self);
    return;
  }
  open_sse_transport(self);
}

/// Opens the SSE stream; the session waits for its `endpoint` event.
void open_sse_transport(self_ptr self) {
  auto& st = self->state;
  st.stream = open_session_stream(st.stream_cfg,
                                  caf::actor_cast<caf::weak_actor_ptr>(self));
}

void drain_then_end(self_ptr self, caf::error reason);

/// The stream is over (or the test connection died) with `reason`.
void on_stream_end(self_ptr self, caf::error reason) {
  auto& st = self->state;
  st.stream = nullptr;
  st.conn = nullptr;
  if (!reason)
    reason = caf::make_error(mcp_errc::connection_lost,
                             "the connection closed");
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": stream ended: " << render(reason));
  drain_then_end(self, std::move(reason));
}

/// Ends the session with `reason` once the outcomes of the POSTs in flight
/// are known (bounded by `drain_limit`), so calls the server refused fail
/// with the refusal (resent by a supervisor), not `connection_lost`.
void drain_then_end(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.sink && !st.pending.empty() && st.phase != session_phase::closed) {
    // Learn the outcome of POSTs still in flight first (bounded).
    st.draining = true;
    st.drain_reason = std::move(reason);
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
    st.sink->when_idle([weak] {
      if (auto ptr = weak.lock())
        caf::anon_send(caf::actor_cast<session_impl_actor>(ptr),
                       post_done_atom::value,
                       post_outcome{posts_idle_tag, caf::error{}});
    });
    st.drain_wait.arm_in(drain_limit);
    return;
  }
  shut_down(self, reason, as_connection_lost(reason));
}

/// The first header of `hs` that may not be sent, as a reason; "" if none.
std::string first_bad_header(const transport::header_list& hs) {
  for (auto& h : hs)
    if (auto why = transport::check_header(h.first, h.second); !why.empty())
      return why;
  return {};
}

/// Opens the transport of `sc` with the provided headers `extra` on top of
/// the configured ones.
void connect_with(self_ptr self, std::shared_ptr<stream_config> sc,
                  transport::header_list extra) {
  auto& st = self->state;
  if (extra.empty()) {
    // Aliasing: the options stay inside the shared session config.
    sc->http = std::shared_ptr<const transport::http_options>(st.cfg,
                                                              &st.cfg->http);
  } else {
    auto http = std::make_shared<transport::http_options>(st.cfg->http);
    transport::replace_headers(http->headers, std::move(extra));
    sc->http = std::move(http);
  }
  st.stream_cfg = std::move(sc);
  CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg)
                                 << ": connecting to "
                                 << transport::redact(st.cfg->sse_url));
  open_transport(self);
  if (st.effective == session_transport::sse)
    st.endpoint_wait.arm_in(st.cfg->endpoint_timeout);
}

/// Asks `cfg.async_header_provider` for the headers of one connection on
/// behalf of the session `owner` and answers `(get_atom)` with them. The
/// provider's continuation may run on any thread: it only sends a message
/// here (the response promise is delivered in this actor, never from a
/// foreign thread). Quits once it answered, or when the session is gone.
caf::behavior header_fetcher(caf::event_based_actor* self,
                             session_config_ptr cfg, caf::actor_addr owner) {
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  using promise = caf::typed_response_promise<transport::header_list>;
  auto rp = std::make_shared<promise>();
  return {
    [self, cfg, rp](caf::get_atom) -> caf::result<transport::header_list> {
      *rp = self->make_response_promise<transport::header_list>();
      auto me = caf::actor_cast<caf::weak_actor_ptr>(self);
      auto once = std::make_shared<std::atomic<bool>>(false);
      cfg->async_header_provider([me, once](transport::header_list hs) {
        if (once->exchange(true))
          return;
        if (auto ptr = me.lock())
          caf::anon_send(caf::actor_cast<caf::actor>(ptr), header_atom::value,
                         std::move(hs));
      });
      return *rp;
    },
    [self, rp](header_atom, transport::header_list& hs) {
      rp->deliver(std::move(hs));
      self->quit();
    },
  };
}

/// Parses the URL and opens the transport; with a bad URL the session stays
/// in the closed phase and answers every request with the error. With an
/// asynchronous header provider the transport opens when its headers
/// arrive (a message; the session's thread never waits).
void init_session(self_ptr self, session_config_ptr cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto parsed = transport::parse_url(st.cfg->sse_url);
  auto bad_header = first_bad_header(st.cfg->http.headers);
  // Headers of this connection from the provider (a fresh token per
  // (re)connect): they replace configured ones of the same name.
  transport::header_list extra;
  if (st.cfg->header_provider && bad_header.empty()) {
    extra = st.cfg->header_provider();
    bad_header = first_bad_header(extra);
  }
  if (!parsed || !bad_header.empty()) {
    // A header the transport would drop (or that would split the request)
    // is refused, not ignored.
    auto err = caf::make_error(mcp_errc::invalid_argument,
                               !parsed ? "bad SSE URL: " + parsed.message
                                       : bad_header);
    // Stay alive in the closed phase: every request is answered with this
    // error (quitting here would leave callers with CAF's generic
    // "receiver down" instead of our code). A close message ends it.
    st.phase = session_phase::closed;
    st.failure = std::move(err);
    return;
  }
  auto sc = std::make_shared<stream_config>();
  sc->sse_url = std::move(parsed.url);
  sc->io = st.cfg->io ? st.cfg->io : shared_io_runtime();
  if (!st.cfg->async_header_provider)
    return connect_with(self, std::move(sc), std::move(extra));
  // Requests queue meanwhile, as while connecting.
  st.stream_cfg = sc;
  auto fetcher = self->system().spawn(header_fetcher, st.cfg,
                                      self->address());
  auto limit = st.cfg->endpoint_timeout;
  self->request(fetcher, limit, caf::get_atom::value)
    .then(
      [self, sc, extra](transport::header_list& more) mutable {
        if (self->state.phase != session_phase::connecting)
          return; // closed meanwhile
        if (auto why = first_bad_header(more); !why.empty())
          return fail_session(self, caf::make_error(mcp_errc::invalid_argument,
                                                    std::move(why)));
        transport::replace_headers(extra, std::move(more));
        connect_with(self, std::move(sc), std::move(extra));
      },
      [self, limit](caf::error& err) {
        if (self->state.phase != session_phase::connecting)
          return;
        CAF_MCP_LOG_INFO("session", display_name(*self->state.cfg)
                                      << ": no connection headers: "
                                      << render(err));
        fail_session(self,
                     caf::make_error(mcp_errc::endpoint_timeout,
                                     "the header provider did not answer "
                                     "within "
                                       + ms_text(limit)));
      });
}

caf::result<std::vector<tool>> list_request(self_ptr self,
                                            const call_options& opts) {
  auto rp = self->make_response_promise<std::vector<tool>>();
  when_ready(self, rp, [self, rp, opts]() mutable {
    list_tools(self, opts,
               [rp](caf::expected<std::vector<tool>> res) mutable {
                 if (res)
                   rp.deliver(std::move(*res));
                 else
                   rp.deliver(res.error());
               });
  });
  return rp;
}

caf::result<caf::timespan> ping_request(self_ptr self,
                                        const call_options& opts) {
  auto rp = self->make_response_promise<caf::timespan>();
  when_ready(self, rp, [self, rp, opts]() mutable {
    auto started = self->clock().now();
    call_options o;
    o.timeout = opts.timeout;
    send_request(
      self, methods::ping, {}, o,
      [self, rp, started](boost::json::value&) mutable {
        rp.deliver(caf::timespan{self->clock().now() - started});
      },
      [rp](const caf::error& err) mutable { rp.deliver(err); }, 0, true);
  });
  return rp;
}

} // namespace

const char* to_string(session_transport x) noexcept {
  switch (x) {
    case session_transport::sse:
      return "sse";
    case session_transport::streamable_http:
      return "streamable_http";
    case session_transport::automatic:
      return "auto";
  }
  return "?";
}

bool from_string(std::string_view text, session_transport& out) noexcept {
  if (text == "sse") {
    out = session_transport::sse;
    return true;
  }
  if (text == "auto") {
    out = session_transport::automatic;
    return true;
  }
  if (text == "streamable_http" || text == "http" || text == "streamable-http"
      || text == "streamableHttp") {
    out = session_transport::streamable_http;
    return true;
  }
  return false;
}

session_stats session_counters::snapshot() const noexcept {
  session_stats x;
  auto get = [](const std::atomic<uint64_t>& n) {
    return n.load(std::memory_order_relaxed);
  };
  x.requests_sent = get(requests_sent);
  x.responses = get(responses);
  x.unknown_responses = get(unknown_responses);
  x.malformed_messages = get(malformed_messages);
  x.notifications = get(notifications);
  x.server_requests = get(server_requests);
  x.timeouts = get(timeouts);
  x.relists_coalesced = get(relists_coalesced);
  return x;
}

std::string summary(const session_stats& x) {
  std::string out;
  auto add = [&out](const char* key, uint64_t value) {
    if (!out.empty())
      out += ' ';
    out += key;
    out += '=';
    out += std::to_string(value);
  };
  add("requests_sent", x.requests_sent);
  add("responses", x.responses);
  add("unknown_responses", x.unknown_responses);
  add("malformed_messages", x.malformed_messages);
  add("notifications", x.notifications);
  add("server_requests", x.server_requests);
  add("timeouts", x.timeouts);
  add("relists_coalesced", x.relists_coalesced);
  return out;
}

session_state::~session_state() {
  if (stream)
    stream->close();
  if (cfg)
    CAF_MCP_LOG_INFO("session", display_name(*cfg) << ": stats: "
                                                   << summary(stats));
}

session_impl_actor::behavior_type
session(session_impl_actor::stateful_pointer<session_state> self,
        session_config_ptr cfg) {
  self->state.deadlines.init(self, [self] { sweep_deadlines(self); });
  self->state.endpoint_wait.init(self, [self] { on_endpoint_timeout(self); });
  self->state.drain_wait.init(self, [self] { end_drain(self); });
  init_session(self, std::move(cfg));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.subscribers.on_down(msg.source))
      return;
    if (st.conn && msg.source == st.conn.address())
      on_stream_end(self, std::move(msg.reason));
  });
  return {
    [self](init_atom) -> caf::result<initialize_result> {
      auto& st = self->state;
      switch (st.phase) {
        case session_phase::ready:
          return st.init;
        case session_phase::closed:
          return st.failure;
        default: {
          auto rp = self->make_response_promise<initialize_result>();
          st.init_waiters.push_back(rp);
          return rp;
        }
      }
    },
    [self](list_atom) -> caf::result<std::vector<tool>> {
      return list_request(self, call_options{});
    },
    [self](list_atom, call_options& opts) -> caf::result<std::vector<tool>> {
      return list_request(self, opts);
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      if (!args.empty())
        if (auto err = check_json_object_text(args))
          return err;
      if (!opts.headers.empty())
        if (auto err = check_call_headers(opts))
          return err;
      auto rp = self->make_response_promise<call_tool_result>();
      when_ready(self, rp, [self, rp, name = std::move(name),
                            args = std::move(args), opts]() mutable {
        auto id = self->state.next_id++;
        call_tool_params params;
        params.name = std::move(name);
        params.arguments = std::move(args);
        if (opts.listener)
          params.progress_token = request_id{id};
        std::string json;
        append_json(json, params);
        send_request(
          self, methods::tools_call, json, opts,
          [rp](boost::json::value& v) mutable {
            call_tool_result res;
            if (auto err = from_json(v, res))
              rp.deliver(std::move(err));
            else
              rp.deliver(std::move(res));
          },
          [rp](const caf::error& err) mutable { rp.deliver(err); }, id,
          false);
      });
      return rp;
    },
    [self](request_atom, std::string& method, std::string& params,
           call_options& opts) -> caf::result<std::string> {
      if (!params.empty())
        if (auto err = check_json_object_text(params))
          return err;
      if (!opts.headers.empty())
        if (auto err = check_call_headers(opts))
          return err;
      auto rp = self->make_response_promise<std::string>();
      when_ready(self, rp, [self, rp, method = std::move(method),
                            params = std::move(params), opts]() mutable {
        send_request(
          self, method, params, opts,
          [rp](boost::json::value& v) mutable {
            rp.deliver(to_json_text(v));
          },
          [rp](const caf::error& err) mutable { rp.deliver(err); }, 0,
          opts.retryable);
      });
      return rp;
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      return ping_request(self, call_options{});
    },
    [self](caf::ping_atom, call_options& opts) -> caf::result<caf::timespan> {
      return ping_request(self, opts);
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      self->state.subscribers.add(self, sub);
    },
    [self](caf::unsubscribe_atom, caf::actor& sub) {
      self->state.subscribers.remove(self, sub.address());
    },
    [self](stats_atom) -> session_stats { return self->state.stats; },
    [self](caf::close_atom) {
      shut_down(self, caf::make_error(mcp_errc::closed, "session closed"),
                caf::make_error(mcp_errc::closed, "session closed"));
    },
    [self](endpoint_atom, std::string& url, post_sink_ptr& sink) {
      auto& st = self->state;
      if (st.phase != session_phase::connecting)
        return;
      st.endpoint_wait.cancel();
      CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg)
                                     << ": endpoint " << url
                                     << "; initializing");
      st.sink = std::move(sink);
      start_initialize(self);
    },
    [self](inbound_atom, inbound_batch& batch) { on_inbound(self, batch); },
    [self](sse_closed_atom, stream_end& end) {
      if (self->state.stream)
        on_stream_end(self, std::move(end.reason));
    },
    [self](post_done_atom, post_outcome& outcome) {
      auto& st = self->state;
      auto tag = outcome.tag & ~resend_ok_tag_bit;
      auto& err = outcome.err;
      if (tag == posts_idle_tag) {
        end_drain(self);
        return;
      }
      if (tag == listen_settled_tag) {
        if (st.awaiting_listen && st.phase == session_phase::initializing)
          finish_ready(self);
        return;
      }
      if (tag == st.initialized_tag && st.phase == session_phase::initializing) {
        if (err)
          fail_session(self, std::move(err));
        else
          become_ready(self);
        return;
      }
      if (!err)
        return;
      mcp_errc code{};
      bool expired = get_mcp_errc(err, code)
                     && code == mcp_errc::session_expired;
      if ((tag & notification_tag_bit) == 0) {
        auto id = static_cast<int64_t>(tag & ~tag_flags);
        auto it = st.pending.find(id);
        if (it != st.pending.end()) {
          auto req = std::move(it->second);
          st.pending.erase(it);
          if (req.method == methods::initialize) {
            // Fails the session (or, while detecting, falls back to SSE).
            req.on_error(err);
            return;
          }
          req.on_error(err);
        }
      }
      if (st.draining)
        return;
      if (st.shttp) {
        // Streamable HTTP has no stream whose end tells that the server is
        // gone: a 404 to a request with our session id says the session
        // is, a refused connection that the server is. Either ends the
        // session once the other POSTs' outcomes are known (their own
        // 404s then fail them as never run).
        if (expired || code == mcp_errc::connection_failed)
          drain_then_end(self, std::move(err));
        return;
      }
      if (expired)
        fail_session(self, std::move(err));
    },
  };
}

} // namespace caf_mcp
