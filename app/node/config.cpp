// The node's config file: see config.hpp.
#include "config.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/url.hpp"

namespace json = boost::json;

namespace caf_mcp::node {

namespace {

/// Thrown inside the parser only; parse_config turns it into a result.
struct failure {
  std::string server;
  std::string key;
  std::string message;
};

[[noreturn]] void fail(std::string server, std::string key,
                       std::string message) {
  throw failure{std::move(server), std::move(key), std::move(message)};
}

bool valid_server_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_'
           || c == '.' || c == '-';
  });
}

bool valid_var_name(std::string_view name) {
  if (name.empty())
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

using transport::iequals;

/// Where we are, for messages.
struct ctx {
  const env_lookup& env;
  std::vector<std::string>& warnings;
  std::string server;

  /// Expands the variables of a string value of `key`.
  std::string expand(std::string_view text, const std::string& key) const {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = text[i];
      if (c != '$') {
        out += c;
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      if (i + 1 >= text.size() || text[i + 1] != '{') {
        out += c;
        continue;
      }
      auto close = text.find('}', i + 2);
      if (close == std::string_view::npos)
        fail(server, key, "unterminated ${ in a value");
      auto body = text.substr(i + 2, close - i - 2);
      // "${A:-${B}}" would end at the first "}": refuse it rather than
      // expand it to something nobody wrote.
      if (body.find("${") != std::string_view::npos)
        fail(server, key, "nested ${...} is not supported");
      std::optional<std::string> fallback;
      if (auto sep = body.find(":-"); sep != std::string_view::npos) {
        fallback = std::string{body.substr(sep + 2)};
        body = body.substr(0, sep);
      }
      if (body.substr(0, 4) == "env:")
        body.remove_prefix(4);
      if (!valid_var_name(body))
        fail(server, key,
             "bad variable name in ${...} (letters, digits and _ only)");
      auto value = env(std::string{body});
      if (value && (!value->empty() || !fallback))
        out += *value;
      else if (fallback)
        out += *fallback;
      else
        fail(server, key,
             "environment variable " + std::string{body} + " is not set");
      i = close;
    }
    return out;
  }

  void warn_unknown(const std::string& where, std::string_view key) const {
    warnings.push_back(where + "unknown key \"" + std::string{key}
                       + "\" (ignored)");
  }
};

std::string get_string(const ctx& c, const json::value& v,
                       const std::string& key) {
  if (!v.is_string())
    fail(c.server, key, "expected a string");
  auto& s = v.get_string();
  return c.expand({s.data(), s.size()}, key);
}

bool get_bool(const ctx& c, const json::value& v, const std::string& key) {
  if (v.is_bool())
    return v.get_bool();
  // Variables may only give strings: "true" / "false" after expansion.
  if (v.is_string()) {
    auto s = get_string(c, v, key);
    if (s == "true")
      return true;
    if (s == "false")
      return false;
  }
  fail(c.server, key, "expected a boolean");
}

double get_number(const ctx& c, const json::value& v, const std::string& key) {
  if (v.is_number())
    return v.to_number<double>();
  if (v.is_string()) {
    auto s = get_string(c, v, key);
    char* end = nullptr;
    errno = 0;
    auto x = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0)
      return x;
  }
  fail(c.server, key, "expected a number");
}

/// Expands the variables in every string of `v` (not in object keys), as
/// everywhere else in the file; numbers, booleans and null stay.
void expand_all(const ctx& c, json::value& v, const std::string& key) {
  if (v.is_string()) {
    auto& s = v.get_string();
    v = c.expand({s.data(), s.size()}, key);
  } else if (v.is_array()) {
    for (auto& x : v.get_array())
      expand_all(c, x, key);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object())
      expand_all(c, kv.value(), key);
  }
}

const json::object& get_object(const ctx& c, const json::value& v,
                               const std::string& key) {
  if (!v.is_object())
    fail(c.server, key, "expected an object");
  return v.get_object();
}

const json::array& get_array(const ctx& c, const json::value& v,
                             const std::string& key) {
  if (!v.is_array())
    fail(c.server, key, "expected an array");
  return v.get_array();
}

