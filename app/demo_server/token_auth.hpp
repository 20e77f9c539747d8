#pragma once

/// Token mode of `caf-mcp demo-server` (`--token-file FILE`): every request
/// to the MCP endpoints (the SSE GET and every POST) must carry
/// `Authorization: Bearer TOKEN`, TOKEN being the current content of FILE
/// (trimmed, as transport::read_token_file reads it). Anything else gets
/// `401` with `WWW-Authenticate: Bearer ...` (http_server.cpp).
///
/// Rotation: before each check the file is stat(2)ed; when its identity
/// or times changed (device, inode, size, mtime, ctime, all to the
/// nanosecond) it is read again. A token rotated by writing a new file and
/// renaming it over FILE (a new inode) is therefore in force for the very
/// next request, and the old one is refused from then on. No grace window.
/// If FILE becomes unreadable or holds no valid token, every request is
/// refused until it is fixed (fail closed); the reason goes to stderr once
/// per change, naming the file but never its content.
///
/// The token is compared with transport::bearer_matches (time independent
/// of where it differs) and never printed. Thread-safe: the io threads
/// share one instance.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace caf_mcp::app::demo {

class token_auth {
public:
  enum class verdict : uint8_t {
    ok,
    /// No `Authorization` header.
    missing,
    /// A header, but not `Bearer` with the current token (or the file
    /// holds no valid token now).
    invalid,
  };

  /// Reads FILE once. Throws std::runtime_error if it holds no valid token
  /// now (the text names FILE and the reason, never the content).
  explicit token_auth(std::string path);

  token_auth(const token_auth&) = delete;
  token_auth& operator=(const token_auth&) = delete;

  /// Checks the value of an `Authorization` header (empty: none) against
  /// the file's current token; counts refusals.
  verdict check(std::string_view authorization) const;

  /// Requests refused so far (`"unauthorized"` in `GET /_stats`).
  uint64_t refused() const noexcept {
    return refused_.load(std::memory_order_relaxed);
  }

  /// How often the file was read (the first read included).
  uint64_t reads() const noexcept {
    return reads_.load(std::memory_order_relaxed);
  }

  const std::string& path() const noexcept {
    return path_;
  }

  /// What identifies one version of the file.
  struct file_id {
    uint64_t dev = 0;
    uint64_t ino = 0;
    int64_t size = -1;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const file_id& other) const noexcept;
  };

private:
  /// Re-reads the file if it changed; with `mtx_` held. With `report`, a
  /// new problem goes to stderr (the constructor throws it instead).
  void refresh_locked(bool report) const;

  std::string path_;
  mutable std::mutex mtx_;
  /// The version `token_` was read from; size -1 = none (stat failed).
  mutable file_id id_;
  /// Empty while the file holds no valid token.
  mutable std::string token_;
  /// The last problem reported on stderr (to report each change once).
  mutable std::string problem_;
  mutable std::atomic<uint64_t> refused_{0};
  mutable std::atomic<uint64_t> reads_{0};
};

} // namespace caf_mcp::app::demo
