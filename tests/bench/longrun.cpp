// longrun: the long-run soak of issue 10. Prints numbers; asserts nothing.
//
//   longrun CAF_MCP_BIN [SERVERS [SECONDS [RATE [KILL_EVERY_S]]]]
//
// One process holds one keep-alive client (reconnecting forever) per demo
// server (SERVERS child processes of `CAF_MCP_BIN demo-server`, default 50)
// and for SECONDS (default 600):
//   - calls the servers round robin at RATE calls/s (default 200), mixing
//     `echo` with a 5 s deadline, `slow` 50 ms with a 2 s deadline and
//     `slow` 300 ms with a 100 ms deadline (those expire and are cancelled);
//   - every second spawns 20 subscriber actors on random clients and kills
//     the 20 of the second before;
//   - every KILL_EVERY_S seconds (default 30) kills one server with SIGKILL
//     and starts it again on the same port 300 ms later, round robin.
// Every 10 s it prints one JSON line: RSS, entries on CAF's clock, entries
// in all subscriber sets, calls by outcome and calls still outstanding.
// At the end it stops calling, waits (at most 15 s) for every outstanding
// call's answer and prints the final counts with "accounted" (sent == ok +
// failed, none outstanding). The last line compares the first sample after
// 60 s of warm-up with the last one. Children are killed on exit (also on
// SIGINT/SIGTERM, and by the kernel if longrun itself is SIGKILLed).

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/all.hpp"

#include "caf_mcp/actors/client.hpp"
#include "caf_mcp/actors/io.hpp"
#include "caf_mcp/actors/subscribers.hpp"
#include "caf_mcp/messages/protocol.hpp"
#include "bench_util.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> stop_flag{false};

void on_signal(int) {
  stop_flag = true;
}

/// One demo server child process.
struct server_proc {
  pid_t pid = -1;
  uint16_t port = 0;
};

