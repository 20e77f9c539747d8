#include "metrics_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace caf_mcp::node {

namespace {

bool name_char(char c, bool first, bool colon) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
    return true;
  if (c == ':')
    return colon;
  return !first && c >= '0' && c <= '9';
}

void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (auto c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        if (quote)
          out += "\\\"";
        else
          out += c;
        break;
      default:
        out += c;
    }
  }
}

} // namespace

const char* to_string(metric_type x) noexcept {
  switch (x) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true))
      return false;
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.substr(0, 2) == "__")
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false))
      return false;
  return true;
}

void append_value(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[40];
  if (x == std::trunc(x) && std::fabs(x) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", x);
    out += buf;
    return;
  }
  // The shortest text that reads back as the same double (0.00005, not
  // 5.0000000000000002e-05): bucket bounds stay readable and stable.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  out += buf;
}

const std::vector<double>& duration_buckets() {
  static const std::vector<double> bounds{
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
    100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60};
  return bounds;
}

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void histogram::observe(double x) noexcept {
  auto i = static_cast<size_t>(
    std::lower_bound(bounds_.begin(), bounds_.end(), x) - bounds_.begin());
  ++counts_[i];
  sum_ += x;
  ++count_;
}

void histogram::add(const std::vector<uint64_t>& counts, double sum) noexcept {
  auto n = std::min(counts.size(), counts_.size());
  for (size_t i = 0; i < n; ++i) {
    counts_[i] += counts[i];
    count_ += counts[i];
  }
  sum_ += sum;
}

bool metrics_writer::family(std::string_view name, std::string_view help,
                            metric_type type) {
  if (!valid_metric_name(name)
      || std::find(done_.begin(), done_.end(), name) != done_.end())
    return false;
  done_.emplace_back(name);
  current_ = std::string{name};
  type_ = type;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += to_string(type);
  out_ += '\n';
  return true;
}

bool metrics_writer::append_sample(
  std::string_view suffix, const label_list& labels,
  const std::pair<std::string, std::string>* extra, double value) {
  for (auto& kvp : labels)
    if (!valid_label_name(kvp.first))
      return false;
  out_ += current_;
  out_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto add = [&](const std::pair<std::string, std::string>& kvp) {
      if (!first)
        out_ += ',';
      first = false;
      out_ += kvp.first;
      out_ += "=\"";
      append_escaped(out_, kvp.second, true);
      out_ += '"';
    };
    for (auto& kvp : labels)
      add(kvp);
    if (extra != nullptr)
      add(*extra);
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
  return true;
}

bool metrics_writer::sample(const label_list& labels, double value) {
  if (current_.empty() || type_ == metric_type::histogram)
    return false;
  return append_sample({}, labels, nullptr, value);
}

bool metrics_writer::histogram_sample(const label_list& labels,
                                      const histogram& h) {
  if (current_.empty() || type_ != metric_type::histogram)
    return false;
  for (auto& kvp : labels)
    if (!valid_label_name(kvp.first) || kvp.first == "le")
      return false;
  uint64_t cumulative = 0;
  auto& bounds = h.bounds();
  auto& counts = h.counts();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts[i];
    std::pair<std::string, std::string> le{"le", {}};
    if (i < bounds.size())
      append_value(le.second, bounds[i]);
    else
      le.second = "+Inf";
    append_sample("_bucket", labels, &le, static_cast<double>(cumulative));
  }
  append_sample("_sum", labels, nullptr, h.sum());
  append_sample("_count", labels, nullptr, static_cast<double>(h.count()));
  return true;
}

std::string metrics_writer::take() {
  std::string result;
  result.swap(out_);
  current_.clear();
  done_.clear();
  return result;
}

} // namespace caf_mcp::node
