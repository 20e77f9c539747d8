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
#include "caf_mcp/transport/stateless_http.hpp"

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

/// The JSON-RPC code of a `jsonrpc_error` (0 for other errors).
int64_t rpc_code_of(const caf::error& err) {
  mcp_errc code{};
  if (!get_mcp_errc(err, code) || code != mcp_errc::jsonrpc_error)
    return 0;
  auto& ctx = err.context();
  if (ctx.size() > 0 && ctx.match_element<int64_t>(0))
    return ctx.get_as<int64_t>(0);
  return 0;
}

/// The `arguments` member of a params object as JSON text (`{}` if none).
std::string arguments_text(std::string_view params_json) {
  if (params_json.empty())
    return "{}";
  boost::json::error_code ec;
  auto v = parse_json(params_json, ec);
  if (ec || !v.is_object())
    return "{}";
  auto args = v.as_object().if_contains("arguments");
  return args ? to_json_text(*args) : std::string{"{}"};
}

/// Stateless era: the body of request `id` with the `_meta` envelope, and
/// its standard headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`,
/// `Mcp-Param-*` of the tool's mirrored arguments) on top of `headers`
/// (the call's own). `invalid_argument` if the params or a mirrored value
/// cannot be sent so.
caf::error make_stateless_request(self_ptr self, int64_t id,
                                  std::string_view method,
                                  std::string_view params_json,
                                  std::string& body,
                                  transport::header_list& headers) {
  auto& st = self->state;
  auto params = stateless::with_request_meta(params_json, st.meta);
  if (!params)
    return std::move(params.error());
  auto routing = stateless::routing_of(method, *params);
  if (!routing)
    return std::move(routing.error());
  std::vector<std::pair<std::string, std::string>> values;
  if (method == methods::tools_call && routing->name) {
    auto it = st.mirrors.find(*routing->name);
    if (it != st.mirrors.end()) {
      auto vals = stateless::mirrored_values(it->second,
                                             arguments_text(params_json));
      if (!vals)
        return std::move(vals.error());
      values = std::move(*vals);
    }
  }
  std::optional<std::string> name;
  if (routing->name)
    name = std::move(*routing->name);
  transport::replace_headers(
    headers, transport::stateless_request_headers(st.meta.protocol_version,
                                                  method, name, values));
  body = make_body(method.size() + params->size());
  encode_request_into(body, request_id{id}, method, *params);
  return caf::error{};
}

/// Sends a request and registers its callbacks. `params_json` may be empty.
/// `resend_ok`: the POST may go out once more on a fresh connection even
/// if it was fully written when a reused connection broke (requests that
/// change nothing on the server: initialize, listings, pings). A request
/// that cannot be sent (stateless era: bad params) fails at once.
int64_t send_request(self_ptr self, std::string_view method,
                     std::string_view params_json, const call_options& opts,
                     std::function<void(boost::json::value&)> on_result,
                     std::function<void(const caf::error&)> on_error,
                     int64_t id = 0, bool resend_ok = false) {
  auto& st = self->state;
  if (id == 0)
    id = st.next_id++;
  std::string body;
  transport::header_list headers;
  if (st.stateless) {
    headers.assign(opts.headers.begin(), opts.headers.end());
    if (auto err = make_stateless_request(self, id, method, params_json, body,
                                          headers)) {
      on_error(err);
      return id;
    }
  } else {
    body = make_body(method.size() + params_json.size());
    encode_request_into(body, request_id{id}, method, params_json);
  }
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
  if (st.stateless) {
    req.params = std::string{params_json};
    req.headers = opts.headers;
    req.resend_ok = resend_ok;
  }
  st.pending.emplace(id, std::move(req));
  count(st, &session_stats::requests_sent, &session_counters::requests_sent);
  auto tag = static_cast<uint64_t>(id);
  if (resend_ok)
    tag |= resend_ok_tag_bit;
  post(self, tag, std::move(body), st.stateless ? headers : opts.headers);
  // One timer for all deadlines: requests mostly share one timeout, so a
  // new one rarely comes due before the armed time and moves nothing.
  st.deadlines.arm_no_later(now + req_timeout);
  return id;
}

