// sse-floor: the least a client can spend on a sequential MCP tool call over
// HTTP+SSE, to tell a server's own cost from a client's. One thread, blocking
// POSIX sockets, no parsing beyond finding the endpoint and each answer's id,
// no JSON library, no actors: what is left of a call's latency is the
// loopback round trip and the server.
//
//   sse-floor URL [CALLS] [ARGS_JSON]
//     URL        http://127.0.0.1:PORT/sse (plain http, IP literal only)
//     CALLS      sequential tools/call echo requests to time (default 5000)
//     ARGS_JSON  the echo arguments (default {"message":"x"})
//
// Prints one JSON object: calls, calls_per_s, latency_us {p50,p90,p99,max}
// from sending a POST to reading the answer's event on the stream (as
// `caf-mcp bench` measures), and setup_ms (GET to tools/list answered).
// Errors go to stderr with exit status 1. A benchmark program: never run
// as a test.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what);
}

struct endpoint {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

endpoint parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    die("only http:// URLs: " + url);
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  endpoint ep;
  ep.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos)
    die("URL needs a port: " + url);
  ep.host = authority.substr(0, colon);
  ep.port = static_cast<uint16_t>(std::stoi(authority.substr(colon + 1)));
  return ep;
}

int connect_to(const endpoint& ep) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ep.port);
  if (::inet_pton(AF_INET, ep.host.c_str(), &addr.sin_addr) != 1)
    die("not an IPv4 literal: " + ep.host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    die("connect failed: " + std::string{std::strerror(errno)});
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // A server that never answers ends the run with an error, not a hang.
  timeval limit{};
  limit.tv_sec = 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      die("send failed");
    off += static_cast<size_t>(n);
  }
}

/// Appends what one read gives to `buf`; dies at the end of the stream, on
/// an error and after 10 s without data.
void read_some(int fd, std::string& buf) {
  char tmp[65536];
  auto n = ::recv(fd, tmp, sizeof(tmp), 0);
  if (n == 0)
    die("connection closed by the server");
  if (n < 0)
    die("read failed: " + std::string{std::strerror(errno)});
  buf.append(tmp, static_cast<size_t>(n));
}

/// The SSE GET: raw bytes, searched for markers (chunk framing left in:
/// an event written at once is one chunk, so its text is contiguous).
struct stream {
  int fd = -1;
  std::string buf;

  /// Reads until the JSON-RPC id `id` appears (`"id":`, optional spaces,
  /// N, then `,`, `}` or a space); drops everything up to the end of that
  /// line.
  void wait_for_id(size_t id) {
    const std::string key = "\"id\":";
    auto digits = std::to_string(id);
    for (size_t from = 0;;) {
      auto pos = buf.find(key, from);
      if (pos == std::string::npos) {
        from = buf.size() > key.size() ? buf.size() - key.size() : 0;
        read_some(fd, buf);
        continue;
      }
      auto next = pos + key.size();
      // The value, its spaces and the character after it must be here.
      while (buf.find_first_of(",} \n", buf.find_first_not_of(' ', next))
             == std::string::npos)
        read_some(fd, buf);
      next = buf.find_first_not_of(' ', next);
      auto end = next + digits.size();
      if (buf.compare(next, digits.size(), digits) != 0 || end >= buf.size()
          || (buf[end] != ',' && buf[end] != '}' && buf[end] != ' ')) {
        from = pos + 1;
        continue;
      }
      auto line_end = buf.find('\n', next);
      buf.erase(0, line_end == std::string::npos ? buf.size() : line_end);
      return;
    }
  }

  /// Reads until `marker` appears; drops everything up to its end.
  std::string wait_for(const std::string& marker) {
    for (;;) {
      auto pos = buf.find(marker);
      if (pos != std::string::npos) {
        auto line_end = buf.find('\n', pos);
        while (line_end == std::string::npos) {
          read_some(fd, buf);
          line_end = buf.find('\n', pos);
        }
        auto line = buf.substr(pos, line_end - pos);
        buf.erase(0, line_end);
        return line;
      }
      read_some(fd, buf);
    }
  }
};

/// One keep-alive POST connection.
struct poster {
  int fd = -1;
  std::string host;
  std::string target;
  std::string buf;
  bool awaiting = false;