double seconds(const ctx& c, const json::value& v, const std::string& key,
               double max) {
  auto x = get_number(c, v, key);
  if (!std::isfinite(x) || x <= 0 || x > max) {
    std::ostringstream msg;
    msg << "expected seconds in (0, " << max << "]";
    fail(c.server, key, msg.str());
  }
  return x;
}

size_t count(const ctx& c, const json::value& v, const std::string& key,
             size_t min, size_t max) {
  auto x = get_number(c, v, key);
  if (!std::isfinite(x) || x != std::floor(x) || x < static_cast<double>(min)
      || x > static_cast<double>(max))
    fail(c.server, key,
         "expected a whole number from " + std::to_string(min) + " to "
           + std::to_string(max));
  return static_cast<size_t>(x);
}

void add_header(const ctx& c, server_settings& s, std::string name,
                std::string value, bool replace) {
  auto problem = transport::check_header(name, value);
  if (!problem.empty())
    fail(c.server, "headers", problem);
  for (auto& [n, v] : s.headers)
    if (iequals(n, name)) {
      if (replace)
        v = std::move(value);
      return;
    }
  s.headers.emplace_back(std::move(name), std::move(value));
}

bool has_header(const server_settings& s, std::string_view name) {
  return std::any_of(s.headers.begin(), s.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

/// `headers` and `bearer_token` entries of the `middlewares` array (at
/// most one of each). Values are never part of an error.
void parse_auth_middleware(ctx& c, const json::object& obj,
                           const std::string& at, const std::string& where,
                           const std::string& type, server_settings& s) {
  if (type == "headers") {
    auto hit = obj.find("headers");
    if (hit == obj.end())
      fail(c.server, at, "needs \"headers\" (an object of name: value)");
    std::vector<std::pair<std::string, std::string>> hs;
    for (auto& kv : obj) {
      std::string k{kv.key()};
      auto kk = at + "." + k;
      if (k == "type")
        continue;
      if (k != "headers") {
        c.warn_unknown(where + at + ": ", k);
        continue;
      }
      for (auto& hv : get_object(c, kv.value(), kk)) {
        std::string name{hv.key()};
        auto hk = kk + "." + name;
        auto value = get_string(c, hv.value(), hk);
        auto problem = transport::check_header(name, value);
        if (!problem.empty())
          fail(c.server, hk, problem);
        hs.emplace_back(std::move(name), std::move(value));
      }
    }
    s.mw_headers = std::move(hs);
    return;
  }
  // bearer_token
  bearer_token_settings bt;
  for (auto& kv : obj) {
    std::string k{kv.key()};
    auto kk = at + "." + k;
    if (k == "type") {
      continue;
    } else if (k == "command") {
      bt.command = get_string(c, kv.value(), kk);
      if (bt.command.empty())
        fail(c.server, kk, "expected a command to run");
    } else if (k == "file") {
      bt.file = get_string(c, kv.value(), kk);
      if (bt.file.empty())
        fail(c.server, kk, "expected a file name");
    } else if (k == "refresh_s") {
      bt.refresh_s = seconds(c, kv.value(), kk, 86400 * 365);
    } else if (k == "timeout_s") {
      bt.timeout_s = seconds(c, kv.value(), kk, 3600);
    } else {
      c.warn_unknown(where + at + ": ", k);
    }
  }
  if (bt.command.empty() == bt.file.empty())
    fail(c.server, at, "needs exactly one of \"command\" and \"file\"");
  s.bearer_token = std::move(bt);
}

/// A `{"type":"retry", ...}` entry of the `middlewares` array.
retry_settings parse_retry(ctx& c, const json::object& obj,
                           const std::string& at, const std::string& where) {
  retry_settings rs;
  for (auto& kv : obj) {
    std::string k{kv.key()};
    auto kk = at + "." + k;
    if (k == "type") {
      continue;
    } else if (k == "max_attempts") {
      rs.max_attempts = count(c, kv.value(), kk, 1, 100);
    } else if (k == "base_s") {
      rs.base_s = seconds(c, kv.value(), kk, 3600);
    } else if (k == "max_s") {
      rs.max_s = seconds(c, kv.value(), kk, 3600);
    } else if (k == "max_wait_s") {
      rs.max_wait_s = seconds(c, kv.value(), kk, 3600);
    } else if (k == "tools") {
      for (auto& t : get_array(c, kv.value(), kk))
        rs.tools.push_back(get_string(c, t, kk));
    } else {
      c.warn_unknown(where + at + ": ", k);
    }
  }
  if (rs.max_s < rs.base_s)
    fail(c.server, at + ".max_s", "must not be less than base_s");
  return rs;
}

/// The `middlewares` array (its strings already expanded): `cache`,
/// `retry`, `headers`, `bearer_token`, `logging` and `metrics`, each at
/// most once, in the order of the chain; anything else is an error.
void parse_middlewares(ctx& c, const json::array& arr,
                       const std::string& where, server_settings& s) {
  for (size_t i = 0; i < arr.size(); ++i) {
    auto at = "middlewares[" + std::to_string(i) + "]";
    auto& obj = get_object(c, arr[i], at);
    auto type_it = obj.find("type");
    if (type_it == obj.end())
      fail(c.server, at, "needs a \"type\"");
    auto type = get_string(c, type_it->value(), at + ".type");
    // Each type at most once (one chain position, one set of settings).
    if (std::find(s.middleware_order.begin(), s.middleware_order.end(), type)
        != s.middleware_order.end())
      fail(c.server, at, "a second " + type);
    s.middleware_order.push_back(type);
    if (type == "headers" || type == "bearer_token") {
      parse_auth_middleware(c, obj, at, where, type, s);
      continue;
    }
    if (type == "logging") {
      logging_settings ls;
      for (auto& kv : obj) {
        std::string k{kv.key()};
        auto kk = at + "." + k;
        if (k == "type")
          continue;
        if (k == "arguments")
          ls.arguments = get_bool(c, kv.value(), kk);
        else if (k == "max_chars")
          ls.max_chars = count(c, kv.value(), kk, 1, 1000000);
        else
          c.warn_unknown(where + at + ": ", k);
      }
      s.logging = ls;
      continue;
    }
    if (type == "retry") {
      s.retry = parse_retry(c, obj, at, where);
      continue;
    }
    if (type == "metrics") {
      for (auto& kv : obj)
        if (kv.key() != "type")
          c.warn_unknown(where + at + ": ", std::string{kv.key()});
      continue;
    }
    if (type != "cache")
      fail(c.server, at + ".type",
           "unknown middleware \"" + type
             + "\" (cache, retry, headers, bearer_token, logging, "
               "metrics)");
    result_cache_config rc;
    for (auto& kv : obj) {
      std::string k{kv.key()};
      auto kk = at + "." + k;
      if (k == "type") {
        continue;
      } else if (k == "ttl_s") {
        rc.ttl = std::chrono::duration_cast<result_cache_config::duration>(
          std::chrono::duration<double>(seconds(c, kv.value(), kk, 86400 * 365)));
      } else if (k == "tools") {
        std::vector<std::string> tools;
        for (auto& t : get_array(c, kv.value(), kk))
          tools.push_back(get_string(c, t, kk));
        rc.tools = std::move(tools);
      } else if (k == "tool_ttl_s") {
        for (auto& tv : get_object(c, kv.value(), kk)) {
          auto tk = kk + "." + std::string{tv.key()};
          auto x = get_number(c, tv.value(), tk);
          if (!std::isfinite(x) || x < 0 || x > 86400.0 * 365)
            fail(c.server, tk, "expected seconds in [0, 31536000] (0: not cached)");
          rc.tool_ttl[std::string{tv.key()}]
            = std::chrono::duration_cast<result_cache_config::duration>(
              std::chrono::duration<double>(x));
        }
      } else if (k == "max_entries") {
        rc.max_entries = count(c, kv.value(), kk, 1, 10000000);
      } else if (k == "max_bytes") {
        rc.max_bytes = count(c, kv.value(), kk, 1, size_t{1} << 40);
      } else {
        c.warn_unknown(where + at + ": ", k);
      }
    }
    s.cache = std::move(rc);
  }
}

server_settings parse_server(ctx& c, const std::string& name,
                             const json::value& v) {
  c.server = name;
  if (!valid_server_name(name))
    fail(name, "", "a server name is 1 to 64 of A-Z a-z 0-9 _ . -");
  auto& obj = get_object(c, v, "");
  server_settings s;
  s.name = name;
  std::string where = "server \"" + name + "\": ";
  const char* url_key = nullptr;
  bool has_timeout = false;
  bool has_keep_alive = false;
  bool stdio = false;
  for (auto& kv : obj) {
    std::string key{kv.key()};
    auto& val = kv.value();
    if (key == "url" || key == "sse_url" || key == "serverUrl") {
      if (url_key != nullptr)
        fail(name, key, std::string{"both \""} + url_key + "\" and \"" + key
                          + "\" give the URL; keep one");
      url_key = key == "url" ? "url" : key == "sse_url" ? "sse_url"
                                                        : "serverUrl";
      s.url = get_string(c, val, key);
    } else if (key == "type" || key == "transport") {
      auto t = get_string(c, val, key);
      if (t == "sse")
        s.transport = transport_kind::sse;
      else if (t == "http" || t == "streamable-http" || t == "streamableHttp")
        s.transport = transport_kind::streamable_http;
      else if (t == "stdio")
        stdio = true;
      else
        fail(name, key,
             "unknown transport (sse, http, streamable-http, streamableHttp)");
    } else if (key == "headers") {
      for (auto& h : get_object(c, val, key)) {
        std::string hname{h.key()};
        add_header(c, s, hname, get_string(c, h.value(), "headers"), true);
      }
    } else if (key == "timeout") {
      s.timeout_s = seconds(c, val, key, 86400);
      has_timeout = true;
    } else if (key == "is_keep_alive") {
      s.keep_alive = get_bool(c, val, key);
      has_keep_alive = true;
    } else if (key == "description" || key == "desc") {
      s.description = get_string(c, val, key);
    } else if (key == "disabled") {
      s.disabled = get_bool(c, val, key);
    } else if (key == "pool") {
      auto& p = get_object(c, val, key);
      for (auto& pk : p) {
        std::string k{pk.key()};
        if (k == "min")
          s.pool_min = count(c, pk.value(), "pool.min", 1, 1024);
        else if (k == "max")
          s.pool_max = count(c, pk.value(), "pool.max", 1, 1024);
        else
          c.warn_unknown(where + "pool: ", k);
      }
      if (p.contains("max") && s.pool_max < s.pool_min)
        fail(name, "pool.max", "must not be less than pool.min");
      s.pool_max = std::max(s.pool_max, s.pool_min);
    } else if (key == "max_tools") {
      s.max_tools = count(c, val, key, 1, 10000000);
    } else if (key == "max_tools_bytes") {
      s.max_tools_bytes = count(c, val, key, 1024, size_t{1} << 32);
    } else if (key == "env_prefix") {
      s.env_prefix = get_string(c, val, key);
    } else if (key == "middlewares") {
      get_array(c, val, key);
      json::value copy = val;
      expand_all(c, copy, key);
      s.middlewares_json = json::serialize(copy);
      parse_middlewares(c, copy.get_array(), where, s);
    } else if (key == "command" || key == "args" || key == "env") {
      stdio = true;
    } else {
      c.warn_unknown(where, key);
    }
  }
  if (stdio) {
    if (!s.disabled)
      fail(name, "command", "stdio servers are not supported (the node "
                            "speaks HTTP); disable it or give a url");
    c.warnings.push_back(where + "a stdio server (ignored: disabled)");
    return s;
  }
  if (!s.env_prefix.empty()) {
    auto& p = s.env_prefix;
    auto var = [&](const char* suffix) { return c.env(p + suffix); };
    if (url_key == nullptr)
      if (auto u = var("URL")) {
        s.url = *u;
        url_key = "env_prefix";
      }
    if (auto t = var("TOKEN"); t && !has_header(s, "Authorization"))
      add_header(c, s, "Authorization", "Bearer " + *t, false);
    if (!has_header(s, "User-Agent"))
      add_header(c, s, "User-Agent", var("USER_AGENT").value_or("OxyGent/1.0"),
                 false);
    if (auto t = var("TIMEOUT"); t && !has_timeout) {
      char* end = nullptr;
      auto x = std::strtod(t->c_str(), &end);
      if (t->empty() || end != t->c_str() + t->size() || !std::isfinite(x)
          || x <= 0 || x > 86400)
        fail(name, "env_prefix",
             "environment variable " + p + "TIMEOUT: expected seconds in "
                                           "(0, 86400]");
      s.timeout_s = x;
    }
    if (auto k = var("KEEP_ALIVE"); k && !has_keep_alive)
      s.keep_alive = iequals(*k, "true");
  }
  if (url_key == nullptr)
    fail(name, "url", "missing (url, sse_url or serverUrl)");
  auto parsed = transport::parse_url(s.url);
  if (parsed.code == transport::url_errc::unsupported_scheme)
    // parse_url quotes the scheme, but the URL may come from a variable
    // (a token put there by mistake: "user:secret" has the scheme "user").
    fail(name, url_key, "unsupported URL scheme (want http or https)");
  if (parsed.code != transport::url_errc::ok)
    fail(name, url_key, parsed.message);
  return s;
}

void parse_node(ctx& c, const json::value& v, node_settings& n) {
  c.server.clear();
  auto& obj = get_object(c, v, "node");
  for (auto& kv : obj) {
    std::string key{kv.key()};
    auto& val = kv.value();
    if (key == "listen") {
      auto text = get_string(c, val, "node.listen");
      auto problem = parse_listen(text, n.listen_host, n.listen_port);
      if (!problem.empty())
        fail("", "node.listen", problem);
    } else if (key == "token") {
      n.token = get_string(c, val, "node.token");
    } else if (key == "name") {
      n.name = get_string(c, val, "node.name");
      if (!valid_server_name(n.name))
        fail("", "node.name", "a node name is 1 to 64 of A-Z a-z 0-9 _ . -");
    } else if (key == "drain_timeout_s") {
      n.drain_timeout_s = seconds(c, val, "node.drain_timeout_s", 3600);
    } else {
      c.warn_unknown("node: ", key);
    }
  }
}

void parse_cluster(ctx& c, const json::value& v, cluster_settings& cl) {
  c.server.clear();
  cl.present = true;
  auto& obj = get_object(c, v, "cluster");
  bool tls = false;
  for (auto& kv : obj) {
    std::string key{kv.key()};
    auto& val = kv.value();
    if (key == "listen") {
      auto text = get_string(c, val, "cluster.listen");
      auto problem = parse_listen(text, cl.listen_host, cl.listen_port);
      if (!problem.empty())
        fail("", "cluster.listen", problem);
      cl.listen_set = true;
    } else if (key == "tls") {
      tls = true;
      for (auto& t : get_object(c, val, "cluster.tls")) {
        std::string k{t.key()};
        auto full = "cluster.tls." + k;
        if (k == "certificate")
          cl.tls_certificate = get_string(c, t.value(), full);
        else if (k == "key")
          cl.tls_key = get_string(c, t.value(), full);
        else if (k == "cafile")
          cl.tls_cafile = get_string(c, t.value(), full);
        else
          c.warn_unknown("cluster.tls: ", k);
      }
    } else if (key == "peers") {
      for (auto& p : get_array(c, val, "cluster.peers")) {
        cluster_peer peer;
        for (auto& pk : get_object(c, p, "cluster.peers")) {
          std::string k{pk.key()};
          auto full = "cluster.peers." + k;
          if (k == "name")
            peer.name = get_string(c, pk.value(), full);
          else if (k == "host")
            peer.host = get_string(c, pk.value(), full);
          else if (k == "port")
            peer.port = static_cast<uint16_t>(
              count(c, pk.value(), full, 1, 65535));
          else
            c.warn_unknown("cluster.peers: ", k);
        }
        if (peer.host.empty() || peer.port == 0)
          fail("", "cluster.peers", "a peer needs host and port");
        // The PEER of "PEER:SERVER": the server-name rule, so no ':'.
        if (!valid_server_name(peer.name))
          fail("", "cluster.peers.name",
               "a peer needs a name of 1 to 64 letters, digits, '_', '.' "
               "or '-'");
        for (auto& other : cl.peers)
          if (other.name == peer.name)
            fail("", "cluster.peers.name",
                 "two peers named \"" + peer.name + "\"");
        cl.peers.push_back(std::move(peer));
      }
    } else if (key == "heartbeat_s") {
      cl.heartbeat_s = seconds(c, val, "cluster.heartbeat_s", 3600);
      // CAF 0.17.6 drops outgoing handshakes not finished by the next
      // heartbeat tick: shorter intervals lose connects.
      if (cl.heartbeat_s < 1)
        fail("", "cluster.heartbeat_s", "expected at least 1 second");
    } else if (key == "connection_timeout_s") {
      cl.connection_timeout_s = seconds(c, val, "cluster.connection_timeout_s",
                                        3600);
    } else if (key == "max_calls_per_peer") {
      cl.max_calls_per_peer = count(c, val, "cluster.max_calls_per_peer", 1,
                                    1000000);
    } else if (key == "reconnect_max_s") {
      cl.reconnect_max_s = seconds(c, val, "cluster.reconnect_max_s", 3600);
    } else if (key == "call_timeout_s") {
      cl.call_timeout_s = seconds(c, val, "cluster.call_timeout_s", 86400);
    } else {
      c.warn_unknown("cluster: ", key);
    }
  }
  // A hung peer is declared down within connection_timeout_s: CAF gets a
  // silence limit one heartbeat shorter, which must leave a healthy peer
  // (silent up to one heartbeat between two of its heartbeats) one more
  // heartbeat of slack (cluster::silence_limit).
  if (cl.connection_timeout_s < 3 * cl.heartbeat_s)
    fail("", "cluster.connection_timeout_s",
         "must be at least 3 times cluster.heartbeat_s");
  if (tls && (cl.tls_certificate.empty() || cl.tls_key.empty()))
    fail("", "cluster.tls", "needs \"certificate\" and \"key\"");
  cl.tls = tls;
  if (cl.listen_set && !is_loopback_host(cl.listen_host) && !tls)
    fail("", "cluster.listen",
         "a cluster port on a non-loopback address needs \"tls\" (CAF's "
         "BASP has no authentication)");
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// Line and column of byte `offset` in `text` (1-based).
std::string position(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

} // namespace

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (auto v = std::getenv(name.c_str()))
      return std::string{v};
    return std::nullopt;
  };
}

const char* to_string(transport_kind x) noexcept {
  switch (x) {
    case transport_kind::auto_detect:
      return "auto";
    case transport_kind::sse:
      return "sse";
    case transport_kind::streamable_http:
      return "streamable-http";
  }
  return "auto";
}

bool operator==(const server_settings& x, const server_settings& y) {
  return x.name == y.name && x.url == y.url && x.transport == y.transport
         && x.headers == y.headers && x.timeout_s == y.timeout_s
         && x.keep_alive == y.keep_alive && x.description == y.description
         && x.disabled == y.disabled && x.pool_min == y.pool_min
         && x.pool_max == y.pool_max && x.max_tools == y.max_tools
         && x.max_tools_bytes == y.max_tools_bytes
         && x.env_prefix == y.env_prefix
         && x.middlewares_json == y.middlewares_json;
}

std::string config_error::to_string() const {
  std::string out = file;
  out += ": ";
  if (!server.empty()) {
    out += "server \"";
    out += server;
    out += "\": ";
  }
  if (!key.empty()) {
    out += '"';
    out += key;
    out += "\": ";
  }
  out += message;
  return out;
}

config_result parse_config(std::string_view text, std::string_view file_label,
                           const env_lookup& env) {
  config_result result;
  node_config cfg;
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  json::error_code ec;
  json::stream_parser parser{{}, opts};
  auto used = parser.write_some(text.data(), text.size(), ec);
  if (!ec)
    parser.finish(ec);
  if (ec) {
    result.error = config_error{std::string{file_label}, "", "",
                                "not valid JSON at " + position(text, used)
                                  + ": " + ec.message()};
    return result;
  }
  auto root = parser.release();
  ctx c{env, cfg.warnings, ""};
  try {
    if (!root.is_object())
      fail("", "", "the file must hold a JSON object");
    auto& obj = root.get_object();
    if (obj.contains("mcpServers") && obj.contains("servers"))
      fail("", "servers", "both \"mcpServers\" and \"servers\" hold servers; "
                          "keep one");
    for (auto& kv : obj) {
      std::string key{kv.key()};
      auto& val = kv.value();
      if (key == "mcpServers" || key == "servers") {
        for (auto& s : get_object(c, val, key))
          cfg.servers.push_back(parse_server(c, std::string{s.key()},
                                             s.value()));
        c.server.clear();
      } else if (key == "node") {
        parse_node(c, val, cfg.node);
      } else if (key == "cluster") {
        parse_cluster(c, val, cfg.cluster);
      } else if (key == "$schema" || key == "inputs") {
        // VS Code's mcp.json keys: nothing for the node.
      } else {
        c.warn_unknown("", key);
      }
    }
    if (!is_loopback_host(cfg.node.listen_host) && cfg.node.token.empty())
      fail("", "node.listen", "listening on a non-loopback address needs "
                              "node.token");
  } catch (failure& f) {
    result.error = config_error{std::string{file_label}, std::move(f.server),
                                std::move(f.key), std::move(f.message)};
    return result;
  }
  std::sort(cfg.servers.begin(), cfg.servers.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  result.config = std::move(cfg);
  return result;
}

config_result load_config_file(const std::string& path, const env_lookup& env) {
  auto unreadable = [&](int code) {
    config_result result;
    result.error = config_error{base_name(path), "", "",
                                std::string{"cannot read the file: "}
                                  + std::strerror(code)};
    return result;
  };
  // A directory opens fine and then fails to read: say so, rather than
  // "not valid JSON" about an empty text.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return unreadable(EISDIR);
  errno = 0;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return unreadable(errno != 0 ? errno : ENOENT);
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_config(buf.str(), base_name(path), env);
}

config_diff diff(const node_config& before, const node_config& after) {
  config_diff d;
  std::map<std::string, const server_settings*> old;
  for (auto& s : before.servers)
    old.emplace(s.name, &s);
  std::set<std::string> seen;
  for (auto& s : after.servers) {
    seen.insert(s.name);
    auto i = old.find(s.name);
    if (i == old.end())
      d.added.push_back(s.name);
    else if (*i->second == s)
      d.unchanged.push_back(s.name);
    else
      d.changed.push_back(s.name);
  }
  for (auto& s : before.servers)
    if (seen.count(s.name) == 0)
      d.removed.push_back(s.name);
  return d;
}

std::string parse_listen(std::string_view text, std::string& host,
                         uint16_t& port) {
  std::string_view h;
  std::string_view p;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size()
        || text[close + 1] != ':')
      return "expected HOST:PORT or [V6]:PORT";
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return "expected HOST:PORT";
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos)
      return "an IPv6 address goes in brackets: [V6]:PORT";
  }
  if (h.empty())
    return "expected HOST:PORT (the host is missing)";
  if (p.empty() || p.size() > 5
      || !std::all_of(p.begin(), p.end(),
                      [](char ch) { return ch >= '0' && ch <= '9'; }))
    return "expected a port from 0 to 65535";
  auto value = std::stoul(std::string{p});
  if (value > 65535)
    return "expected a port from 0 to 65535";
  host = std::string{h};
  port = static_cast<uint16_t>(value);
  return {};
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]")
    return true;
  // 127.0.0.0/8 written as a dotted quad: four parts of 1 to 3 digits, each
  // at most 255 ("127..." or "127.999.0.1" are no addresses at all).
  int parts = 0;
  while (true) {
    auto dot = host.find('.');
    auto part = host.substr(0, dot);
    if (part.empty() || part.size() > 3
        || !std::all_of(part.begin(), part.end(),
                        [](char ch) { return ch >= '0' && ch <= '9'; })
        || std::stoi(std::string{part}) > 255)
      return false;
    if (parts++ == 0 && part != "127")
      return false;
    if (dot == std::string_view::npos)
      break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

std::optional<config_error> check_cluster_files(cluster_settings& cl,
                                                const std::string& config_path) {
  std::filesystem::path dir;
  if (!config_path.empty())
    dir = std::filesystem::path{config_path}.parent_path();
  std::pair<const char*, std::string*> files[] = {
    {"cluster.tls.certificate", &cl.tls_certificate},
    {"cluster.tls.key", &cl.tls_key},
    {"cluster.tls.cafile", &cl.tls_cafile},
  };
  for (auto& [key, path] : files) {
    if (path->empty())
      continue;
    std::filesystem::path p{*path};
    if (p.is_relative() && !dir.empty())
      p = dir / p;
    std::error_code ec;
    errno = 0;
    std::ifstream in{p, std::ios::binary};
    if (!in || std::filesystem::is_directory(p, ec))
      return config_error{base_name(config_path), "", key,
                          "cannot read " + p.string() + ": "
                            + std::strerror(errno != 0 ? errno : EISDIR)};
    *path = p.string();
  }
  return std::nullopt;
}

} // namespace caf_mcp::node
