#include "token_auth.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <sys/stat.h>

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/token_source.hpp"

namespace caf_mcp::app::demo {

namespace {

int64_t to_ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Stats `path`; false (and `why`) if it cannot.
bool stat_file(const std::string& path, token_auth::file_id& out,
               std::string& why) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    why = "token file " + path + ": " + std::strerror(errno);
    return false;
  }
  out.dev = static_cast<uint64_t>(st.st_dev);
  out.ino = static_cast<uint64_t>(st.st_ino);
  out.size = static_cast<int64_t>(st.st_size);
  out.mtime_ns = to_ns(st.st_mtim);
  out.ctime_ns = to_ns(st.st_ctim);
  return true;
}

} // namespace

bool token_auth::file_id::operator==(const file_id& other) const noexcept {
  return dev == other.dev && ino == other.ino && size == other.size
         && mtime_ns == other.mtime_ns && ctime_ns == other.ctime_ns;
}

token_auth::token_auth(std::string path) : path_(std::move(path)) {
  std::lock_guard<std::mutex> guard{mtx_};
  refresh_locked(false);
  if (token_.empty())
    throw std::runtime_error(problem_);
}

void token_auth::refresh_locked(bool report) const {
  file_id now;
  std::string why;
  if (stat_file(path_, now, why)) {
    if (now == id_ && (!token_.empty() || !problem_.empty()))
      return; // unchanged since the last read
    reads_.fetch_add(1, std::memory_order_relaxed);
    // The file may be replaced between the stat and the read: then the
    // next stat differs from `now` and it is read again.
    auto res = transport::read_token_file(path_);
    if (res.ok) {
      id_ = now;
      token_ = std::move(res.token);
      problem_.clear();
      return;
    }
    why = std::move(res.error); // names the file, never its content
    id_ = now;
  } else {
    id_ = file_id{};
  }
  token_.clear();
  if (why != problem_) {
    if (report)
      std::fprintf(stderr, "demo-server: refusing every request: %s\n",
                   why.c_str());
    problem_ = std::move(why);
  }
}

token_auth::verdict token_auth::check(std::string_view authorization) const {
  auto result = verdict::ok;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    refresh_locked(true);
    if (authorization.empty())
      result = verdict::missing;
    else if (!transport::bearer_matches(authorization, token_))
      result = verdict::invalid;
  }
  if (result != verdict::ok)
    refused_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

} // namespace caf_mcp::app::demo
