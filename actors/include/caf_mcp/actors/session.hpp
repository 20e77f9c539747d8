#pragma once

/// The session actor: the MCP lifecycle over one connection.
///
/// Owns: its SSE stream (session_stream.hpp; or, as a test seam, a connection
/// actor from `session_config::make_connection`), the JSON-RPC id counter,
/// the table of pending requests (id -> promise, deadline, progress
/// listener) and one timer for all their deadlines (armed for the
/// earliest; when it fires it sweeps the table), calls queued until the
/// session is ready, its subscribers. (It keeps no copy of the tool list:
/// callers and subscribers get it.)
/// Receives: init/list/call/request/ping/subscribe/unsubscribe/close from
/// callers (`session_actor`); endpoint (with the `post_sink` it POSTs
/// through from then on), inbound batches, POST outcomes and the end of the
/// stream straight from the io threads, and `stats_atom`
/// (`session_impl_actor`, private to it and its transport). Its timers are
/// `actor_timer`s (one clock entry each). At most `max_in_flight` requests
/// are pending (`queue_full` beyond); tool lists are bounded by `max_tools`
/// and `max_tools_bytes`; list_changed is coalesced. Subscribers are kept
/// once each and dropped when they end.
/// Lifecycle: connecting (waiting for `endpoint`, bounded by
/// endpoint_timeout) -> initializing (`initialize`, then
/// `notifications/initialized`, whose POST must be accepted before anything
/// else goes out) -> ready (calls go out concurrently) -> closed.
/// When the stream ends (or the test seam's connection actor dies, which it
/// monitors), every pending call fails with `connection_lost` (context: the
/// cause) once the outcomes of POSTs in flight are known, waiters for init
/// get the cause itself, and the session quits with the cause.
/// Whoever spawned the session monitors it and decides what happens next.

#include <atomic>
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/fwd.hpp>

#include "caf/actor_clock.hpp"
#include "caf/typed_response_promise.hpp"

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/actors/timer.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "caf_mcp/messages/stateless.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/url.hpp"

