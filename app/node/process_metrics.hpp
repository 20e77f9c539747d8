#pragma once

/// Process metrics for /metrics (Linux /proc), and the node's own.

#include <cstddef>
#include <cstdint>
#include <string>

namespace caf_mcp::node {

/// process_resident_memory_bytes, process_cpu_seconds_total,
/// process_open_fds, process_start_time_seconds: families in the
/// Prometheus text format (omitted if /proc cannot be read).
std::string process_metrics_text();

/// caf_mcp_events_dropped_total and caf_mcp_event_subscribers.
std::string node_metrics_text(uint64_t events_dropped, size_t subscribers);

/// Resident set size in bytes (0 if unknown).
uint64_t resident_bytes();

/// CPU time (user + system) of this process in seconds.
double cpu_seconds();

/// Gives freed heap memory back to the system (glibc's malloc_trim). A
/// large tool listing frees its transient copies (the parsed page, the
/// diffs) in the middle of the heap, where glibc keeps them: 100,000 tools
/// left 100 MB resident for 35 MB of live data. Called after big listings,
/// not per call (it walks the heap: milliseconds).
void release_free_memory();

} // namespace caf_mcp::node