pid_t spawn_server(const std::string& bin, uint16_t port,
                   const std::string& port_file) {
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid == 0) {
    // A SIGKILLed longrun leaves no demo servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    // The child's "listening on" line and logs stay out of our output.
    if (auto fd = ::open("/dev/null", O_WRONLY); fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    auto p = std::to_string(port);
    ::execl(bin.c_str(), bin.c_str(), "demo-server", "--host", "127.0.0.1",
            "--port", p.c_str(), "--port-file", port_file.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

uint16_t wait_port(const std::string& file) {
  for (int i = 0; i < 200; ++i) { // 10 s at most
    std::ifstream in{file};
    unsigned p = 0;
    if (in >> p && p > 0)
      return static_cast<uint16_t>(p);
    std::this_thread::sleep_for(50ms);
  }
  return 0;
}

struct counters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> outstanding{0};
  std::atomic<bool> stop_calls{false};
  std::mutex mtx;
  std::map<std::string, uint64_t> failed;
};

struct sample {
  double t = 0;
  long rss = 0;
  size_t clock = 0;
  size_t subs = 0;
  uint64_t outstanding = 0;
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CAF_MCP_BIN [SERVERS [SECONDS [RATE "
                         "[KILL_EVERY_S]]]]\n", argv[0]);
    return 2;
  }
  std::string bin = argv[1];
  int servers = argc > 2 ? std::stoi(argv[2]) : 50;
  int seconds = argc > 3 ? std::stoi(argv[3]) : 600;
  double rate = argc > 4 ? std::stod(argv[4]) : 200;
  int kill_every = argc > 5 ? std::stoi(argv[5]) : 30;
  if (servers < 1 || servers > 500 || seconds < 1 || seconds > 86400
      || !(rate > 0 && rate <= 100000) || kill_every < 1) {
    std::fprintf(stderr, "out of range\n");
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  char dir_template[] = "/tmp/longrun.XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  std::vector<server_proc> procs(static_cast<size_t>(servers));
  auto kill_all = [&] {
    for (auto& p : procs)
      if (p.pid > 0) {
        ::kill(p.pid, SIGKILL);
        ::waitpid(p.pid, nullptr, 0);
        p.pid = -1;
      }
  };
  for (size_t i = 0; i < procs.size(); ++i) {
    auto file = dir + "/" + std::to_string(i) + ".port";
    procs[i].pid = spawn_server(bin, 0, file);
    procs[i].port = wait_port(file);
    if (procs[i].port == 0) {
      std::fprintf(stderr, "server %zu did not start\n", i);
      kill_all();
      return 1;
    }
  }
  auto io = std::make_shared<transport::io_runtime>(1);
  auto cnt = std::make_shared<counters>();
  std::vector<sample> samples;
  {
    bench::io_config cfg{io};
    caf::actor_system sys{cfg};
    std::vector<client_actor> clients;
    for (size_t i = 0; i < procs.size(); ++i) {
      client_config cc;
      cc.name = "server-" + std::to_string(i);
      cc.session.server_name = cc.name;
      cc.session.sse_url = "http://127.0.0.1:" + std::to_string(procs[i].port)
                           + "/sse";
      cc.session.io = io;
      cc.pool.member.backoff.base = 100ms;
      cc.pool.member.backoff.cap = 2s;
      cc.pool.member.backoff.max_attempts = 0; // forever
      clients.push_back(sys.spawn(client, std::move(cc)));
    }
    // The caller: calls at `rate`, round robin, three kinds of deadline.
    auto caller = sys.spawn([=](caf::event_based_actor* self) {
      auto per_tick = std::max<uint64_t>(1, static_cast<uint64_t>(rate / 100));
      auto next = std::make_shared<size_t>(0);
      self->send(self, caf::tick_atom::value);
      return caf::behavior{[=](caf::tick_atom) {
        if (cnt->stop_calls)
          return; // no more calls; the caller stays for their answers
        for (uint64_t i = 0; i < per_tick; ++i) {
          auto n = (*next)++;
          auto& c = clients[n % clients.size()];
          call_options opts;
          std::string tool;
          std::string args;
          switch (n % 3) {
            case 0:
              tool = "echo";
              args = R"({"text":"x"})";
              opts.timeout = 5s;
              break;
            case 1:
              tool = "slow";
              args = R"({"ms":50})";
              opts.timeout = 2s;
              break;
            default:
              tool = "slow";
              args = R"({"ms":300})";
              opts.timeout = 100ms;
              break;
          }
          ++cnt->sent;
          ++cnt->outstanding;
          self->request(c, caf::infinite, call_atom::value, tool, args, opts)
            .then(
              [cnt](call_tool_result&) {
                ++cnt->ok;
                --cnt->outstanding;
              },
              [cnt](caf::error& err) {
                mcp_errc code{};
                auto name = get_mcp_errc(err, code) ? to_string(code)
                                                    : "other";
                std::lock_guard<std::mutex> guard{cnt->mtx};
                ++cnt->failed[name];
                --cnt->outstanding;
              });
        }
        self->delayed_send(self, 10ms, caf::tick_atom::value);
      }};
    });
    // Subscriber churn: 20 new ones a second, the previous 20 killed.
    auto churner = sys.spawn([=](caf::event_based_actor* self) {
      auto current = std::make_shared<std::vector<caf::actor>>();
      auto rng = std::make_shared<std::mt19937>(42);
      self->send(self, caf::tick_atom::value);
      return caf::behavior{[=](caf::tick_atom) {
        for (auto& a : *current)
          self->send_exit(a, caf::exit_reason::user_shutdown);
        current->clear();
        for (int i = 0; i < 20; ++i) {
          auto sub = self->spawn([](caf::event_based_actor*) -> caf::behavior {
            return {[](link_atom, link_status&) {},
                    [](tools_diff_atom, std::string&, tools_diff&) {},
                    [](log_atom, std::string&, logging_message_params&) {}};
          });
          auto& c = clients[(*rng)() % clients.size()];
          self->send(c, caf::subscribe_atom::value, sub);
          current->push_back(sub);
        }
        self->delayed_send(self, 1s, caf::tick_atom::value);
      }};
    });
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                           - t0)
        .count();
    };
    size_t victim = 0;
    int next_kill = kill_every;
    int next_sample = 10;
    while (!stop_flag && elapsed() < seconds) {
      std::this_thread::sleep_for(100ms);
      auto now = elapsed();
      if (now >= next_kill) {
        next_kill += kill_every;
        auto& p = procs[victim++ % procs.size()];
        ::kill(p.pid, SIGKILL);
        ::waitpid(p.pid, nullptr, 0);
        std::this_thread::sleep_for(300ms);
        auto file = dir + "/restart.port";
        ::unlink(file.c_str());
        p.pid = spawn_server(bin, p.port, file);
      }
      if (now >= next_sample) {
        next_sample += 10;
        sample s;
        s.t = now;
        s.rss = bench::rss_kib();
        s.clock = bench::clock_entries(sys);
        s.subs = subscriber_set::live_entries();
        s.outstanding = cnt->outstanding.load();
        samples.push_back(s);
        std::string failed;
        {
          std::lock_guard<std::mutex> guard{cnt->mtx};
          for (auto& kvp : cnt->failed)
            failed += (failed.empty() ? "\"" : ",\"") + kvp.first + "\":"
                      + std::to_string(kvp.second);
        }
        std::printf("{\"t_s\":%.0f,\"rss_kib\":%ld,\"clock_entries\":%zu,"
                    "\"subscriber_entries\":%zu,\"sent\":%llu,\"ok\":%llu,"
                    "\"failed\":{%s},\"outstanding\":%llu}\n",
                    s.t, s.rss, s.clock, s.subs,
                    static_cast<unsigned long long>(cnt->sent.load()),
                    static_cast<unsigned long long>(cnt->ok.load()),
                    failed.c_str(),
                    static_cast<unsigned long long>(s.outstanding));
        std::fflush(stdout);
      }
    }
    // Every call gets its answer before the end: stop issuing, then wait
    // (bounded: the longest deadline is 5 s) until none is outstanding.
    cnt->stop_calls = true;
    caf::anon_send_exit(churner, caf::exit_reason::user_shutdown);
    for (int i = 0; i < 300 && cnt->outstanding.load() > 0; ++i)
      std::this_thread::sleep_for(50ms);
    {
      std::string failed;
      uint64_t failed_total = 0;
      std::lock_guard<std::mutex> guard{cnt->mtx};
      for (auto& kvp : cnt->failed) {
        failed += (failed.empty() ? "\"" : ",\"") + kvp.first + "\":"
                  + std::to_string(kvp.second);
        failed_total += kvp.second;
      }
      auto sent = cnt->sent.load();
      auto ok = cnt->ok.load();
      auto left = cnt->outstanding.load();
      std::printf("{\"final\":{\"sent\":%llu,\"ok\":%llu,\"failed\":{%s},"
                  "\"outstanding\":%llu,\"accounted\":%s}}\n",
                  static_cast<unsigned long long>(sent),
                  static_cast<unsigned long long>(ok), failed.c_str(),
                  static_cast<unsigned long long>(left),
                  sent == ok + failed_total && left == 0 ? "true" : "false");
      std::fflush(stdout);
    }
    caf::anon_send_exit(caller, caf::exit_reason::user_shutdown);
    for (auto& c : clients)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  }
  kill_all();
  const sample* first = nullptr;
  for (auto& s : samples)
    if (s.t >= 60 || &s == &samples.back()) {
      first = &s;
      break;
    }
  if (first != nullptr && !samples.empty()) {
    auto& last = samples.back();
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf("{\"summary\":{\"from_t_s\":%.0f,\"to_t_s\":%.0f,"
                "\"rss_kib\":[%ld,%ld,%.3f],\"clock_entries\":[%zu,%zu],"
                "\"subscriber_entries\":[%zu,%zu],\"outstanding\":[%llu,%llu]"
                "}}\n",
                first->t, last.t, first->rss, last.rss,
                ratio(static_cast<double>(last.rss),
                      static_cast<double>(first->rss)),
                first->clock, last.clock, first->subs, last.subs,
                static_cast<unsigned long long>(first->outstanding),
                static_cast<unsigned long long>(last.outstanding));
  }
  return 0;
}
