// The node's JSON: see node_json.hpp.
#include "node_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <boost/json.hpp>

namespace json = boost::json;

namespace caf_mcp::node {

namespace {

/// Compact JSON text written by hand: Boost.JSON writes every double in
/// exponent form (7.31784E-1), which scripts and people read badly.
class writer {
public:
  explicit writer(std::string& out) : out_(out) {
    out_ += '{';
  }

  ~writer() {
    out_ += '}';
  }

  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  void str(std::string_view key, std::string_view value) {
    name(key);
    quote(value);
  }

  void str_or_null(std::string_view key, std::string_view value) {
    if (value.empty())
      return raw(key, "null");
    str(key, value);
  }

  void num(std::string_view key, double value) {
    name(key);
    append_number(out_, value);
  }

  void num_or_null(std::string_view key, double value) {
    if (value <= 0)
      return raw(key, "null");
    num(key, value);
  }

  void count(std::string_view key, uint64_t value) {
    name(key);
    out_ += std::to_string(value);
  }

  void boolean(std::string_view key, bool value) {
    raw(key, value ? "true" : "false");
  }

  void raw(std::string_view key, std::string_view json_text) {
    name(key);
    out_ += json_text;
  }

  void strings(std::string_view key, const std::vector<std::string>& xs) {
    name(key);
    out_ += '[';
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i > 0)
        out_ += ',';
      quote(xs[i]);
    }
    out_ += ']';
  }

  /// `"key":{"k":"v",...}`.
  void string_map(std::string_view key,
                  const std::map<std::string, std::string>& xs) {
    name(key);
    writer inner{out_};
    for (auto& kv : xs)
      inner.str(kv.first, kv.second);
  }

  void tool_names(std::string_view key, const std::vector<tool>& xs) {
    name(key);
    out_ += '[';
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i > 0)
        out_ += ',';
      quote(xs[i].name);
    }
    out_ += ']';
  }

private:
  void name(std::string_view key) {
    if (!first_)
      out_ += ',';
    first_ = false;
    quote(key);
    out_ += ':';
  }

  void quote(std::string_view text) {
    out_ += json::serialize(json::string_view{text.data(), text.size()});
  }

  std::string& out_;
  bool first_ = true;
};

void server_fields(writer& w, const server_info& x) {
  w.str("name", x.name);
  w.str("url", x.url);
  w.str("transport", x.transport);
  w.str("description", x.description);
  w.str("state", to_string(x.state));
  w.str("phase", to_string(x.phase));
  if (x.connected_since_ms > 0)
    w.str("connected_since", iso_time(x.connected_since_ms));
  else
    w.raw("connected_since", "null");
  w.count("reconnects", x.reconnects);
  w.str_or_null("last_error", x.last_error);
  w.num_or_null("rtt_ms", x.rtt_ms);
  w.count("in_flight", x.in_flight);
  std::string calls;
  {
    writer c{calls};
    c.count("ok", x.calls_ok);
    c.count("failed", x.calls_failed);
    c.count("is_error", x.calls_is_error);
  }
  w.raw("calls", calls);
  w.count("tool_count", x.tool_count);
  w.str("node", x.node);
  w.boolean("disabled", x.disabled);
}

} // namespace

std::string node_json(const node_info& x) {
  std::string out;
  {
    writer w{out};
    w.str("name", x.name);
    w.str("address", x.address);
    w.str("state", x.state);
    if (x.since_ms > 0)
      w.str("since", iso_time(x.since_ms));
    else
      w.raw("since", "null");
    w.str_or_null("last_error", x.last_error);
    w.num_or_null("rtt_ms", x.rtt_ms);
  }
  return out;
}

std::string nodes_json(const std::vector<node_info>& xs) {
  std::string out = "{\"nodes\":[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += node_json(xs[i]);
  }
  out += "]}";
  return out;
}

void append_number(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null";
    return;
  }
  // DBL_MAX has 309 integer digits: a smaller buffer cut large values
  // short (1e300 came out as a 63-digit number).
  char buf[320];
  auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::fixed,
                           3);
  if (res.ec != std::errc{}) { // cannot happen with 320 bytes; never cut
    out += "null";
    return;
  }
  std::string_view text{buf, static_cast<size_t>(res.ptr - buf)};
  // Trailing zeros (and a bare point) go: 0.730, 12.000 -> 0.73, 12.
  auto dot = text.find('.');
  if (dot != std::string_view::npos) {
    auto end = text.find_last_not_of('0');
    if (end == dot)
      --end;
    text = text.substr(0, end + 1);
  }
  if (text == "-0")
    text = "0";
  out += text;
}

