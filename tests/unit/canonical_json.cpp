#define CAF_SUITE canonical_json
#include "caf/test/unit_test.hpp"

#include "caf_mcp/messages/canonical_json.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "caf_mcp/messages/error.hpp"
#include "caf_mcp/messages/jsonrpc.hpp"

using namespace caf_mcp;

namespace json = boost::json;

namespace {

/// The canonical text of `text`, failing the test if it is not JSON.
std::string canon(std::string_view text) {
  std::string result;
  if (auto err = canonical_json_text(text, result))
    CAF_FAIL("canonical_json_text failed on " << text << ": "
                                              << to_string(err));
  return result;
}

} // namespace

CAF_TEST(key order and whitespace do not matter) {
  auto expected = std::string{R"({"a":1,"b":[true,false,null],"c":"x"})"};
  CAF_CHECK_EQUAL(canon(R"({"a":1,"b":[true,false,null],"c":"x"})"),
                  expected);
  CAF_CHECK_EQUAL(canon(R"({"c":"x","b":[true,false,null],"a":1})"),
                  expected);
  CAF_CHECK_EQUAL(canon(" {\n\t\"b\" : [ true ,false, null ] ,\r\n \"c\":"
                        "\"x\",\"a\"  :1 } \n"),
                  expected);
}

CAF_TEST(nested objects are sorted and arrays keep their order) {
  CAF_CHECK_EQUAL(canon(R"({"z":{"y":{"b":2,"a":1},"x":[{"d":4,"c":3}]}})"),
                  R"({"z":{"x":[{"c":3,"d":4}],"y":{"a":1,"b":2}}})");
  CAF_CHECK_NOT_EQUAL(canon("[1,2]"), canon("[2,1]"));
  CAF_CHECK_EQUAL(canon("[]"), "[]");
  CAF_CHECK_EQUAL(canon("{ }"), "{}");
  CAF_CHECK_EQUAL(canon(R"({"a":{},"b":[[],{}]})"), R"({"a":{},"b":[[],{}]})");
}

CAF_TEST(keys are sorted by their UTF-8 bytes) {
  // "" < "A" < "Z" < "a" < "aa" < "b" < U+007F < "é" (C3 A9) < "€" (E2 82
  // AC) < U+1F600 (F0 9F 98 80): unsigned bytes, a prefix first.
  CAF_CHECK_EQUAL(
    canon("{\"\xF0\x9F\x98\x80\":8,\"\xE2\x82\xAC\":7,\"\xC3\xA9\":6,"
          "\"\x7F\":5,\"b\":4,\"aa\":3,\"a\":2,\"Z\":1,\"A\":0,\"\":-1}"),
    "{\"\":-1,\"A\":0,\"Z\":1,\"a\":2,\"aa\":3,\"b\":4,\"\x7F\":5,"
    "\"\xC3\xA9\":6,\"\xE2\x82\xAC\":7,\"\xF0\x9F\x98\x80\":8}");
  // Sorted by the unescaped key, not by how the input spelled it.
  CAF_CHECK_EQUAL(canon(R"({"\u0062":1,"a":2})"), R"({"a":2,"b":1})");
}

CAF_TEST(strings are escaped one way whatever the input used) {
  CAF_CHECK_EQUAL(canon(R"({"\u0041":"\u0042"})"), R"({"A":"B"})");
  CAF_CHECK_EQUAL(canon(R"("\u00e9")"), canon("\"\xC3\xA9\""));
  CAF_CHECK_EQUAL(canon(R"("\u00E9")"), "\"\xC3\xA9\"");
  CAF_CHECK_EQUAL(canon(R"("\ud83d\ude00")"), "\"\xF0\x9F\x98\x80\"");
  CAF_CHECK_EQUAL(canon(R"("\/")"), R"("/")");
  CAF_CHECK_EQUAL(canon(R"("\u000a\u000D\u0009\u0008\u000c")"),
                  R"("\n\r\t\b\f")");
  CAF_CHECK_EQUAL(canon(R"("\u0022\u005c")"), R"("\"\\")");
  CAF_CHECK_EQUAL(canon(R"("\u0000\u001F")"), R"("\u0000\u001f")");
  CAF_CHECK_EQUAL(canon(R"("\u007f\u2028")"), "\"\x7F\xE2\x80\xA8\"");
  // Different strings stay different.
  CAF_CHECK_NOT_EQUAL(canon(R"("A")"), canon(R"("a")"));
  CAF_CHECK_NOT_EQUAL(canon(R"({"A":1})"), canon(R"({"a":1})"));
}

