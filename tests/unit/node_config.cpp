#define CAF_SUITE node_config
#include "caf/test/unit_test.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "config.hpp"

using namespace caf_mcp::node;

namespace {

/// A fake environment.
struct fake_env {
  std::map<std::string, std::string> vars;

  env_lookup lookup() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto i = vars.find(name);
      if (i == vars.end())
        return std::nullopt;
      return i->second;
    };
  }
};

struct fixture {
  fake_env env;

  config_result parse(const std::string& text) {
    return parse_config(text, "node.json", env.lookup());
  }

  /// The config of `text`; fails the test on an error.
  node_config ok(const std::string& text) {
    auto res = parse(text);
    if (res.error)
      CAF_FAIL("unexpected error: " << res.error->to_string());
    return *res.config;
  }

  /// The error line of `text`; fails the test if it loads.
  std::string error(const std::string& text) {
    auto res = parse(text);
    if (!res.error)
      CAF_FAIL("expected an error for " << text);
    return res.error->to_string();
  }

  /// One server config wrapped in a file.
  static std::string server(const std::string& body,
                            const std::string& name = "s") {
    return R"({"mcpServers":{")" + name + R"(":)" + body + "}}";
  }

  static std::string header(const server_settings& s, const std::string& n) {
    for (auto& [k, v] : s.headers)
      if (k == n)
        return v;
    return "<none>";
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_config_tests, fixture)

CAF_TEST(an empty object is a node without servers) {
  auto cfg = ok("{}");
  CAF_CHECK(cfg.servers.empty());
  CAF_CHECK_EQUAL(cfg.node.listen_host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.node.listen_port, 8080u);
  CAF_CHECK_EQUAL(cfg.node.drain_timeout_s, 10.0);
  CAF_CHECK(cfg.warnings.empty());
}

CAF_TEST(both roots name servers and are sorted by name) {
  auto a = ok(R"({"mcpServers":{"b":{"url":"http://h/sse"},"a":{"url":"http://h/x"}}})");
  CAF_REQUIRE_EQUAL(a.servers.size(), 2u);
  CAF_CHECK_EQUAL(a.servers[0].name, "a");
  CAF_CHECK_EQUAL(a.servers[1].name, "b");
  auto b = ok(R"({"servers":{"v":{"url":"http://h/sse"}}})");
  CAF_REQUIRE_EQUAL(b.servers.size(), 1u);
  CAF_CHECK_EQUAL(b.servers[0].name, "v");
  CAF_CHECK_EQUAL(error(R"({"mcpServers":{},"servers":{}})"),
                  R"(node.json: "servers": both "mcpServers" and "servers" hold servers; keep one)");
}

CAF_TEST(comments and trailing commas are allowed) {
  auto cfg = ok("// head\n{ /* a */ \"mcpServers\": {\"x\": {\"url\": "
                "\"http://h/sse\", }, }, }\n");
  CAF_CHECK_EQUAL(cfg.servers.size(), 1u);
}

CAF_TEST(a syntax error gives line and column and no file text) {
  auto e = error("{\n  \"node\": {\"token\": \"S3CRET\" \n  oops }\n}");
  CAF_CHECK(contains(e, "node.json: not valid JSON at line 3"));
  CAF_CHECK(!contains(e, "S3CRET"));
  CAF_CHECK(!contains(e, "oops"));
}

CAF_TEST(the three url keys and only one of them) {
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/a"})")).servers[0].url, "http://h/a");
  CAF_CHECK_EQUAL(ok(server(R"({"sse_url":"http://h/b"})")).servers[0].url, "http://h/b");
  CAF_CHECK_EQUAL(ok(server(R"({"serverUrl":"http://h/c"})")).servers[0].url, "http://h/c");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/a","sse_url":"http://h/b"})")),
                  R"(node.json: server "s": "sse_url": both "url" and "sse_url" give the URL; keep one)");
  CAF_CHECK_EQUAL(error(server(R"({"desc":"x"})")),
                  R"(node.json: server "s": "url": missing (url, sse_url or serverUrl))");
  auto e = error(server(R"({"url":"ftp://u:S3CRET@h/x?token=S3CRET"})"));
  CAF_CHECK(contains(e, R"(server "s": "url": )"));
  CAF_CHECK(!contains(e, "S3CRET"));
}

CAF_TEST(types of transport) {
  CAF_CHECK(ok(server(R"({"url":"http://h/","type":"sse"})")).servers[0].transport
            == transport_kind::sse);
  CAF_CHECK(ok(server(R"({"url":"http://h/"})")).servers[0].transport
            == transport_kind::auto_detect);
  for (auto t : {"http", "streamable-http", "streamableHttp"}) {
    auto text = server(R"({"url":"http://h/","type":")" + std::string{t} + R"("})");
    CAF_CHECK(ok(text).servers[0].transport == transport_kind::streamable_http);
  }
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","type":"carrier-pigeon"})")),
                     R"("type": unknown transport)"));
}

CAF_TEST(OxyGent keys) {
  auto cfg = ok(server(R"({"url":"http://h/","desc":"d1","is_keep_alive":false,
    "timeout":2.5,"headers":{"X-A":"1","Authorization":"Bearer t"},
    "middlewares":[{"type":"cache","ttl_s":30}]})"));
  auto& s = cfg.servers[0];
  CAF_CHECK_EQUAL(s.description, "d1");
  CAF_CHECK_EQUAL(s.keep_alive, false);
  CAF_CHECK_EQUAL(s.timeout_s, 2.5);
  CAF_CHECK_EQUAL(header(s, "X-A"), "1");
  CAF_CHECK_EQUAL(header(s, "Authorization"), "Bearer t");
  CAF_CHECK_EQUAL(s.middlewares_json, R"([{"type":"cache","ttl_s":30}])");
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","description":"d2"})")).servers[0].description,
                  "d2");
  CAF_CHECK(ok(server(R"({"url":"http://h/"})")).servers[0].middlewares_json.empty());
}

CAF_TEST(wrong types name the key) {
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","timeout":"soon"})", "billing")),
                  R"(node.json: server "billing": "timeout": expected a number)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","is_keep_alive":1})")),
                  R"(node.json: server "s": "is_keep_alive": expected a boolean)");
  CAF_CHECK_EQUAL(error(server(R"({"url":5})")),
                  R"(node.json: server "s": "url": expected a string)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":[]})")),
                  R"(node.json: server "s": "headers": expected an object)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":{}})")),
                  R"(node.json: server "s": "middlewares": expected an array)");
  CAF_CHECK_EQUAL(error(server(R"("http://h/")")),
                  R"(node.json: server "s": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"node":{"drain_timeout_s":true}})"),
                  R"(node.json: "node.drain_timeout_s": expected a number)");
}

CAF_TEST(numbers and booleans may come from variables) {
  env.vars["T"] = "7";
  env.vars["K"] = "false";
  auto s = ok(server(R"({"url":"http://h/","timeout":"${T}","is_keep_alive":"${K}"})")).servers[0];
  CAF_CHECK_EQUAL(s.timeout_s, 7.0);
  CAF_CHECK_EQUAL(s.keep_alive, false);
}

CAF_TEST(bounds of timeout and pool) {
  for (auto t : {"0", "-1", "86401", "1e400"})
    CAF_CHECK(contains(error(server(std::string{R"({"url":"http://h/","timeout":)"} + t + "}")),
                       R"("timeout": expected seconds in (0, 86400])"));
  auto s = ok(server(R"({"url":"http://h/","pool":{"min":2,"max":5}})")).servers[0];
  CAF_CHECK_EQUAL(s.pool_min, 2u);
  CAF_CHECK_EQUAL(s.pool_max, 5u);
  auto t = ok(server(R"({"url":"http://h/","pool":{"min":3}})")).servers[0];
  CAF_CHECK_EQUAL(t.pool_max, 3u);
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"min":3,"max":2}})")),
                  R"(node.json: server "s": "pool.max": must not be less than pool.min)");
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","pool":{"min":0}})")),
                     R"("pool.min": expected a whole number from 1 to 1024)"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","pool":{"max":1.5}})")),
                     R"("pool.max": expected a whole number)"));
}

