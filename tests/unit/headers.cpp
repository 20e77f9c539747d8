#define CAF_SUITE headers
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/headers.hpp"
#include "caf_mcp/transport/log.hpp"

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
