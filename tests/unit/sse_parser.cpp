#define CAF_SUITE sse_parser
#include "caf/test/unit_test.hpp"

#include <random>
#include <string>
#include <vector>

#include "caf_mcp/transport/sse_parser.hpp"
#include "common/sse_reference.hpp"

using namespace caf_mcp;
using caf_mcp::test::parse_chunked;
using caf_mcp::test::recording_sink;
using caf_mcp::test::reference_parse;
using strings = std::vector<std::string>;

namespace {

std::string join(const strings& xs) {
  std::string out = "[";
  for (auto& x : xs) {
    if (out.size() > 1)
      out += ", ";
    out += '"';
    out += x;
    out += '"';
  }
  return out + "]";
}

/// Every rule is checked at chunk sizes 1, 2, 7 and whole, and against the
/// naive reference implementation.
void check_all_chunkings(std::string_view input, const strings& expected) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{0}}) {
    auto got = parse_chunked(input, chunk);
    if (got != expected)
      CAF_FAIL("chunk size " << chunk << ": got " << join(got) << ", want "
                             << join(expected));
    CAF_CHECK_EQUAL(join(got), join(expected));
  }
  CAF_CHECK_EQUAL(join(reference_parse(input)), join(expected));
}

} // namespace

CAF_TEST(lines end in LF) {
  check_all_chunkings("data: hello\n\n", {"event:message|hello|"});
}

CAF_TEST(lines end in CRLF) {
  check_all_chunkings("data: hello\r\n\r\n", {"event:message|hello|"});
}

CAF_TEST(lines end in CR) {
  check_all_chunkings("data: hello\r\r", {"event:message|hello|"});
}

CAF_TEST(mixed line ends in one event) {
  check_all_chunkings("data: a\r\ndata: b\rdata: c\n\n",
                      {"event:message|a\nb\nc|"});
}

CAF_TEST(CRLF is one line end even when split across reads) {
  // If CR and LF counted separately, "a" and "b" would be two events.
  check_all_chunkings("data: a\r\ndata: b\r\n\r\n", {"event:message|a\nb|"});
  transport::sse_parser parser;
  recording_sink sink;
  parser.put("data: a\r", sink);
  parser.put("\ndata: b\r", sink);
  CAF_CHECK(sink.out.empty());
  // A CR ends the blank line at once; the LF that follows is skipped.
  parser.put("\n\r", sink);
  CAF_CHECK_EQUAL(join(sink.out), join({"event:message|a\nb|"}));
  parser.put("\n", sink);
  CAF_CHECK_EQUAL(join(sink.out), join({"event:message|a\nb|"}));
}

CAF_TEST(CR then a non-LF byte starts a new line) {
  check_all_chunkings("data: a\rdata: b\r\rdata: c\r\n\n",
                      {"event:message|a\nb|", "event:message|c|"});
}

CAF_TEST(a leading BOM is dropped once) {
  check_all_chunkings("\xEF\xBB\xBF"
                      "data: x\n\n",
                      {"event:message|x|"});
  // A second BOM is content: the field name becomes "\uFEFFdata".
  check_all_chunkings("\xEF\xBB\xBF\xEF\xBB\xBF"
                      "data: x\n\ndata: y\n\n",
                      {"event:message|y|"});
}

CAF_TEST(a partial BOM is content and decodes to U+FFFD) {
  check_all_chunkings("\xEF\xBB"
                      "data: x\n\ndata: y\n\n",
                      {"event:message|y|"});
  check_all_chunkings("\xEF"
                      ": c\n\ndata: y\n\n",
                      {"event:message|y|"});
}

CAF_TEST(comments are ignored) {
  check_all_chunkings(": ping\ndata: x\n: another\n\n:\n\n",
                      {"event:message|x|"});
}

CAF_TEST(a line without colon is a field with an empty value) {
  check_all_chunkings("data\n\n", {"event:message||"});
  check_all_chunkings("data\ndata\n\n", {"event:message|\n|"});
}

CAF_TEST(exactly one leading space is stripped from values) {
  check_all_chunkings("data:x\n\n", {"event:message|x|"});
  check_all_chunkings("data:  x\n\n", {"event:message| x|"});
  check_all_chunkings("data: \n\n", {"event:message||"});
  check_all_chunkings("data:\tx\n\n", {"event:message|\tx|"});
}