CAF_TEST(disabled servers are kept and validated) {
  auto s = ok(server(R"({"url":"http://h/","disabled":true})")).servers[0];
  CAF_CHECK(s.disabled);
  CAF_CHECK(contains(error(server(R"({"disabled":true})")), R"("url": missing)"));
}

CAF_TEST(stdio servers are refused unless disabled) {
  CAF_CHECK_EQUAL(error(server(R"({"command":"npx","args":["x"]})")),
                  R"(node.json: server "s": "command": stdio servers are not supported (the node speaks HTTP); disable it or give a url)");
  auto cfg = ok(server(R"({"command":"npx","disabled":true})"));
  CAF_REQUIRE_EQUAL(cfg.warnings.size(), 1u);
  CAF_CHECK(contains(cfg.warnings[0], "stdio"));
}

CAF_TEST(server names follow the rule) {
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/"})", "bad name")),
                  R"(node.json: server "bad name": a server name is 1 to 64 of A-Z a-z 0-9 _ . -)");
  ok(server(R"({"url":"http://h/"})", "a.B-c_9"));
  CAF_CHECK(!error(server(R"({"url":"http://h/"})", std::string(65, 'x'))).empty());
}

CAF_TEST(bad headers are refused without their values) {
  auto e = error(server(R"({"url":"http://h/","headers":{"X-A":"S3CRET\r\nX-B: 1"}})"));
  CAF_CHECK(contains(e, R"(server "s": "headers": )"));
  CAF_CHECK(!contains(e, "S3CRET"));
  auto f = error(server(R"({"url":"http://h/","headers":{"Host":"S3CRET"}})"));
  CAF_CHECK(!contains(f, "S3CRET"));
  auto g = error(server(R"({"url":"http://h/","headers":{"bad name":"S3CRET"}})"));
  CAF_CHECK(!contains(g, "S3CRET"));
}

CAF_TEST(variables in every form) {
  env.vars["A"] = "alpha";
  env.vars["EMPTY"] = "";
  auto s = ok(server(R"({"url":"http://h/${A}/${env:A}/${B:-beta}/${EMPTY:-gamma}/${A:-x}/$$/$x",
                        "headers":{"X-H":"${A}"},"desc":"${EMPTY}"})")).servers[0];
  CAF_CHECK_EQUAL(s.url, "http://h/alpha/alpha/beta/gamma/alpha/$/$x");
  CAF_CHECK_EQUAL(header(s, "X-H"), "alpha");
  CAF_CHECK_EQUAL(s.description, "");
  // Variables in middlewares: strings at any depth, not keys, not numbers.
  auto m = ok(server(R"({"url":"http://h/","middlewares":[{"type":"cache","tools":["${A}"],"${A}":[1,"${B:-b}",true,null]}]})"))
             .servers[0].middlewares_json;
  CAF_CHECK_EQUAL(m, R"([{"type":"cache","tools":["alpha"],"${A}":[1,"b",true,null]}])");
  // Expanded once: a value holding ${...} stays as it is.
  env.vars["NESTED"] = "${A}";
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","desc":"${NESTED}"})")).servers[0].description,
                  "${A}");
}

CAF_TEST(variable errors name the variable and never a value) {
  env.vars["SECRETVAR"] = "S3CRET";
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"X":"${NOPE}"}})")),
                  R"(node.json: server "s": "headers": environment variable NOPE is not set)");
  CAF_CHECK_EQUAL(error(R"({"node":{"token":"${env:NOPE2}"}})"),
                  R"(node.json: "node.token": environment variable NOPE2 is not set)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/${SECRETVAR"})")),
                  R"(node.json: server "s": "url": unterminated ${ in a value)");
  CAF_CHECK(contains(error(server(R"({"url":"http://h/${BAD-NAME}"})")), "bad variable name"));
  // A nested ${ would end at its first "}": refused, whatever is set.
  env.vars["A"] = "alpha";
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"X":"${A:-${SECRETVAR}}"}})")),
                  R"(node.json: server "s": "headers": nested ${...} is not supported)");
  // Strings inside middlewares are values like any other.
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"key":"${NOPE3}"}]})")),
                  R"(node.json: server "s": "middlewares": environment variable NOPE3 is not set)");
  // A variable's value never shows in an error about it.
  env.vars["TMO"] = "S3CRET";
  auto e = error(server(R"({"url":"http://h/","timeout":"${TMO}"})"));
  CAF_CHECK_EQUAL(e, R"(node.json: server "s": "timeout": expected a number)");
}

CAF_TEST(env_prefix reads the seed variables and the file wins) {
  env.vars["P_URL"] = "http://h/from-env";
  env.vars["P_TOKEN"] = "tok";
  env.vars["P_TIMEOUT"] = "12.5";
  env.vars["P_KEEP_ALIVE"] = "FALSE";
  auto s = ok(server(R"({"env_prefix":"P_"})")).servers[0];
  CAF_CHECK_EQUAL(s.url, "http://h/from-env");
  CAF_CHECK_EQUAL(header(s, "Authorization"), "Bearer tok");
  CAF_CHECK_EQUAL(header(s, "User-Agent"), "OxyGent/1.0");
  CAF_CHECK_EQUAL(s.timeout_s, 12.5);
  CAF_CHECK_EQUAL(s.keep_alive, false);
  env.vars["P_KEEP_ALIVE"] = "True";
  env.vars["P_USER_AGENT"] = "agent/2";
  auto t = ok(server(R"({"env_prefix":"P_","url":"http://h/file","timeout":3,
                        "headers":{"authorization":"Bearer file"}})")).servers[0];
  CAF_CHECK_EQUAL(t.url, "http://h/file");
  CAF_CHECK_EQUAL(header(t, "authorization"), "Bearer file");
  CAF_CHECK_EQUAL(header(t, "Authorization"), "<none>");
  CAF_CHECK_EQUAL(header(t, "User-Agent"), "agent/2");
  CAF_CHECK_EQUAL(t.timeout_s, 3.0);
  CAF_CHECK_EQUAL(t.keep_alive, true);
}

CAF_TEST(env_prefix without a token adds no Authorization) {
  env.vars["Q_URL"] = "http://h/q";
  auto s = ok(server(R"({"env_prefix":"Q_"})")).servers[0];
  CAF_CHECK_EQUAL(header(s, "Authorization"), "<none>");
  CAF_CHECK_EQUAL(s.timeout_s, 60.0);
  CAF_CHECK_EQUAL(s.keep_alive, true);
}

CAF_TEST(env_prefix with a bad timeout names the variable) {
  env.vars["P_URL"] = "http://h/";
  env.vars["P_TIMEOUT"] = "S3CRET";
  auto e = error(server(R"({"env_prefix":"P_"})"));
  CAF_CHECK_EQUAL(e, R"(node.json: server "s": "env_prefix": environment variable P_TIMEOUT: expected seconds in (0, 86400])");
}

CAF_TEST(node keys) {
  env.vars["TOK"] = "S3CRET-T";
  auto cfg = ok(R"({"node":{"listen":"[::1]:0","token":"${TOK}","name":"n-1","drain_timeout_s":2}})");
  CAF_CHECK_EQUAL(cfg.node.listen_host, "::1");
  CAF_CHECK_EQUAL(cfg.node.listen_port, 0u);
  CAF_CHECK_EQUAL(cfg.node.token, "S3CRET-T");
  CAF_CHECK_EQUAL(cfg.node.name, "n-1");
  CAF_CHECK_EQUAL(cfg.node.drain_timeout_s, 2.0);
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":"0.0.0.0:80"}})"),
                  R"(node.json: "node.listen": listening on a non-loopback address needs node.token)");
  auto open = ok(R"({"node":{"listen":"0.0.0.0:80","token":"x"}})");
  CAF_CHECK_EQUAL(open.node.listen_host, "0.0.0.0");
  CAF_CHECK(contains(error(R"({"node":{"listen":"nope"}})"), R"("node.listen": expected HOST:PORT)"));
  CAF_CHECK(contains(error(R"({"node":{"listen":"h:99999"}})"), "port"));
  CAF_CHECK(contains(error(R"({"node":{"name":"a b"}})"), R"("node.name")"));
}

CAF_TEST(listen addresses and loopback) {
  std::string host;
  uint16_t port = 0;
  CAF_CHECK_EQUAL(parse_listen("127.0.0.1:8080", host, port), "");
  CAF_CHECK_EQUAL(host, "127.0.0.1");
  CAF_CHECK_EQUAL(port, 8080u);
  CAF_CHECK_EQUAL(parse_listen("[::1]:9", host, port), "");
  CAF_CHECK_EQUAL(host, "::1");
  CAF_CHECK(!parse_listen("::1:9", host, port).empty());
  CAF_CHECK(!parse_listen(":9", host, port).empty());
  CAF_CHECK(!parse_listen("h:", host, port).empty());
  CAF_CHECK(is_loopback_host("127.0.0.1"));
  CAF_CHECK(is_loopback_host("127.1.2.3"));
  CAF_CHECK(is_loopback_host("::1"));
  CAF_CHECK(is_loopback_host("localhost"));
  CAF_CHECK(!is_loopback_host("0.0.0.0"));
  CAF_CHECK(!is_loopback_host("127.evil.com"));
  CAF_CHECK(!is_loopback_host("10.0.0.1"));
  CAF_CHECK(is_loopback_host("127.255.255.254"));
  CAF_CHECK(!is_loopback_host("127..."));
  CAF_CHECK(!is_loopback_host("127.999.0.1"));
  CAF_CHECK(!is_loopback_host("127.0.0"));
  CAF_CHECK(!is_loopback_host("127.0.0.1.5"));
  CAF_CHECK(!is_loopback_host("127.0.0.0001"));
  CAF_CHECK(!is_loopback_host("128.0.0.1"));
  CAF_CHECK(!is_loopback_host(""));
  // Not a loopback address, so a token is required.
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":"127...:80"}})"),
                  R"(node.json: "node.listen": listening on a non-loopback address needs node.token)");
}