namespace caf_mcp {

struct session_config;
struct stream_config;
class streamable_transport;

/// How a session speaks to its server (docs/transports.md). The session
/// is the seam: supervisors, pools, clients and the node see only this
/// configuration value and report it.
enum class session_transport : uint8_t {
  /// HTTP+SSE (2024-11-05): a GET stream whose `endpoint` event names the
  /// URL the messages are POSTed to; answers come on the stream.
  sse,
  /// Streamable HTTP (2025-03-26 and later): every message is a POST to
  /// the one endpoint; each answer is a JSON body or an SSE stream.
  streamable_http,
  /// Detect (the spec's backwards-compatibility rule): POST `initialize`
  /// as Streamable HTTP; if that is answered with an HTTP error (a 4xx
  /// such as 404 or 405, not 401/403/429), GET the same URL as an SSE
  /// stream and expect the `endpoint` event. What was found is remembered
  /// in `session_config::detected` for the next sessions of that config,
  /// and forgotten when a session fails before it was ready (the server
  /// may have been replaced by one speaking the other transport).
  automatic,
};

/// "sse", "streamable_http" or "auto".
const char* to_string(session_transport x) noexcept;

/// Reads "sse", "auto", or "streamable_http" / "http" / "streamable-http"
/// / "streamableHttp"; false for anything else.
bool from_string(std::string_view text, session_transport& out) noexcept;

/// How a Streamable HTTP session starts (docs/stateless.md). The legacy
/// SSE transport always does the handshake.
enum class protocol_era : uint8_t {
  /// Stateless first: `server/discover` (MCP 2026-07-28); an answer that
  /// says the server is older (a 400/404/405 without a modern error, a
  /// result without `supportedVersions`, no common modern version) falls
  /// back to the `initialize` handshake with `protocol_version`. What was
  /// found is remembered in `session_config::detected` and forgotten when
  /// a session fails before it was ready.
  automatic,
  /// The `initialize` handshake (2024-11-05 ... 2025-11-25) only.
  handshake,
  /// Stateless MCP 2026-07-28 only: no fallback. Also chosen by a
  /// `protocol_version` of that revision.
  stateless,
};

/// "auto", "handshake" or "stateless".
const char* to_string(protocol_era x) noexcept;

/// What `automatic` found for one server, shared by every session made
/// from one configuration (and its copies).
struct transport_memory {
  /// 0: not known yet; else the detected `session_transport` + 1.
  std::atomic<uint8_t> found{0};
  /// 0: not known yet; else the detected `protocol_era` + 1.
  std::atomic<uint8_t> era{0};
};

/// Creates the connection of a session (tests plug in a fake here).
using connection_factory = std::function<connection_actor(
  caf::actor_system& sys, const session_config& cfg,
  const transport::parsed_url& sse_url, session_impl_actor owner)>;

/// Everything one MCP session needs.
/// The counters of `session_stats`, summed over every session made from a
/// config that holds them (relaxed atomics: read from any thread). A
/// server's sessions come and go; its totals stay, so what the node exports
/// never goes back.
struct session_counters {
  std::atomic<uint64_t> requests_sent{0};
  std::atomic<uint64_t> responses{0};
  std::atomic<uint64_t> unknown_responses{0};
  std::atomic<uint64_t> malformed_messages{0};
  std::atomic<uint64_t> notifications{0};
  std::atomic<uint64_t> server_requests{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> relists_coalesced{0};

  /// The current sums as a value.
  session_stats snapshot() const noexcept;
};

struct session_config {
  /// Name of the server (in notifications and error contexts).
  std::string server_name;
  /// The server's URL (http or https): the SSE URL with `sse`, the MCP
  /// endpoint with `streamable_http`.
  std::string sse_url;
  /// The transport (`sse` by default).
  session_transport transport = session_transport::sse;
  /// With `automatic`: what detection found (shared by copies).
  std::shared_ptr<transport_memory> detected
    = std::make_shared<transport_memory>();
  /// Headers, TLS, HTTP timeouts, event size limit, POST connections.
  transport::http_options http;
  /// If set, called by each new session (every connect and reconnect of a
  /// supervisor) before it opens its SSE stream: the headers it returns
  /// replace those of `http.headers` with the same name (any case) on the
  /// GET and every POST of that session. Set by middlewares such as
  /// `bearer_token` (a fresh token for each reconnection); called in the
  /// session actor, so it must be quick and thread-safe. Checked like
  /// `http.headers`.
  std::function<transport::header_list()> header_provider;
  /// The same, asynchronous, for a source that may not have the headers
  /// yet (the first token of `bearer_token`): called by each new session
  /// in the session actor before it opens its stream, with a function to
  /// call once — at once or later, from any thread — with the headers of
  /// that connection; it must not block. The session opens its stream when
  /// they arrive (by message: its thread never waits; requests queue as
  /// while connecting), or fails with `endpoint_timeout` if they do not
  /// arrive within `endpoint_timeout`. Its headers replace those of
  /// `header_provider` and `http.headers` of the same name, and are
  /// checked like them (a bad one fails the session, `invalid_argument`).
  std::function<void(std::function<void(transport::header_list)>)>
    async_header_provider;
  /// The io runtime; null = `shared_io_runtime()`.
  std::shared_ptr<transport::io_runtime> io;
  /// Default deadline of a request without its own.
  caf::timespan request_timeout = std::chrono::seconds{60};
  /// Hard limit for calls whose deadline progress notifications extend.
  caf::timespan max_request_timeout = std::chrono::minutes{10};
  /// Longest wait for the `endpoint` event.
  caf::timespan endpoint_timeout = std::chrono::seconds{10};
  /// The protocol version asked for in `initialize`. A modern version
  /// (2026-07-28) means stateless MCP whatever `era` says.
  std::string protocol_version{latest_protocol_version};
  /// Stateless MCP first, the handshake only, or stateless only
  /// (Streamable HTTP; see `protocol_era`).
  protocol_era era = protocol_era::automatic;
  /// Sent as clientInfo.
  implementation client_info{"caf-mcp", "0.1.0", caf::none};
  /// Declared capabilities (roots is set automatically if `roots` is not
  /// empty).
  client_capabilities capabilities;
  /// Answer to `roots/list` (declared only if not empty).
  std::vector<root> roots;
  /// Gets server requests other than ping and roots/list as
  /// (request_atom, method, params JSON, call_options) and must answer with
  /// the result JSON text or an error. Without it they get -32601.
  caf::actor server_request_handler;
  /// Calls waiting for the session to become ready, at most.
  size_t max_queued_calls = 1024;
  /// Requests sent and not yet answered, at most (calls, listings, pings);
  /// one more fails at once with `queue_full` instead of holding its body.
  size_t max_in_flight = 4096;
  /// Largest number of tools/list pages followed.
  size_t max_list_pages = 1000;
  /// Largest tool list taken (all pages together): more tools, or more
  /// bytes of names, descriptions and schemas, fail the listing with
  /// `limit_exceeded`. A server that lists a million tools must not take
  /// the process down.
  size_t max_tools = 10000;
  size_t max_tools_bytes = size_t{16} << 20;
  /// Null = the session opens its SSE stream itself (the real transport);
  /// tests plug in a fake connection actor here.
  connection_factory make_connection;
  /// If set, every session of this config also adds each count to these
  /// totals (the node's /metrics shows them per server).
  std::shared_ptr<session_counters> totals;
};

/// A session configuration shared by the sessions of one supervisor (or
/// the members of one pool) instead of copied into each.
using session_config_ptr = std::shared_ptr<const session_config>;

/// A request waiting for its response.
struct pending_request {
  std::string method;
  std::function<void(boost::json::value&)> on_result;
  std::function<void(const caf::error&)> on_error;
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point deadline;
  caf::actor_clock::time_point hard_deadline;
  caf::timespan timeout{0};
  caf::actor listener;
  /// Stateless era only, to send the request again (a `-32022` version
  /// retry, the next round of a multi-round-trip request): its params as
  /// the caller gave them (without `_meta`) and the call's own headers.
  std::string params;
  std::vector<std::pair<std::string, std::string>> headers;
  bool resend_ok = false;
  /// Version retries and input rounds so far (both bounded).
  uint8_t version_retries = 0;
  uint8_t rounds = 0;
  /// A `-32020` made the session list the tools again for this call.
  bool relisted = false;
};

/// A call that arrived before the session was ready.
struct queued_call {
  std::function<void()> run;
  std::function<void(const caf::error&)> fail;
};

enum class session_phase { connecting, initializing, ready, closed };

/// The counters as one line for logs: `requests_sent=N responses=N ...`
/// (every field of `session_stats`, in declaration order).
std::string summary(const session_stats& x);

struct session_state {
  session_config_ptr cfg;
  /// The parsed URL, the HTTP options and the io runtime, shared with the
  /// stream's io-thread handler (null if the URL is bad).
  std::shared_ptr<const stream_config> stream_cfg;
  /// The SSE stream (null once over, or with the test seam).
  std::shared_ptr<transport::sse_stream> stream;
  /// The Streamable HTTP transport (null with `sse`); also `sink`.
  std::shared_ptr<streamable_transport> shttp;
  /// The transport in use (`automatic` resolved).
  session_transport effective = session_transport::sse;
  /// `automatic` with nothing known: initialize goes out as Streamable
  /// HTTP and an HTTP error falls back to SSE.
  bool probing = false;
  /// The test seam's connection actor (null with the real stream).
  connection_actor conn;
  /// Where POSTs go (from the endpoint message); null: through `conn`.
  post_sink_ptr sink;
  session_phase phase = session_phase::connecting;
  int64_t next_id = 1;
  /// Tags of POSTs that are not requests: a counter with the tag bit.
  uint64_t next_tag = notification_tag_bit;
  uint64_t initialized_tag = 0;
  std::unordered_map<int64_t, pending_request> pending;
  /// The one timer of all pending requests' deadlines (armed for the
  /// earliest; it sweeps the table when it fires).
  actor_timer deadlines;
  /// The wait for the `endpoint` event.
  actor_timer endpoint_wait;
  /// The bounded wait for the outcomes of POSTs in flight after the stream
  /// ended.
  actor_timer drain_wait;
  std::vector<caf::typed_response_promise<initialize_result>> init_waiters;
  /// FIFO; a vector, since a deque allocates 576 bytes up front.
  std::vector<queued_call> queued;
  subscriber_set subscribers;
  /// A tools/list for list_changed is running; another list_changed while
  /// it runs only sets `relist_pending` (at most one listing in flight and
  /// one pending, however many notifications arrive).
  bool relisting = false;
  bool relist_pending = false;
  initialize_result init;
  caf::error failure;
  /// The stream ended and POSTs were still in flight: their outcomes are
  /// awaited (bounded) before the remaining calls fail, so calls the server
  /// refused (never executed) fail with the refusal, not connection_lost.
  bool draining = false;
  /// tools/list_changed arrived while initializing: re-list once ready.
  bool relist_when_ready = false;
  /// Streamable HTTP: `initialized` was accepted and the standalone GET
  /// stream is being opened; the session becomes ready when the GET has
  /// its answer (open, or none), at most `listen_wait` later. Servers send
  /// requests that belong to no call (elicitation) on that stream only.
  bool awaiting_listen = false;
  caf::error drain_reason;
  /// Stateless MCP 2026-07-28 (docs/stateless.md): every request carries
  /// `meta` and the standard headers; no notifications, no GET stream.
  bool stateless = false;
  /// `server/discover` is out as a probe: an older server's answer falls
  /// back to `initialize`.
  bool era_probing = false;
  /// The `_meta` envelope (the chosen version; client info; capabilities).
  stateless::request_meta meta;
  /// `x-mcp-header` mirrors of the tools of the last listing, by tool name.
  std::unordered_map<std::string, std::vector<stateless::header_mirror>>
    mirrors;
  /// The last tool list and until when it is fresh (its `ttlMs`); a listing
  /// before then is answered from it.
  std::vector<tool> listed;
  /// (The clock's epoch: stale.)
  caf::actor_clock::time_point listed_until;
  /// The stateless health check re-lists (stale list) at most once at a time.
  bool background_listing = false;
  session_stats stats;
  /// Logs the session's counters (`summary(stats)`) at info: with `-v` the
  /// CLI shows them when it exits.
  ~session_state();
  static inline const char* name = "caf_mcp.session";
};

/// Spawn with `system.spawn(session, cfg)` (a `session_config_ptr`; see
/// `share` for a plain `session_config`). Hand out the result as a
/// `session_actor`: the rest of its interface is its transport's.
session_impl_actor::behavior_type
session(session_impl_actor::stateful_pointer<session_state> self,
        session_config_ptr cfg);

/// Wraps `cfg` for `spawn(session, ...)`.
inline session_config_ptr share(session_config cfg) {
  return std::make_shared<const session_config>(std::move(cfg));
}

} // namespace caf_mcp
