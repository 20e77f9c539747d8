// The node's HTTP API: see api.hpp.
#include "api.hpp"

#include <cmath>
#include <cstdlib>

#include "caf/all.hpp"

#include "caf_mcp/messages/mcp.hpp"
#include "caf_mcp/transport/url.hpp"

#include "config.hpp"
#include "node_json.hpp"
#include "page_assets.hpp"
#include "process_metrics.hpp"

namespace caf_mcp::node {

namespace {

using transport::http_exchange;
using transport::http_response;

/// One request handed to the bridge.
struct api_job {
  route::kind_t kind = route::not_found;
  std::shared_ptr<http_exchange> ex;
  std::string server;
  std::string tool;
  std::string args;
  call_options opts;
  /// A client-chosen id for progress events ("" = none).
  std::string progress;
  std::shared_ptr<std::atomic<int64_t>> pending;
};

using api_job_ptr = std::shared_ptr<api_job>;

} // namespace
} // namespace caf_mcp::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf_mcp::node::api_job_ptr)

namespace caf_mcp::node {

namespace {

using api_atom = caf::atom_constant<caf::atom("nd_api")>;
using keep_alive_atom = caf::atom_constant<caf::atom("nd_kalive")>;

/// Events streams get a comment this often (proxies close idle streams).
constexpr auto keep_alive_interval = std::chrono::seconds{15};

http_response json_response(unsigned status, std::string body) {
  http_response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  return res;
}

http_response error_response(unsigned status, std::string_view code,
                             std::string_view message) {
  return json_response(status, error_json(code, message));
}

void answer(const api_job_ptr& job, http_response res) {
  job->ex->respond(std::move(res));
  job->pending->fetch_sub(1);
}

/// The error's message without the leading "code: " of `render`.
std::string message_of(const caf::error& err) {
  auto text = render(err);
  std::string_view code = error_code_name(err);
  if (text.size() > code.size() + 2 && text.compare(0, code.size(), code) == 0
      && text.compare(code.size(), 2, ": ") == 0)
    text.erase(0, code.size() + 2);
  return text;
}

void answer_error(const api_job_ptr& job, unsigned status,
                  const caf::error& err) {
  answer(job, error_response(status, error_code_name(err), message_of(err)));
}

bool valid_progress_token(std::string_view x) noexcept {
  if (x.empty() || x.size() > 64)
    return false;
  for (auto c : x)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
          || c == '.'))
      return false;
  return true;
}


} // namespace

// -- pure pieces ----------------------------------------------------------------

route route_request(std::string_view method, std::string_view path) {
  route r;
  auto is_get = method == "GET";
  auto only = [&](bool ok, const char* allow, route::kind_t k) {
    if (ok) {
      r.kind = k;
    } else {
      r.kind = route::method_not_allowed;
      r.allow = allow;
    }
    return r;
  };
  if (path == "/" || path == "/index.html"
      || path.substr(0, 8) == "/assets/")
    return only(is_get, "GET", route::page);
  if (path == "/healthz")
    return only(is_get, "GET", route::healthz);
  if (path == "/readyz")
    return only(is_get, "GET", route::readyz);
  if (path == "/metrics")
    return only(is_get, "GET", route::metrics);
  if (path == "/api/events")
    return only(is_get, "GET", route::events);
  if (path == "/api/nodes")
    return only(is_get, "GET", route::nodes);
  if (path == "/api/servers" || path == "/api/servers/")
    return only(is_get, "GET", route::servers);
  constexpr std::string_view prefix = "/api/servers/";
  if (path.substr(0, prefix.size()) != prefix)
    return r;
  auto rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    r.server = transport::percent_decode(rest, false);
    return only(is_get, "GET", route::one_server);
  }
  if (slash == 0) // "/api/servers//tools/T/call": no server name
    return r;
  r.server = transport::percent_decode(rest.substr(0, slash), false);
  rest.remove_prefix(slash);
  constexpr std::string_view tools = "/tools/";
  constexpr std::string_view call = "/call";
  if (rest.substr(0, tools.size()) != tools || rest.size() <= tools.size() + call.size()
      || rest.substr(rest.size() - call.size()) != call) {
    r.server.clear();
    return r;
  }
  auto tool = rest.substr(tools.size(), rest.size() - tools.size() - call.size());
  if (tool.empty() || tool.find('/') != std::string_view::npos) {
    r.server.clear();
    return r;
  }
  r.tool = transport::percent_decode(tool, false);
  return only(method == "POST", "POST", route::call);
}

