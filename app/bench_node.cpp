// caf-mcp bench-node: keeps --concurrency calls in flight through a node's
// HTTP API (POST /api/servers/NAME/tools/TOOL/call) for --duration seconds
// over keep-alive connections, then prints calls/s and latency percentiles.
// Compare with `caf-mcp bench` against the same server (a direct session)
// to see what the node's HTTP hop costs.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "caf_mcp/messages/mcp.hpp"
#include "caf_mcp/transport/http_client.hpp"
#include "caf_mcp/transport/url.hpp"

#include "commands.hpp"

namespace caf_mcp::app {

namespace {

using steady = std::chrono::steady_clock;

struct bench_node_options {
  std::string url;
  std::string server;
  std::string tool;
  std::string args = "{}";
  std::string token;
  double duration_s = 10;
  size_t concurrency = 1;
  bool json = false;
  int busy_poll_us = 100;
};

/// The driver's state; touched only on the io thread, read after `done`.
struct node_driver {
  std::shared_ptr<transport::post_channel> channel;
  std::string target;
  std::string body;
  steady::time_point end;
  std::vector<uint32_t> latency_us;
  std::map<std::string, uint64_t> failures;
  uint64_t ok = 0;
  size_t outstanding = 0;
  std::mutex mtx;
  std::condition_variable cv;
  bool finished = false;

  void issue(std::shared_ptr<node_driver> self) {
    ++outstanding;
    auto start = steady::now();
    channel->post(target, body, {},
                  [self, start](transport::post_result res) {
                    self->on_done(self, start, res);
                  });
  }

  void on_done(std::shared_ptr<node_driver> self, steady::time_point start,
               const transport::post_result& res) {
    auto now = steady::now();
    --outstanding;
    if (res.ok) {
      ++ok;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - start)
                  .count();
      latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    } else {
      auto key = res.status != 0 ? "http_" + std::to_string(res.status)
                                 : std::string{to_string(res.error.code)};
      ++failures[key];
    }
    if (now < end && (res.ok || failures.size() < 1000))
      return issue(std::move(self));
    if (outstanding == 0) {
      std::lock_guard<std::mutex> guard{mtx};
      finished = true;
      cv.notify_all();
    }
  }
};

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[idx];
}

int run_bench_node(const bench_node_options& opts) {
  auto parsed = transport::parse_url(opts.url);
  if (parsed.code != transport::url_errc::ok) {
    std::fprintf(stderr, "caf-mcp bench-node: --url: %s\n",
                 parsed.message.c_str());
    return exit_usage;
  }
  if (auto err = check_json_object_text(opts.args)) {
    std::fprintf(stderr, "caf-mcp bench-node: --args: expected a JSON object\n");
    return exit_usage;
  }
  transport::io_runtime rt{1, std::chrono::microseconds{opts.busy_poll_us}};
  transport::http_options http;
  http.max_post_connections = opts.concurrency;
  http.post_timeout = std::chrono::seconds{60};
  if (!opts.token.empty())
    http.headers.emplace_back("Authorization", "Bearer " + opts.token);
  auto drv = std::make_shared<node_driver>();
  drv->channel = transport::make_post_channel(rt, parsed.url, http);
  auto base = parsed.url.target;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  auto q = base.find('?');
  if (q != std::string::npos)
    base.erase(q);
  drv->target = base + "/api/servers/" + opts.server + "/tools/" + opts.tool
                + "/call";
  drv->body = opts.args;
  drv->latency_us.reserve(1 << 20);
  auto start = steady::now();
  drv->end = start + std::chrono::duration_cast<steady::duration>(
                       std::chrono::duration<double>(opts.duration_s));
  // Start every caller from the io thread (the driver's state lives there).
  struct start_ctx {
    std::shared_ptr<node_driver> drv;
    size_t n;
  };
  auto ctx = new start_ctx{drv, opts.concurrency};
  rt.post(
    0,
    [](void*, void* arg, bool run) noexcept {
      std::unique_ptr<start_ctx> c{static_cast<start_ctx*>(arg)};
      if (!run)
        return;
      for (size_t i = 0; i < c->n; ++i)
        c->drv->issue(c->drv);
    },
    nullptr, ctx);
  {
    std::unique_lock<std::mutex> guard{drv->mtx};
    drv->cv.wait(guard, [&] { return drv->finished; });
  }
  auto elapsed = std::chrono::duration<double>(steady::now() - start).count();
  drv->channel->close();
  auto lat = drv->latency_us;
  std::sort(lat.begin(), lat.end());
  uint64_t failed = 0;
  std::string errors;
  for (auto& [k, v] : drv->failures) {
    failed += v;
    if (!errors.empty())
      errors += ',';
    errors += "\"" + k + "\":" + std::to_string(v);
  }
  auto rate = static_cast<double>(drv->ok) / elapsed;
  if (opts.json) {
    std::printf("{\"ok\":%llu,\"failed\":%llu,\"errors\":{%s},"
                "\"duration_s\":%.3f,\"calls_per_s\":%.1f,\"concurrency\":%zu,"
                "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"max\":%u}}\n",
                static_cast<unsigned long long>(drv->ok),
                static_cast<unsigned long long>(failed), errors.c_str(),
                elapsed, rate, opts.concurrency, percentile(lat, 0.5),
                percentile(lat, 0.9), percentile(lat, 0.99),
                lat.empty() ? 0u : lat.back());
  } else {
    std::printf("node calls: %llu ok, %llu failed in %.2f s at %zu in flight: "
                "%.0f calls/s\nlatency: p50 %u us, p90 %u us, p99 %u us, max "
                "%u us\n",
                static_cast<unsigned long long>(drv->ok),
                static_cast<unsigned long long>(failed), elapsed,
                opts.concurrency, rate, percentile(lat, 0.5),
                percentile(lat, 0.9), percentile(lat, 0.99),
                lat.empty() ? 0u : lat.back());
    if (failed > 0)
      std::printf("failures: {%s}\n", errors.c_str());
  }
  return failed == 0 ? exit_ok : exit_failure;
}

} // namespace

void add_bench_node(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<bench_node_options>();
  auto cmd = app.add_subcommand(
    "bench-node",
    "Call one tool through a node's HTTP API (POST /api/servers/NAME/tools/"
    "TOOL/call) with N calls in flight over keep-alive connections and print "
    "calls/s and latency percentiles (--json: one JSON object). Exit 3 if "
    "any call failed.");
  cmd->add_option("--url", opts->url,
                  "the node's URL as it prints it (http://HOST:PORT/)")
    ->required();
  cmd->add_option("--server", opts->server, "server name in the node")
    ->required();
  cmd->add_option("--tool", opts->tool, "tool to call")->required();
  cmd->add_option("--args", opts->args, "arguments as a JSON object (default {})");
  cmd->add_option("--token", opts->token,
                  "the node's bearer token, if it has one");
  cmd->add_option("--duration", opts->duration_s, "seconds to run (default 10)")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--concurrency", opts->concurrency,
                  "calls in flight (default 1)")
    ->check(CLI::Range(size_t{1}, size_t{1024}));
  cmd->add_option("--busy-poll-us", opts->busy_poll_us,
                  "microseconds the io thread keeps polling before it sleeps "
                  "(default 100, as caf-mcp bench; 0 = off)")
    ->check(CLI::Range(0, 1000000));
  cmd->add_flag("--json", opts->json, "machine-readable output");
  cmd->callback(
    [opts, &exit_code] { exit_code = run_bench_node(*opts); });
}

} // namespace caf_mcp::app
