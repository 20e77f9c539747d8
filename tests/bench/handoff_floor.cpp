// handoff-floor: what this machine charges for the steps a remote call adds
// to a local one, measured without CAF, Asio or caf-mcp: a system call, a
// hand-off from one thread to another that sleeps in epoll_wait (a pipe
// write, as CAF's multiplexer and Asio's loops are woken), and a round trip
// of a small message over a loopback TCP connection between two threads.
// It also times a fixed computation in user space alone, which tells how
// fast this (virtual) machine runs at the moment: on the 2-core VM of
// docs/cluster.md it moved by up to 40% within minutes.
//
//   handoff-floor [ROUNDS]     (default 20000)
//
// A remote call through a node (docs/cluster.md, "Speed") adds a BASP round
// trip over loopback TCP to a local call, plus node A's own work; with
// CAF's multiplexer polled on the io thread (cluster::multiplexer_driver)
// it crosses no thread hand-off inside either process. Before that driver,
// it crossed four (caller -> its multiplexer, node's multiplexer -> node's
// actors, and back on both sides). Prints one JSON object; errors go to
// stderr with exit status 1. A benchmark program: never run as a test.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "handoff-floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double ns_since(steady::time_point t0, size_t n) {
  return std::chrono::duration<double, std::nano>(steady::now() - t0).count()
         / static_cast<double>(n);
}

struct percentiles {
  double p50 = 0;
  double p99 = 0;
};

percentiles summarize(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  percentiles p;
  p.p50 = us[us.size() / 2];
  p.p99 = us[us.size() * 99 / 100];
  return p;
}

/// Reads from `fd`, blocking in epoll_wait (edge-triggered, as Asio
/// registers sockets) while nothing is there.
class waiter {
public:
  explicit waiter(int fd) : fd_(fd) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0)
      die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd_, &ev) != 0)
      die("epoll_ctl");
  }

  ~waiter() {
    close(ep_);
  }

  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  /// Returns once at least `n` bytes were read (one message in flight).
  void read_at_least(size_t n) {
    char buf[512];
    size_t got = 0;
    while (got < n) {
      auto r = read(fd_, buf, sizeof(buf));
      if (r > 0) {
        got += static_cast<size_t>(r);
        continue;
      }
      if (r == 0 || errno != EAGAIN)
        die("read");
      epoll_event ev{};
      if (epoll_wait(ep_, &ev, 1, -1) < 0 && errno != EINTR)
        die("epoll_wait");
    }
  }

private:
  int fd_;
  int ep_ = -1;
};

void make_pipe(int fds[2]) {
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    die("pipe2");
}

/// Half a ping-pong between two threads through two pipes: one hand-off.
percentiles handoff(size_t rounds) {
  int there[2];
  int back[2];
  make_pipe(there);
  make_pipe(back);
  std::thread peer([&] {
    waiter w{there[0]};
    for (size_t i = 0; i < rounds; ++i) {
      w.read_at_least(1);
      if (write(back[1], "x", 1) != 1)
        die("write");
    }
  });
  waiter w{back[0]};
  std::vector<double> us;
  us.reserve(rounds);
  for (size_t i = 0; i < rounds; ++i) {
    auto t0 = steady::now();
    if (write(there[1], "x", 1) != 1)
      die("write");
    w.read_at_least(1);
    us.push_back(
      std::chrono::duration<double, std::micro>(steady::now() - t0).count()
      / 2);
  }
  peer.join();
  for (int fd : {there[0], there[1], back[0], back[1]})
    close(fd);
  return summarize(us);
}

/// A 200-byte message and its 200-byte answer over loopback TCP between two
/// threads that each block in epoll_wait: one round trip.
percentiles tcp_round_trip(size_t rounds) {
  int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lst < 0)
    die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(lst, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || listen(lst, 1) != 0
      || getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("listen");
  int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cli < 0 || connect(cli, reinterpret_cast<sockaddr*>(&addr), len) != 0)
    die("connect");
  int srv = accept4(lst, nullptr, nullptr, SOCK_CLOEXEC);
  if (srv < 0)
    die("accept");
  int one = 1;
  for (int fd : {cli, srv}) {
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
      die("fcntl");
  }
  std::string msg(200, 'm');
  std::thread peer([&] {
    waiter w{srv};
    for (size_t i = 0; i < rounds; ++i) {
      w.read_at_least(msg.size());
      if (write(srv, msg.data(), msg.size())
          != static_cast<ssize_t>(msg.size()))
        die("write");
    }
  });
  waiter w{cli};
  std::vector<double> us;
  us.reserve(rounds);
  for (size_t i = 0; i < rounds; ++i) {
    auto t0 = steady::now();
    if (write(cli, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size()))
      die("write");
    w.read_at_least(msg.size());
    us.push_back(
      std::chrono::duration<double, std::micro>(steady::now() - t0).count());
  }
  peer.join();
  for (int fd : {cli, srv, lst})
    close(fd);
  return summarize(us);
}

/// Nanoseconds per step of a chain of dependent multiply-xorshift steps:
/// user-space work alone, no memory traffic, no system call.
double compute_ns(size_t steps) {
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto t0 = steady::now();
  for (size_t i = 0; i < steps; ++i) {
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
  }
  auto ns = ns_since(t0, steps);
  static volatile uint64_t sink;
  sink = x; // keeps the loop
  return ns;
}

} // namespace

int main(int argc, char** argv) {
  size_t rounds = 20000;
  if (argc > 1) {
    char* end = nullptr;
    rounds = std::strtoul(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || rounds < 100 || rounds > 10000000) {
      std::fprintf(stderr, "usage: handoff-floor [ROUNDS: 100..10000000]\n");
      return 1;
    }
  }
  auto step_ns = compute_ns(20000000);
  // A system call that does nothing: the cost of entering the kernel.
  constexpr size_t calls = 200000;
  auto t0 = steady::now();
  for (size_t i = 0; i < calls; ++i)
    (void) getppid();
  auto syscall_ns = ns_since(t0, calls);
  auto h = handoff(rounds);
  auto t = tcp_round_trip(rounds);
  std::printf("{\"rounds\":%zu,\"compute_step_ns\":%.3f,\"syscall_ns\":%.0f,"
              "\"handoff_us\":{\"p50\":%.1f,\"p99\":%.1f},"
              "\"tcp_round_trip_us\":{\"p50\":%.1f,\"p99\":%.1f}}\n",
              rounds, step_ns, syscall_ns, h.p50, h.p99, t.p50, t.p99);
  return 0;
}
