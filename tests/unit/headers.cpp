#define CAF_SUITE headers
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/log.hpp"

#include <unistd.h>

#include <chrono>
#include <string>

using caf_mcp::transport::check_header;

CAF_TEST(ordinary headers are fine) {
  CAF_CHECK_EQUAL(check_header("Authorization", "Bearer abc"), "");
  CAF_CHECK_EQUAL(check_header("X-Api-Key", ""), "");
  CAF_CHECK_EQUAL(check_header("User-Agent", "caf-mcp/1 (x; y)"), "");
}

CAF_TEST(values that would split the request are refused without echo) {
  for (auto bad : {std::string{"sec\r\nX-Evil: 1"}, std::string{"sec\n"},
                   std::string{"se\0c", 4}}) {
    auto why = check_header("Authorization", bad);
    CAF_CHECK(!why.empty());
    CAF_CHECK(why.find("Authorization") != std::string::npos);
    CAF_CHECK_EQUAL(why.find("sec"), std::string::npos);
  }
}

CAF_TEST(names the transport owns are refused in any case) {
  for (auto name : {"Host", "content-length", "TRANSFER-ENCODING",
                    "Connection"})
    CAF_CHECK(!check_header(name, "x").empty());
}

CAF_TEST(names that are not tokens are refused) {
  CAF_CHECK(!check_header("", "x").empty());
  CAF_CHECK(!check_header("Bad Name", "x").empty());
  CAF_CHECK(!check_header("Bad:Name", "x").empty());
  CAF_CHECK(!check_header("N\xc3\xa4me", "x").empty());
}

CAF_TEST(names compare ignoring ASCII case only) {
  using caf_mcp::transport::iequals;
  CAF_CHECK(iequals("Content-Type", "content-TYPE"));
  CAF_CHECK(iequals("", ""));
  CAF_CHECK(!iequals("Content-Type", "Content-Typ"));
  CAF_CHECK(!iequals("a-b", "a_b"));
  // '@' and '`' sit next to 'A' and 'a' and '[' next to 'Z': no folding.
  CAF_CHECK(!iequals("@", "`"));
  CAF_CHECK(!iequals("[", "{"));
  // Bytes above 0x7F never fold (a Latin-1 locale would fold these two).
  CAF_CHECK(!iequals("\xc4", "\xe4"));
  static_assert(iequals("Host", "hOST"), "usable at compile time");
  // Every ASCII letter, and only letters, folds.
  for (int c = 0; c < 128; ++c) {
    auto lower = caf_mcp::transport::ascii_lower(static_cast<char>(c));
    auto letter = c >= 'A' && c <= 'Z';
    CAF_CHECK_EQUAL(static_cast<int>(lower), letter ? c + 32 : c);
  }
}

CAF_TEST(control characters are escaped for terminals) {
  using caf_mcp::log::escape_controls;
  CAF_CHECK_EQUAL(escape_controls("a\x1b]0;x\x07" "b"), "a\\x1b]0;x\\x07b");
  CAF_CHECK_EQUAL(escape_controls("l1\nl2\r"), "l1\\x0al2\\x0d");
  CAF_CHECK_EQUAL(escape_controls("l1\nl2\r", true), "l1\nl2\\x0d");
  CAF_CHECK_EQUAL(escape_controls("tab\tok"), "tab\tok");
  // U+202E RIGHT-TO-LEFT OVERRIDE and a C1 control (U+009B CSI).
  CAF_CHECK_EQUAL(escape_controls("x\xe2\x80\xaey"), "x\\u{202e}y");
  CAF_CHECK_EQUAL(escape_controls("x\xc2\x9by"), "x\\u{009b}y");
  // Other UTF-8 stays as it is.
  CAF_CHECK_EQUAL(escape_controls("gr\xc3\xbc\xc3\x9f \xe2\x82\xac"),
                  "gr\xc3\xbc\xc3\x9f \xe2\x82\xac");
}

// Token sources of the bearer_token middleware (transport/token_source.hpp):
// results carry the token, errors never carry output.

#include <cstdio>
#include <fstream>

#include "caf_mcp/transport/token_source.hpp"

CAF_TEST(a token command gives its trimmed stdout) {
  using namespace caf_mcp::transport;
  auto res = run_token_command("printf '  tok-1\\n'", std::chrono::seconds{5});
  CAF_CHECK(res.ok);
  CAF_CHECK_EQUAL(res.token, "tok-1");
}

CAF_TEST(a failing empty or slow token command is an error without output) {
  using namespace caf_mcp::transport;
  auto failed = run_token_command("echo s3cret; exit 3",
                                  std::chrono::seconds{5});
  CAF_CHECK(!failed.ok);
  CAF_CHECK(failed.error.find("status 3") != std::string::npos);
  CAF_CHECK(failed.error.find("s3cret") == std::string::npos);
  auto empty = run_token_command("true", std::chrono::seconds{5});
  CAF_CHECK(!empty.ok);
  CAF_CHECK(empty.error.find("empty") != std::string::npos);
  auto two_lines = run_token_command("printf 'a\\nb'", std::chrono::seconds{5});
  CAF_CHECK(!two_lines.ok);
  auto t0 = std::chrono::steady_clock::now();
  auto slow = run_token_command("exec sleep 30", std::chrono::milliseconds{200});
  CAF_CHECK(!slow.ok);
  CAF_CHECK(slow.error.find("killed") != std::string::npos);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds{10});
}

CAF_TEST(a token file is read on each call and a missing one is an error) {
  using namespace caf_mcp::transport;
  auto path = std::string{"/tmp/caf-mcp-token-test-"}
              + std::to_string(static_cast<long>(::getpid()));
  { std::ofstream{path} << "t1\n"; }
  auto a = read_token_file(path);
  CAF_CHECK(a.ok);
  CAF_CHECK_EQUAL(a.token, "t1");
  { std::ofstream{path} << "t2"; }
  CAF_CHECK_EQUAL(read_token_file(path).token, "t2");
  std::remove(path.c_str());
  auto gone = read_token_file(path);
  CAF_CHECK(!gone.ok);
  CAF_CHECK(gone.error.find("cannot open") != std::string::npos);
}