  void post(const std::string& body) {
    if (awaiting)
      finish();
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: " + host
                      + "\r\nContent-Type: application/json\r\n"
                        "Accept: application/json, text/event-stream\r\n"
                        "Content-Length: "
                      + std::to_string(body.size()) + "\r\n\r\n" + body;
    send_all(fd, req);
    awaiting = true;
  }

  /// Reads the response to the last POST: status line, headers and a
  /// Content-Length body, a chunked body, or none.
  void finish() {
    for (;;) {
      auto head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        if (buf.compare(0, 10, "HTTP/1.1 2") != 0)
          die("POST answered " + buf.substr(0, buf.find('\r')));
        auto head = buf.substr(0, head_end);
        for (auto& c : head)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        buf.erase(0, head_end + 4);
        auto cl = head.find("\r\ncontent-length:");
        if (cl != std::string::npos) {
          auto len = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
          while (buf.size() < len)
            read_some(fd, buf);
          buf.erase(0, len);
        } else if (head.find("\r\ntransfer-encoding: chunked")
                   != std::string::npos) {
          skip_chunks();
        } // else: no body (a 202 or 204 without Content-Length)
        awaiting = false;
        return;
      }
      read_some(fd, buf);
    }
  }

  /// Drops a chunked body from the front of `buf`: size lines in hex, each
  /// chunk and its CRLF, up to the last (zero) chunk and the blank line.
  void skip_chunks() {
    for (;;) {
      size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos)
        read_some(fd, buf);
      auto size = std::strtoul(buf.c_str(), nullptr, 16);
      auto total = eol + 2 + size + 2; // a trailer-free last chunk: 0\r\n\r\n
      while (buf.size() < total)
        read_some(fd, buf);
      buf.erase(0, total);
      if (size == 0)
        return;
    }
  }
};

double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sse-floor URL [CALLS] [ARGS_JSON]\n");
    return 2;
  }
  auto ep = parse_url(argv[1]);
  size_t calls = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000;
  std::string args = argc > 3 ? argv[3] : R"({"message":"x"})";
  auto host = ep.host + ":" + std::to_string(ep.port);

  auto t0 = clock_type::now();
  stream s;
  s.fd = connect_to(ep);
  send_all(s.fd, "GET " + ep.path + " HTTP/1.1\r\nHost: " + host
                   + "\r\nAccept: text/event-stream\r\n\r\n");
  s.wait_for("event: endpoint");
  auto data = s.wait_for("data: ");
  poster p;
  p.fd = connect_to(ep);
  p.host = host;
  p.target = data.substr(6);
  if (!p.target.empty() && p.target.back() == '\r')
    p.target.pop_back();
  p.post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{)"
         R"("protocolVersion":"2024-11-05","capabilities":{},)"
         R"("clientInfo":{"name":"sse-floor","version":"0"}}})");
  s.wait_for_id(0);
  p.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  p.finish();
  p.post(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  s.wait_for_id(1);
  auto setup_ms = micros(clock_type::now() - t0) / 1000.0;

  std::vector<double> lat;
  lat.reserve(calls);
  auto start = clock_type::now();
  for (size_t i = 0; i < calls; ++i) {
    auto id = std::to_string(i + 2);
    auto body = R"({"jsonrpc":"2.0","id":)" + id
                + R"(,"method":"tools/call","params":{"name":"echo",)"
                  R"("arguments":)"
                + args + "}}";
    if (p.awaiting)
      p.finish(); // the previous call's 202 is not part of this one
    auto t = clock_type::now();
    p.post(body);
    s.wait_for_id(i + 2);
    lat.push_back(micros(clock_type::now() - t));
  }
  auto secs = micros(clock_type::now() - start) / 1e6;
  std::sort(lat.begin(), lat.end());
  auto n = static_cast<double>(lat.size());
  auto at = [&](double q) {
    if (lat.empty())
      return 0.0;
    return lat[std::min(lat.size() - 1, static_cast<size_t>(q * n))];
  };
  std::printf("{\"calls\":%zu,\"calls_per_s\":%.1f,\"latency_us\":"
              "{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
              "\"setup_ms\":%.3f}\n",
              calls, secs > 0 ? static_cast<double>(calls) / secs : 0.0,
              at(0.5), at(0.9), at(0.99), lat.empty() ? 0.0 : lat.back(),
              setup_ms);
  ::close(p.fd);
  ::close(s.fd);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sse-floor: %s\n", e.what());
    return 1;
  }
}
