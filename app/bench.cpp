// caf-mcp bench: keeps --concurrency tools/call requests in flight, spread
// over --sessions supervised sessions (a connection pool), for --duration
// seconds, then prints throughput, latency percentiles, failures by code,
// reconnects and the cold setup time.
//
// caf-mcp soak: the same driver calling the fault server's `record` tool
// with a unique key per call; afterwards it reads the server's --exec-log
// and checks that every call is accounted for, that none ran twice unless
// marked retryable, and that every server life served calls.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "caf_mcp/actors/connection_pool.hpp"
#include "caf_mcp/actors/io.hpp"
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
  /// Fresh sessions timed one after another after the setup.
  size_t connects = 10;
  /// Soak mode: keys for `record`, and the server's exec log to check.
  bool soak = false;
  std::string exec_log;
  std::string key_prefix;
};

/// What happened to one soak key.
enum class key_outcome : uint8_t { ok, failed };

struct bench_result {
  uint64_t calls = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t tool_errors = 0;
  std::map<std::string, uint64_t> errors;
  std::vector<uint32_t> latency_us;
  double duration_s = 0;
  /// Soak: outcome per key.
  std::unordered_map<std::string, key_outcome> keys;
};

struct driver_state {
  pool_actor pool;
  /// --node: calls go to SERVER through a connect_node handle instead.
  cluster::remote_registry_actor node;
  std::string server;
  std::string tool_name;
  std::string args;
  call_options opts;
  bool soak = false;
  std::string key_prefix;
  uint64_t next_key = 0;
  steady::time_point start;
  steady::time_point end;
  size_t in_flight = 0;
  std::shared_ptr<bench_result> result;
  caf::actor done_to;
};

void issue(caf::stateful_actor<driver_state>* self);