bool origin_allowed(std::string_view origin, std::string_view host) {
  if (origin.empty())
    return true; // not a browser (curl, scripts, other nodes)
  if (origin == "null")
    return false;
  // The origin's host[:port] must be what the browser sent as Host.
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos
      || (origin.substr(0, scheme_end) != "http"
          && origin.substr(0, scheme_end) != "https"))
    return false;
  auto authority = origin.substr(scheme_end + 3);
  if (!authority.empty() && authority.back() == '/')
    authority.remove_suffix(1);
  if (authority == host)
    return true;
  // Default ports may be left out on either side.
  auto with_default = std::string{authority}
                      + (origin.substr(0, 5) == "https" ? ":443" : ":80");
  return with_default == host || authority == std::string{host} + ":80";
}

bool loopback_host_header(std::string_view host) {
  // Drop the port: "[::1]:8080", "127.0.0.1:8080", "localhost".
  std::string_view name = host;
  if (!name.empty() && name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string_view::npos)
      return false;
    name = name.substr(0, close + 1);
  } else if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return is_loopback_host(name);
}

// -- the bridge ---------------------------------------------------------------------

caf::actor spawn_api_bridge(caf::actor_system& sys, const api_config& cfg) {
  return sys.spawn([cfg](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, keep_alive_interval, keep_alive_atom::value);
    auto reg = cfg.registry;
    auto hub = cfg.hub;
    return {
      // Taken by reference: CAF copies the event only while another
      // subscriber of the registry shares the message.
      [=](node_event_atom, node_event& ev) { hub->publish(std::move(ev)); },
      [=](keep_alive_atom) {
        hub->keep_alive();
        self->delayed_send(self, keep_alive_interval, keep_alive_atom::value);
      },
      [=](api_atom, const api_job_ptr& job) {
        switch (job->kind) {
          case route::servers:
          case route::readyz:
            self->request(reg, caf::infinite, servers_atom::value)
              .then(
                [job](std::vector<server_info>& xs) {
                  if (job->kind == route::servers)
                    return answer(job, json_response(200, servers_json(xs)));
                  std::string not_ready;
                  std::string names = "[";
                  for (auto& x : xs) {
                    if (x.phase == link_phase::ready || x.disabled)
                      continue;
                    if (names.size() > 1)
                      names += ',';
                    names += '"';
                    names += x.name; // names are [A-Za-z0-9_.-]
                    names += '"';
                  }
                  names += ']';
                  if (names == "[]")
                    return answer(job, json_response(200,
                                                     R"({"status":"ready"})"));
                  answer(job, json_response(503, R"({"status":"not_ready",)"
                                                 R"("not_ready":)"
                                                   + names + "}"));
                },
                [job](caf::error& err) { answer_error(job, 500, err); });
            return;
          case route::one_server:
            self->request(reg, caf::infinite, servers_atom::value, job->server)
              .then(
                [job](server_detail& x) {
                  answer(job, json_response(200, server_detail_json(x)));
                },
                [job](caf::error& err) { answer_error(job, 404, err); });
            return;
          case route::nodes:
            self->request(reg, caf::infinite, nodes_atom::value)
              .then(
                [job](std::vector<node_info>& xs) {
                  answer(job, json_response(200, nodes_json(xs)));
                },
                [job](caf::error& err) { answer_error(job, 500, err); });
            return;
          case route::metrics:
            self->request(reg, caf::infinite, metrics_atom::value)
              .then(
                [job, hub](std::string& text) {
                  text += process_metrics_text();
                  text += node_metrics_text(hub->dropped(),
                                            hub->subscribers());
                  http_response res;
                  res.content_type = "text/plain; version=0.0.4; "
                                     "charset=utf-8";
                  res.body = std::move(text);
                  answer(job, std::move(res));
                },
                [job](caf::error& err) { answer_error(job, 500, err); });
            return;
          case route::call: {
            caf::actor relay;
            if (!job->progress.empty()) {
              auto server = job->server;
              auto tool_name = job->tool;
              auto token = job->progress;
              relay = self->spawn([=](caf::event_based_actor*) -> caf::behavior {
                return {
                  [=](progress_atom, progress_params& p) {
                    caf::anon_send(reg, call_progress_atom::value, server,
                                   tool_name, token, std::move(p));
                  },
                };
              });
              job->opts.listener = relay;
            }
            self
              ->request(reg, caf::infinite, call_atom::value, job->server,
                        job->tool, std::move(job->args), job->opts)
              .then(
                [job](call_tool_result& res) {
                  auto rsp = json_response(200, to_json_text(res));
                  auto meta = meta_header_value(res.client_meta);
                  if (!meta.empty())
                    rsp.headers.emplace_back("Caf-Mcp-Meta", std::move(meta));
                  answer(job, std::move(rsp));
                },
                [self, job, relay](caf::error& err) {
                  // A call the registry refused never reached the relay's
                  // owner: end the relay here (twice is harmless).
                  if (relay)
                    self->send_exit(relay, caf::exit_reason::normal);
                  answer_error(job, call_error_status(err), err);
                });
            return;
          }
          default:
            answer(job, error_response(500, "internal", "unexpected job"));
        }
      },
    };
  });
}

