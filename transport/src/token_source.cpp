#include "caf_mcp/transport/token_source.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace caf_mcp::transport {

namespace {

constexpr size_t max_output = size_t{64} << 10;
constexpr size_t max_token = size_t{16} << 10;

token_result failure(std::string why) {
  token_result res;
  res.error = std::move(why);
  return res;
}

token_result from_text(std::string_view text, const std::string& source) {
  auto tok = trim_token(text);
  auto why = check_token(tok);
  if (!why.empty())
    return failure(source + ": " + why);
  token_result res;
  res.ok = true;
  res.token = std::string{tok};
  return res;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

} // namespace

std::string_view trim_token(std::string_view text) noexcept {
  auto ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!text.empty() && ws(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && ws(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string check_token(std::string_view token) {
  if (token.empty())
    return "no token (empty output)";
  if (token.size() > max_token)
    return "token longer than 16 KiB";
  for (auto c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return "token contains a control character or line break";
  }
  return {};
}

token_result run_token_command(const std::string& command,
                               std::chrono::milliseconds timeout) {
  const std::string source = "token command";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return failure(source + ": pipe: " + errno_text(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  std::string sh = "/bin/sh";
  std::string dash_c = "-c";
  auto cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  auto rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return failure(source + ": cannot start /bin/sh: " + errno_text(rc));
  }
  std::string out;
  bool too_long = false;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    auto n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    char buf[4096];
    auto got = read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break; // EOF (or an error: the exit status tells)
    if (out.size() + static_cast<size_t>(got) > max_output) {
      too_long = true;
      break;
    }
    out.append(buf, static_cast<size_t>(got));
  }
  close(fds[0]);
  if (timed_out || too_long)
    kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    // retry
  }
  if (timed_out)
    return failure(source + ": still running after "
                   + std::to_string(timeout.count()) + " ms (killed)");
  if (too_long)
    return failure(source + ": printed more than 64 KiB");
  if (WIFSIGNALED(status))
    return failure(source + ": killed by signal "
                   + std::to_string(WTERMSIG(status)));
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return failure(source + ": exited with status "
                   + std::to_string(WEXITSTATUS(status)));
  return from_text(out, source);
}

token_result read_token_file(const std::string& path) {
  const std::string source = "token file " + path;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return failure(source + ": cannot open: " + errno_text(errno));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max_output)
      return failure(source + ": larger than 64 KiB");
  }
  if (in.bad())
    return failure(source + ": read error");
  return from_text(text, source);
}

void run_detached(std::function<void()> f) {
  std::thread{std::move(f)}.detach();
}

} // namespace caf_mcp::transport
