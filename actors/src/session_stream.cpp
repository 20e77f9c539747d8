#include "caf_mcp/actors/session_stream.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/algorithm/string/predicate.hpp>

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"

#include "caf_mcp/actors/transport_errors.hpp"

namespace caf_mcp {

namespace {

/// The session's way to POST: the channel, the endpoint's target and the
/// extra headers. Its completion handlers run on an io thread and only send
/// (post_done_atom, post_outcome) to the owner, through a weak handle.
class channel_sink final : public post_sink {
public:
  channel_sink(std::shared_ptr<transport::post_channel> channel,
               std::string target, caf::weak_actor_ptr owner)
    : channel_(std::move(channel)),
      target_(std::move(target)),
      owner_(std::move(owner)) {
    // nop
  }

  ~channel_sink() override {
    channel_->close();
  }

  void post(uint64_t tag, std::string body) override {
    send(tag, std::move(body), extra_);
  }

  void post_with_headers(uint64_t tag, std::string body,
                         const transport::header_list& headers) override {
    // The call's own headers replace the sink's of the same name.
    auto extra = extra_;
    transport::replace_headers(extra, headers);
    send(tag, std::move(body), std::move(extra));
  }

  void send(uint64_t tag, std::string body, transport::header_list extra) {
    {
      std::lock_guard<std::mutex> guard{idle_->mtx};
      ++idle_->in_flight;
    }
    channel_->post(target_, std::move(body), std::move(extra),
                   [owner = owner_, tag,
                    idle = idle_](transport::post_result res) {
                     if (!res.ok || (tag & ack_tag_bit) != 0)
                       if (auto ptr = owner.lock())
                         caf::anon_send(
                           caf::actor_cast<session_impl_actor>(ptr),
                           post_done_atom::value,
                           post_outcome{tag, res.ok ? caf::error{}
                                                    : to_error(res.error,
                                                               http_phase::
                                                                 post)});
                     // After the outcome went out: whoever waits for idle
                     // sees every outcome first.
                     std::function<void()> f;
                     {
                       std::lock_guard<std::mutex> guard{idle->mtx};
                       if (--idle->in_flight == 0)
                         f.swap(idle->on_idle);
                     }
                     if (f)
                       f();
                   },
                   (tag & resend_ok_tag_bit) != 0);
  }

  void when_idle(std::function<void()> f) override {
    {
      std::lock_guard<std::mutex> guard{idle_->mtx};
      if (idle_->in_flight > 0) {
        idle_->on_idle = std::move(f);
        return;
      }
    }
    f();
  }

  void set_header(std::string name, std::string value) override {
    for (auto& kvp : extra_)
      if (kvp.first == name) {
        kvp.second = std::move(value);
        return;
      }
    extra_.emplace_back(std::move(name), std::move(value));
  }

private:
  /// POSTs in flight, shared with the completion handlers.
  struct idle_state {
    std::mutex mtx;
    size_t in_flight = 0;
    std::function<void()> on_idle;
  };

  std::shared_ptr<transport::post_channel> channel_;
  std::string target_;
  caf::weak_actor_ptr owner_;
  transport::header_list extra_;
  std::shared_ptr<idle_state> idle_ = std::make_shared<idle_state>();
};

/// Runs on an io thread, one call at a time, in stream order. Resolves the
/// endpoint, makes the POST channel and decodes JSON-RPC here, then sends
/// (endpoint_atom, url, sink), (inbound_atom, batch) and finally
/// (sse_closed_atom, stream_end) to the owner. Touches no actor state; the
/// handle is weak, so a late callback after the owner is gone is dropped.
class stream_handler : public transport::sse_stream_handler {
public:
  stream_handler(std::shared_ptr<const stream_config> cfg,
                 caf::weak_actor_ptr owner,
                 std::shared_ptr<transport::post_channel> spare)
    : cfg_(std::move(cfg)), owner_(std::move(owner)), spare_(std::move(spare)) {
    // nop
  }

  void on_open(int) override {
    // nop: the endpoint event is what makes the connection usable
  }