void complete(caf::stateful_actor<driver_state>* self, steady::time_point t0,
              const std::string& key, const caf::error* err, bool is_error) {
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
    if (st.soak)
      r.keys[key] = key_outcome::ok;
  } else {
    ++r.failed;
    mcp_errc code{};
    std::string name = get_mcp_errc(*err, code) ? to_string(code)
                                                : caf::to_string(*err);
    ++r.errors[name];
    if (st.soak)
      r.keys[key] = key_outcome::failed;
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
  ++st.in_flight;
  auto t0 = steady::now();
  std::string key;
  if (st.soak) {
    key = st.key_prefix + std::to_string(st.next_key++);
    std::string args = "{\"key\":\"" + key + "\"}";
    self->request(st.pool, caf::infinite, call_atom::value, st.tool_name,
                  std::move(args), st.opts)
      .then(
        [self, t0, key](call_tool_result& res) {
          complete(self, t0, key, nullptr, res.is_error);
        },
        [self, t0, key](caf::error& err) {
          complete(self, t0, key, &err, false);
        });
    return;
  }
  if (st.node) {
    self
      ->request(st.node, caf::infinite, call_atom::value, st.server,
                st.tool_name, st.args, st.opts)
      .then(
        [self, t0](call_tool_result& res) {
          complete(self, t0, std::string{}, nullptr, res.is_error);
        },
        [self, t0](caf::error& err) {
          complete(self, t0, std::string{}, &err, false);
        });
    return;
  }
  self
    ->request(st.pool, caf::infinite, call_atom::value, st.tool_name, st.args,
              st.opts)
    .then(
      [self, t0](call_tool_result& res) {
        complete(self, t0, std::string{}, nullptr, res.is_error);
      },
      [self, t0](caf::error& err) {
        complete(self, t0, std::string{}, &err, false);
      });
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

/// What the setup actor reports.
struct setup_outcome {
  pool_actor pool;
  double setup_ms = 0;
  /// Fresh sessions after the setup (connect + initialize + tools/list in
  /// a warm process), one after another, in ms.
  std::vector<double> connects_ms;
  caf::error err;
};

/// Opens `n` more sessions one after another (each: spawn, initialize,
/// tools/list, close) and records how long each took; then `done`.
void time_connects(caf::event_based_actor* self, session_config_ptr sc,
                   size_t n, std::shared_ptr<setup_outcome> out,
                   std::function<void()> done) {
  if (n == 0 || out->err) {
    done();
    return;
  }
  auto t0 = steady::now();
  auto s = self->spawn(session, sc);
  auto next = [self, sc, n, out, done, s, t0](caf::error* err) {
    if (err != nullptr && !out->err)
      out->err = std::move(*err);
    else
      out->connects_ms.push_back(
        std::chrono::duration<double, std::milli>(steady::now() - t0)
          .count());
    self->send(s, caf::close_atom::value);
    time_connects(self, sc, n - 1, out, done);
  };
  self->request(s, caf::infinite, list_atom::value)
    .then([next](std::vector<tool>&) { next(nullptr); },
          [next](caf::error& err) { next(&err); });
}

/// Cold setup, timed on the actor side (the main thread's wake-ups are not
/// part of it): spawns the pool, waits until every member answered
/// tools/list (connect + endpoint + initialize + initialized + tools/list),
/// then reports to the requester.
caf::behavior setup_actor(caf::event_based_actor* self, pool_config pc,
                          size_t connects,
                          std::shared_ptr<setup_outcome> out) {
  return {
    [self, pc, connects, out](caf::ok_atom) -> caf::result<caf::ok_atom> {
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto t0 = steady::now();
      out->pool = self->spawn(connection_pool, pc);
      auto sc = share(pc.member.session);
      self->request(out->pool, caf::infinite, caf::get_atom::value)
        .then(
          [self, rp, out, t0, sc,
           connects](std::vector<supervisor_actor>& members) mutable {
            auto left = std::make_shared<size_t>(members.size());
            auto finish = [self, rp, out, t0, sc, connects]() mutable {
              out->setup_ms = std::chrono::duration<double, std::milli>(
                                steady::now() - t0)
                                .count();
              time_connects(self, sc, connects, out, [rp]() mutable {
                rp.deliver(caf::ok_atom::value);
              });
            };
            if (members.empty())
              return finish();
            for (auto& m : members)
              self->request(m, caf::infinite, list_atom::value)
                .then(
                  [left, finish](std::vector<tool>&) mutable {
                    if (--*left == 0)
                      finish();
                  },
                  [left, finish, out](caf::error& err) mutable {
                    if (!out->err)
                      out->err = std::move(err);
                    if (--*left == 0)
                      finish();
                  });
          },
          [rp, out](caf::error& err) mutable {
            out->err = std::move(err);
            rp.deliver(caf::ok_atom::value);
          });
      return rp;
    },
  };
}

/// The `p` quantile (0..1, nearest rank) of a sorted sample; 0 if empty.
template <class T>
T percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty())
    return T{};
  auto idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1)
                                 + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

std::string errors_json(const bench_result& r) {
  std::string errors = "{";
  for (auto& kvp : r.errors) {
    if (errors.size() > 1)
      errors += ',';
    errors += "\"" + kvp.first + "\":" + std::to_string(kvp.second);
  }
  errors += "}";
  return errors;
}

/// The soak's verdict from the exec log.
struct soak_check {
  uint64_t executed = 0;      // our keys' lines in the log
  uint64_t executed_keys = 0; // distinct keys
  uint64_t duplicates = 0;    // keys executed more than once
  uint64_t ok_not_executed = 0;
  uint64_t executed_unknown = 0; // keys we never issued (should be 0)
  uint64_t lives = 0;
  uint64_t lives_serving = 0;
  bool log_read = false;
};