/// Stateless era: sends `req` again under a new id with `params` (a
/// version retry, or the next round of a multi-round-trip request). Its
/// deadlines stay.
void resend(self_ptr self, pending_request req, std::string params) {
  auto& st = self->state;
  auto id = st.next_id++;
  std::string body;
  transport::header_list headers(req.headers.begin(), req.headers.end());
  if (auto err = make_stateless_request(self, id, req.method, params, body,
                                        headers)) {
    req.on_error(err);
    return;
  }
  req.params = std::move(params);
  auto tag = static_cast<uint64_t>(id);
  if (req.resend_ok)
    tag |= resend_ok_tag_bit;
  auto deadline = req.deadline;
  st.pending.emplace(id, std::move(req));
  count(st, &session_stats::requests_sent, &session_counters::requests_sent);
  post(self, tag, std::move(body), headers);
  st.deadlines.arm_no_later(deadline);
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
  if (st.cfg && st.cfg->era == protocol_era::automatic
      && st.phase != session_phase::ready)
    st.cfg->detected->era.store(0, std::memory_order_relaxed);
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
  /// Stateless era: the caching hints of the last page.
  stateless::cache_hints hints;
};

/// The caching hints (`ttlMs`, `cacheScope`) of a result, read by the one
/// rule in messages/stateless.hpp from those two members only (a tool list
/// is not serialized again to read them).
stateless::cache_hints hints_of(const boost::json::value& v) {
  auto obj = v.if_object();
  if (obj == nullptr)
    return {};
  boost::json::object small;
  if (auto ttl = obj->if_contains("ttlMs"))
    small["ttlMs"] = *ttl;
  if (auto scope = obj->if_contains("cacheScope"))
    small["cacheScope"] = *scope;
  if (small.empty())
    return {};
  return stateless::cache_hints_of(to_json_text(small));
}

size_t tool_bytes(const tool& t) {
  return t.name.size() + (t.title ? t.title->size() : 0)
         + (t.description ? t.description->size() : 0)
         + t.input_schema.size() + t.output_schema.size()
         + t.annotations.size() + t.meta.size();
}

/// Stateless era: a complete tool list arrived. Tools with invalid
/// `x-mcp-header` annotations are taken out (the spec: they MUST NOT be
/// listed; a warning names each), the mirrors of the others are kept for
/// their calls' headers, and the list is kept for its `ttlMs`.
void took_stateless_list(self_ptr self, std::vector<tool>& tools,
                         const stateless::cache_hints& hints) {
  auto& st = self->state;
  for (auto& bad : stateless::drop_invalid_tools(
         tools, transport::mirrored_header_name_error))
    CAF_MCP_LOG_WARN("session", display_name(*st.cfg)
                                  << ": tool " << bad.name
                                  << " left out: " << bad.reason);
  st.mirrors.clear();
  for (auto& t : tools) {
    auto ms = stateless::mirrored_parameters(
      t.input_schema, transport::mirrored_header_name_error);
    if (ms && !ms->empty())
      st.mirrors.emplace(t.name, std::move(*ms));
  }
  st.listed = tools;
  st.listed_until = {};
  if (hints.ttl_ms > 0) {
    // At most a day: a hint is no reason to never look again.
    constexpr uint64_t max_ttl_ms = 24 * 3600 * 1000;
    st.listed_until = self->clock().now()
                      + std::chrono::milliseconds{static_cast<int64_t>(
                        std::min(hints.ttl_ms, max_ttl_ms))};
  }
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
      if (self->state.stateless)
        acc->hints = hints_of(v);
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
      if (self->state.stateless)
        took_stateless_list(self, tools, acc->hints);
      done(std::move(tools));
    },
    [done](const caf::error& err) { done(err); }, 0, true);
}

void list_tools(self_ptr self, const call_options& opts, list_done done) {
  auto& st = self->state;
  if (st.stateless && self->clock().now() < st.listed_until) {
    // The server said how long this list stays valid (ttlMs).
    done(st.listed);
    return;
  }
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

/// Transport detection (`automatic`) found Streamable HTTP: remembered
/// for the next sessions of this config.
void remember_streamable(self_ptr self) {
  auto& st = self->state;
  if (!st.probing)
    return;
  st.probing = false;
  st.cfg->detected->found.store(
    static_cast<uint8_t>(session_transport::streamable_http) + 1,
    std::memory_order_relaxed);
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": detected Streamable HTTP");
}

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
  remember_streamable(self);
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