CAF_TEST(the event field sets the type for one event) {
  check_all_chunkings("event: endpoint\ndata: /message?sessionId=1\n\n"
                      "data: {}\n\n",
                      {"event:endpoint|/message?sessionId=1|",
                       "event:message|{}|"});
}

CAF_TEST(an event without data is not dispatched and resets the type) {
  check_all_chunkings("event: add\n\ndata: 1\n\n", {"event:message|1|"});
  check_all_chunkings("\n\n\n", {});
}

CAF_TEST(the last event id persists across events) {
  check_all_chunkings("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
                      {"event:message|a|7", "event:message|b|7",
                       "event:message|c|"});
}

CAF_TEST(an id without data still sets the last event id) {
  check_all_chunkings("id: 5\n\ndata: x\n\n", {"event:message|x|5"});
  transport::sse_parser parser;
  recording_sink sink;
  parser.put("id: 9\n\n", sink);
  CAF_CHECK(sink.out.empty());
  CAF_CHECK_EQUAL(parser.last_event_id(), "9");
}

CAF_TEST(an id containing NULL is ignored) {
  check_all_chunkings(std::string_view{"id: 1\n\nid: a\0b\ndata: x\n\n", 24},
                      {"event:message|x|1"});
}

CAF_TEST(retry takes ASCII digits only) {
  check_all_chunkings("retry: 3000\ndata: x\n\nretry: 30a\nretry: \nretry\n"
                      "retry: -1\nretry: 1.5\nretry: 99999999999999999999999\n"
                      "retry:0\n",
                      {"retry:3000", "event:message|x|",
                       "retry:18446744073709551615", "retry:0"});
  transport::sse_parser parser;
  recording_sink sink;
  parser.put("retry: 250\n", sink);
  auto retry = parser.retry();
  CAF_REQUIRE(retry.has_value());
  CAF_CHECK_EQUAL(*retry, 250u);
}

CAF_TEST(unknown fields are ignored) {
  check_all_chunkings("foo: bar\nData: no\ndata : no\ndata: x\n\n",
                      {"event:message|x|"});
}

CAF_TEST(an incomplete event at the end of the stream is discarded) {
  check_all_chunkings("data: a\n\ndata: b\n", {"event:message|a|"});
  check_all_chunkings("data: a\n\ndata: b", {"event:message|a|"});
  transport::sse_parser parser;
  recording_sink sink;
  parser.put("data: half\n", sink);
  parser.finish();
  parser.put("\n", sink);
  CAF_CHECK(sink.out.empty());
}

CAF_TEST(only the last LF of the data is removed) {
  check_all_chunkings("data: a\ndata:\n\n", {"event:message|a\n|"});
}

CAF_TEST(the examples of the WHATWG standard) {
  check_all_chunkings("data: YHOO\ndata: +2\ndata: 10\n\n",
                      {"event:message|YHOO\n+2\n10|"});
  check_all_chunkings(": test stream\n\ndata: first event\nid: 1\n\n"
                      "data:second event\nid\n\ndata:  third event\n",
                      {"event:message|first event|1",
                       "event:message|second event|"});
  check_all_chunkings("data\n\ndata\ndata\n\ndata:",
                      {"event:message||", "event:message|\n|"});
  check_all_chunkings("data:test\n\ndata: test\n\n",
                      {"event:message|test|", "event:message|test|"});
}

CAF_TEST(valid UTF-8 passes unchanged) {
  check_all_chunkings("event: \xC3\xA9\ndata: \xE2\x82\xAC \xF0\x9F\x98\x80\n"
                      "id: \xC3\xBC\n\n",
                      {"event:\xC3\xA9|\xE2\x82\xAC \xF0\x9F\x98\x80|\xC3\xBC"});
}

CAF_TEST(invalid UTF-8 becomes U+FFFD per maximal subpart) {
  // A stray continuation byte.
  check_all_chunkings("data: a\xFF"
                      "b\n\n",
                      {"event:message|a\xEF\xBF\xBD"
                       "b|"});
  // A truncated three-byte sequence is one subpart.
  check_all_chunkings("data: \xE2\x82\n\n", {"event:message|\xEF\xBF\xBD|"});
  // Overlong encodings and surrogates: one U+FFFD per byte.
  check_all_chunkings("data: \xC0\xAF\n\n",
                      {"event:message|\xEF\xBF\xBD\xEF\xBF\xBD|"});
  check_all_chunkings("data: \xED\xA0\x80\n\n",
                      {"event:message|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"});
  // Type and id are decoded too.
  check_all_chunkings("event: \xFE\nid: \xC3\ndata: x\n\n",
                      {"event:\xEF\xBF\xBD|x|\xEF\xBF\xBD"});
}

