// Cost of the middleware chain's own machinery per call (issue 14), with
// no actor messaging: run_chain over 0, 1 and 3 pass-through middlewares
// into a terminal that answers at once, and the cache middleware's hit
// (canonicalise the arguments, look up, answer). The client skips
// run_chain entirely when it has no middlewares (one null test).
//
//   bench-chain --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "caf_mcp/actors/builtin_middlewares.hpp"
#include "caf_mcp/actors/cache_middleware.hpp"
#include "caf_mcp/actors/middleware.hpp"

using namespace caf_mcp;

namespace {

const std::string args_text = R"({"symbol":"ACME","currency":"EUR","depth":3})";

struct pass_through final : middleware {
  std::string_view name() const noexcept override {
    return "pass";
  }
  void call(const mw_context&, mw_request req, mw_next next,
            mw_done done) override {
    next(std::move(req), std::move(done));
  }
};

call_tool_result make_result() {
  call_tool_result result;
  result.content.push_back(make_text_content("ACME 42.17 EUR"));
  return result;
}

/// Runs one call per iteration through `chain` into a terminal that
/// answers at once.
void run_calls(benchmark::State& state, std::vector<middleware_ptr> list) {
  std::shared_ptr<const std::vector<middleware_ptr>> chain
    = std::make_shared<const std::vector<middleware_ptr>>(std::move(list));
  auto result = make_result();
  mw_next terminal = [&result](mw_request, mw_done done) {
    done(mw_outcome{result, {}});
  };
  size_t answered = 0;
  for (auto _ : state) {
    mw_request req;
    req.server = "quotes";
    req.tool = "get_quote";
    req.args = args_text;
    run_chain(mw_context{nullptr, nullptr}, chain, 0, std::move(req), terminal,
              [&answered](mw_outcome out) { answered += out.value ? 1 : 0; });
  }
  benchmark::DoNotOptimize(answered);
}

void chain_of(benchmark::State& state) {
  std::vector<middleware_ptr> list;
  for (int i = 0; i < state.range(0); ++i)
    list.push_back(std::make_shared<pass_through>());
  run_calls(state, std::move(list));
}
BENCHMARK(chain_of)->Arg(0)->Arg(1)->Arg(3);

/// The first call stores the result; every later one is a hit.
void cache_hit(benchmark::State& state) {
  auto cache = std::make_shared<cache_middleware>(result_cache_config{});
  run_calls(state, {cache});
  state.counters["hits"] = static_cast<double>(cache->stats("quotes").hits);
}
BENCHMARK(cache_hit);

/// logging (no sink installed: the node's default below info) + metrics +
/// cache, every call a miss: the cache's clock moves past the TTL on each
/// call, so the lookup fails and the result is stored again.
void logging_metrics_cache_miss(benchmark::State& state) {
  auto now = std::make_shared<result_cache::time_point>();
  auto cache = std::make_shared<cache_middleware>(
    result_cache_config{}, [now] {
      *now += std::chrono::hours{1};
      return *now;
    });
  auto metrics = std::make_shared<metrics_middleware>(std::vector<double>{
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
    100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60});
  run_calls(state,
            {std::make_shared<logging_middleware>(), metrics, cache});
  state.counters["misses"]
    = static_cast<double>(cache->stats("quotes").misses);
}
BENCHMARK(logging_metrics_cache_miss);

} // namespace

BENCHMARK_MAIN();