// -- server/discover (stateless MCP 2026-07-28) ---------------------------------

/// Stateless era from now on (or off again, for the handshake).
void set_stateless(self_ptr self, bool on) {
  auto& st = self->state;
  st.stateless = on;
  if (st.shttp)
    st.shttp->set_stateless(on);
}

/// Remembers what the era detection found for the next sessions.
void remember_era(self_ptr self, protocol_era era) {
  auto& st = self->state;
  if (st.cfg->era == protocol_era::automatic)
    st.cfg->detected->era.store(static_cast<uint8_t>(era) + 1,
                                std::memory_order_relaxed);
}

void start_initialize(self_ptr self);
void finish_ready(self_ptr self);

/// True if `err`, the failure of a `server/discover` probe, says that the
/// server is older than 2026-07-28 (streamable-http.mdx "Backward
/// Compatibility"): a 400/404/405 without a modern error, an answer that
/// is not a discover result, a JSON-RPC error other than the modern
/// `-32020`/`-32021`, no common modern version. Authentication, rate
/// limits, unavailability and lost connections are not era answers.
bool legacy_answer(const caf::error& err) {
  mcp_errc code{};
  if (!get_mcp_errc(err, code))
    return false;
  switch (code) {
    case mcp_errc::http_status:
    case mcp_errc::bad_content_type:
    case mcp_errc::outcome_unknown:
    case mcp_errc::invalid_result:
    case mcp_errc::malformed_json:
    case mcp_errc::malformed_jsonrpc:
    case mcp_errc::unsupported_protocol_version:
    case mcp_errc::session_expired:
      return true;
    case mcp_errc::jsonrpc_error: {
      auto rpc = rpc_code_of(err);
      return rpc != stateless::header_mismatch_code
             && rpc != stateless::missing_required_client_capability_code;
    }
    default:
      return false;
  }
}

/// Discovery failed with `err`: a probe falls back to the handshake if the
/// answer says the server is older; otherwise the session fails.
void discover_failed(self_ptr self, caf::error err) {
  auto& st = self->state;
  if (st.era_probing && legacy_answer(err)) {
    st.era_probing = false;
    set_stateless(self, false);
    remember_era(self, protocol_era::handshake);
    CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                  << ": server/discover refused ("
                                  << render(err)
                                  << "); trying the initialize handshake");
    start_initialize(self);
    return;
  }
  fail_session(self, std::move(err));
}

void on_discover_result(self_ptr self, boost::json::value& v) {
  auto& st = self->state;
  auto d = stateless::parse_discover_result(to_json_text(v));
  if (!d)
    return discover_failed(self, std::move(d.error()));
  auto ours = stateless::our_modern_versions();
  auto version = stateless::choose_version(d->supported_versions, ours);
  if (!version) {
    std::string theirs;
    for (auto& x : d->supported_versions)
      theirs += (theirs.empty() ? "" : ", ") + x;
    return discover_failed(
      self, caf::make_error(mcp_errc::unsupported_protocol_version,
                            display_name(*st.cfg) + " supports " + theirs
                              + "; we speak 2026-07-28"));
  }
  st.era_probing = false;
  st.meta.protocol_version = *version;
  st.init = initialize_result{};
  st.init.protocol_version = *version;
  st.init.capabilities = std::move(d->capabilities);
  st.init.server_info = std::move(d->server_info);
  st.init.instructions = std::move(d->instructions);
  remember_era(self, protocol_era::stateless);
  remember_streamable(self);
  finish_ready(self);
}