soak_check check_exec_log(const std::string& path, const std::string& prefix,
                          const bench_result& r) {
  soak_check out;
  std::ifstream in{path};
  if (!in)
    return out;
  out.log_read = true;
  std::unordered_map<std::string, uint64_t> counts;
  std::string line;
  bool life_served = false;
  bool in_life = false;
  while (std::getline(in, line)) {
    if (line.rfind("#start", 0) == 0) {
      if (in_life && life_served)
        ++out.lives_serving;
      ++out.lives;
      in_life = true;
      life_served = false;
      continue;
    }
    if (line.rfind(prefix, 0) != 0)
      continue;
    ++out.executed;
    ++counts[line];
    life_served = true;
  }
  if (in_life && life_served)
    ++out.lives_serving;
  out.executed_keys = counts.size();
  for (auto& kvp : counts) {
    if (kvp.second > 1)
      ++out.duplicates;
    if (r.keys.count(kvp.first) == 0)
      ++out.executed_unknown;
  }
  for (auto& kvp : r.keys)
    if (kvp.second == key_outcome::ok && counts.count(kvp.first) == 0)
      ++out.ok_not_executed;
  return out;
}

/// The figures every bench run prints first (calls, errors, duration,
/// throughput, latency percentiles), as the head of the `--json` object
/// (without its closing brace) or as the first five text lines. Sorts
/// `r.latency_us`.
struct run_head {
  std::string json;
  std::string text;
};

run_head head_of(bench_result& r) {
  std::sort(r.latency_us.begin(), r.latency_us.end());
  auto rate = r.duration_s > 0 ? static_cast<double>(r.calls) / r.duration_s
                               : 0.0;
  auto errors = errors_json(r);
  auto p50 = percentile(r.latency_us, 0.50);
  auto p90 = percentile(r.latency_us, 0.90);
  auto p99 = percentile(r.latency_us, 0.99);
  auto pmax = r.latency_us.empty() ? 0u : r.latency_us.back();
  // errors_json holds one entry per error code: a few hundred bytes.
  char buf[4096];
  auto calls = static_cast<unsigned long long>(r.calls);
  auto ok = static_cast<unsigned long long>(r.ok);
  auto failed = static_cast<unsigned long long>(r.failed);
  auto tool_errors = static_cast<unsigned long long>(r.tool_errors);
  run_head h;
  std::snprintf(buf, sizeof(buf), "{\"calls\":%llu,\"ok\":%llu,\"failed\":%llu,"
                  "\"tool_errors\":%llu,\"errors\":%s,"
                  "\"duration_s\":%.3f,\"calls_per_s\":%.1f,"
                  "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,"
                  "\"max\":%u}",
                  calls, ok, failed, tool_errors, errors.c_str(), r.duration_s,
                  rate, p50, p90, p99, pmax);
  h.json = buf;
  std::snprintf(buf, sizeof(buf), "calls        %llu (ok %llu, failed %llu, isError %llu)\n"
                  "errors       %s\n"
                  "duration     %.3f s\n"
                  "throughput   %.1f calls/s\n"
                  "latency      p50 %u us, p90 %u us, p99 %u us, max %u us\n",
                  calls, ok, failed, tool_errors, errors.c_str(), r.duration_s,
                  rate, p50, p90, p99, pmax);
  h.text = buf;
  return h;
}

/// `bench --node`: the same driver through a node's cluster port
/// (connect_node), calls to --server; prints calls, throughput and latency.
int run_bench_node(const bench_options& opts) {
  if (opts.client.server.empty()) {
    print_error("--node needs --server NAME (the server on that node)");
    return exit_usage;
  }
  if (!opts.args.empty())
    if (auto err = check_json_object_text(opts.args)) {
      print_error("--args must be a JSON object: " + render(err));
      return exit_usage;
    }
  node_connection env{opts.client};
  if (env.rc != exit_ok)
    return env.rc;
  auto result = std::make_shared<bench_result>();
  result->latency_us.reserve(1 << 20);
  caf::scoped_actor self{*env.sys};
  auto d = env.sys->spawn(driver);
  {
    auto ptr = caf::actor_cast<caf::stateful_actor<driver_state>*>(d);
    auto& st = ptr->state;
    st.node = env.node;
    st.server = opts.client.server;
    st.tool_name = opts.tool_name;
    st.args = opts.args.empty() ? std::string{"{}"} : opts.args;
    st.opts.retryable = opts.client.retryable;
    st.result = result;
  }
  self->send(d, caf::ok_atom::value, opts.concurrency, opts.duration_s,
             caf::actor{self});
  self->receive([](caf::ok_atom) {});
  auto& r = *result;
  auto head = head_of(r);
  if (opts.client.json)
    std::printf("%s,\"concurrency\":%zu,\"node\":\"%s\"}\n",
                head.json.c_str(), opts.concurrency,
                opts.client.node.c_str());
  else
    std::printf("%sthrough      node %s, server %s\n", head.text.c_str(),
                opts.client.node.c_str(), opts.client.server.c_str());
  return r.ok == 0 ? exit_failure : exit_ok;
}

