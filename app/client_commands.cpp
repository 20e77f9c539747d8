// caf-mcp tools | call | ping: one client, one server, blocking main thread.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/cluster/connect.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/log.hpp"
#include "client_options.hpp"
#include "commands.hpp"
#include "node/config.hpp"

namespace caf_mcp::app {

namespace {

caf::timespan to_span(double s) {
  return std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(s));
}

caf::timespan sc_timeout(const client_options& opts) {
  return to_span(opts.timeout_s);
}

caf::timespan sc_max_timeout(const client_options& opts) {
  return to_span(opts.max_timeout_s);
}

/// Everything one client subcommand needs, torn down in the right order:
/// actors first, then the io threads.
struct client_env {
  std::shared_ptr<transport::io_runtime> io;
  app_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  client_actor cli;

  explicit client_env(session_config sc, const client_options& opts,
                      bool fetch_tools = true)
    : io(make_io_runtime(opts)), cfg(io) {
    sc.io = io;
    sys = std::make_unique<caf::actor_system>(cfg);
    client_config cc;
    cc.name = sc.server_name;
    cc.session = std::move(sc);
    apply_reconnect_options(opts, cc.pool);
    cc.pool.member.fetch_tools = fetch_tools;
    cli = sys->spawn(client, std::move(cc));
  }

  ~client_env() {
    caf::anon_send_exit(cli, caf::exit_reason::user_shutdown);
    cli = nullptr;
    sys.reset();
  }