CAF_TEST(integral numbers are written as integers) {
  for (auto text : {"1", "1.0", "1e0", "1E0", "10e-1", "0.1e1", "1.000",
                    "100e-2"})
    CAF_CHECK_EQUAL(canon(text), "1");
  for (auto text : {"0", "-0", "0.0", "-0.0", "0e5", "-0e-5", "1.5e-400"})
    CAF_CHECK_EQUAL(canon(text), "0");
  CAF_CHECK_EQUAL(canon("-5.0"), "-5");
  CAF_CHECK_EQUAL(canon("1e3"), "1000");
  CAF_CHECK_EQUAL(canon("{\"n\":2.0}"), canon("{\"n\":2}"));
  // int64 and uint64 limits, as integers and as integral doubles.
  CAF_CHECK_EQUAL(canon("9223372036854775807"), "9223372036854775807");
  CAF_CHECK_EQUAL(canon("-9223372036854775808"), "-9223372036854775808");
  CAF_CHECK_EQUAL(canon("-9223372036854775808.0"), "-9223372036854775808");
  CAF_CHECK_EQUAL(canon("9223372036854775808"), "9223372036854775808");
  CAF_CHECK_EQUAL(canon("9223372036854775808.0"), "9223372036854775808");
  CAF_CHECK_EQUAL(canon("18446744073709551615"), "18446744073709551615");
  CAF_CHECK_EQUAL(canon("1e19"), "10000000000000000000");
  CAF_CHECK_EQUAL(canon("10000000000000000000"), "10000000000000000000");
  // Integers are exact: beyond 2^53 they are not rounded to doubles.
  CAF_CHECK_EQUAL(canon("9007199254740993"), "9007199254740993");
  CAF_CHECK_NOT_EQUAL(canon("9007199254740993"), canon("9007199254740992"));
}

CAF_TEST(other numbers are written as the shortest round trip double) {
  CAF_CHECK_EQUAL(canon("0.5"), "0.5");
  CAF_CHECK_EQUAL(canon("5e-1"), "0.5");
  CAF_CHECK_EQUAL(canon("0.10"), "0.1");
  CAF_CHECK_EQUAL(canon("-1.25"), "-1.25");
  CAF_CHECK_EQUAL(canon("0.1"), canon("1e-1"));
  CAF_CHECK_EQUAL(canon("1e300"), canon("1E+300"));
  CAF_CHECK_EQUAL(canon("1e300"), canon("10e299"));
  // Integral, but outside [-2^63, 2^64): the double's text, one for all.
  CAF_CHECK_EQUAL(canon("18446744073709551616"), canon("1.8446744073709552e19"));
  CAF_CHECK_EQUAL(canon("100000000000000000000"), canon("1e20"));
  CAF_CHECK_EQUAL(canon("-9223372036854775809"), canon("-9.223372036854776e18"));
  // Overflow reads as an infinity, as JavaScript's parser does.
  CAF_CHECK_EQUAL(canon("1e400"), "1e99999");
  CAF_CHECK_EQUAL(canon("-1e400"), "-1e99999");
  CAF_CHECK_EQUAL(canon("1e400"), canon("1e99999"));
  // Different numbers stay different, and a number is not a string.
  CAF_CHECK_NOT_EQUAL(canon("1"), canon("1.5"));
  CAF_CHECK_NOT_EQUAL(canon("1"), canon("\"1\""));
  CAF_CHECK_NOT_EQUAL(canon("0.1"), canon("0.10000000000000002"));
  // Every output reads back as the same double.
  for (auto text : {"0.1", "1e-7", "123.456", "1.7976931348623157e308",
                    "5e-324", "-2.5e-300", "1e22"}) {
    auto out = canon(text);
    json::error_code ec;
    auto x = parse_json(text, ec);
    auto y = parse_json(out, ec);
    CAF_REQUIRE(!ec);
    double dx = 0;
    double dy = 0;
    CAF_REQUIRE(json_to_double(x, dx) && json_to_double(y, dy));
    CAF_CHECK_EQUAL(dx, dy);
  }
}