CAF_TEST(cluster keys) {
  auto cfg = ok(R"({"cluster":{"listen":"127.0.0.1:4242","tls":{"certificate":"c","key":"k","cafile":"a"},
                    "peers":[{"name":"b","host":"127.0.0.1","port":4243}]}})");
  CAF_CHECK(cfg.cluster.present);
  CAF_CHECK_EQUAL(cfg.cluster.listen_port, 4242u);
  CAF_CHECK_EQUAL(cfg.cluster.tls_certificate, "c");
  CAF_REQUIRE_EQUAL(cfg.cluster.peers.size(), 1u);
  CAF_CHECK_EQUAL(cfg.cluster.peers[0].port, 4243u);
  CAF_CHECK_EQUAL(error(R"({"cluster":{"listen":"10.1.1.1:4242"}})"),
                  R"(node.json: "cluster.listen": a cluster port on a non-loopback address needs "tls" (CAF's BASP has no authentication))");
  ok(R"({"cluster":{"listen":"10.1.1.1:4242","tls":{"certificate":"c","key":"k"}}})");
  // An empty tls object is no TLS: BASP would listen unauthenticated.
  CAF_CHECK_EQUAL(error(R"({"cluster":{"listen":"10.1.1.1:4242","tls":{}}})"),
                  R"(node.json: "cluster.tls": needs "certificate" and "key")");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"tls":{"certificate":"c"}}})"),
                  R"(node.json: "cluster.tls": needs "certificate" and "key")");
  CAF_CHECK(contains(error(R"({"cluster":{"peers":[{"name":"b"}]}})"), "host and port"));
}

CAF_TEST(cluster settings of issue 13) {
  auto none = ok(R"({"cluster":{"peers":[{"name":"b","host":"127.0.0.1","port":4243}]}})");
  CAF_CHECK(!none.cluster.listen_set); // no listen: not published
  CAF_CHECK(!none.cluster.tls);
  CAF_CHECK_EQUAL(none.cluster.heartbeat_s, 1.0);
  CAF_CHECK_EQUAL(none.cluster.connection_timeout_s, 5.0);
  CAF_CHECK_EQUAL(none.cluster.max_calls_per_peer, 256u);
  auto cfg = ok(R"({"cluster":{"listen":"127.0.0.1:0","heartbeat_s":2,
                    "connection_timeout_s":6,"max_calls_per_peer":8,
                    "reconnect_max_s":1,"call_timeout_s":30}})");
  CAF_CHECK(cfg.cluster.listen_set);
  CAF_CHECK_EQUAL(cfg.cluster.listen_port, 0u);
  CAF_CHECK_EQUAL(cfg.cluster.heartbeat_s, 2.0);
  CAF_CHECK_EQUAL(cfg.cluster.connection_timeout_s, 6.0);
  CAF_CHECK_EQUAL(cfg.cluster.max_calls_per_peer, 8u);
  CAF_CHECK_EQUAL(cfg.cluster.reconnect_max_s, 1.0);
  CAF_CHECK_EQUAL(cfg.cluster.call_timeout_s, 30.0);
  CAF_CHECK(ok(R"({"cluster":{"listen":"1.2.3.4:1","tls":{"certificate":"c","key":"k"}}})").cluster.tls);
  CAF_CHECK_EQUAL(error(R"({"cluster":{"heartbeat_s":0.5}})"),
                  R"(node.json: "cluster.heartbeat_s": expected at least 1 second)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"heartbeat_s":2,"connection_timeout_s":5.9}})"),
                  R"(node.json: "cluster.connection_timeout_s": must be at least 3 times cluster.heartbeat_s)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"heartbeat_s":2}})"),
                  R"(node.json: "cluster.connection_timeout_s": must be at least 3 times cluster.heartbeat_s)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"max_calls_per_peer":0}})"),
                  R"(node.json: "cluster.max_calls_per_peer": expected a whole number from 1 to 1000000)");
  CAF_CHECK(contains(error(R"({"cluster":{"peers":[{"host":"h","port":1}]}})"),
                     R"("cluster.peers.name": a peer needs a name)"));
  CAF_CHECK(contains(error(R"({"cluster":{"peers":[{"name":"a:b","host":"h","port":1}]}})"),
                     R"("cluster.peers.name")"));
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":[{"name":"a","host":"h","port":1},{"name":"a","host":"g","port":2}]}})"),
                  R"(node.json: "cluster.peers.name": two peers named "a")");
}

CAF_TEST(check_cluster_files names the unreadable key) {
  auto dir = std::string{"/tmp/caf_mcp_cluster_files_"} + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream out{dir + "/node.pem"};
    out << "x";
  }
  cluster_settings cl;
  cl.tls = true;
  cl.tls_certificate = "node.pem";
  cl.tls_key = "node.key";
  auto err = check_cluster_files(cl, dir + "/node.json");
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->key, "cluster.tls.key");
  CAF_CHECK_EQUAL(err->to_string(), "node.json: \"cluster.tls.key\": cannot read "
                                      + dir + "/node.key: No such file or directory");
  {
    std::ofstream out{dir + "/node.key"};
    out << "y";
  }
  CAF_CHECK(!check_cluster_files(cl, dir + "/node.json"));
  // Relative paths are taken from the config file's directory.
  CAF_CHECK_EQUAL(cl.tls_certificate, dir + "/node.pem");
  CAF_CHECK_EQUAL(cl.tls_key, dir + "/node.key");
  std::filesystem::remove_all(dir);
}