/// Opens a stateless session: `server/discover` instead of `initialize`.
void start_discover(self_ptr self, bool probe) {
  auto& st = self->state;
  st.phase = session_phase::initializing;
  st.era_probing = probe;
  set_stateless(self, true);
  send_request(
    self, stateless::discover_method, {}, call_options{},
    [self](boost::json::value& v) { on_discover_result(self, v); },
    [self](const caf::error& err) {
      auto& state = self->state;
      if (state.phase != session_phase::initializing)
        return;
      // Detecting the transport too: an older server may speak HTTP+SSE
      // only; the handshake's answer decides that.
      if (!state.era_probing
          && rpc_code_of(err) == jsonrpc_code::method_not_found) {
        // A modern server without discover (it MUST have it): take our
        // preferred version.
        state.init = initialize_result{};
        state.init.protocol_version = state.meta.protocol_version;
        remember_streamable(self);
        finish_ready(self);
        return;
      }
      discover_failed(self, err);
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

/// The answer to a server-to-client request: a result (JSON text of an
/// object), or a JSON-RPC error code and message.
struct server_answer {
  std::string result;
  int64_t code = 0;
  std::string message;
};

using answer_done = std::function<void(server_answer)>;

/// Answers a server-to-client request the way the client is configured:
/// `ping`; `roots/list` from `cfg.roots`; anything else through
/// `server_request_handler` (-32601 without one). `done` runs in the
/// session, never after it closed. Shared by requests that arrive as
/// JSON-RPC messages and by the input requests of stateless
/// multi-round-trip results.
void answer_server_request(self_ptr self, const std::string& method,
                           std::string params, answer_done done) {
  auto& st = self->state;
  if (method == methods::ping) {
    done(server_answer{"{}", 0, {}});
    return;
  }
  if (method == methods::roots_list && !st.cfg->roots.empty()) {
    list_roots_result res;
    res.roots = st.cfg->roots;
    std::string json;
    append_json(json, res);
    done(server_answer{std::move(json), 0, {}});
    return;
  }
  if (st.cfg->server_request_handler) {
    self
      ->request(st.cfg->server_request_handler, st.cfg->request_timeout,
                request_atom::value, method, std::move(params),
                call_options{})
      .then(
        [self, done, method](std::string& result) {
          if (self->state.phase == session_phase::closed)
            return;
          // A result is a JSON object: anything else would make us send
          // the server a malformed response.
          if (auto err = check_json_object_text(result)) {
            CAF_MCP_LOG_WARN("session", "the handler of server request "
                                          << method
                                          << " returned no JSON object: "
                                          << render(err));
            done(server_answer{{}, jsonrpc_code::internal_error,
                               "the client's handler returned an invalid "
                               "result"});
            return;
          }
          done(server_answer{std::move(result), 0, {}});
        },
        [self, done](caf::error& err) {
          if (self->state.phase == session_phase::closed)
            return;
          done(server_answer{{}, jsonrpc_code::internal_error, render(err)});
        });
    return;
  }
  done(server_answer{{}, jsonrpc_code::method_not_found,
                     "Method not found: " + method});
}

void on_server_request(self_ptr self, request& req) {
  auto& st = self->state;
  count(st, &session_stats::server_requests,
        &session_counters::server_requests);
  auto params = req.params ? to_json_text(*req.params) : std::string{};
  answer_server_request(self, req.method, std::move(params),
                        [self, id = req.id](server_answer a) {
                          if (a.code == 0)
                            respond(self, id, a.result);
                          else
                            respond_error(self, id, a.code, a.message);
                        });
}

// -- stateless results: version retries, multi-round-trip requests ------------

/// Rounds of input requests one request may take.
constexpr uint8_t max_input_rounds = 8;

/// A `-32022` for a pending stateless request: sends it again (new id)
/// with the version the server offers, once per request. False if that is
/// not possible (then the request fails).
bool retry_with_version(self_ptr self, const error_response& rpc) {
  auto& st = self->state;
  if (!rpc.id || !rpc.id->is_integer())
    return false;
  auto it = st.pending.find(rpc.id->integer());
  if (it == st.pending.end() || it->second.version_retries >= 1)
    return false;
  auto data = rpc.data ? to_json_text(*rpc.data) : std::string{};
  auto version = stateless::retry_version(rpc.code, data,
                                          stateless::our_modern_versions());
  if (!version)
    return false;
  auto req = std::move(it->second);
  st.pending.erase(it);
  count(st, &session_stats::responses, &session_counters::responses);
  ++req.version_retries;
  if (*version != st.meta.protocol_version)
    CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                  << ": the server wants protocol version "
                                  << *version);
  st.meta.protocol_version = *version;
  if (st.phase == session_phase::ready)
    st.init.protocol_version = *version;
  auto params = std::move(req.params);
  resend(self, std::move(req), std::move(params));
  return true;
}

/// A `-32020` (a header does not match the body) for a pending stateless
/// `tools/call`: the tool's `x-mcp-header` annotations may be new to us
/// (no listing yet, or a changed tool), so the tools are listed again and
/// the call sent once more (streamable-http.mdx: the client SHOULD). False
/// for other requests and for a call that was relisted already.
bool retry_after_relist(self_ptr self, const error_response& rpc) {
  auto& st = self->state;
  if (!rpc.id || !rpc.id->is_integer())
    return false;
  auto it = st.pending.find(rpc.id->integer());
  if (it == st.pending.end() || it->second.relisted
      || it->second.method != methods::tools_call)
    return false;
  auto req = std::make_shared<pending_request>(std::move(it->second));
  st.pending.erase(it);
  count(st, &session_stats::responses, &session_counters::responses);
  req->relisted = true;
  st.listed_until = {}; // a fresh listing, not the cached one
  CAF_MCP_LOG_INFO("session", display_name(*st.cfg)
                                << ": " << rpc.message
                                << "; listing the tools again before a retry");
  list_tools(self, call_options{},
             [self, req](caf::expected<std::vector<tool>> res) {
               if (!res) {
                 req->on_error(res.error());
                 return;
               }
               auto params = std::move(req->params);
               resend(self, std::move(*req), std::move(params));
             });
  return true;
}

/// One multi-round-trip flow between two rounds: the inputs asked for and
/// those answered so far.
struct input_flow {
  stateless::input_required_result required;
  std::vector<std::pair<std::string, std::string>> responses;
};

/// An `input_required` result for request `id` (`req`, taken out of the
/// pending table): runs each input request through the client's handlers,
/// then sends the request again (new id) with `inputResponses` and the
/// exact `requestState`. Meanwhile `req` waits in the pending table under
/// its old id, so its deadline and the end of the session still fail it.
void on_input_required(self_ptr self, int64_t id, pending_request req,
                       const std::string& result) {
  auto& st = self->state;
  if (++req.rounds > max_input_rounds) {
    req.on_error(caf::make_error(mcp_errc::invalid_result,
                                 req.method + ": more than "
                                   + std::to_string(max_input_rounds)
                                   + " rounds of input requests"));
    return;
  }
  auto parsed = stateless::parse_input_required(result);
  if (!parsed) {
    req.on_error(parsed.error());
    return;
  }
  auto flow = std::make_shared<input_flow>();
  flow->required = std::move(*parsed);
  st.pending.emplace(id, std::move(req));
  // Sends the next round once every input is answered.
  auto next_round = [self, id, flow] {
    auto& state = self->state;
    auto it = state.pending.find(id);
    if (it == state.pending.end())
      return; // expired or failed meanwhile
    auto waiting = std::move(it->second);
    state.pending.erase(it);
    auto params = stateless::retry_params(waiting.params, flow->responses,
                                          flow->required.request_state);
    if (!params) {
      waiting.on_error(params.error());
      return;
    }
    // The handlers' time does not count against the round trip.
    auto now = self->clock().now();
    waiting.deadline = std::min(now + waiting.timeout, waiting.hard_deadline);
    resend(self, std::move(waiting), std::move(*params));
  };
  if (flow->required.requests.empty()) {
    next_round();
    return;
  }
  for (auto& in : flow->required.requests) {
    count(st, &session_stats::server_requests,
          &session_counters::server_requests);
    answer_server_request(
      self, in.method, in.params,
      [self, id, flow, key = in.key, next_round](server_answer a) {
        auto& state = self->state;
        auto it = state.pending.find(id);
        if (it == state.pending.end())
          return;
        if (a.code != 0) {
          auto waiting = std::move(it->second);
          state.pending.erase(it);
          waiting.on_error(caf::make_error(
            mcp_errc::jsonrpc_error, a.code,
            "input request " + key + " of " + waiting.method
              + " failed: " + a.message));
          return;
        }
        flow->responses.emplace_back(key, std::move(a.result));
        if (flow->responses.size() == flow->required.requests.size())
          next_round();
      });
  }
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
  if (result == nullptr) {
    req.on_error(*err);
    return;
  }
  if (st.stateless)
    if (auto obj = result->if_object(); obj && obj->contains("resultType")) {
      // Absent: complete (servers of earlier revisions).
      auto text = to_json_text(*result);
      auto type = stateless::result_type_of(text);
      if (!type) {
        req.on_error(type.error());
        return;
      }
      if (*type == stateless::result_type::input_required) {
        on_input_required(self, id.integer(), std::move(req), text);
        return;
      }
    }
  req.on_result(*result);
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
      if (st.stateless
          && err->code == stateless::unsupported_protocol_version_code) {
        if (retry_with_version(self, *err))
          continue;
        auto e = caf::make_error(mcp_errc::unsupported_protocol_version,
                                 display_name(*st.cfg)
                                   + " refuses protocol version "
                                   + st.meta.protocol_version + ": "
                                   + err->message);
        on_response(self, *err->id, nullptr, &e);
        continue;
      }
      if (st.stateless && err->code == stateless::header_mismatch_code
          && retry_after_relist(self, *err))
        continue;
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
  if (!st.draining && !st.stateless) {
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
    auto era = st.cfg->era;
    if (stateless::is_modern_protocol_version(st.cfg->protocol_version))
      era = protocol_era::stateless;
    // Detecting: a remembered era is tried first, and the answer may still
    // say the server changed (a stateless server replaced by an older one).
    auto may_fall_back = era == protocol_era::automatic;
    if (era == protocol_era::automatic) {
      auto found = st.cfg->detected->era.load(std::memory_order_relaxed);
      if (found != 0)
        era = static_cast<protocol_era>(found - 1);
    }
    CAF_MCP_LOG_DEBUG("session", display_name(*st.cfg)
                                   << ": Streamable HTTP; starting ("
                                   << to_string(era) << ")");
    if (era == protocol_era::handshake)
      start_initialize(self);
    else
      start_discover(self, may_fall_back);
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
  // The `_meta` envelope of the stateless era (built once).
  if (stateless::is_modern_protocol_version(st.cfg->protocol_version))
    st.meta.protocol_version = st.cfg->protocol_version;
  st.meta.client_info = st.cfg->client_info;
  {
    auto caps = st.cfg->capabilities;
    if (!st.cfg->roots.empty())
      caps.roots = true;
    append_json(st.meta.capabilities, caps);
  }
  if (st.cfg->transport == session_transport::sse
      && (st.cfg->era == protocol_era::stateless
          || stateless::is_modern_protocol_version(st.cfg->protocol_version))) {
    st.phase = session_phase::closed;
    st.failure = caf::make_error(mcp_errc::invalid_argument,
                                 "stateless MCP (2026-07-28) needs the "
                                 "Streamable HTTP transport, not sse");
    return;
  }
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

/// Stateless era: lists the tools again if the last list is stale (past
/// its ttlMs) and tells subscribers if it changed. At most one such
/// listing at a time.
void refresh_stale_list(self_ptr self) {
  auto& st = self->state;
  if (st.background_listing || st.relisting
      || self->clock().now() < st.listed_until)
    return;
  st.background_listing = true;
  list_tools(self, call_options{},
             [self, before = st.listed](caf::expected<std::vector<tool>> res) {
               auto& state = self->state;
               state.background_listing = false;
               if (res && state.phase == session_phase::ready
                   && *res != before)
                 notify_subscribers(
                   self, caf::make_message(tools_changed_atom::value,
                                           state.cfg->server_name,
                                           std::move(*res)));
             });
}

caf::result<caf::timespan> ping_request(self_ptr self,
                                        const call_options& opts) {
  auto rp = self->make_response_promise<caf::timespan>();
  when_ready(self, rp, [self, rp, opts]() mutable {
    auto started = self->clock().now();
    call_options o;
    o.timeout = opts.timeout;
    if (self->state.stateless) {
      // Stateless servers need not serve `ping`: `server/discover` is the
      // health check (a valid result = healthy). A stale tool list is
      // fetched again meanwhile (2026 servers send no list_changed over
      // HTTP; the list's ttlMs says when to look again).
      refresh_stale_list(self);
      send_request(
        self, stateless::discover_method, {}, o,
        [self, rp, started](boost::json::value& v) mutable {
          if (auto d = stateless::parse_discover_result(to_json_text(v)); !d)
            rp.deliver(d.error());
          else
            rp.deliver(caf::timespan{self->clock().now() - started});
        },
        [rp](const caf::error& err) mutable { rp.deliver(err); }, 0, true);
      return;
    }
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

const char* to_string(protocol_era x) noexcept {
  switch (x) {
    case protocol_era::automatic:
      return "auto";
    case protocol_era::handshake:
      return "handshake";
    case protocol_era::stateless:
      return "stateless";
  }
  return "?";
}

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