int run_bench(const bench_options& opts) {
  if (opts.client.url.empty() && opts.client.node.empty()) {
    print_error("--url or --node is required");
    return exit_usage;
  }
  if (!opts.client.node.empty())
    return run_bench_node(opts);
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
  auto io = make_io_runtime(opts.client);
  sc.io = io;
  sc.http.max_post_connections = std::max<size_t>(
    sc.http.max_post_connections,
    (opts.concurrency + opts.sessions - 1) / opts.sessions);
  pool_config pc;
  pc.member.session = sc;
  pc.member.fetch_tools = false; // setup lists explicitly (it is measured)
  pc.min_members = opts.sessions;
  pc.max_members = opts.sessions;
  apply_reconnect_options(opts.client, pc);
  app_config cfg{io};
  int rc = exit_ok;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    // Cold setup: connect + initialize + tools/list on every session.
    auto setup = std::make_shared<setup_outcome>();
    auto setup_helper = sys.spawn(setup_actor, pc,
                                  opts.soak ? size_t{0} : opts.connects,
                                  setup);
    self->request(setup_helper, caf::infinite, caf::ok_atom::value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) { setup->err = std::move(err); });
    caf::anon_send_exit(setup_helper, caf::exit_reason::user_shutdown);
    auto pool = setup->pool;
    auto setup_ms = setup->setup_ms;
    auto connects = setup->connects_ms;
    std::sort(connects.begin(), connects.end());
    auto connect_at = [&connects](double p) {
      return percentile(connects, p);
    };
    auto setup_err = setup->err;
    if (setup_err) {
      print_error(render(setup_err));
      rc = exit_code_for(setup_err);
    } else {
      auto result = std::make_shared<bench_result>();
      result->latency_us.reserve(1 << 20);
      auto d = sys.spawn(driver);
      {
        // Hand the driver its pool and options before starting.
        auto ptr = caf::actor_cast<caf::stateful_actor<driver_state>*>(d);
        auto& st = ptr->state;
        st.pool = pool;
        st.tool_name = opts.tool_name;
        st.args = opts.args;
        st.opts.retryable = opts.client.retryable;
        st.soak = opts.soak;
        st.key_prefix = opts.key_prefix;
        st.result = result;
      }
      self->send(d, caf::ok_atom::value, opts.concurrency, opts.duration_s,
                 caf::actor{self});
      self->receive([](caf::ok_atom) {});
      pool_stats ps;
      self->request(pool, std::chrono::seconds{60}, stats_atom::value)
        .receive([&](pool_stats& x) { ps = std::move(x); },
                 [](caf::error&) {});
      uint64_t reconnects = 0;
      caf::timespan longest{0};
      caf::timespan longest_connect{0};
      uint64_t resent = 0;
      for (auto& l : ps.links) {
        reconnects += l.reconnects;
        longest = std::max(longest, l.longest_recovery);
        longest_connect = std::max(longest_connect, l.longest_connect);
        resent += l.calls_resent;
      }
      auto longest_ms = std::chrono::duration<double, std::milli>(longest)
                          .count();
      auto connect_ms = std::chrono::duration<double, std::milli>(
                          longest_connect)
                          .count();
      auto& r = *result;
      std::sort(r.latency_us.begin(), r.latency_us.end());
      auto rate = r.duration_s > 0 ? static_cast<double>(r.calls)
                                       / r.duration_s
                                   : 0.0;
      auto errors = errors_json(r);
      auto p50 = percentile(r.latency_us, 0.50);
      auto p99 = percentile(r.latency_us, 0.99);
      auto pmax = r.latency_us.empty() ? 0u : r.latency_us.back();
      if (opts.soak) {
        auto chk = check_exec_log(opts.exec_log, opts.key_prefix, r);
        bool accounted = r.ok + r.failed == r.calls;
        bool no_unasked_twice = opts.client.retryable || chk.duplicates == 0;
        bool pass = accounted && chk.log_read && no_unasked_twice
                    && chk.ok_not_executed == 0 && chk.executed_unknown == 0
                    && chk.lives_serving == chk.lives && r.ok > 0;
        std::printf(
          "{\"issued\":%llu,\"ok\":%llu,\"failed\":%llu,\"errors\":%s,"
          "\"executed\":%llu,\"executed_keys\":%llu,\"duplicates\":%llu,"
          "\"ok_not_executed\":%llu,\"executed_unknown\":%llu,"
          "\"lives\":%llu,\"lives_serving\":%llu,\"reconnects\":%llu,"
          "\"resent\":%llu,\"longest_recovery_ms\":%.1f,"
          "\"longest_connect_ms\":%.1f,"
          "\"duration_s\":%.3f,\"calls_per_s\":%.1f,"
          "\"latency_us\":{\"p50\":%u,\"p99\":%u,\"max\":%u},"
          "\"retryable\":%s,\"accounted\":%s,\"pass\":%s}\n",
          static_cast<unsigned long long>(r.calls),
          static_cast<unsigned long long>(r.ok),
          static_cast<unsigned long long>(r.failed), errors.c_str(),
          static_cast<unsigned long long>(chk.executed),
          static_cast<unsigned long long>(chk.executed_keys),
          static_cast<unsigned long long>(chk.duplicates),
          static_cast<unsigned long long>(chk.ok_not_executed),
          static_cast<unsigned long long>(chk.executed_unknown),
          static_cast<unsigned long long>(chk.lives),
          static_cast<unsigned long long>(chk.lives_serving),
          static_cast<unsigned long long>(reconnects),
          static_cast<unsigned long long>(resent), longest_ms, connect_ms,
          r.duration_s, rate, p50, p99, pmax, opts.client.retryable ? "true" : "false",
          accounted ? "true" : "false", pass ? "true" : "false");
        if (!chk.log_read)
          print_error("cannot read the exec log " + opts.exec_log);
        if (!pass)
          rc = exit_tool_error;
      } else if (opts.client.json) {
        std::printf("%s,\"setup_ms\":%.3f,"
                    "\"connect_ms\":{\"n\":%zu,\"min\":%.3f,\"p50\":%.3f,"
                    "\"max\":%.3f},\"concurrency\":%zu,"
                    "\"sessions\":%zu,\"reconnects\":%llu,\"resent\":%llu,"
                    "\"longest_recovery_ms\":%.1f,\"transport\":\"%s\"}\n",
                    head_of(r).json.c_str(), setup_ms, connects.size(),
                    connect_at(0.0), connect_at(0.5), connect_at(1.0),
                    opts.concurrency, opts.sessions,
                    static_cast<unsigned long long>(reconnects),
                    static_cast<unsigned long long>(resent), longest_ms,
                    transport_name(opts.client).c_str());
      } else {
        std::printf("%s"
                    "setup        %.3f ms (%zu sessions: connect + initialize "
                    "+ tools/list)\n"
                    "connect      p50 %.3f ms, min %.3f ms, max %.3f ms (%zu "
                    "fresh sessions one after another)\n"
                    "reconnects   %llu (calls resent %llu, longest recovery "
                    "%.1f ms)\n"
                    "transport    %s\n",
                    head_of(r).text.c_str(), setup_ms, opts.sessions,
                    connect_at(0.5), connect_at(0.0), connect_at(1.0),
                    connects.size(),
                    static_cast<unsigned long long>(reconnects),
                    static_cast<unsigned long long>(resent), longest_ms,
                    transport_name(opts.client).c_str());
      }
      if (!opts.soak && r.ok == 0)
        rc = exit_failure;
    }
    self->send(pool, caf::close_atom::value);
  }
  return rc;
}