CAF_TEST(unknown keys are warnings with their path) {
  auto cfg = ok(R"({"extra":1,"node":{"colour":"red"},"inputs":[],
                    "mcpServers":{"s":{"url":"http://h/","bogus":1,"pool":{"size":2}}},
                    "cluster":{"x":1}})");
  CAF_REQUIRE_EQUAL(cfg.warnings.size(), 5u);
  CAF_CHECK_EQUAL(cfg.warnings[0], R"(unknown key "extra" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[1], R"(node: unknown key "colour" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[2], R"(server "s": unknown key "bogus" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[3], R"(server "s": pool: unknown key "size" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[4], R"(cluster: unknown key "x" (ignored))");
}

CAF_TEST(no secret in any error or warning) {
  env.vars["SEC"] = "S3CRET-V";
  std::vector<std::string> texts = {
    server(R"({"url":"http://u:S3CRET@h/?token=S3CRET","timeout":"x"})"),
    server(R"({"url":"http://h/?api_key=${SEC}","headers":{"X":"S3CRET\n"}})"),
    R"({"node":{"token":"S3CRET","listen":"8.8.8.8"}})",
    server(R"({"url":"http://h/","headers":{"Authorization":"Bearer S3CRET"},"pool":{"min":"${SEC}"}})"),
    server(R"({"url":"http://h/","headers":{"Authorization":"Bearer S3CRET"},"S3CRETKEY_NOT":1,"type":"carrier-pigeon"})"),
  };
  for (auto& text : texts) {
    auto res = parse(text);
    CAF_REQUIRE(res.error);
    CAF_CHECK(!contains(res.error->to_string(), "S3CRET"));
  }
  auto cfg = ok(server(R"({"url":"http://h/?token=${SEC}","headers":{"X":"${SEC}"},"zz":1})"));
  for (auto& w : cfg.warnings)
    CAF_CHECK(!contains(w, "S3CRET"));
}

CAF_TEST(reload diffs by name and settings) {
  auto before = ok(R"({"mcpServers":{"a":{"url":"http://h/a"},"b":{"url":"http://h/b"},
                                     "c":{"url":"http://h/c"}}})");
  auto after = ok(R"({"mcpServers":{"a":{"url":"http://h/a"},"b":{"url":"http://h/b","timeout":5},
                                    "d":{"url":"http://h/d"}}})");
  auto d = diff(before, after);
  CAF_CHECK_EQUAL(d.added, std::vector<std::string>{"d"});
  CAF_CHECK_EQUAL(d.removed, std::vector<std::string>{"c"});
  CAF_CHECK_EQUAL(d.changed, std::vector<std::string>{"b"});
  CAF_CHECK_EQUAL(d.unchanged, std::vector<std::string>{"a"});
  // A header value change is a change (secrets included).
  auto h1 = ok(server(R"({"url":"http://h/","headers":{"A":"1"}})"));
  auto h2 = ok(server(R"({"url":"http://h/","headers":{"A":"2"}})"));
  CAF_CHECK_EQUAL(diff(h1, h2).changed, std::vector<std::string>{"s"});
}

CAF_TEST(a missing file is an error naming it) {
  auto res = load_config_file("/nonexistent/dir/node.json", env.lookup());
  CAF_REQUIRE(res.error);
  CAF_CHECK_EQUAL(res.error->to_string(),
                  "node.json: cannot read the file: No such file or directory");
  // A directory opens but cannot be read: not a JSON syntax error.
  res = load_config_file(CAF_MCP_SOURCE_DIR "/deploy", env.lookup());
  CAF_REQUIRE(res.error);
  CAF_CHECK_EQUAL(res.error->to_string(),
                  "deploy: cannot read the file: Is a directory");
}

CAF_TEST(the example config loads) {
  env.vars["METRICS_TOKEN"] = "m-token";
  env.vars["LOGS_TOKEN"] = "l-token";
  auto res = load_config_file(CAF_MCP_SOURCE_DIR "/deploy/node.example.json",
                              env.lookup());
  if (res.error)
    CAF_FAIL(res.error->to_string());
  auto& cfg = *res.config;
  CAF_CHECK(cfg.warnings.empty());
  CAF_CHECK_EQUAL(cfg.node.listen_host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.node.listen_port, 8080u);
  CAF_CHECK_EQUAL(cfg.node.token, "");
  CAF_CHECK_EQUAL(cfg.node.name, "node-a");
  CAF_CHECK_EQUAL(cfg.node.drain_timeout_s, 10.0);
  CAF_REQUIRE_EQUAL(cfg.servers.size(), 3u);
  auto& alerts = cfg.servers[0];
  CAF_CHECK_EQUAL(alerts.name, "alerts_stream");
  CAF_CHECK_EQUAL(alerts.url, "http://127.0.0.1:9103/sse");
  CAF_CHECK_EQUAL(alerts.description, "Occasional alerts");
  CAF_CHECK(alerts.disabled);
  CAF_CHECK(!alerts.keep_alive);
  CAF_CHECK(alerts.headers.empty());
  auto& logs = cfg.servers[1];
  CAF_CHECK_EQUAL(logs.name, "logs_stream");
  CAF_CHECK_EQUAL(logs.url, "http://127.0.0.1:9102/sse");
  CAF_CHECK_EQUAL(logs.description, "Log lines");
  CAF_CHECK_EQUAL(logs.env_prefix, "LOGS_");
  CAF_CHECK_EQUAL(header(logs, "Authorization"), "Bearer l-token");
  CAF_CHECK_EQUAL(header(logs, "User-Agent"), "OxyGent/1.0");
  CAF_CHECK_EQUAL(logs.timeout_s, 60.0);
  CAF_CHECK(logs.keep_alive);
  CAF_CHECK(!logs.disabled);
  auto& metrics = cfg.servers[2];
  CAF_CHECK_EQUAL(metrics.name, "metrics_stream");
  CAF_CHECK_EQUAL(metrics.url, "http://127.0.0.1:9101/sse");
  CAF_CHECK(metrics.transport == transport_kind::sse);
  CAF_CHECK_EQUAL(metrics.headers.size(), 1u);
  CAF_CHECK_EQUAL(header(metrics, "Authorization"), "Bearer m-token");
  CAF_CHECK_EQUAL(metrics.timeout_s, 60.0);
  CAF_CHECK(metrics.keep_alive);
  CAF_CHECK_EQUAL(metrics.description, "Real-time metrics");
  CAF_CHECK_EQUAL(metrics.pool_min, 1u);
  CAF_CHECK_EQUAL(metrics.pool_max, 4u);
  CAF_CHECK_EQUAL(metrics.middlewares_json,
                  R"([{"type":"cache","ttl_s":30,"tools":["get_quote"]}])");
  CAF_CHECK(cfg.cluster.present);
  CAF_CHECK_EQUAL(cfg.cluster.listen_host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.cluster.listen_port, 4242u);
  CAF_CHECK_EQUAL(cfg.cluster.tls_certificate, "/etc/caf-mcp/node.pem");
  CAF_CHECK_EQUAL(cfg.cluster.tls_key, "/etc/caf-mcp/node.key");
  CAF_CHECK_EQUAL(cfg.cluster.tls_cafile, "/etc/caf-mcp/ca.pem");
  CAF_REQUIRE_EQUAL(cfg.cluster.peers.size(), 1u);
  CAF_CHECK_EQUAL(cfg.cluster.peers[0].name, "node-b");
  CAF_CHECK_EQUAL(cfg.cluster.peers[0].host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.cluster.peers[0].port, 4243u);
}

CAF_TEST(the example config follows its environment) {
  env.vars["METRICS_TOKEN"] = "m-token";
  env.vars["METRICS_URL"] = "https://metrics.example.com/sse";
  env.vars["LOGS_URL"] = "https://logs.example.com/sse";
  env.vars["LOGS_TIMEOUT"] = "15";
  env.vars["LOGS_KEEP_ALIVE"] = "False";
  env.vars["LOGS_USER_AGENT"] = "agent/1";
  env.vars["CAF_MCP_NODE_TOKEN"] = "n-token";
  env.vars["CAF_MCP_TLS_DIR"] = "/srv/tls";
  auto res = load_config_file(CAF_MCP_SOURCE_DIR "/deploy/node.example.json",
                              env.lookup());
  if (res.error)
    CAF_FAIL(res.error->to_string());
  auto& cfg = *res.config;
  CAF_CHECK_EQUAL(cfg.node.token, "n-token");
  CAF_CHECK_EQUAL(cfg.cluster.tls_key, "/srv/tls/node.key");
  auto& logs = cfg.servers[1];
  CAF_CHECK_EQUAL(logs.url, "https://logs.example.com/sse");
  CAF_CHECK_EQUAL(header(logs, "Authorization"), "<none>");
  CAF_CHECK_EQUAL(header(logs, "User-Agent"), "agent/1");
  CAF_CHECK_EQUAL(logs.timeout_s, 15.0);
  CAF_CHECK(!logs.keep_alive);
  CAF_CHECK_EQUAL(cfg.servers[2].url, "https://metrics.example.com/sse");
  // Without its token the example is refused, naming the variable.
  env.vars.erase("METRICS_TOKEN");
  auto bad = load_config_file(CAF_MCP_SOURCE_DIR "/deploy/node.example.json",
                              env.lookup());
  CAF_REQUIRE(bad.error);
  CAF_CHECK_EQUAL(bad.error->to_string(),
                  R"(node.example.json: server "metrics_stream": "headers": environment variable METRICS_TOKEN is not set)");
}

// -- more keys and edges ------------------------------------------------------

CAF_TEST(transport is an alias of type and stdio is refused) {
  CAF_CHECK(ok(server(R"({"url":"http://h/","transport":"sse"})")).servers[0].transport
            == transport_kind::sse);
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","type":"stdio"})")),
                     "stdio servers are not supported"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","type":5})")),
                     R"(server "s": "type": expected a string)"));
  CAF_CHECK(contains(error(server(R"({"env":{"A":"1"}})")), "stdio servers"));
  auto cfg = ok(server(R"({"command":"npx","args":["x"],"env":{},"disabled":true})"));
  CAF_CHECK_EQUAL(cfg.warnings,
                  std::vector<std::string>{R"(server "s": a stdio server (ignored: disabled))"});
  CAF_CHECK_EQUAL(to_string(transport_kind::auto_detect), std::string{"auto"});
  CAF_CHECK_EQUAL(to_string(transport_kind::sse), std::string{"sse"});
  CAF_CHECK_EQUAL(to_string(transport_kind::streamable_http), std::string{"streamable-http"});
}

CAF_TEST(the defaults of a server) {
  auto s = ok(server(R"({"url":"http://h/sse"})")).servers[0];
  CAF_CHECK_EQUAL(s.name, "s");
  CAF_CHECK(s.transport == transport_kind::auto_detect);
  CAF_CHECK(s.headers.empty());
  CAF_CHECK_EQUAL(s.timeout_s, 60.0);
  CAF_CHECK(s.keep_alive);
  CAF_CHECK_EQUAL(s.description, "");
  CAF_CHECK(!s.disabled);
  CAF_CHECK_EQUAL(s.pool_min, 1u);
  CAF_CHECK_EQUAL(s.pool_max, 1u);
  CAF_CHECK_EQUAL(s.env_prefix, "");
  CAF_CHECK_EQUAL(s.middlewares_json, "");
}

CAF_TEST(headers keep the file order and one value per name) {
  auto s = ok(server(R"({"url":"http://h/","headers":{"X-B":"2","X-A":"1","x-b":"3"}})")).servers[0];
  CAF_REQUIRE_EQUAL(s.headers.size(), 2u);
  CAF_CHECK_EQUAL(s.headers[0].first, "X-B");
  CAF_CHECK_EQUAL(s.headers[0].second, "3");
  CAF_CHECK_EQUAL(s.headers[1].first, "X-A");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"X":1}})")),
                  R"(node.json: server "s": "headers": expected a string)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"Content-Length":"S3CRET"}})")),
                  R"(node.json: server "s": "headers": header Content-Length is set by the transport and cannot be configured)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"X-T":"a\u0000S3CRET"}})")),
                  R"(node.json: server "s": "headers": the value of header X-T contains CR, LF or NUL)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","headers":{"":"S3CRET"}})")),
                  R"(node.json: server "s": "headers": a header needs a name)");
}

