#include "caf_mcp/actors/connection.hpp"

#include <utility>
#include <vector>

#include "caf/actor_cast.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "caf_mcp/actors/transport_errors.hpp"

namespace caf_mcp {

namespace {

/// Runs on an io thread: turns stream callbacks into messages to the
/// connection actor and does nothing else. Holds a weak handle, so a late
/// callback after the actor is gone is dropped.
class stream_handler : public transport::sse_stream_handler {
public:
  explicit stream_handler(caf::weak_actor_ptr self) : self_(std::move(self)) {
    // nop
  }

  void on_open(int status) override {
    send(sse_open_atom::value, static_cast<int32_t>(status));
  }

  void on_events(std::vector<transport::sse_event_record> events,
                 uint64_t retry_ms) override {
    std::vector<sse_event> out;
    out.reserve(events.size());
    for (auto& e : events)
      out.push_back(
        sse_event{std::move(e.type), std::move(e.data), std::move(e.id)});
    send(sse_events_atom::value, std::move(out), retry_ms);
  }

  void on_closed(transport::transport_error why) override {
    send(sse_closed_atom::value, to_error(why, http_phase::sse_get));
  }

private:
  template <class... Ts>
  void send(Ts&&... xs) {
    if (auto ptr = self_.lock())
      caf::anon_send(caf::actor_cast<connection_actor>(ptr),
                     std::forward<Ts>(xs)...);
  }

  caf::weak_actor_ptr self_;
};

void on_endpoint(connection_actor::stateful_pointer<connection_state> self,
                 const std::string& data) {
  auto& st = self->state;
  if (st.channel)
    return; // Only the first endpoint counts.
  auto res = transport::resolve_endpoint(st.cfg.sse_url, data);
  if (!res) {
    self->quit(to_error(res));
    return;
  }
  st.endpoint_target = res->target;
  st.channel = transport::make_post_channel(*st.cfg.io, *res, st.cfg.http);
  self->send(st.owner, endpoint_atom::value, transport::redact(res->text));
}

} // namespace

connection_state::~connection_state() {
  if (stream)
    stream->close();
  if (channel)
    channel->close();
}

connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           connection_config cfg, session_actor owner) {
  self->state.cfg = std::move(cfg);
  self->state.owner = owner;
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.owner.address())
      self->quit();
  });
  auto handler = std::make_shared<stream_handler>(
    caf::actor_cast<caf::weak_actor_ptr>(self));
  auto& cc = self->state.cfg;
  self->state.stream = transport::open_sse_stream(
    *cc.io, cc.sse_url, cc.http, std::move(handler), cc.last_event_id);
  return {
    [self](post_atom, uint64_t tag, std::string& body) {
      auto& st = self->state;
      if (!st.channel) {
        self->send(st.owner, post_done_atom::value, tag,
                   caf::make_error(mcp_errc::not_initialized,
                                   "no endpoint event received yet"));
        return;
      }
      auto weak_owner = caf::actor_cast<caf::weak_actor_ptr>(st.owner);
      st.channel->post(
        st.endpoint_target, std::move(body), st.extra_headers,
        [weak_owner, tag](transport::post_result res) {
          if (res.ok && (tag & ack_tag_bit) == 0)
            return;
          if (auto ptr = weak_owner.lock())
            caf::anon_send(caf::actor_cast<session_actor>(ptr),
                           post_done_atom::value, tag,
                           res.ok ? caf::error{}
                                  : to_error(res.error, http_phase::post));
        });
    },
    [self](header_atom, std::string& name, std::string& value) {
      auto& hdrs = self->state.extra_headers;
      for (auto& kvp : hdrs)
        if (kvp.first == name) {
          kvp.second = std::move(value);
          return;
        }
      hdrs.emplace_back(std::move(name), std::move(value));
    },
    [self](caf::close_atom) { self->quit(); },
    [](sse_open_atom, int32_t) {
      // nop: the endpoint event is what makes the connection usable
    },
    [self](sse_events_atom, std::vector<sse_event>& events, uint64_t) {
      auto& st = self->state;
      inbound_batch batch;
      for (auto& e : events) {
        ++st.events;
        if (e.type == "message") {
          auto res = decode(e.data);
          for (auto& m : res.messages)
            batch.messages.emplace_back(std::move(m));
          for (auto& err : res.errors)
            batch.errors.emplace_back(std::move(err));
        } else if (e.type == "endpoint") {
          on_endpoint(self, e.data);
          if (!st.channel)
            return; // Refused: we are quitting.
        } else {
          ++st.ignored_events;
        }
      }
      if (!batch.messages.empty() || !batch.errors.empty())
        self->send(st.owner, inbound_atom::value, std::move(batch));
    },
    [self](sse_closed_atom, caf::error& err) {
      self->state.stream = nullptr;
      self->quit(std::move(err));
    },
  };
}

} // namespace caf_mcp