void add_driver_options(CLI::App& cmd, bench_options& opts,
                        bool node_too = false) {
  add_client_options(cmd, opts.client, node_too);
  cmd.add_option("--duration", opts.duration_s, "seconds to run (default 10)")
    ->check(CLI::PositiveNumber);
  cmd.add_option("--concurrency", opts.concurrency,
                 "calls in flight (default 1)")
    ->check(CLI::Range(size_t{1}, size_t{100000}));
  cmd.add_option("--sessions", opts.sessions,
                 "supervised sessions in the pool (default 1)")
    ->check(CLI::Range(size_t{1}, size_t{100000}));
  cmd.add_flag("--retryable", opts.client.retryable,
               "mark calls retryable: a call in flight when the connection is "
               "lost is sent once more on the next session");
}

void add_connects_option(CLI::App& cmd, bench_options& opts) {
  cmd.add_option("--connects", opts.connects,
                 "after the setup, open this many fresh sessions one after "
                 "another (connect + initialize + tools/list, then close) and "
                 "report their times as connect_ms (default 10, 0 = none)")
    ->check(CLI::Range(size_t{0}, size_t{100000}));
}

} // namespace

void add_bench(CLI::App& app, int& exit_code) {
  {
    auto opts = std::make_shared<bench_options>();
    opts->client.retries = -1;
    auto cmd = app.add_subcommand(
      "bench", "Call one tool as fast as possible with N calls in flight over "
               "K supervised sessions and print calls/s, latency percentiles, "
               "failures by code, reconnects and the cold setup time (--json: "
               "one JSON object). With --node HOST:PORT --server NAME the calls "
               "go through a caf-mcp node's cluster port instead "
               "(docs/cluster.md).");
    add_driver_options(*cmd, *opts, true);
    cmd->add_option("--tool", opts->tool_name, "tool to call")->required();
    cmd->add_option("--args", opts->args, "arguments as a JSON object");
    add_connects_option(*cmd, *opts);
    cmd->callback([opts, &exit_code] { exit_code = run_bench(*opts); });
  }
  {
    auto opts = std::make_shared<bench_options>();
    opts->client.retries = -1;
    opts->soak = true;
    opts->tool_name = "record";
    opts->key_prefix
      = "soak-"
        + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count())
        + "-";
    auto cmd = app.add_subcommand(
      "soak", "Call the fault server's `record` tool (demo-server --faults "
              "--exec-log FILE) with a unique key per call for --duration "
              "seconds while the server misbehaves or is killed and restarted; "
              "then read FILE and print one JSON summary: issued, ok, failed "
              "by code, executed, duplicates, server lives and how many "
              "served calls, reconnects, longest recovery. Exit status 1 if a "
              "check fails (a call not accounted for, a call run twice that "
              "was not retryable, an answered call missing from the log, a "
              "server life that served nothing).");
    add_driver_options(*cmd, *opts);
    cmd->add_option("--exec-log", opts->exec_log,
                    "the exec log the server(s) append to")
      ->required();
    cmd->add_option("--key-prefix", opts->key_prefix,
                    "prefix of the record keys (default soak-<ms>-)");
    cmd->callback([opts, &exit_code] { exit_code = run_bench(*opts); });
  }
}

} // namespace caf_mcp::app
