// The conformance adapter (docs/conformance.md): the official MCP
// conformance suite runs `tests/conformance/client URL` with
// MCP_CONFORMANCE_SCENARIO and MCP_CONFORMANCE_PROTOCOL_VERSION set; this
// program does what the scenario asks through caf-mcp's client (a client
// actor over Streamable HTTP, the version pinned to the one asked for) and
// exits 0 when the work is done, non-zero with a message otherwise.
//
// At 2026-07-28 the session speaks stateless MCP (docs/stateless.md).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include <boost/json/value.hpp>

#include "caf/actor_cast.hpp"

#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/messages/elicitation.hpp"
#include "caf_mcp/messages/protocol.hpp"

using namespace caf_mcp;

namespace {

std::string env(const char* name) {
  auto v = std::getenv(name);
  return v != nullptr ? v : "";
}

int fail(const std::string& why) {
  std::fprintf(stderr, "conformance-client: %s\n", why.c_str());
  return 1;
}

/// Answers server requests: elicitation/create accepted with the schema's
/// defaults (SEP-1034); anything else is refused.
caf::behavior server_requests(caf::event_based_actor*) {
  return {
    [](request_atom, const std::string& method, const std::string& params,
       const call_options&) -> caf::result<std::string> {
      if (method == "elicitation/create") {
        auto res = accept_with_defaults(params);
        if (!res)
          return res.error();
        return *res;
      }
      return caf::make_error(mcp_errc::invalid_argument,
                             "no handler for " + method);
    },
  };
}


/// The tool calls of `MCP_CONFORMANCE_CONTEXT` (`{"toolCalls": [{name,
/// arguments}]}`), as (name, arguments JSON text).
std::vector<std::pair<std::string, std::string>> context_calls() {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = env("MCP_CONFORMANCE_CONTEXT");
  if (text.empty())
    return out;
  boost::json::error_code ec;
  auto v = parse_json(text, ec);
  if (ec || !v.is_object())
    return out;
  auto calls = v.as_object().if_contains("toolCalls");
  if (calls == nullptr || !calls->is_array())
    return out;
  for (auto& c : calls->as_array()) {
    if (!c.is_object())
      continue;
    auto name = c.as_object().if_contains("name");
    auto args = c.as_object().if_contains("arguments");
    if (name == nullptr || !name->is_string())
      continue;
    out.emplace_back(std::string{name->as_string()},
                     args != nullptr ? to_json_text(*args) : "{}");
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return fail("usage: client SERVER_URL (with MCP_CONFORMANCE_SCENARIO)");
  std::string url = argv[argc - 1];
  auto scenario = env("MCP_CONFORMANCE_SCENARIO");
  auto version = env("MCP_CONFORMANCE_PROTOCOL_VERSION");
  if (version.empty())
    version = "2025-11-25";
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto handler = sys.spawn(server_requests);
  // One session, the protocol's own layer: the version the suite asks for
  // decides the era (2026-07-28: stateless, server/discover; earlier: the
  // initialize handshake), no detection.
  session_config sc;
  sc.server_name = "conformance";
  sc.sse_url = url;
  sc.transport = session_transport::streamable_http;
  sc.protocol_version = version;
  sc.era = version == "2026-07-28" ? protocol_era::stateless
                                   : protocol_era::handshake;
  sc.capabilities.elicitation = "{}";
  sc.server_request_handler = handler;
  sc.request_timeout = std::chrono::seconds{20};
  auto ses = caf::actor_cast<session_actor>(sys.spawn(session, share(sc)));
  caf::scoped_actor self{sys};
  int rc = 0;
  std::vector<tool> tools;
  auto list = [&] {
    self->request(ses, std::chrono::seconds{25}, list_atom::value)
      .receive([&](std::vector<tool>& xs) { tools = std::move(xs); },
               [&](caf::error& err) { rc = fail("tools/list: " + render(err)); });
  };
  auto call = [&](const std::string& name, const std::string& args) {
    call_options opts;
    opts.timeout = std::chrono::seconds{25};
    self->request(ses, std::chrono::seconds{30}, call_atom::value, name, args,
                  opts)
      .receive(
        [&](call_tool_result& res) {
          std::printf("%s: %s%s\n", name.c_str(), joined_text(res).c_str(),
                      res.is_error ? " (isError)" : "");
        },
        [&](caf::error& err) { rc = fail(name + ": " + render(err)); });
  };
  // Any other request (resources, prompts).
  auto ask = [&](const std::string& method, const std::string& params) {
    call_options opts;
    opts.timeout = std::chrono::seconds{25};
    self->request(ses, std::chrono::seconds{30}, request_atom::value, method,
                  params, opts)
      .receive([&](std::string& res) {
                 std::printf("%s: %s\n", method.c_str(), res.c_str());
               },
               [&](caf::error& err) { rc = fail(method + ": " + render(err)); });
  };
  // The handshake or discovery (and, with a session id, the GET stream).
  self->request(ses, std::chrono::seconds{25}, init_atom::value)
    .receive([](initialize_result&) {},
             [&](caf::error& err) { rc = fail("initialize: " + render(err)); });
  if (rc == 0) {
    if (scenario == "initialize") {
      // The handshake is the scenario.
    } else if (scenario == "tools_call") {
      call("add_numbers", R"({"a":2,"b":3})");
    } else if (scenario == "elicitation-sep1034-client-defaults") {
      call("test_client_elicitation_defaults", "{}");
    } else if (scenario == "sse-retry") {
      call("test_reconnection", "{}");
    } else if (scenario == "json-schema-2020-12-preservation") {
      list();
      std::string schema;
      for (auto& t : tools)
        if (t.name == "json_schema_2020_12_tool")
          schema = t.input_schema;
      if (rc == 0 && schema.empty())
        rc = fail("no json_schema_2020_12_tool in the tool list");
      if (rc == 0)
        call("json_schema_echo", R"({"schema":)" + schema + "}");
    } else if (scenario == "json-schema-ref-no-deref") {
      list();
    } else if (scenario == "request-metadata") {
      // Discovery was rejected once (-32022) and retried; one more request.
      list();
    } else if (scenario == "sep-2322-client-request-state") {
      list();
      for (auto& t : tools)
        if (rc == 0)
          call(t.name, "{}");
    } else if (scenario == "http-standard-headers") {
      list();
      for (auto& t : tools)
        if (rc == 0)
          call(t.name, "{}");
      if (rc == 0)
        ask("resources/list", "{}");
      for (auto uri : {"file:///path/to/file%20name.txt",
                       "https://example.com/resource?id=123"})
        if (rc == 0)
          ask("resources/read", std::string{R"({"uri":")"} + uri + "\"}");
      if (rc == 0)
        ask("prompts/list", "{}");
      if (rc == 0)
        ask("prompts/get", R"({"name":"test_prompt"})");
    } else if (scenario == "http-custom-headers") {
      list(); // the x-mcp-header annotations
      auto calls = context_calls();
      if (rc == 0 && calls.empty())
        rc = fail("no toolCalls in MCP_CONFORMANCE_CONTEXT");
      for (auto& c : calls)
        if (rc == 0)
          call(c.first, c.second);
    } else if (scenario == "http-invalid-tool-headers") {
      // The session leaves out tools with invalid annotations; call the rest.
      list();
      for (auto& t : tools)
        if (rc == 0)
          call(t.name, R"({"region":"us-west1"})");
    } else {
      rc = fail("not implemented: scenario " + scenario + " at " + version);
      rc = 2;
    }
  }
  self->send(ses, caf::close_atom::value);
  self->send_exit(handler, caf::exit_reason::user_shutdown);
  return rc;
}
