// caf-mcp bench: keeps --concurrency tools/call requests in flight, spread
// over --sessions sessions, for --duration seconds, then prints throughput,
// latency percentiles, failures by code and the cold setup time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/actors/session.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "client_options.hpp"
#include "commands.hpp"

namespace caf_mcp::app {

namespace {

using steady = std::chrono::steady_clock;

struct bench_options {
  client_options client;
  std::string tool_name;
  std::string args;
  double duration_s = 10;
  size_t concurrency = 1;
  size_t sessions = 1;
};

struct bench_result {
  uint64_t calls = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t tool_errors = 0;
  std::map<std::string, uint64_t> errors;
  std::vector<uint32_t> latency_us;
  double duration_s = 0;
};

struct driver_state {
  std::vector<session_actor> sessions;
  std::string tool_name;
  std::string args;
  call_options opts;
  steady::time_point start;
  steady::time_point end;
  size_t in_flight = 0;
  size_t next_session = 0;
  std::shared_ptr<bench_result> result;
  caf::actor done_to;
};

void issue(caf::stateful_actor<driver_state>* self);

void complete(caf::stateful_actor<driver_state>* self, steady::time_point t0,
              const caf::error* err, bool is_error) {
  auto& st = self->state;
  auto now = steady::now();
  --st.in_flight;
  auto& r = *st.result;
  ++r.calls;
  if (err == nullptr) {
    ++r.ok;
    if (is_error)
      ++r.tool_errors;
    r.latency_us.push_back(static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - t0)
        .count()));
  } else {
    ++r.failed;
    mcp_errc code{};
    std::string name = get_mcp_errc(*err, code) ? to_string(code)
                                                : caf::to_string(*err);
    ++r.errors[name];
  }
  if (now < st.end) {
    issue(self);
  } else if (st.in_flight == 0) {
    r.duration_s = std::chrono::duration<double>(now - st.start).count();
    self->send(st.done_to, caf::ok_atom::value);
    self->quit();
  }
}

void issue(caf::stateful_actor<driver_state>* self) {
  auto& st = self->state;
  auto& s = st.sessions[st.next_session++ % st.sessions.size()];
  ++st.in_flight;
  auto t0 = steady::now();
  self
    ->request(s, caf::infinite, call_atom::value, st.tool_name, st.args,
              st.opts)
    .then(
      [self, t0](call_tool_result& res) {
        complete(self, t0, nullptr, res.is_error);
      },
      [self, t0](caf::error& err) { complete(self, t0, &err, false); });
}

caf::behavior driver(caf::stateful_actor<driver_state>* self) {
  return {
    [self](caf::ok_atom, size_t concurrency, double duration_s,
           caf::actor done_to) {
      auto& st = self->state;
      st.done_to = std::move(done_to);
      st.start = steady::now();
      st.end = st.start
               + std::chrono::duration_cast<steady::duration>(
                 std::chrono::duration<double>(duration_s));
      for (size_t i = 0; i < concurrency; ++i)
        issue(self);
    },
  };
}

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1)
                                 + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

