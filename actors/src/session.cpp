#include "caf_mcp/actors/session.hpp"

#include <algorithm>
#include <utility>

#include <boost/json/value.hpp>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/actors/connection.hpp"
#include "caf_mcp/actors/io.hpp"

namespace caf_mcp {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;

/// Room for a JSON-RPC envelope around method and params (encoded straight
/// into the body that is POSTed: no scratch buffer kept per session).
constexpr size_t envelope_size = 64;

/// An empty POST body with room for the envelope and `payload` bytes.
std::string make_body(size_t payload) {
  std::string body;
  body.reserve(envelope_size + payload);
  return body;
}

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

/// Makes sure the deadline timer fires no later than `at`. One timer serves
/// every pending request: requests mostly share one timeout, so a new one
/// rarely comes due before the armed time and costs no timer at all.
void arm_timer(self_ptr self, time_point now, time_point at) {
  auto& st = self->state;
  if (st.timer_armed && st.timer_at <= at)
    return;
  st.timer_armed = true;
  st.timer_at = at;
  self->delayed_send(self, at - now, deadline_atom::value, int64_t{1});
}

/// Sends a request and registers its callbacks. `params_json` may be empty.
int64_t send_request(self_ptr self, std::string_view method,
                     std::string_view params_json, const call_options& opts,
                     std::function<void(boost::json::value&)> on_result,
                     std::function<void(const caf::error&)> on_error,
                     int64_t id = 0) {
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
  req.deadline = now + req.timeout;
  req.hard_deadline = now
                      + std::max(req.timeout,
                                 effective(opts.max_timeout,
                                           st.cfg->max_request_timeout));
  req.listener = opts.listener;
  st.pending.emplace(id, std::move(req));
  auto body = make_body(method.size() + params_json.size());
  encode_request_into(body, request_id{id}, method, params_json);
  ++st.stats.requests_sent;
  post(self, static_cast<uint64_t>(id), std::move(body));
  arm_timer(self, now, now + effective(opts.timeout, st.cfg->request_timeout));
  return id;
}

void send_notification(self_ptr self, std::string_view method,
                       std::string_view params_json, uint64_t tag) {
  auto body = make_body(method.size() + params_json.size());
  encode_notification_into(body, method, params_json);
  post(self, tag, std::move(body));
}

/// Closes the stream (or tells the test seam's connection to go).
void close_transport(self_ptr self) {
  auto& st = self->state;
  if (auto stream = std::move(st.stream))
    stream->close();
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
  st.phase = session_phase::closed;
  st.failure = reason;
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
  close_transport(self);
  self->quit(std::move(reason));
}

void fail_session(self_ptr self, caf::error reason) {
  auto ctx = render(reason);
  shut_down(self, reason,
            caf::make_error(mcp_errc::connection_lost,
                            "session ended: " + std::move(ctx)));
}

void relist_and_notify(self_ptr self);

void become_ready(self_ptr self) {
  auto& st = self->state;
  st.phase = session_phase::ready;
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

void list_page(self_ptr self, std::string cursor,
               std::shared_ptr<std::vector<tool>> acc, size_t page,
               list_done done) {
  std::string params;
  if (!cursor.empty()) {
    params = "{\"cursor\":";
    append_json_string(params, cursor);
    params += '}';
  }
  send_request(
    self, methods::tools_list, params, call_options{},
    [self, acc, page, done](boost::json::value& v) {
      list_tools_result res;
      if (auto err = from_json(v, res)) {
        done(std::move(err));
        return;
      }
      for (auto& t : res.tools)
        acc->emplace_back(std::move(t));
      if (res.next_cursor && !res.next_cursor->empty()) {
        if (page + 1 >= self->state.cfg->max_list_pages) {
          done(caf::make_error(mcp_errc::invalid_result,
                               "tools/list: more than "
                                 + std::to_string(page + 1)
                                 + " pages, giving up"));
          return;
        }
        list_page(self, *res.next_cursor, acc, page + 1, done);
        return;
      }
      done(std::move(*acc));
    },
    [done](const caf::error& err) { done(err); });
}

void list_tools(self_ptr self, list_done done) {
  list_page(self, {}, std::make_shared<std::vector<tool>>(), 0,
            std::move(done));
}

void notify_subscribers(self_ptr self, const caf::message& msg);

/// Lists tools again (tools/list_changed) and tells subscribers.
void relist_and_notify(self_ptr self) {
  list_tools(self, [self](caf::expected<std::vector<tool>> res) {
    if (res)
      notify_subscribers(self, caf::make_message(tools_changed_atom::value,
                                                 self->state.cfg->server_name,
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
  if (st.init.protocol_version >= header_version)
  {
    if (st.sink)
      st.sink->set_header("MCP-Protocol-Version", st.init.protocol_version);
    else
      self->send(st.conn, header_atom::value,
                 std::string{"MCP-Protocol-Version"}, st.init.protocol_version);
  }
  // Nothing may overtake notifications/initialized: wait for its POST.
  st.initialized_tag = ack_tag_bit | st.next_tag++;
  send_notification(self, methods::initialized, {}, st.initialized_tag);
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
    [self](const caf::error& err) { fail_session(self, err); });
}

// -- inbound ------------------------------------------------------------------

void respond(self_ptr self, const request_id& id, std::string_view result) {
  auto& st = self->state;
  auto body = make_body(result.size());
  encode_response_into(body, id, result);
  post(self, st.next_tag++, std::move(body));
}

void respond_error(self_ptr self, const request_id& id, int64_t code,
                   std::string_view message) {
  auto& st = self->state;
  auto body = make_body(message.size());
  encode_error_into(body, id, code, message);
  post(self, st.next_tag++, std::move(body));
}

void on_server_request(self_ptr self, request& req) {
  auto& st = self->state;
  ++st.stats.server_requests;
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
      .then([self, id](std::string& result) { respond(self, id, result); },
            [self, id](caf::error& err) {
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
  // Subscribers are dynamically typed: a typed actor may only anon_send.
  for (auto& sub : self->state.subscribers)
    caf::anon_send(sub, msg);
}

void on_notification(self_ptr self, notification& note) {
  auto& st = self->state;
  ++st.stats.notifications;
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
    ++st.stats.unknown_responses;
    return;
  }
  auto it = st.pending.find(id.integer());
  if (it == st.pending.end()) {
    ++st.stats.unknown_responses;
    return;
  }
  auto req = std::move(it->second);
  st.pending.erase(it);
  ++st.stats.responses;
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
        ++st.stats.malformed_messages;
        continue;
      }
      auto e = to_error(*err);
      on_response(self, *err->id, nullptr, &e);
    }
  }
  for (auto& derr : batch.errors) {
    ++st.stats.malformed_messages;
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
  ++st.stats.timeouts;
  auto err = caf::make_error(mcp_errc::timeout,
                             req.method + " (id " + std::to_string(id)
                               + ") got no response within "
                               + ms_text(now - req.started));
  if (req.method == methods::initialize) {
    fail_session(self, err);
    return;
  }
  std::string params = "{\"requestId\":" + std::to_string(id)
                       + ",\"reason\":\"timeout\"}";
  send_notification(self, methods::cancelled, params, st.next_tag++);
  req.on_error(err);
}

void on_deadline(self_ptr self, int64_t which) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (which == 2) {
    // The POSTs of a lost stream are all answered, or we waited long enough.
    if (st.draining) {
      st.draining = false;
      auto reason = std::move(st.drain_reason);
      auto ctx = render(reason);
      shut_down(self, reason,
                caf::make_error(mcp_errc::connection_lost, std::move(ctx)));
    }
    return;
  }
  if (which == 0) {
    if (st.phase == session_phase::connecting)
      fail_session(self,
                   caf::make_error(mcp_errc::endpoint_timeout,
                                   "no endpoint event from "
                                     + transport::redact(
                                       st.stream_cfg->sse_url.text)
                                     + " within "
                                     + ms_text(st.cfg->endpoint_timeout)));
    return;
  }
  // A timer armed for a later time that an earlier one replaced also ends
  // up here: it just sweeps once more.
  if (st.timer_armed && now >= st.timer_at)
    st.timer_armed = false;
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
    arm_timer(self, now, next);
}

/// Opens the SSE stream, or spawns the test seam's connection actor.
void open_transport(self_ptr self) {
  auto& st = self->state;
  auto owner = caf::actor_cast<session_actor>(self);
  if (st.cfg->make_connection) {
    st.conn = st.cfg->make_connection(self->system(), *st.cfg,
                                      st.stream_cfg->sse_url, owner);
    self->monitor(st.conn);
    return;
  }
  st.stream = open_session_stream(st.stream_cfg,
                                  caf::actor_cast<caf::weak_actor_ptr>(self));
}

/// The stream is over (or the test connection died) with `reason`.
void on_stream_end(self_ptr self, caf::error reason) {
  auto& st = self->state;
  st.stream = nullptr;
  st.conn = nullptr;
  if (!reason)
    reason = caf::make_error(mcp_errc::connection_lost,
                             "the connection closed");
  if (st.sink && !st.pending.empty() && st.phase != session_phase::closed) {
    // Learn the outcome of POSTs still in flight first (bounded).
    st.draining = true;
    st.drain_reason = std::move(reason);
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
    st.sink->when_idle([weak] {
      if (auto ptr = weak.lock())
        caf::anon_send(caf::actor_cast<session_actor>(ptr),
                       deadline_atom::value, int64_t{2});
    });
    self->delayed_send(self, drain_limit, deadline_atom::value, int64_t{2});
    return;
  }
  auto ctx = render(reason);
  shut_down(self, reason,
            caf::make_error(mcp_errc::connection_lost, std::move(ctx)));
}

/// Parses the URL and opens the transport; with a bad URL the session stays
/// in the closed phase and answers every request with the error.
void init_session(self_ptr self, session_config_ptr cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto parsed = transport::parse_url(st.cfg->sse_url);
  if (!parsed) {
    auto err = caf::make_error(mcp_errc::invalid_argument,
                               "bad SSE URL: " + parsed.message);
    // Stay alive in the closed phase: every request is answered with this
    // error (quitting here would leave callers with CAF's generic
    // "receiver down" instead of our code). A close message ends it.
    st.phase = session_phase::closed;
    st.failure = std::move(err);
  } else {
    auto sc = std::make_shared<stream_config>();
    sc->sse_url = std::move(parsed.url);
    // Aliasing: the options stay inside the shared session config.
    sc->http = std::shared_ptr<const transport::http_options>(st.cfg,
                                                              &st.cfg->http);
    sc->io = st.cfg->io ? st.cfg->io : shared_io_runtime();
    st.stream_cfg = std::move(sc);
    open_transport(self);
    self->delayed_send(self, st.cfg->endpoint_timeout, deadline_atom::value,
                       int64_t{0});
  }
}

} // namespace

session_state::~session_state() {
  if (stream)
    stream->close();
}

session_actor::behavior_type
session(session_actor::stateful_pointer<session_state> self,
        session_config_ptr cfg) {
  init_session(self, std::move(cfg));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
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
      auto rp = self->make_response_promise<std::vector<tool>>();
      when_ready(self, rp, [self, rp]() mutable {
        list_tools(self, [rp](caf::expected<std::vector<tool>> res) mutable {
          if (res)
            rp.deliver(std::move(*res));
          else
            rp.deliver(res.error());
        });
      });
      return rp;
    },
    [self](call_atom, std::string& name, std::string& args,
           call_options& opts) -> caf::result<call_tool_result> {
      if (!args.empty())
        if (auto err = check_json_object_text(args))
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
          [rp](const caf::error& err) mutable { rp.deliver(err); }, id);
      });
      return rp;
    },
    [self](request_atom, std::string& method, std::string& params,
           call_options& opts) -> caf::result<std::string> {
      if (!params.empty())
        if (auto err = check_json_object_text(params))
          return err;
      auto rp = self->make_response_promise<std::string>();
      when_ready(self, rp, [self, rp, method = std::move(method),
                            params = std::move(params), opts]() mutable {
        send_request(
          self, method, params, opts,
          [rp](boost::json::value& v) mutable {
            rp.deliver(to_json_text(v));
          },
          [rp](const caf::error& err) mutable { rp.deliver(err); });
      });
      return rp;
    },
    [self](caf::ping_atom) -> caf::result<caf::timespan> {
      auto rp = self->make_response_promise<caf::timespan>();
      when_ready(self, rp, [self, rp]() mutable {
        auto started = self->clock().now();
        send_request(
          self, methods::ping, {}, call_options{},
          [self, rp, started](boost::json::value&) mutable {
            rp.deliver(caf::timespan{self->clock().now() - started});
          },
          [rp](const caf::error& err) mutable { rp.deliver(err); });
      });
      return rp;
    },
    [self](caf::subscribe_atom, caf::actor& sub) {
      self->state.subscribers.emplace_back(std::move(sub));
    },
    [self](caf::close_atom) {
      shut_down(self, caf::make_error(mcp_errc::closed, "session closed"),
                caf::make_error(mcp_errc::closed, "session closed"));
    },
    [self](endpoint_atom, std::string&, post_sink_ptr& sink) {
      if (self->state.phase != session_phase::connecting)
        return;
      self->state.sink = std::move(sink);
      start_initialize(self);
    },
    [self](inbound_atom, inbound_batch& batch) { on_inbound(self, batch); },
    [self](sse_closed_atom, caf::error& why) {
      if (self->state.stream)
        on_stream_end(self, std::move(why));
    },
    [self](post_done_atom, uint64_t tag, caf::error& err) {
      auto& st = self->state;
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
      if ((tag & (uint64_t{1} << 62)) == 0) {
        auto id = static_cast<int64_t>(tag);
        auto it = st.pending.find(id);
        if (it != st.pending.end()) {
          auto req = std::move(it->second);
          st.pending.erase(it);
          if (req.method == methods::initialize) {
            fail_session(self, err);
            return;
          }
          req.on_error(err);
        }
      }
      if (expired && !st.draining)
        fail_session(self, std::move(err));
    },
    [self](deadline_atom, int64_t id) { on_deadline(self, id); },
  };
}

} // namespace caf_mcp