std::string server_json(const server_info& x) {
  std::string out;
  {
    writer w{out};
    server_fields(w, x);
  }
  return out;
}

std::string servers_json(const std::vector<server_info>& xs) {
  std::string out = "{\"servers\":[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    writer w{out};
    server_fields(w, xs[i]);
  }
  out += "]}";
  return out;
}

std::string server_detail_json(const server_detail& x) {
  std::string out;
  {
    writer w{out};
    server_fields(w, x.info);
    // The descriptors as MCP gives them, written by the MCP codec.
    std::string tools = "[";
    for (size_t i = 0; i < x.tools.size(); ++i) {
      if (i > 0)
        tools += ',';
      append_json(tools, x.tools[i]);
    }
    tools += ']';
    w.raw("tools", tools);
  }
  return out;
}

std::string error_json(std::string_view code, std::string_view message) {
  json::object err;
  err["code"] = code;
  err["message"] = message;
  json::object o;
  o["error"] = std::move(err);
  return json::serialize(o);
}


unsigned call_error_status(const caf::error& err) noexcept {
  mcp_errc code;
  if (!get_mcp_errc(err, code))
    return 502;
  switch (code) {
    case mcp_errc::invalid_argument:
    case mcp_errc::unknown_tool:
      return 404;
    case mcp_errc::service_unavailable:
    case mcp_errc::closed:
    case mcp_errc::gave_up:
    case mcp_errc::connection_failed:
    case mcp_errc::queue_timeout:
    case mcp_errc::queue_full:
    case mcp_errc::node_down:
      return 503;
    case mcp_errc::timeout:
      return 504;
    default:
      return 502;
  }
}

std::string tools_event_json(const std::string& server, const tools_diff& d,
                             size_t tool_count) {
  std::string out;
  {
    writer w{out};
    w.str("server", server);
    w.tool_names("added", d.added);
    w.tool_names("removed", d.removed);
    w.tool_names("changed", d.changed);
    w.count("tool_count", tool_count);
  }
  return out;
}

std::string log_event_json(const std::string& server,
                           const logging_message_params& p) {
  std::string out;
  {
    writer w{out};
    w.str("server", server);
    w.str("level", to_string(p.level));
    if (p.logger)
      w.str("logger", *p.logger);
    else
      w.raw("logger", "null");
    // `data` is JSON text already (any value); checked, else a string.
    json::error_code ec;
    json::parse(p.data, ec);
    if (ec || p.data.empty())
      w.str("data", p.data);
    else
      w.raw("data", p.data);
  }
  return out;
}

std::string call_event_json(const std::string& server, const std::string& tool,
                            const std::string& outcome, double duration_ms,
                            const std::map<std::string, std::string>& meta) {
  std::string out;
  {
    writer w{out};
    w.str("server", server);
    w.str("tool", tool);
    w.str("outcome", outcome);
    w.num("duration_ms", duration_ms);
    if (!meta.empty())
      w.string_map("meta", meta);
  }
  return out;
}

std::string progress_event_json(const std::string& server,
                                const std::string& tool,
                                const std::string& call,
                                const progress_params& p) {
  std::string out;
  {
    writer w{out};
    w.str("server", server);
    w.str("tool", tool);
    w.str("call", call);
    w.num("progress", p.progress);
    if (p.total)
      w.num("total", *p.total);
    else
      w.raw("total", "null");
    if (p.message)
      w.str("message", *p.message);
    else
      w.raw("message", "null");
  }
  return out;
}

std::string config_event_json(const std::string& status,
                              const std::vector<std::string>& added,
                              const std::vector<std::string>& removed,
                              const std::vector<std::string>& changed,
                              const std::string& error) {
  std::string out;
  {
    writer w{out};
    w.str("status", status);
    w.strings("added", added);
    w.strings("removed", removed);
    w.strings("changed", changed);
    w.str_or_null("error", error);
  }
  return out;
}

std::string iso_time(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>(ms % 1000));
  return buf;
}

} // namespace caf_mcp::node

namespace caf_mcp::node {

std::string meta_header_value(const std::map<std::string, std::string>& meta) {
  auto printable = [](std::string_view x) {
    return !x.empty() && std::all_of(x.begin(), x.end(), [](char ch) {
      return ch >= 0x21 && ch <= 0x7e && ch != ';' && ch != '=';
    });
  };
  std::string out;
  for (auto& [k, v] : meta) {
    if (!printable(k) || !printable(v))
      continue;
    if (!out.empty())
      out += "; ";
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

} // namespace caf_mcp::node
