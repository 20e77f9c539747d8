#pragma once

/// The Prometheus text exposition format (version 0.0.4), written by hand:
/// Debian has no prometheus-cpp, and the node needs only this writer. Pure
/// code (no CAF, no sockets); the node's /metrics fills it from the health
/// monitor and the registry (registry.cpp renders through it).
///
/// Rules (prometheus.io, "Exposition formats"): one `# HELP` and one
/// `# TYPE` line per family, before its samples, each family once; metric
/// names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`
/// not starting with `__`; label values escape `\`, `"` and line feed,
/// HELP text escapes `\` and line feed; values are Go floats (`+Inf`,
/// `-Inf`, `NaN`); histograms have cumulative `_bucket{le="..."}` lines
/// ending in `le="+Inf"`, then `_sum` and `_count`.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caf_mcp::node {

enum class metric_type { counter, gauge, histogram };

/// "counter", "gauge" or "histogram".
const char* to_string(metric_type x) noexcept;

using label_list = std::vector<std::pair<std::string, std::string>>;

bool valid_metric_name(std::string_view name) noexcept;

bool valid_label_name(std::string_view name) noexcept;

/// Appends `x` as the format writes values: integers without a fraction
/// or exponent, others with up to 17 significant digits, `+Inf`, `-Inf`,
/// `NaN`.
void append_value(std::string& out, double x);

/// Upper bounds (seconds) for call durations from 50 us to 60 s.
const std::vector<double>& duration_buckets();

/// Observations of one histogram. Observing costs no allocation.
class histogram {
public:
  /// `bounds` ascending; the `+Inf` bucket is implied.
  explicit histogram(std::vector<double> bounds = duration_buckets());

  void observe(double x) noexcept;

  /// Adds observations counted elsewhere with the same bounds: `counts`
  /// per bucket (not cumulative, one more than the bounds; extra entries
  /// are ignored) and their `sum`.
  void add(const std::vector<uint64_t>& counts, double sum) noexcept;

  const std::vector<double>& bounds() const noexcept {
    return bounds_;
  }

  /// Observations per bucket (not cumulative); one more than bounds: the
  /// last one counts what is above every bound.
  const std::vector<uint64_t>& counts() const noexcept {
    return counts_;
  }

  double sum() const noexcept {
    return sum_;
  }

  uint64_t count() const noexcept {
    return count_;
  }

private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// Builds one exposition. Every call checks its names: a bad name, a
/// family written twice, or a sample without its family is refused (the
/// call returns false and writes nothing), so the text always parses.
class metrics_writer {
public:
  /// Starts family `name` (HELP and TYPE lines).
  bool family(std::string_view name, std::string_view help,
              metric_type type);

  /// A sample of the current counter or gauge family.
  bool sample(const label_list& labels, double value);

  /// The samples of the current histogram family for `labels`.
  bool histogram_sample(const label_list& labels, const histogram& h);

  /// The text so far (the writer is empty afterwards).
  std::string take();

private:
  bool append_sample(std::string_view suffix, const label_list& labels,
                     const std::pair<std::string, std::string>* extra,
                     double value);

  std::string out_;
  std::string current_;
  metric_type type_ = metric_type::gauge;
  std::vector<std::string> done_;
};

} // namespace caf_mcp::node