CAF_TEST(an oversized event yields an error and the stream goes on) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{0}}) {
    auto got = parse_chunked("data: 0123456789abcdefXYZ\ndata: more\n\n"
                             "data: ok\n\n",
                             chunk, 16);
    CAF_CHECK_EQUAL(join(got), join({"error:event_too_large",
                                     "event:message|ok|"}));
    got = parse_chunked("data: 0123456789\ndata: abcdef\ndata: g\n\n"
                        "event: e\ndata: ok\n\n",
                        chunk, 16);
    CAF_CHECK_EQUAL(join(got), join({"error:event_too_large",
                                     "event:e|ok|"}));
    got = parse_chunked("event: 0123456789abcdefXYZ\n\ndata: ok\n\n", chunk,
                        16);
    CAF_CHECK_EQUAL(join(got), join({"error:event_too_large",
                                     "event:message|ok|"}));
  }
}

CAF_TEST(a line that never ends is bounded by the maximum event size) {
  transport::sse_parser parser{1024};
  recording_sink sink;
  std::string junk(4096, 'x');
  parser.put("data: ", sink);
  for (int i = 0; i < 100; ++i)
    parser.put(junk, sink);
  CAF_CHECK_EQUAL(join(sink.out), join({"error:event_too_large"}));
  parser.put("\n\ndata: after\n\n", sink);
  CAF_CHECK_EQUAL(join(sink.out),
                  join({"error:event_too_large", "event:message|after|"}));
}

CAF_TEST(events of several megabytes pass under the default limit) {
  std::string big(3 * 1024 * 1024, 'a');
  std::string input = "data: " + big + "\n\n";
  for (size_t chunk : {size_t{65536}, size_t{4093}, size_t{0}}) {
    auto got = parse_chunked(input, chunk);
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    CAF_CHECK(got[0] == "event:message|" + big + "|");
  }
}

CAF_TEST(the last event id can be carried into a new parser) {
  transport::sse_parser parser{1024, "41"};
  recording_sink sink;
  parser.put("data: x\n\n", sink);
  CAF_CHECK_EQUAL(join(sink.out), join({"event:message|x|41"}));
}

CAF_TEST(finish starts a new stream that may begin with a BOM) {
  transport::sse_parser parser;
  recording_sink sink;
  parser.put("id: 3\ndata: a\n\ndata: cut", sink);
  parser.finish();
  parser.put("\xEF\xBB\xBF"
             "data: b\n\n",
             sink);
  CAF_CHECK_EQUAL(join(sink.out),
                  join({"event:message|a|3", "event:message|b|3"}));
}

CAF_TEST(random streams parse the same at every chunking as the reference) {
  std::mt19937 rng{42};
  const std::vector<std::string> tokens{
    "data", "data:", "data: ", "event:", "id:", "retry:", "retry: 12", ":",
    " ", "x", "yz", "\r", "\n", "\r\n", "\n\n", "\xEF\xBB\xBF", "\xFF",
    "\xC3\xA9", "\xE2\x82", "1", std::string(1, '\0'), "event: t", "id: 5"};
  std::uniform_int_distribution<size_t> pick{0, tokens.size() - 1};
  std::uniform_int_distribution<size_t> len{0, 60};
  std::uniform_int_distribution<size_t> cut{1, 13};
  int rounds_with_events = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    auto n = len(rng);
    for (size_t i = 0; i < n; ++i)
      input += tokens[pick(rng)];
    auto expected = reference_parse(input);
    if (!expected.empty())
      ++rounds_with_events;
    // Random cuts.
    transport::sse_parser parser;
    recording_sink sink;
    size_t pos = 0;
    while (pos < input.size()) {
      auto k = std::min(cut(rng), input.size() - pos);
      parser.put(std::string_view{input}.substr(pos, k), sink);
      pos += k;
    }
    if (sink.out != expected) {
      CAF_FAIL("random cuts differ from the reference for input of "
               << input.size() << " bytes: " << join(sink.out) << " vs "
               << join(expected));
    }
    for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{0}})
      if (parse_chunked(input, chunk) != expected)
        CAF_FAIL("chunk size " << chunk << " differs from the reference");
  }
  CAF_CHECK_EQUAL(rounds_with_events > 100, true);
  CAF_MESSAGE("2000 random streams agree with the reference, "
              << rounds_with_events << " of them with events");
}