CAF_TEST(timeout edges) {
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","timeout":86400})")).servers[0].timeout_s, 86400.0);
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","timeout":0.001})")).servers[0].timeout_s, 0.001);
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","timeout":"30"})")).servers[0].timeout_s, 30.0);
  for (auto t : {"null", "true", "[]", "{}", R"("")", R"("5s")"})
    CAF_CHECK_EQUAL(error(server(std::string{R"({"url":"http://h/","timeout":)"} + t + "}")),
                    R"(node.json: server "s": "timeout": expected a number)");
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","timeout":"nan"})")),
                     R"("timeout": expected seconds in (0, 86400])"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","timeout":"inf"})")),
                     R"("timeout": expected seconds in (0, 86400])"));
}

CAF_TEST(booleans edges) {
  CAF_CHECK(ok(server(R"({"url":"http://h/","disabled":"true"})")).servers[0].disabled);
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","disabled":"yes"})")),
                  R"(node.json: server "s": "disabled": expected a boolean)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","disabled":null})")),
                  R"(node.json: server "s": "disabled": expected a boolean)");
  env.vars["K"] = "S3CRET";
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","is_keep_alive":"${K}"})")),
                  R"(node.json: server "s": "is_keep_alive": expected a boolean)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","description":3})")),
                  R"(node.json: server "s": "description": expected a string)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","desc":false})")),
                  R"(node.json: server "s": "desc": expected a string)");
}

CAF_TEST(pool rules) {
  auto a = ok(server(R"({"url":"http://h/","pool":{"max":3}})")).servers[0];
  CAF_CHECK_EQUAL(a.pool_min, 1u);
  CAF_CHECK_EQUAL(a.pool_max, 3u);
  auto b = ok(server(R"({"url":"http://h/","pool":{"min":1024,"max":1024}})")).servers[0];
  CAF_CHECK_EQUAL(b.pool_max, 1024u);
  auto c = ok(server(R"({"url":"http://h/","pool":{}})")).servers[0];
  CAF_CHECK_EQUAL(c.pool_min, 1u);
  CAF_CHECK_EQUAL(c.pool_max, 1u);
  env.vars["N"] = "2";
  auto d = ok(server(R"({"url":"http://h/","pool":{"min":"${N}","max":"${N}"}})")).servers[0];
  CAF_CHECK_EQUAL(d.pool_min, 2u);
  CAF_CHECK_EQUAL(d.pool_max, 2u);
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"max":1025}})")),
                  R"(node.json: server "s": "pool.max": expected a whole number from 1 to 1024)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"max":0}})")),
                  R"(node.json: server "s": "pool.max": expected a whole number from 1 to 1024)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"min":-1}})")),
                  R"(node.json: server "s": "pool.min": expected a whole number from 1 to 1024)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"min":"x"}})")),
                  R"(node.json: server "s": "pool.min": expected a number)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":4})")),
                  R"(node.json: server "s": "pool": expected an object)");
  // max before min in the file: the rule holds whatever the order.
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","pool":{"max":2,"min":3}})")),
                  R"(node.json: server "s": "pool.max": must not be less than pool.min)");
}

CAF_TEST(env_prefix and middlewares are kept) {
  env.vars["E_URL"] = "http://h/e";
  auto s = ok(server(R"({"env_prefix":"E_","middlewares":[{"type":"cache","tools":["a","b"]},
                         {"type":"retry","max":3}]})")).servers[0];
  CAF_CHECK_EQUAL(s.env_prefix, "E_");
  CAF_CHECK_EQUAL(s.middlewares_json,
                  R"([{"type":"cache","tools":["a","b"]},{"type":"retry","max":3}])");
  CAF_CHECK_EQUAL(ok(server(R"({"url":"http://h/","middlewares":[]})")).servers[0].middlewares_json,
                  "[]");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","env_prefix":1})")),
                  R"(node.json: server "s": "env_prefix": expected a string)");
}

CAF_TEST(variables work inside middlewares too) {
  env.vars["TTL"] = "30";
  env.vars["KEY"] = "S3CRET";
  auto s = ok(server(R"({"url":"http://h/","middlewares":[{"type":"cache","ttl_s":"${TTL}",
                         "tools":["${TOOL:-get_quote}"],"auth":{"key":"${env:KEY}","n":1,"$$":"$$"}}]})")).servers[0];
  CAF_CHECK_EQUAL(s.middlewares_json,
                  R"([{"type":"cache","ttl_s":"30","tools":["get_quote"],"auth":{"key":"S3CRET","n":1,"$$":"$"}}])");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"key":"${NOPE}"}]})")),
                  R"(node.json: server "s": "middlewares": environment variable NOPE is not set)");
  // A new value in the environment is a change of the server.
  auto before = ok(server(R"({"url":"http://h/","middlewares":[{"type":"logging","key":"${KEY}"}]})"));
  env.vars["KEY"] = "other";
  auto after = ok(server(R"({"url":"http://h/","middlewares":[{"type":"logging","key":"${KEY}"}]})"));
  CAF_CHECK_EQUAL(diff(before, after).changed, std::vector<std::string>{"s"});
}

CAF_TEST(the root must be an object and the server table too) {
  CAF_CHECK_EQUAL(error("[]"), "node.json: the file must hold a JSON object");
  CAF_CHECK_EQUAL(error("\"x\""), "node.json: the file must hold a JSON object");
  CAF_CHECK_EQUAL(error(R"({"mcpServers":[]})"),
                  R"(node.json: "mcpServers": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"servers":null})"),
                  R"(node.json: "servers": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"node":[]})"), R"(node.json: "node": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"cluster":1})"), R"(node.json: "cluster": expected an object)");
  // VS Code's mcp.json keys are not warned about.
  CAF_CHECK(ok(R"({"$schema":"x","inputs":[],"servers":{}})").warnings.empty());
}

CAF_TEST(syntax errors give the exact line and column) {
  CAF_CHECK_EQUAL(error(""), "node.json: not valid JSON at line 1, column 1: incomplete JSON");
  auto e = error("{\n  \"a\": 1\n  \"b\": 2\n}");
  CAF_CHECK(contains(e, "node.json: not valid JSON at line 3, column 3: "));
  auto f = error("{\"a\": tru }");
  CAF_CHECK(contains(f, "at line 1, column 7: "));
  auto g = error("{}\n{}");
  CAF_CHECK(contains(g, "at line 2, column 1: "));
  CAF_CHECK(contains(error("{\"a\": 1 /* open"), "not valid JSON at line 1"));
}

CAF_TEST(server name edges) {
  ok(server(R"({"url":"http://h/"})", std::string(64, 'x')));
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/"})", "")),
                  R"(node.json: a server name is 1 to 64 of A-Z a-z 0-9 _ . -)");
  for (auto n : {"a:b", "a/b", "caf\xc3\xa9", "a b", "a\\u0000"})
    CAF_CHECK(contains(error(server(R"({"url":"http://h/"})", n)),
                       "a server name is 1 to 64 of"));
  // Unknown keys of a badly named server: the name is refused first.
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","x":1})", "a b")), "server name"));
}

