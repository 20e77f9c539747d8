// SSE parser throughput: MB/s and events/s on a mix of 100-byte and 4 KiB
// events (half of the events each), framed with LF or with CRLF, fed in
// 64 KiB reads as a socket would deliver them. A memcpy of the same bytes is
// measured alongside as the ceiling. Prints numbers; asserts nothing.
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "caf_mcp/transport/sse_parser.hpp"

namespace {

using caf_mcp::transport::sse_errc;
using caf_mcp::transport::sse_parser;
using caf_mcp::transport::sse_sink;

struct counting_sink : sse_sink {
  size_t events = 0;
  size_t bytes = 0;
  void on_event(std::string_view, std::string_view data,
                std::string_view) override {
    ++events;
    bytes += data.size();
  }
  void on_retry(uint64_t) override {
    // nop
  }
  void on_error(sse_errc, size_t) override {
    std::abort();
  }
};

/// A JSON-RPC-looking payload of exactly `n` bytes.
std::string payload(size_t n, size_t seed) {
  std::string s = R"({"jsonrpc":"2.0","id":)" + std::to_string(seed)
                  + R"(,"result":{"content":[{"type":"text","text":")";
  while (s.size() + 4 < n)
    s += static_cast<char>('a' + (s.size() * 7 + seed) % 26);
  s += "\"}]}";
  s.resize(n, '}');
  return s;
}

/// About 8 MiB of events; `small_only` leaves out the 4 KiB ones.
std::string make_stream(const char* eol, bool small_only = false) {
  std::string out;
  size_t i = 0;
  while (out.size() < 8 * 1024 * 1024) {
    size_t n = (small_only || i % 2 == 0) ? 100 : 4096;
    out += "event: message";
    out += eol;
    out += "data: ";
    out += payload(n, i);
    out += eol;
    out += eol;
    ++i;
  }
  return out;
}

void run_parser(benchmark::State& state, const std::string& stream,
                size_t chunk) {
  size_t events = 0;
  for (auto _ : state) {
    sse_parser parser;
    counting_sink sink;
    for (size_t i = 0; i < stream.size(); i += chunk)
      parser.put(std::string_view{stream}.substr(i, chunk), sink);
    events += sink.events;
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()
                                               * stream.size()));
  state.counters["events/s"] = benchmark::Counter(
    static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_parse_mix_lf(benchmark::State& state) {
  static const auto stream = make_stream("\n");
  run_parser(state, stream, static_cast<size_t>(state.range(0)));
}

void BM_parse_mix_crlf(benchmark::State& state) {
  static const auto stream = make_stream("\r\n");
  run_parser(state, stream, static_cast<size_t>(state.range(0)));
}

void BM_parse_small_lf(benchmark::State& state) {
  static const auto stream = make_stream("\n", true);
  run_parser(state, stream, static_cast<size_t>(state.range(0)));
}

void BM_memcpy_baseline(benchmark::State& state) {
  static const auto stream = make_stream("\n");
  std::vector<char> dst(stream.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), stream.data(), stream.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()
                                               * stream.size()));
}

} // namespace

BENCHMARK(BM_parse_mix_lf)->Arg(65536)->Arg(1 << 23);
BENCHMARK(BM_parse_mix_crlf)->Arg(65536)->Arg(1 << 23);
BENCHMARK(BM_parse_small_lf)->Arg(65536);
BENCHMARK(BM_memcpy_baseline);

BENCHMARK_MAIN();