// -- the handler ----------------------------------------------------------------------

api_handler::api_handler(api_config cfg, caf::actor bridge)
  : cfg_(std::move(cfg)),
    bridge_(std::move(bridge)),
    pending_(std::make_shared<std::atomic<int64_t>>(0)) {
  // nop
}

void api_handler::on_request(transport::http_request& req,
                             transport::http_exchange& ex) {
  auto r = route_request(req.method(), req.path());
  switch (r.kind) {
    case route::not_found:
      return ex.respond(error_response(404, "invalid_argument",
                                       "no such path"));
    case route::method_not_allowed: {
      auto res = error_response(405, "invalid_argument",
                                "method not allowed; use " + r.allow);
      res.headers.emplace_back("Allow", r.allow);
      return ex.respond(std::move(res));
    }
    case route::page: {
      // The page itself needs no token: it holds no data, and asks for the
      // token before it reads /api/*.
      auto* asset = find_page_asset(req.path());
      if (asset == nullptr)
        return ex.respond(error_response(404, "invalid_argument",
                                         "no such path"));
      http_response res;
      res.content_type = std::string{asset->content_type};
      res.body = std::string{asset->body};
      res.headers.emplace_back("Content-Security-Policy",
                               std::string{page_csp});
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      res.headers.emplace_back("Referrer-Policy", "no-referrer");
      res.headers.emplace_back("Cache-Control", "no-cache");
      return ex.respond(std::move(res));
    }
    case route::healthz:
      return ex.respond(json_response(200, R"({"status":"ok"})"));
    default:
      break;
  }
  if (cfg_.token.empty() && !loopback_host_header(req.header("Host")))
    return ex.respond(error_response(403, "forbidden",
                                     "a node without a token answers only "
                                     "loopback Host names"));
  // Everything else is /api/*, /metrics or /readyz: the token applies to
  // all but /readyz (a probe that shows only names).
  if (!cfg_.token.empty() && r.kind != route::readyz
      && !bearer_matches(req.header("Authorization"), cfg_.token)) {
    auto res = error_response(401, "unauthorized",
                              "this node needs Authorization: Bearer TOKEN");
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    return ex.respond(std::move(res));
  }
  if (r.kind == route::events) {
    auto last = req.header("Last-Event-ID");
    auto stream = ex.start_stream({});
    if (stream)
      cfg_.hub->add(stream, !last.empty(), parse_last_event_id(last));
    return;
  }
  auto job = std::make_shared<api_job>();
  job->kind = r.kind;
  job->server = std::move(r.server);
  job->tool = std::move(r.tool);
  if (r.kind == route::call) {
    if (!origin_allowed(req.header("Origin"), req.header("Host")))
      return ex.respond(error_response(403, "forbidden",
                                       "a POST from another origin"));
    if (draining_.load())
      return ex.respond(error_response(503, "service_unavailable",
                                       "the node is shutting down"));
    auto& body = req.body();
    if (body.find_first_not_of(" \t\r\n") == std::string::npos)
      job->args = "{}";
    else if (auto err = check_json_object_text(body))
      return ex.respond(error_response(400, "invalid_argument",
                                       "the body must be a JSON object of "
                                       "arguments"));
    else
      job->args = std::move(body);
    auto query = req.query();
    bool found = false;
    auto timeout = transport::query_param(query, "timeout", &found);
    if (found) {
      char* end = nullptr;
      auto secs = std::strtod(timeout.c_str(), &end);
      if (timeout.empty() || end != timeout.c_str() + timeout.size()
          || !std::isfinite(secs) || secs <= 0 || secs > 86400)
        return ex.respond(error_response(400, "invalid_argument",
                                         "timeout: expected seconds in "
                                         "(0, 86400]"));
      job->opts.timeout = std::chrono::duration_cast<caf::timespan>(
        std::chrono::duration<double>(secs));
    }
    auto progress = transport::query_param(query, "progress", &found);
    if (found) {
      if (!valid_progress_token(progress))
        return ex.respond(error_response(400, "invalid_argument",
                                         "progress: expected an id of 1 to "
                                         "64 letters, digits, '_', '-', '.'"));
      job->progress = std::move(progress);
    }
    auto retryable = transport::query_param(query, "retryable", &found);
    if (found) {
      if (retryable != "true" && retryable != "false")
        return ex.respond(error_response(400, "invalid_argument",
                                         "retryable: expected true or "
                                         "false"));
      // call_options::retryable: the caller allows one more send after a
      // lost connection (a local session or a cluster peer).
      job->opts.retryable = retryable == "true";
    }
  }
  job->ex = ex.keep();
  job->pending = pending_;
  pending_->fetch_add(1);
  caf::anon_send(bridge_, api_atom::value, std::move(job));
}

} // namespace caf_mcp::node
