// Fuzz target: the incremental SSE parser must agree with the naive
// reference implementation for any input and any chunking. The first byte
// chooses the chunk size, the rest is the stream. Also checks that every
// event's data, type and id are valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "caf_mcp/transport/sse_parser.hpp"
#include "caf_mcp/transport/utf8.hpp"
#include "common/sse_reference.hpp"

namespace {

struct checking_sink : caf_mcp::test::recording_sink {
  void on_event(std::string_view type, std::string_view data,
                std::string_view id) override {
    using caf_mcp::transport::utf8_valid;
    if (!utf8_valid(type) || !utf8_valid(data) || !utf8_valid(id))
      std::abort();
    recording_sink::on_event(type, data, id);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0)
    return 0;
  size_t chunk = bytes[0] % 17 + 1;
  std::string_view input{reinterpret_cast<const char*>(bytes) + 1, size - 1};
  caf_mcp::transport::sse_parser parser;
  checking_sink sink;
  // Vary the chunk size along the input so boundaries land everywhere.
  size_t pos = 0;
  size_t step = chunk;
  while (pos < input.size()) {
    auto n = std::min(step, input.size() - pos);
    parser.put(input.substr(pos, n), sink);
    pos += n;
    step = step % 13 + 1;
  }
  parser.finish();
  if (sink.out != caf_mcp::test::reference_parse(input))
    std::abort();
  // A tiny limit must never crash or grow memory without bound.
  auto limited = caf_mcp::test::parse_chunked(input, chunk, 8);
  (void) limited;
  return 0;
}
