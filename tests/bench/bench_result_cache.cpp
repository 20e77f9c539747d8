// Cost of the result cache's pure bookkeeping per call (issue 14): a hit
// with canonical arguments at hand, a hit that first canonicalises the
// caller's argument text, a miss, and a store that evicts (a full cache).
//
//   bench-result-cache --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "caf_mcp/messages/canonical_json.hpp"
#include "caf_mcp/messages/mcp.hpp"
#include "caf_mcp/messages/result_cache.hpp"

using namespace caf_mcp;
using namespace std::chrono_literals;

namespace {

const std::string args_text = R"({"symbol":"ACME","currency":"EUR","depth":3})";

const auto t0 = result_cache::time_point{} + 1000h;

result_cache::result_ptr make_result() {
  auto result = std::make_shared<call_tool_result>();
  result->content.push_back(make_text_content("ACME 42.17 EUR"));
  return result;
}

/// A cache holding `n` entries of one server, keys "{"i":N}".
void fill(result_cache& cache, int n) {
  auto result = make_result();
  for (int i = 0; i < n; ++i)
    cache.store("quotes", "get_quote", "{\"i\":" + std::to_string(i) + "}",
                result, false, t0);
}

void lookup_hit(benchmark::State& state) {
  result_cache cache{result_cache_config{}};
  fill(cache, 1000);
  std::string args;
  canonical_json_text(args_text, args);
  cache.store("quotes", "get_quote", args, make_result(), false, t0);
  for (auto _ : state)
    benchmark::DoNotOptimize(cache.lookup("quotes", "get_quote", args, t0));
}
BENCHMARK(lookup_hit);

void canonicalise_and_lookup_hit(benchmark::State& state) {
  result_cache cache{result_cache_config{}};
  fill(cache, 1000);
  std::string args;
  canonical_json_text(args_text, args);
  cache.store("quotes", "get_quote", args, make_result(), false, t0);
  for (auto _ : state) {
    canonical_json_text(args_text, args);
    benchmark::DoNotOptimize(cache.lookup("quotes", "get_quote", args, t0));
  }
}
BENCHMARK(canonicalise_and_lookup_hit);

void lookup_miss(benchmark::State& state) {
  result_cache cache{result_cache_config{}};
  fill(cache, 1000);
  std::string args;
  canonical_json_text(args_text, args);
  for (auto _ : state)
    benchmark::DoNotOptimize(cache.lookup("quotes", "get_quote", args, t0));
}
BENCHMARK(lookup_miss);

void store_evicting(benchmark::State& state) {
  result_cache_config cfg;
  cfg.max_entries = 1000;
  result_cache cache{cfg};
  fill(cache, 1000);
  auto result = make_result();
  std::string args;
  int i = 1000;
  for (auto _ : state) {
    args = "{\"i\":" + std::to_string(i++) + "}";
    benchmark::DoNotOptimize(
      cache.store("quotes", "get_quote", args, result, false, t0));
  }
}
BENCHMARK(store_evicting);

} // namespace

BENCHMARK_MAIN();