CAF_TEST(more variable forms) {
  env.vars["A"] = "alpha";
  env.vars["lower_1"] = "low";
  env.vars["DOLLARS"] = "$$x";
  auto s = ok(server(R"({"url":"http://h/","desc":"${env:A:-d}|${env:NOPE:-d}|${NOPE:-}|${lower_1}|$|${A:-x}y}|${NOPE:-a$b}|${DOLLARS}"})")).servers[0];
  CAF_CHECK_EQUAL(s.description, "alpha|d||low|$|alphay}|a$b|$$x");
  auto t = ok(server(R"({"url":"http://h/","desc":"$"})")).servers[0];
  CAF_CHECK_EQUAL(t.description, "$");
  auto u = ok(server(R"({"url":"http://h/","desc":"$$${A}"})")).servers[0];
  CAF_CHECK_EQUAL(u.description, "$alpha");
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","desc":"${}"})")), "bad variable name"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","desc":"${env:}"})")), "bad variable name"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","desc":"${:-x}"})")), "bad variable name"));
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","desc":"${A"})")),
                  R"(node.json: server "s": "desc": unterminated ${ in a value)");
  // Variables also in node, cluster and pool values.
  env.vars["L"] = "127.0.0.1:9";
  env.vars["P"] = "4243";
  auto cfg = ok(R"({"node":{"listen":"${L}","name":"${NAME:-n1}"},
                    "cluster":{"peers":[{"name":"b","host":"${H:-127.0.0.1}","port":"${P}"}]}})");
  CAF_CHECK_EQUAL(cfg.node.listen_port, 9u);
  CAF_CHECK_EQUAL(cfg.node.name, "n1");
  CAF_CHECK_EQUAL(cfg.cluster.peers[0].port, 4243u);
  CAF_CHECK_EQUAL(error(R"({"cluster":{"tls":{"key":"${NOKEY}"}}})"),
                  R"(node.json: "cluster.tls.key": environment variable NOKEY is not set)");
}

CAF_TEST(an unset variable names itself and not the rest of the value) {
  env.vars["SEC"] = "S3CRET";
  auto e = error(server(R"({"url":"http://h/","headers":{"Authorization":"Bearer ${SEC}${MISSING_ONE}"}})"));
  CAF_CHECK_EQUAL(e, R"(node.json: server "s": "headers": environment variable MISSING_ONE is not set)");
  auto f = error(server(R"({"url":"http://h/${SEC}/${MISSING_TWO}"})"));
  CAF_CHECK_EQUAL(f, R"(node.json: server "s": "url": environment variable MISSING_TWO is not set)");
}

CAF_TEST(env_prefix follows the seed for every variable) {
  env.vars["P_URL"] = "http://h/p";
  // P_KEEP_ALIVE: lower-cased, == "true".
  for (auto [text, want] : std::vector<std::pair<std::string, bool>>{
         {"true", true}, {"TRUE", true}, {"tRuE", true}, {"yes", false},
         {"1", false}, {"", false}, {" true", false}}) {
    env.vars["P_KEEP_ALIVE"] = text;
    CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"P_"})")).servers[0].keep_alive, want);
  }
  env.vars.erase("P_KEEP_ALIVE");
  CAF_CHECK(ok(server(R"({"env_prefix":"P_"})")).servers[0].keep_alive);
  // P_TIMEOUT: any positive number of seconds up to a day.
  for (auto [text, want] : std::vector<std::pair<std::string, double>>{
         {"60.0", 60.0}, {"1", 1.0}, {"0.25", 0.25}, {"86400", 86400.0}}) {
    env.vars["P_TIMEOUT"] = text;
    CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"P_"})")).servers[0].timeout_s, want);
  }
  for (auto bad : {"0", "-5", "86401", "inf", "nan", "", "12s", "S3CRET"}) {
    env.vars["P_TIMEOUT"] = bad;
    auto e = error(server(R"({"env_prefix":"P_"})"));
    CAF_CHECK_EQUAL(e, R"(node.json: server "s": "env_prefix": environment variable P_TIMEOUT: expected seconds in (0, 86400])");
  }
  // The file's timeout wins: a bad P_TIMEOUT is not even read.
  CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"P_","timeout":5})")).servers[0].timeout_s, 5.0);
  env.vars.erase("P_TIMEOUT");
  // The file wins for keep-alive and the user agent too (any case).
  env.vars["P_KEEP_ALIVE"] = "false";
  env.vars["P_USER_AGENT"] = "env-agent";
  auto s = ok(server(R"({"env_prefix":"P_","is_keep_alive":true,
                        "headers":{"user-agent":"file-agent"}})")).servers[0];
  CAF_CHECK(s.keep_alive);
  CAF_CHECK_EQUAL(s.headers.size(), 1u);
  CAF_CHECK_EQUAL(header(s, "user-agent"), "file-agent");
  // Every URL key of the file wins over P_URL.
  CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"P_","sse_url":"http://h/f"})")).servers[0].url,
                  "http://h/f");
  CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"P_","serverUrl":"http://h/g"})")).servers[0].url,
                  "http://h/g");
  // Nothing from the environment without env_prefix.
  auto plain = ok(server(R"({"url":"http://h/"})")).servers[0];
  CAF_CHECK(plain.headers.empty());
  // The prefix itself may come from a variable.
  env.vars["PFX"] = "P_";
  CAF_CHECK_EQUAL(ok(server(R"({"env_prefix":"${PFX}"})")).servers[0].url, "http://h/p");
}

CAF_TEST(env_prefix without a url anywhere is a missing url) {
  CAF_CHECK_EQUAL(error(server(R"({"env_prefix":"NONE_"})")),
                  R"(node.json: server "s": "url": missing (url, sse_url or serverUrl))");
}

CAF_TEST(env_prefix errors hold no value) {
  env.vars["P_URL"] = "http://user:S3CRET@h:99999/?token=S3CRET";
  auto e = error(server(R"({"env_prefix":"P_"})"));
  CAF_CHECK(contains(e, R"(node.json: server "s": "env_prefix": )"));
  CAF_CHECK(!contains(e, "S3CRET"));
  env.vars["P_URL"] = "http://h/";
  env.vars["P_TOKEN"] = "S3CRET\r\nX-Evil: 1";
  auto f = error(server(R"({"env_prefix":"P_"})"));
  CAF_CHECK_EQUAL(f, R"(node.json: server "s": "headers": the value of header Authorization contains CR, LF or NUL)");
  env.vars.erase("P_TOKEN");
  env.vars["P_USER_AGENT"] = "S3CRET\n";
  CAF_CHECK(!contains(error(server(R"({"env_prefix":"P_"})")), "S3CRET"));
}

CAF_TEST(node key edges) {
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":"[::]:8080"}})"),
                  R"(node.json: "node.listen": listening on a non-loopback address needs node.token)");
  env.vars["T"] = "";
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":"10.0.0.1:8080","token":"${T:-}"}})"),
                  R"(node.json: "node.listen": listening on a non-loopback address needs node.token)");
  auto l = ok(R"({"node":{"listen":"localhost:0"}})");
  CAF_CHECK_EQUAL(l.node.listen_host, "localhost");
  CAF_CHECK_EQUAL(l.node.listen_port, 0u);
  auto v6 = ok(R"({"node":{"listen":"[2001:db8::1]:443","token":"t"}})");
  CAF_CHECK_EQUAL(v6.node.listen_host, "2001:db8::1");
  CAF_CHECK_EQUAL(v6.node.listen_port, 443u);
  CAF_CHECK_EQUAL(ok(R"({"node":{"listen":"127.0.0.1:65535"}})").node.listen_port, 65535u);
  for (auto bad : {"[::1]", "[::1]8080", "[::1:8080", "127.0.0.1", "127.0.0.1:65536",
                   "127.0.0.1:-1", "127.0.0.1:8o", "127.0.0.1:123456", "", ":8080"})
    CAF_CHECK(contains(error(std::string{R"({"node":{"listen":")"} + bad + "\"}}"),
                       R"(node.json: "node.listen": )"));
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":"::1:8080"}})"),
                  R"(node.json: "node.listen": an IPv6 address goes in brackets: [V6]:PORT)");
  CAF_CHECK_EQUAL(error(R"({"node":{"listen":8080}})"),
                  R"(node.json: "node.listen": expected a string)");
  CAF_CHECK_EQUAL(error(R"({"node":{"token":42}})"),
                  R"(node.json: "node.token": expected a string)");
  CAF_CHECK_EQUAL(ok(R"({"node":{"drain_timeout_s":3600}})").node.drain_timeout_s, 3600.0);
  CAF_CHECK_EQUAL(error(R"({"node":{"drain_timeout_s":3601}})"),
                  R"(node.json: "node.drain_timeout_s": expected seconds in (0, 3600])");
  CAF_CHECK_EQUAL(error(R"({"node":{"drain_timeout_s":0}})"),
                  R"(node.json: "node.drain_timeout_s": expected seconds in (0, 3600])");
  CAF_CHECK_EQUAL(error(R"({"node":{"name":""}})"),
                  R"(node.json: "node.name": a node name is 1 to 64 of A-Z a-z 0-9 _ . -)");
  // A token from the environment on a non-loopback address.
  env.vars["TOK"] = "S3CRET";
  auto open = ok(R"({"node":{"listen":"0.0.0.0:8080","token":"${env:TOK}"}})");
  CAF_CHECK_EQUAL(open.node.token, "S3CRET");
}