  void on_events(std::vector<transport::sse_event_record> events,
                 uint64_t retry_ms) override {
    if (done_)
      return;
    if (retry_ms > 0)
      retry_ms_ = retry_ms;
    inbound_batch batch;
    for (auto& e : events) {
      if (e.type == "message") {
        auto res = decode(e.data);
        if (batch.messages.empty() && batch.errors.empty()) {
          batch.messages = std::move(res.messages);
          batch.errors = std::move(res.errors);
        } else {
          for (auto& m : res.messages)
            batch.messages.emplace_back(std::move(m));
          for (auto& err : res.errors)
            batch.errors.emplace_back(std::move(err));
        }
      } else if (e.type == "endpoint") {
        if (!on_endpoint(e.data))
          return; // Refused: the stream is over for the owner.
      }
      // Other event types are ignored.
    }
    if (!batch.messages.empty() || !batch.errors.empty())
      to_owner(inbound_atom::value, std::move(batch));
  }

  void on_closed(transport::transport_error why) override {
    if (done_)
      return;
    done_ = true;
    spare_ = nullptr;
    if (why.retry_ms == 0)
      why.retry_ms = retry_ms_;
    to_owner(sse_closed_atom::value,
             stream_end{to_error(why, http_phase::sse_get)});
  }

private:
  /// Returns false if the endpoint was refused.
  bool on_endpoint(const std::string& data) {
    if (has_endpoint_)
      return true; // Only the first endpoint counts.
    auto res = transport::resolve_endpoint(cfg_->sse_url, data);
    if (!res) {
      done_ = true;
      spare_ = nullptr;
      to_owner(sse_closed_atom::value, stream_end{to_error(res)});
      return false;
    }
    has_endpoint_ = true;
    // The endpoint has the stream's origin (resolve_endpoint refuses any
    // other): the channel connected during the GET serves it, unless the
    // endpoint names other credentials. The runtime is alive here: this
    // runs on one of its threads.
    auto channel = std::move(spare_);
    auto& u = cfg_->sse_url;
    if (!channel || res.url.has_userinfo != u.has_userinfo
        || res.url.user != u.user || res.url.password != u.password)
      channel = transport::make_post_channel(*cfg_->io, res.url, *cfg_->http);
    auto sink = std::make_shared<channel_sink>(std::move(channel),
                                               res.url.target, owner_);
    to_owner(endpoint_atom::value, transport::redact(res.url.text),
             post_sink_ptr{std::move(sink)});
    return true;
  }

  template <class... Ts>
  void to_owner(Ts&&... xs) {
    if (auto ptr = owner_.lock())
      caf::anon_send(caf::actor_cast<session_impl_actor>(ptr),
                     std::forward<Ts>(xs)...);
  }

  std::shared_ptr<const stream_config> cfg_;
  caf::weak_actor_ptr owner_;
  /// The POST channel to the stream's origin, connecting while the GET
  /// waits for the endpoint event (dropped once it is not needed).
  std::shared_ptr<transport::post_channel> spare_;
  bool has_endpoint_ = false;
  bool done_ = false;
  /// The last `retry` the server sent (0 = none): a reconnect floor.
  uint64_t retry_ms_ = 0;
};

} // namespace

std::shared_ptr<transport::sse_stream>
open_session_stream(std::shared_ptr<const stream_config> cfg,
                    caf::weak_actor_ptr owner, std::string last_event_id) {
  auto& io = *cfg->io;
  auto& url = cfg->sse_url;
  auto& http = *cfg->http;
  // Stream and channel on one io thread: the channel's completions and the
  // stream's events reach the session from the same thread.
  auto thread = io.pick();
  auto spare = transport::make_post_channel(io, url, http, thread);
  auto handler = std::make_shared<stream_handler>(cfg, std::move(owner),
                                                  spare);
  auto stream = transport::open_sse_stream(io, url, http, std::move(handler),
                                           std::move(last_event_id), thread);
  // The GET goes out first; the POST connection opens while it waits.
  spare->preconnect();
  return stream;
}

} // namespace caf_mcp
