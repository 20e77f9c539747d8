#pragma once

/// Where a bearer token comes from when the node's config names a command
/// or a file (the `bearer_token` middleware): blocking work, so it never
/// runs in an actor or on an io thread — `run_detached` gives it a thread
/// of its own. No CAF here; the actors layer turns results into errors.
///
/// Results never carry the token in `error`: a command's output and a
/// file's contents are secrets, the error text names only the command or
/// path, an exit status or errno text.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace caf_mcp::transport {

/// A token or why there is none.
struct token_result {
  bool ok = false;
  std::string token;
  /// Set if !ok; never contains the token or any output.
  std::string error;
};

/// `text` without leading and trailing whitespace (space, tab, CR, LF).
std::string_view trim_token(std::string_view text) noexcept;

/// Checks a trimmed token: not empty, at most 16 KiB, no control
/// characters (it goes into an HTTP header). Returns the reason or "".
std::string check_token(std::string_view token);

/// Runs `/bin/sh -c command` with stdin from /dev/null and stderr
/// inherited; the token is its stdout, trimmed. Fails if it cannot start,
/// exits non-zero or by a signal, prints more than 64 KiB, prints no token,
/// or is still running after `timeout` (then it is killed).
token_result run_token_command(const std::string& command,
                               std::chrono::milliseconds timeout);

/// Reads the token from `path` (trimmed; at most 64 KiB).
token_result read_token_file(const std::string& path);

/// Runs `f` on a new detached thread (for blocking work that must not hold
/// an actor or an io thread). `f` must not throw.
void run_detached(std::function<void()> f);

} // namespace caf_mcp::transport