CAF_TEST(values built in code follow the same form) {
  CAF_CHECK_EQUAL(canonical_json(json::value(int64_t{5})), "5");
  CAF_CHECK_EQUAL(canonical_json(json::value(uint64_t{5})), "5");
  CAF_CHECK_EQUAL(canonical_json(json::value(5.0)), "5");
  CAF_CHECK_EQUAL(canonical_json(json::value(-0.0)), "0");
  json::object obj;
  obj["b"] = 0.25;
  obj["a"] = "\"q\"";
  obj["c"] = nullptr;
  CAF_CHECK_EQUAL(canonical_json(obj), R"({"a":"\"q\"","b":0.25,"c":null})");
  // A NaN cannot come from JSON text; it is written as null, like append_json.
  CAF_CHECK_EQUAL(canonical_json(json::value(std::nan(""))), "null");
  std::string out = "prefix:";
  append_canonical_json(out, json::value(json::array{1.0, "x"}));
  CAF_CHECK_EQUAL(out, R"(prefix:[1,"x"])");
}

CAF_TEST(a duplicate key keeps the last value) {
  CAF_CHECK_EQUAL(canon(R"({"a":1,"b":2,"a":3})"), R"({"a":3,"b":2})");
}

CAF_TEST(text that is not JSON is malformed_json and leaves out unchanged) {
  for (auto text : {"", " ", "{", "{\"a\":}", "{} x", "[1,2,]", "{'a':1}",
                    "\"\\ud800\"", "\"\xFF\"", "NaN", "01", "{\"a\" 1}"}) {
    std::string out = "untouched";
    auto err = canonical_json_text(text, out);
    CAF_CHECK_EQUAL(err, mcp_errc::malformed_json);
    CAF_CHECK_EQUAL(out, "untouched");
    CAF_CHECK(to_string(err).find("invalid JSON") != std::string::npos);
  }
  // Deeper than 64 levels is refused rather than recursed into.
  std::string deep(65, '[');
  deep.append(65, ']');
  std::string out;
  CAF_CHECK_EQUAL(canonical_json_text(deep, out), mcp_errc::malformed_json);
  std::string ok(64, '[');
  ok.append(64, ']');
  CAF_CHECK_EQUAL(canonical_json_text(ok, out), caf::none);
  CAF_CHECK_EQUAL(out, ok);
}

// -- property test: random values written many ways ---------------------------

namespace {

/// Writes one random JSON value twice: once plainly and once spelled
/// differently (other key order, whitespace, escapes, number forms) but
/// meaning the same value.
struct spellings {
  std::mt19937_64 rng;

  explicit spellings(uint64_t seed) : rng(seed) {
    // nop
  }

  size_t pick(size_t n) {
    return std::uniform_int_distribution<size_t>{0, n - 1}(rng);
  }

  std::string ws() {
    static constexpr std::string_view chars[] = {"", "", " ", "\n", "\t",
                                                 "\r\n  "};
    return std::string{chars[pick(std::size(chars))]};
  }

