#define CAF_SUITE utf8
#include "caf/test/unit_test.hpp"

#include "caf_mcp/transport/utf8.hpp"

using namespace caf_mcp::transport;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

} // namespace

CAF_TEST(ASCII and well-formed sequences are valid) {
  CAF_CHECK(utf8_valid(""));
  CAF_CHECK(utf8_valid("plain ascii text that is longer than eight bytes"));
  CAF_CHECK(utf8_valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  CAF_CHECK(utf8_valid("\xF4\x8F\xBF\xBF")); // U+10FFFF
  CAF_CHECK(utf8_valid("\xEE\x80\x80"));     // U+E000, after the surrogates
}

CAF_TEST(ill-formed sequences are invalid) {
  CAF_CHECK(!utf8_valid("\x80"));
  CAF_CHECK(!utf8_valid("\xC0\x80"));         // overlong
  CAF_CHECK(!utf8_valid("\xE0\x80\x80"));     // overlong
  CAF_CHECK(!utf8_valid("\xED\xA0\x80"));     // surrogate
  CAF_CHECK(!utf8_valid("\xF4\x90\x80\x80")); // above U+10FFFF
  CAF_CHECK(!utf8_valid("\xF5\x80\x80\x80"));
  CAF_CHECK(!utf8_valid("abc\xE2\x82"));      // truncated at the end
}

CAF_TEST(repair replaces each maximal subpart with one U+FFFD) {
  // Examples from the Unicode Standard, table 3-8 (and WHATWG Encoding).
  CAF_CHECK_EQUAL(utf8_repair("a\x80"
                              "b"),
                  "a" + fffd + "b");
  CAF_CHECK_EQUAL(utf8_repair("\xE2\x82"), fffd);
  CAF_CHECK_EQUAL(utf8_repair("\xE2\x82"
                              "A"),
                  fffd + "A");
  CAF_CHECK_EQUAL(utf8_repair("\xF0\x9F\x98"), fffd);
  CAF_CHECK_EQUAL(utf8_repair("\xC0\xAF"), fffd + fffd);
  CAF_CHECK_EQUAL(utf8_repair("\xED\xA0\x80"), fffd + fffd + fffd);
  CAF_CHECK_EQUAL(utf8_repair("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  CAF_CHECK_EQUAL(utf8_repair("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80"
                              "\xBF\x64"),
                  "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd
                    + "d");
  CAF_CHECK_EQUAL(utf8_repair("\xC3\xA9"), "\xC3\xA9");
}