CAF_TEST(cluster edges) {
  CAF_CHECK(!ok("{}").cluster.present);
  auto a = ok(R"({"cluster":{}})");
  CAF_CHECK(a.cluster.present);
  CAF_CHECK_EQUAL(a.cluster.listen_host, "127.0.0.1");
  CAF_CHECK_EQUAL(a.cluster.listen_port, 0u);
  CAF_CHECK(a.cluster.peers.empty());
  auto v6 = ok(R"({"cluster":{"listen":"[::1]:4242"}})");
  CAF_CHECK_EQUAL(v6.cluster.listen_host, "::1");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"listen":"[::]:4242"}})"),
                  R"(node.json: "cluster.listen": a cluster port on a non-loopback address needs "tls" (CAF's BASP has no authentication))");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"listen":"h"}})"),
                  R"(node.json: "cluster.listen": expected HOST:PORT)");
  auto t = ok(R"({"cluster":{"listen":"0.0.0.0:4242","tls":{"certificate":"c.pem","key":"k.pem","cafile":"ca.pem"}}})");
  CAF_CHECK_EQUAL(t.cluster.tls_key, "k.pem");
  CAF_CHECK_EQUAL(t.cluster.tls_cafile, "ca.pem");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"tls":[]}})"),
                  R"(node.json: "cluster.tls": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":{}}})"),
                  R"(node.json: "cluster.peers": expected an array)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":["node-b"]}})"),
                  R"(node.json: "cluster.peers": expected an object)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":[{"host":"h","port":0}]}})"),
                  R"(node.json: "cluster.peers.port": expected a whole number from 1 to 65535)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":[{"host":"h","port":65536}]}})"),
                  R"(node.json: "cluster.peers.port": expected a whole number from 1 to 65535)");
  CAF_CHECK_EQUAL(error(R"({"cluster":{"peers":[{"port":1}]}})"),
                  R"(node.json: "cluster.peers": a peer needs host and port)");
  auto p = ok(R"({"cluster":{"peers":[{"name":"b","host":"h1","port":1},{"name":"c","host":"h2","port":65535}]}})");
  CAF_REQUIRE_EQUAL(p.cluster.peers.size(), 2u);
  CAF_CHECK_EQUAL(p.cluster.peers[0].name, "b");
  CAF_CHECK_EQUAL(p.cluster.peers[0].host, "h1");
  CAF_CHECK_EQUAL(p.cluster.peers[1].port, 65535u);
}

CAF_TEST(warnings in tls and peers carry their path) {
  auto cfg = ok(R"({"cluster":{"tls":{"certificate":"c","key":"k","verify":false},"peers":[{"name":"p","host":"h","port":1,"weight":2}]},
                    "mcpServers":{"s":{"url":"http://h/","headers":{},"pool":{"idle":1}}}})");
  CAF_REQUIRE_EQUAL(cfg.warnings.size(), 3u);
  CAF_CHECK_EQUAL(cfg.warnings[0], R"(cluster.tls: unknown key "verify" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[1], R"(cluster.peers: unknown key "weight" (ignored))");
  CAF_CHECK_EQUAL(cfg.warnings[2], R"(server "s": pool: unknown key "idle" (ignored))");
}

CAF_TEST(a URL that is really a secret is not shown) {
  // A variable meant for a header put in the url by mistake: its value
  // must not appear, not even the part before a colon.
  env.vars["U"] = "S3CRET:rest";
  auto e = error(server(R"({"url":"${U}"})"));
  CAF_CHECK(contains(e, R"(node.json: server "s": "url": )"));
  CAF_CHECK(!contains(e, "S3CRET"));
  CAF_CHECK(!contains(e, "s3cret"));
  env.vars["P_URL"] = "S3CRET:rest";
  auto f = error(server(R"({"env_prefix":"P_"})"));
  CAF_CHECK(!contains(f, "S3CRET"));
  CAF_CHECK(!contains(f, "s3cret"));
  // Other URL problems: none of the URL is shown.
  CAF_CHECK_EQUAL(error(server(R"({"url":"ftp://h/"})")),
                  R"(node.json: server "s": "url": unsupported URL scheme (want http or https))");
  for (auto u : {"http://S3CRET@/x", "http://u:S3CRET@h:0/", "http://h/x?api_key=S3CRET x",
                 "S3CRET", "//S3CRET@h/", "http://[S3CRET]/", "http://h:S3CRET/"})
    CAF_CHECK(!contains(error(server(std::string{R"({"url":")"} + u + "\"}")), "S3CRET"));
}

CAF_TEST(diff edges) {
  node_config empty;
  auto one = ok(R"({"mcpServers":{"a":{"url":"http://h/a"},"b":{"url":"http://h/b"}}})");
  auto d = diff(empty, one);
  CAF_CHECK_EQUAL(d.added, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(d.removed.empty() && d.changed.empty() && d.unchanged.empty());
  auto r = diff(one, empty);
  CAF_CHECK_EQUAL(r.removed, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(r.added.empty() && r.changed.empty() && r.unchanged.empty());
  // The order of servers in the file and the root key do not matter.
  auto reordered = ok(R"({"servers":{"b":{"url":"http://h/b"},"a":{"url":"http://h/a"}}})");
  CAF_CHECK_EQUAL(diff(one, reordered).unchanged, (std::vector<std::string>{"a", "b"}));
  // Every setting is part of "changed".
  auto base = std::string{R"({"url":"http://h/"})"};
  for (auto changed : {R"({"url":"http://h/2"})", R"({"url":"http://h/","type":"sse"})",
                       R"({"url":"http://h/","timeout":61})",
                       R"({"url":"http://h/","is_keep_alive":false})",
                       R"({"url":"http://h/","desc":"x"})",
                       R"({"url":"http://h/","disabled":true})",
                       R"({"url":"http://h/","pool":{"max":2}})",
                       R"({"url":"http://h/","pool":{"min":2}})",
                       R"({"url":"http://h/","env_prefix":"NONE_"})",
                       R"({"url":"http://h/","middlewares":[]})",
                       R"({"url":"http://h/","headers":{"X":"1"}})"}) {
    auto dd = diff(ok(server(base)), ok(server(changed)));
    CAF_CHECK_EQUAL(dd.changed, std::vector<std::string>{"s"});
  }
  // A new token in the environment is a change of the server.
  env.vars["P_URL"] = "http://h/";
  env.vars["P_TOKEN"] = "one";
  auto t1 = ok(server(R"({"env_prefix":"P_"})"));
  env.vars["P_TOKEN"] = "two";
  auto t2 = ok(server(R"({"env_prefix":"P_"})"));
  CAF_CHECK_EQUAL(diff(t1, t2).changed, std::vector<std::string>{"s"});
  CAF_CHECK_EQUAL(diff(t2, t2).unchanged, std::vector<std::string>{"s"});
  // Node and cluster settings are not servers.
  auto n1 = ok(R"({"node":{"name":"a"}})");
  auto n2 = ok(R"({"node":{"name":"b"}})");
  auto nd = diff(n1, n2);
  CAF_CHECK(nd.added.empty() && nd.removed.empty() && nd.changed.empty()
            && nd.unchanged.empty());
}

CAF_TEST(load_config_file reads a file and names it by its base name) {
  auto path = std::string{"/tmp/caf_mcp_node_config_test_"} + std::to_string(::getpid())
              + ".json";
  {
    std::ofstream out{path};
    out << "// test\n{\"mcpServers\":{\"x\":{\"url\":\"http://h/\",}},}\n";
  }
  auto res = load_config_file(path, env.lookup());
  CAF_REQUIRE(res.config);
  CAF_CHECK_EQUAL(res.config->servers.size(), 1u);
  {
    std::ofstream out{path};
    out << "{\"node\":{\"listen\":1}}";
  }
  auto bad = load_config_file(path, env.lookup());
  CAF_REQUIRE(bad.error);
  CAF_CHECK_EQUAL(bad.error->file, path.substr(5));
  CAF_CHECK_EQUAL(bad.error->to_string(),
                  path.substr(5) + R"(: "node.listen": expected a string)");
  std::remove(path.c_str());
  auto rel = load_config_file("no-such-node.json", env.lookup());
  CAF_REQUIRE(rel.error);
  CAF_CHECK_EQUAL(rel.error->to_string(),
                  "no-such-node.json: cannot read the file: No such file or directory");
  CAF_CHECK(rel.error->server.empty());
  CAF_CHECK(rel.error->key.empty());
}

CAF_TEST(error lines without server or key) {
  config_error e{"f.json", "", "", "m"};
  CAF_CHECK_EQUAL(e.to_string(), "f.json: m");
  config_error k{"f.json", "", "node.token", "m"};
  CAF_CHECK_EQUAL(k.to_string(), R"(f.json: "node.token": m)");
  config_error s{"f.json", "billing", "", "m"};
  CAF_CHECK_EQUAL(s.to_string(), R"(f.json: server "billing": m)");
}

CAF_TEST(the cache middleware is read from the config) {
  auto s = ok(server(R"({"url":"http://h/","middlewares":[{"type":"cache","ttl_s":12.5,
    "tools":["get_quote","x"],"tool_ttl_s":{"x":0,"y":3},"max_entries":7,"max_bytes":4096}]})"))
             .servers[0];
  CAF_REQUIRE(s.cache.has_value());
  auto& rc = *s.cache;
  CAF_CHECK(rc.ttl == std::chrono::milliseconds{12500});
  CAF_REQUIRE(rc.tools);
  CAF_CHECK_EQUAL(rc.tools->size(), 2u);
  CAF_CHECK_EQUAL(rc.max_entries, 7u);
  CAF_CHECK_EQUAL(rc.max_bytes, 4096u);
  CAF_CHECK(rc.tool_ttl.at("x") == caf_mcp::result_cache_config::duration::zero());
  CAF_CHECK(rc.tool_ttl.at("y") == std::chrono::seconds{3});
  // No middlewares, no cache.
  CAF_CHECK(!ok(server(R"({"url":"http://h/"})")).servers[0].cache.has_value());
}

CAF_TEST(middleware errors name the entry and the key) {
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"cache","ttl_s":-1}]})")),
                  R"(node.json: server "s": "middlewares[0].ttl_s": expected seconds in (0, 3.1536e+07])");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"ttl_s":1}]})")),
                  R"(node.json: server "s": "middlewares[0]": needs a "type")");
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","middlewares":[{"type":"cahce"}]})")),
                     R"("middlewares[0].type": unknown middleware "cahce")"));
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"cache"},{"type":"cache"}]})")),
                  R"(node.json: server "s": "middlewares[1]": a second cache)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"cache","tools":"a"}]})")),
                  R"(node.json: server "s": "middlewares[0].tools": expected an array)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[7]})")),
                  R"(node.json: server "s": "middlewares[0]": expected an object)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"retry","max_attempts":0}]})")),
                  R"(node.json: server "s": "middlewares[0].max_attempts": expected a whole number from 1 to 100)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"retry","base_s":2,"max_s":1}]})")),
                  R"(node.json: server "s": "middlewares[0].max_s": must not be less than base_s)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"retry"},{"type":"retry"}]})")),
                  R"(node.json: server "s": "middlewares[1]": a second retry)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"metrics"},{"type":"metrics"}]})")),
                  R"(node.json: server "s": "middlewares[1]": a second metrics)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"bearer_token","file":"/a"},{"type":"bearer_token","file":"/b"}]})")),
                  R"(node.json: server "s": "middlewares[1]": a second bearer_token)");
}