  /// Generous bound for a blocking request: the actors enforce the real
  /// deadlines and always answer before this.
  std::chrono::seconds limit() const {
    return std::chrono::seconds{3600};
  }
};

/// Server-controlled text for a terminal: no escape sequences, no carriage
/// returns, no bidi overrides (newlines stay).
std::string safe(const std::string& text) {
  return log::escape_controls(text, true);
}

std::string summarize(const content_block& c) {
  switch (c.kind) {
    case content_kind::text:
      return safe(c.text);
    case content_kind::image:
    case content_kind::audio:
      return "[" + std::string{to_string(c.kind)} + " "
             + (c.mime_type ? safe(*c.mime_type) : std::string{"?"}) + ", "
             + std::to_string(c.data.size() * 3 / 4) + " bytes]";
    case content_kind::resource:
      if (!c.blob)
        return safe(c.text);
      return "[resource " + safe(c.uri) + ", "
             + std::to_string(c.data.size() * 3 / 4) + " bytes]";
    case content_kind::resource_link:
      return "[resource_link " + safe(c.uri) + " " + safe(c.name) + "]";
  }
  return {};
}

/// `tools` as `caf-mcp tools` prints them: a JSON array, or one line per
/// tool (name, two spaces, the first line of its description).
void print_tools(const std::vector<tool>& tools, bool json,
                 const std::string& indent = {}) {
  std::string out;
  if (json) {
    out += '[';
    for (size_t i = 0; i < tools.size(); ++i) {
      if (i > 0)
        out += ',';
      append_json(out, tools[i]);
    }
    out += "]\n";
  } else {
    for (auto& t : tools) {
      out += indent;
      out += log::escape_controls(t.name);
      if (t.description) {
        auto d = *t.description;
        auto nl = d.find('\n');
        out += "  ";
        out += log::escape_controls(d.substr(0, nl));
      }
      out += '\n';
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

/// Prints a call's result as `caf-mcp call` does; returns the exit status.
int print_result(const call_tool_result& res, bool json) {
  std::string out;
  if (json) {
    append_json(out, res);
    out += '\n';
  } else {
    bool any_text = false;
    for (auto& c : res.content) {
      any_text = any_text || c.kind == content_kind::text;
      out += summarize(c);
      out += '\n';
    }
    if (!any_text && !res.structured_content.empty()) {
      out += safe(res.structured_content);
      out += '\n';
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return res.is_error ? exit_tool_error : exit_ok;
}

/// Streams progress and log notifications to stderr while a call runs.
caf::behavior notification_printer(caf::event_based_actor*) {
  return {
    [](progress_atom, progress_params& p) {
      auto num = [](double x) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", x);
        return std::string{buf};
      };
      std::string line = "progress: " + num(p.progress);
      if (p.total)
        line += "/" + num(*p.total);
      if (p.message)
        line += " " + log::escape_controls(*p.message);
      std::fprintf(stderr, "%s\n", line.c_str());
    },
    [](log_atom, std::string&, logging_message_params& p) {
      auto logger = p.logger ? log::escape_controls(*p.logger)
                             : std::string{};
      auto data = log::escape_controls(p.data);
      std::fprintf(stderr, "log [%s]%s%s: %s\n", to_string(p.level),
                   p.logger ? " " : "", logger.c_str(), data.c_str());
    },
    [](tools_changed_atom, std::string&, std::vector<tool>&) {
      // nop
    },
    [](tools_diff_atom, std::string&, tools_diff&) {
      // nop
    },
    [](link_atom, link_status&) {
      // nop: failures end in one line on stderr (the contract)
    },
  };
}

// -- --node: through a caf-mcp node's cluster port ------------------------------

int run_node_tools(const client_options& opts) {
  apply_logging(opts);
  node_connection env{opts};
  if (env.rc != exit_ok)
    return env.rc;
  caf::scoped_actor self{*env.sys};
  int rc = exit_ok;
  auto limit = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double>(opts.timeout_s));
  if (!opts.server.empty()) {
    self->request(env.node, limit, servers_atom::value, opts.server)
      .receive([&](server_detail& d) { print_tools(d.tools, opts.json); },
               [&](caf::error& err) {
                 print_error(render(err));
                 rc = exit_code_for(err);
               });
    return rc;
  }
  // Every server of the node: JSON {"servers":[{"name","state","tools"}]},
  // or each server's name and state, its tools indented below.
  std::vector<server_info> infos;
  self->request(env.node, limit, servers_atom::value)
    .receive([&](std::vector<server_info>& xs) { infos = std::move(xs); },
             [&](caf::error& err) {
               print_error(render(err));
               rc = exit_code_for(err);
             });
  if (rc != exit_ok)
    return rc;
  if (opts.json)
    std::fputs("{\"servers\":[", stdout);
  bool first = true;
  for (auto& info : infos) {
    server_detail d;
    self->request(env.node, limit, servers_atom::value, info.name)
      .receive([&](server_detail& x) { d = std::move(x); },
               [&](caf::error&) { d.info = info; });
    if (opts.json) {
      std::string out = first ? "" : ",";
      out += "{\"name\":";
      append_json_string(out, d.info.name);
      out += ",\"state\":";
      append_json_string(out, to_string(d.info.state));
      out += ",\"tools\":";
      std::fputs(out.c_str(), stdout);
      print_tools(d.tools, true);
      std::fputs("}", stdout);
    } else {
      std::printf("%s (%s)\n", safe(d.info.name).c_str(),
                  to_string(d.info.state));
      print_tools(d.tools, false, "  ");
    }
    first = false;
  }
  if (opts.json)
    std::fputs("]}\n", stdout);
  return rc;
}

int run_node_call(const client_options& opts, const std::string& tool_name,
                  const std::string& args) {
  if (opts.server.empty()) {
    print_error("--node needs --server NAME (the server on that node)");
    return exit_usage;
  }
  node_connection env{opts};
  if (env.rc != exit_ok)
    return env.rc;
  caf::scoped_actor self{*env.sys};
  auto printer = env.sys->spawn(notification_printer);
  call_options co;
  co.listener = printer;
  co.retryable = opts.retryable;
  co.timeout = sc_timeout(opts);
  co.max_timeout = std::max(co.timeout, sc_max_timeout(opts));
  int rc = exit_ok;
  self
    ->request(env.node, std::chrono::seconds{86400}, call_atom::value, opts.server,
              tool_name, args.empty() ? std::string{"{}"} : args, co)
    .receive([&](call_tool_result& res) { rc = print_result(res, opts.json); },
             [&](caf::error& err) {
               print_error(render(err));
               rc = exit_code_for(err);
             });
  caf::anon_send_exit(printer, caf::exit_reason::user_shutdown);
  return rc;
}

/// Exactly one of --url and --node (CLI11 refuses both).
bool check_target(const client_options& opts) {
  if (!opts.url.empty() || !opts.node.empty())
    return true;
  print_error("--url or --node is required");
  return false;
}

int run_tools(const client_options& opts) {
  if (!check_target(opts))
    return exit_usage;
  if (!opts.node.empty())
    return run_node_tools(opts);
  apply_logging(opts);
  session_config sc;
  if (auto msg = make_session_config(opts, sc); !msg.empty()) {
    print_error(msg);
    return exit_usage;
  }
  // One listing, as a call with the --timeout deadline (also while no
  // session is up): the supervisor does not list on its own here.
  client_env env{std::move(sc), opts, false};
  caf::scoped_actor self{*env.sys};
  int rc = exit_ok;
  self->request(env.cli, env.limit(), list_atom::value)
    .receive(
      [&](std::vector<tool>& tools) { print_tools(tools, opts.json); },
      [&](caf::error& err) {
        print_error(render(err));
        rc = exit_code_for(err);
      });
  return rc;
}

int run_call(const client_options& opts, const std::string& tool_name,
             const std::string& given_args) {
  if (!check_target(opts))
    return exit_usage;
  apply_logging(opts);
  std::string args;
  if (std::string why; !read_args(given_args, args, why)) {
    print_error(why);
    return exit_usage;
  }
  if (!args.empty())
    if (auto err = check_json_object_text(args)) {
      print_error("ARGS_JSON must be a JSON object: " + render(err));
      return exit_usage;
    }
  if (!opts.node.empty())
    return run_node_call(opts, tool_name, args);
  session_config sc;
  if (auto msg = make_session_config(opts, sc); !msg.empty()) {
    print_error(msg);
    return exit_usage;
  }
  client_env env{std::move(sc), opts};
  caf::scoped_actor self{*env.sys};
  auto printer = env.sys->spawn(notification_printer);
  self->send(env.cli, caf::subscribe_atom::value, printer);
  call_options co;
  co.listener = printer;
  co.retryable = opts.retryable;
  co.timeout = sc_timeout(opts);
  co.max_timeout = std::max(co.timeout, sc_max_timeout(opts));
  int rc = exit_ok;
  self
    ->request(env.cli, env.limit(), call_atom::value, tool_name, args, co)
    .receive(
      [&](call_tool_result& res) { rc = print_result(res, opts.json); },
      [&](caf::error& err) {
        print_error(render(err));
        rc = exit_code_for(err);
      });
  caf::anon_send_exit(printer, caf::exit_reason::user_shutdown);
  return rc;
}

int run_ping(const client_options& opts, int count) {
  apply_logging(opts);
  session_config sc;
  if (auto msg = make_session_config(opts, sc); !msg.empty()) {
    print_error(msg);
    return exit_usage;
  }
  client_env env{std::move(sc), opts};
  caf::scoped_actor self{*env.sys};
  int rc = exit_ok;
  double sum = 0;
  double lo = 1e300;
  double hi = 0;
  int ok = 0;
  for (int i = 1; i <= count && rc == exit_ok; ++i) {
    self->request(env.cli, env.limit(), caf::ping_atom::value)
      .receive(
        [&](caf::timespan rtt) {
          auto ms = std::chrono::duration<double, std::milli>(rtt).count();
          sum += ms;
          lo = std::min(lo, ms);
          hi = std::max(hi, ms);
          ++ok;
          if (opts.json)
            std::printf("{\"seq\":%d,\"rtt_ms\":%.3f}\n", i, ms);
          else
            std::printf("ping %d: %.3f ms\n", i, ms);
        },
        [&](caf::error& err) {
          print_error(render(err));
          rc = exit_code_for(err);
        });
  }
  if (ok > 0 && !opts.json)
    std::printf("%d pings: min %.3f ms, avg %.3f ms, max %.3f ms\n", ok, lo,
                sum / ok, hi);
  return rc;
}

} // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  {
    auto opts = std::make_shared<client_options>();
    auto cmd = app.add_subcommand(
      "tools", "Connect, initialize and list every tool of the server "
               "(following nextCursor).");
    add_client_options(*cmd, *opts, true);
    cmd->callback([opts, &exit_code] { exit_code = run_tools(*opts); });
  }
  {
    auto opts = std::make_shared<client_options>();
    auto tool_name = std::make_shared<std::string>();
    auto args = std::make_shared<std::string>();
    auto cmd = app.add_subcommand(
      "call", "Call TOOL with ARGS_JSON (a JSON object) and print its "
              "content; progress and log notifications go to stderr. Exit "
              "status 1 if the tool answered isError.");
    add_client_options(*cmd, *opts, true);
    cmd->add_option("TOOL", *tool_name, "tool name")->required();
    cmd->add_option("ARGS_JSON", *args,
                    "arguments as a JSON object; @FILE reads them from FILE, "
                    "- from stdin");
    cmd->add_flag("--retryable", opts->retryable,
                  "if the connection is lost while the call runs, send it "
                  "once more on a new session (the tool may then run twice)");
    cmd->callback([opts, tool_name, args, &exit_code] {
      exit_code = run_call(*opts, *tool_name, *args);
    });
  }
  {
    auto opts = std::make_shared<client_options>();
    auto count = std::make_shared<int>(3);
    auto cmd = app.add_subcommand(
      "ping", "Initialize a session and send MCP pings, printing each round "
              "trip.");
    add_client_options(*cmd, *opts);
    cmd->add_option("--count", *count, "number of pings (default 3)")
      ->check(CLI::Range(1, 1000000));
    cmd->callback(
      [opts, count, &exit_code] { exit_code = run_ping(*opts, *count); });
  }
}

} // namespace caf_mcp::app
