// Process metrics from /proc: see process_metrics.hpp.
#include "process_metrics.hpp"

#include <malloc.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics_text.hpp"

namespace caf_mcp::node {

namespace {

size_t open_fds() {
  size_t n = 0;
  if (auto dir = opendir("/proc/self/fd")) {
    while (auto ent = readdir(dir))
      if (ent->d_name[0] != '.')
        ++n;
    closedir(dir);
    if (n > 0)
      --n; // the directory stream itself
  }
  return n;
}

/// Seconds since the epoch when this process started (0 if unknown).
double start_time() {
  std::ifstream stat{"/proc/self/stat"};
  std::string text;
  std::getline(stat, text);
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream in{text.substr(close + 2)};
  std::string field;
  // Fields after the command: state is 3; starttime is 22.
  for (int i = 3; i < 22 && in >> field; ++i) {
  }
  unsigned long long ticks = 0;
  if (!(in >> ticks))
    return 0;
  std::ifstream up{"/proc/uptime"};
  double uptime = 0;
  if (!(up >> uptime))
    return 0;
  auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  auto now_s = static_cast<double>(now.tv_sec)
               + static_cast<double>(now.tv_nsec) / 1e9;
  return now_s - uptime + static_cast<double>(ticks) / hz;
}

} // namespace

uint64_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  uint64_t size = 0;
  uint64_t resident = 0;
  if (!(statm >> size >> resident))
    return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec)
           + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::string process_metrics_text() {
  metrics_writer w;
  if (auto rss = resident_bytes(); rss > 0) {
    w.family("process_resident_memory_bytes", "Resident memory size in bytes.",
             metric_type::gauge);
    w.sample({}, static_cast<double>(rss));
  }
  w.family("process_cpu_seconds_total",
           "Total user and system CPU time spent in seconds.",
           metric_type::counter);
  w.sample({}, cpu_seconds());
  w.family("process_open_fds", "Number of open file descriptors.",
           metric_type::gauge);
  w.sample({}, static_cast<double>(open_fds()));
  if (auto t = start_time(); t > 0) {
    w.family("process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.",
             metric_type::gauge);
    w.sample({}, t);
  }
  return w.take();
}

std::string node_metrics_text(uint64_t events_dropped, size_t subscribers) {
  metrics_writer w;
  w.family("caf_mcp_events_dropped_total",
           "Events not sent to an /api/events client that read too slowly.",
           metric_type::counter);
  w.sample({}, static_cast<double>(events_dropped));
  w.family("caf_mcp_event_subscribers", "Open /api/events streams.",
           metric_type::gauge);
  w.sample({}, static_cast<double>(subscribers));
  return w.take();
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

} // namespace caf_mcp::node