  /// `str` (ASCII or UTF-8) as a JSON string, plainly and with random
  /// \u escapes for ASCII characters.
  void string(std::string_view str, std::string& a, std::string& b) {
    append_json_string(a, str);
    b += '"';
    for (auto ch : str) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x80 && (u < 0x20 || ch == '"' || ch == '\\' || pick(4) == 0)) {
        static constexpr char hex[] = "0123456789abcdefABCDEF";
        char esc[] = {'\\', 'u', '0', '0', hex[u >> 4],
                      pick(2) == 0 ? hex[u & 0x0F]
                                   : hex[(u & 0x0F) < 10 ? (u & 0x0F)
                                                         : (u & 0x0F) + 6]};
        b.append(esc, sizeof(esc));
      } else if (ch == '/' && pick(2) == 0) {
        b += "\\/";
      } else {
        b += ch;
      }
    }
    b += '"';
  }

  std::string random_text() {
    static constexpr std::string_view pieces[] = {
      "a", "b", "key", "K", "_", "/", "\"", "\\", "\n", "\x01", " ",
      "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "0", "z"};
    std::string result;
    auto n = pick(5);
    for (size_t i = 0; i < n; ++i)
      result += pieces[pick(std::size(pieces))];
    return result;
  }

  void number(std::string& a, std::string& b) {
    switch (pick(4)) {
      case 0: { // an integer, maybe written as a double
        auto x = static_cast<int64_t>(pick(2001)) - 1000;
        a += std::to_string(x);
        switch (pick(3)) {
          case 0:
            b += std::to_string(x);
            break;
          case 1:
            b += std::to_string(x) + ".0";
            break;
          default:
            b += std::to_string(x) + "0e-1";
        }
        break;
      }
      case 1: { // a fraction
        auto x = static_cast<int64_t>(pick(2001)) - 1000;
        a += std::to_string(x) + ".5";
        b += std::to_string(x) + (pick(2) == 0 ? ".50" : "5e-1");
        break;
      }
      case 2: // zero in its many forms
        a += "0";
        b += pick(2) == 0 ? "-0.0" : "0e3";
        break;
      default: { // a large integer beyond 2^53
        auto x = (uint64_t{1} << 60) + pick(1000);
        a += std::to_string(x);
        b += std::to_string(x);
      }
    }
  }

  void value(int depth, std::string& a, std::string& b) {
    auto kind = depth > 3 ? pick(4) : pick(6);
    switch (kind) {
      case 0:
        a += "null";
        b += "null";
        break;
      case 1: {
        auto x = pick(2) == 0 ? "true" : "false";
        a += x;
        b += x;
        break;
      }
      case 2:
        number(a, b);
        break;
      case 3:
        string(random_text(), a, b);
        break;
      case 4: {
        auto n = pick(4);
        a += '[';
        b += '[' + ws();
        for (size_t i = 0; i < n; ++i) {
          if (i > 0) {
            a += ',';
            b += ws() + ',' + ws();
          }
          value(depth + 1, a, b);
        }
        a += ']';
        b += ws() + ']';
        break;
      }
      default: {
        // Distinct keys; `a` lists them in input order, `b` shuffled.
        std::vector<std::string> keys;
        auto n = pick(5);
        for (size_t i = 0; i < n; ++i) {
          auto key = random_text();
          if (std::find(keys.begin(), keys.end(), key) == keys.end())
            keys.push_back(std::move(key));
        }
        std::vector<std::pair<std::string, std::string>> members;
        std::string plain;
        plain += '{';
        for (size_t i = 0; i < keys.size(); ++i) {
          std::string ka;
          std::string kb;
          string(keys[i], ka, kb);
          std::string va;
          std::string vb;
          value(depth + 1, va, vb);
          if (i > 0)
            plain += ',';
          plain += ka + ':' + va;
          members.emplace_back(kb, vb);
        }
        plain += '}';
        a += plain;
        std::shuffle(members.begin(), members.end(), rng);
        b += '{' + ws();
        for (size_t i = 0; i < members.size(); ++i) {
          if (i > 0)
            b += ws() + ',' + ws();
          b += members[i].first + ws() + ':' + ws() + members[i].second;
        }
        b += ws() + '}';
      }
    }
  }
};

} // namespace

CAF_TEST(random values spelled two ways have one canonical text) {
  spellings gen{20261201};
  size_t distinct = 0;
  std::string previous;
  for (int i = 0; i < 2000; ++i) {
    std::string a;
    std::string b;
    gen.value(0, a, b);
    auto ca = canon(a);
    auto cb = canon(b);
    CAF_CHECK_EQUAL(ca, cb);
    if (ca != cb)
      CAF_MESSAGE("a = " << a << "\nb = " << b);
    // Canonical text is a fixed point and parses back to the same value.
    CAF_CHECK_EQUAL(canon(ca), ca);
    json::error_code ec;
    CAF_CHECK(parse_json(ca, ec) == parse_json(a, ec));
    if (ca != previous)
      ++distinct;
    previous = ca;
  }
  // The generator is not degenerate.
  CAF_CHECK_GREATER(distinct, 1000u);
}