CAF_TEST(retry and metrics are read and the chain keeps the array order) {
  auto s = ok(server(R"({"url":"http://h/","middlewares":[
    {"type":"bearer_token","file":"/t"},{"type":"metrics"},
    {"type":"retry","max_attempts":5,"base_s":0.5,"max_s":8,"max_wait_s":60,"tools":["a"]},
    {"type":"cache"},{"type":"logging"}]})"))
             .servers[0];
  CAF_REQUIRE(s.retry.has_value());
  CAF_CHECK_EQUAL(s.retry->max_attempts, 5u);
  CAF_CHECK_EQUAL(s.retry->base_s, 0.5);
  CAF_CHECK_EQUAL(s.retry->max_s, 8.0);
  CAF_CHECK_EQUAL(s.retry->max_wait_s, 60.0);
  CAF_REQUIRE_EQUAL(s.retry->tools.size(), 1u);
  std::vector<std::string> order{"bearer_token", "metrics", "retry", "cache",
                                 "logging"};
  CAF_CHECK_EQUAL(s.middleware_order, order);
  // Defaults.
  auto d = ok(server(R"({"url":"http://h/","middlewares":[{"type":"retry"}]})"))
             .servers[0];
  CAF_REQUIRE(d.retry.has_value());
  CAF_CHECK_EQUAL(d.retry->max_attempts, 3u);
  CAF_CHECK(d.retry->tools.empty());
  CAF_CHECK(!ok(server(R"({"url":"http://h/"})")).servers[0].retry.has_value());
}

CAF_TEST(the logging middleware is read and checked) {
  auto s = ok(server(R"({"url":"http://h/","middlewares":[{"type":"logging","arguments":true,"max_chars":50}]})"))
             .servers[0];
  CAF_REQUIRE(s.logging.has_value());
  CAF_CHECK(s.logging->arguments);
  CAF_CHECK_EQUAL(s.logging->max_chars, 50u);
  auto d = ok(server(R"({"url":"http://h/","middlewares":[{"type":"logging"}]})")).servers[0];
  CAF_REQUIRE(d.logging.has_value());
  CAF_CHECK(!d.logging->arguments);
  CAF_CHECK_EQUAL(d.logging->max_chars, 200u);
  CAF_CHECK(!ok(server(R"({"url":"http://h/"})")).servers[0].logging.has_value());
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"logging","arguments":"yes"}]})")),
                  R"(node.json: server "s": "middlewares[0].arguments": expected a boolean)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"logging","max_chars":0}]})")),
                  R"(node.json: server "s": "middlewares[0].max_chars": expected a whole number from 1 to 1000000)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"logging"},{"type":"logging"}]})")),
                  R"(node.json: server "s": "middlewares[1]": a second logging)");
}

CAF_TEST(tool list bounds are read and checked) {
  auto s = ok(server(R"({"url":"http://h/","max_tools":50000,"max_tools_bytes":2048})"))
             .servers[0];
  CAF_CHECK_EQUAL(s.max_tools, 50000u);
  CAF_CHECK_EQUAL(s.max_tools_bytes, 2048u);
  auto d = ok(server(R"({"url":"http://h/"})")).servers[0];
  CAF_CHECK_EQUAL(d.max_tools, 10000u);
  CAF_CHECK_EQUAL(d.max_tools_bytes, size_t{16} << 20);
  CAF_CHECK(d != s);
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","max_tools":0})")),
                  R"(node.json: server "s": "max_tools": expected a whole number from 1 to 10000000)");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","max_tools_bytes":10})")),
                  R"(node.json: server "s": "max_tools_bytes": expected a whole number from 1024 to 4294967296)");
}

CAF_TEST(headers and bearer_token middlewares are read and checked) {
  auto s = ok(server(R"({"url":"http://h/","middlewares":[{"type":"headers","headers":{"X-A":"b"}},{"type":"bearer_token","file":"/run/tok","refresh_s":60}]})"))
             .servers[0];
  CAF_REQUIRE(s.mw_headers.has_value());
  CAF_REQUIRE_EQUAL(s.mw_headers->size(), 1u);
  CAF_CHECK_EQUAL((*s.mw_headers)[0].first, "X-A");
  CAF_CHECK_EQUAL((*s.mw_headers)[0].second, "b");
  CAF_REQUIRE(s.bearer_token.has_value());
  CAF_CHECK_EQUAL(s.bearer_token->file, "/run/tok");
  CAF_CHECK_EQUAL(s.bearer_token->refresh_s, 60.0);
  auto t = ok(server(R"({"url":"http://h/","middlewares":[{"type":"bearer_token","command":"get-token --x"}]})"))
             .servers[0];
  CAF_REQUIRE(t.bearer_token.has_value());
  CAF_CHECK_EQUAL(t.bearer_token->command, "get-token --x");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"bearer_token"}]})")),
                  R"(node.json: server "s": "middlewares[0]": needs exactly one of "command" and "file")");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"bearer_token","command":"a","file":"b"}]})")),
                  R"(node.json: server "s": "middlewares[0]": needs exactly one of "command" and "file")");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"cache"},{"type":"bearer_token","file":"f","refresh_s":0}]})")),
                  R"(node.json: server "s": "middlewares[1].refresh_s": expected seconds in (0, 3.1536e+07])");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"headers"}]})")),
                  R"(node.json: server "s": "middlewares[0]": needs "headers" (an object of name: value))");
  CAF_CHECK_EQUAL(error(server(R"({"url":"http://h/","middlewares":[{"type":"headers","headers":[]}]})")),
                  R"(node.json: server "s": "middlewares[0].headers": expected an object)");
  // A bad header is named, its value never shown.
  auto bad = error(server(R"({"url":"http://h/","middlewares":[{"type":"headers","headers":{"X-B":"s3cret\r\nX: 1"}}]})"));
  CAF_CHECK(contains(bad, R"("middlewares[0].headers.X-B")"));
  CAF_CHECK(!contains(bad, "s3cret"));
  CAF_CHECK(contains(error(server(R"({"url":"http://h/","middlewares":[{"type":"headers","headers":{"Content-Length":"1"}}]})")),
                     R"("middlewares[0].headers.Content-Length")"));
}

CAF_TEST_FIXTURE_SCOPE_END()