int run_bench(const bench_options& opts) {
  session_config sc;
  if (auto msg = make_session_config(opts.client, sc); !msg.empty()) {
    print_error(msg);
    return exit_usage;
  }
  if (!opts.args.empty())
    if (auto err = check_json_object_text(opts.args)) {
      print_error("--args must be a JSON object: " + render(err));
      return exit_usage;
    }
  auto io = shared_io_runtime();
  sc.io = io;
  sc.http.max_post_connections = std::max<size_t>(
    4, (opts.concurrency + opts.sessions - 1) / opts.sessions);
  app_config cfg;
  int rc = exit_ok;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    // Cold setup: connect + initialize + tools/list on every session.
    auto t0 = steady::now();
    std::vector<session_actor> sessions;
    for (size_t i = 0; i < opts.sessions; ++i)
      sessions.push_back(sys.spawn(session, sc));
    caf::error setup_err;
    for (auto& s : sessions) {
      self->request(s, std::chrono::seconds{3600}, list_atom::value)
        .receive([](std::vector<tool>&) {},
                 [&](caf::error& err) {
                   if (!setup_err)
                     setup_err = std::move(err);
                 });
    }
    auto setup_ms = std::chrono::duration<double, std::milli>(steady::now()
                                                              - t0)
                      .count();
    if (setup_err) {
      print_error(render(setup_err));
      rc = exit_code_for(setup_err);
    } else {
      auto result = std::make_shared<bench_result>();
      result->latency_us.reserve(1 << 20);
      auto d = sys.spawn(driver);
      {
        // Hand the driver its sessions and options before starting.
        auto ptr = caf::actor_cast<caf::stateful_actor<driver_state>*>(d);
        ptr->state.sessions = sessions;
        ptr->state.tool_name = opts.tool_name;
        ptr->state.args = opts.args;
        ptr->state.result = result;
      }
      self->send(d, caf::ok_atom::value, opts.concurrency, opts.duration_s,
                 caf::actor{self});
      self->receive([](caf::ok_atom) {});
      auto& r = *result;
      std::sort(r.latency_us.begin(), r.latency_us.end());
      auto rate = r.duration_s > 0 ? static_cast<double>(r.calls)
                                       / r.duration_s
                                   : 0.0;
      std::string errors = "{";
      for (auto& kvp : r.errors) {
        if (errors.size() > 1)
          errors += ',';
        errors += "\"" + kvp.first + "\":" + std::to_string(kvp.second);
      }
      errors += "}";
      auto p50 = percentile(r.latency_us, 0.50);
      auto p90 = percentile(r.latency_us, 0.90);
      auto p99 = percentile(r.latency_us, 0.99);
      auto pmax = r.latency_us.empty() ? 0u : r.latency_us.back();
      if (opts.client.json) {
        std::printf("{\"calls\":%llu,\"ok\":%llu,\"failed\":%llu,"
                    "\"tool_errors\":%llu,\"errors\":%s,"
                    "\"duration_s\":%.3f,\"calls_per_s\":%.1f,"
                    "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,"
                    "\"max\":%u},\"setup_ms\":%.3f,\"concurrency\":%zu,"
                    "\"sessions\":%zu}\n",
                    static_cast<unsigned long long>(r.calls),
                    static_cast<unsigned long long>(r.ok),
                    static_cast<unsigned long long>(r.failed),
                    static_cast<unsigned long long>(r.tool_errors),
                    errors.c_str(), r.duration_s, rate, p50, p90, p99, pmax,
                    setup_ms, opts.concurrency, opts.sessions);
      } else {
        std::printf("calls        %llu (ok %llu, failed %llu, isError %llu)\n"
                    "errors       %s\n"
                    "duration     %.3f s\n"
                    "throughput   %.1f calls/s\n"
                    "latency      p50 %u us, p90 %u us, p99 %u us, max %u us\n"
                    "setup        %.3f ms (%zu sessions: connect + initialize "
                    "+ tools/list)\n",
                    static_cast<unsigned long long>(r.calls),
                    static_cast<unsigned long long>(r.ok),
                    static_cast<unsigned long long>(r.failed),
                    static_cast<unsigned long long>(r.tool_errors),
                    errors.c_str(), r.duration_s, rate, p50, p90, p99, pmax,
                    setup_ms, opts.sessions);
      }
      if (r.ok == 0)
        rc = exit_failure;
    }
    for (auto& s : sessions)
      self->send(s, caf::close_atom::value);
  }
  return rc;
}

} // namespace

void add_bench(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<bench_options>();
  auto cmd = app.add_subcommand(
    "bench", "Call one tool as fast as possible with N calls in flight over "
             "K sessions and print calls/s, latency percentiles, failures by "
             "code and the cold setup time (--json: one JSON object).");
  add_client_options(*cmd, opts->client);
  cmd->add_option("--tool", opts->tool_name, "tool to call")->required();
  cmd->add_option("--args", opts->args, "arguments as a JSON object");
  cmd->add_option("--duration", opts->duration_s,
                  "seconds to run (default 10)")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--concurrency", opts->concurrency,
                  "calls in flight (default 1)")
    ->check(CLI::Range(size_t{1}, size_t{100000}));
  cmd->add_option("--sessions", opts->sessions, "sessions (default 1)")
    ->check(CLI::Range(size_t{1}, size_t{100000}));
  cmd->callback([opts, &exit_code] { exit_code = run_bench(*opts); });
}

} // namespace caf_mcp::app
