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

void chain_of(benchmark::State& state) {
  auto chain = std::make_shared<std::vector<middleware_ptr>>();
  for (int i = 0; i < state.range(0); ++i)
    chain->push_back(std::make_shared<pass_through>());
  std::shared_ptr<const std::vector<middleware_ptr>> cchain = chain;
  auto result = make_result();
  mw_next terminal = [&result](mw_request, mw_done done) {
    done(mw_outcome{result, {}});
  };
  size_t answered = 0;
  for (auto _ : state) {
    mw_request req{"quotes", "get_quote", args_text, {}};
    run_chain(mw_context{nullptr}, cchain, 0, std::move(req), terminal,
              [&answered](mw_outcome out) { answered += out.value ? 1 : 0; });
  }
  benchmark::DoNotOptimize(answered);
}
BENCHMARK(chain_of)->Arg(0)->Arg(1)->Arg(3);

void cache_hit(benchmark::State& state) {
  auto cache = std::make_shared<cache_middleware>(result_cache_config{});
  auto chain = std::make_shared<std::vector<middleware_ptr>>();
  chain->push_back(cache);
  std::shared_ptr<const std::vector<middleware_ptr>> cchain = chain;
  auto result = make_result();
  mw_next terminal = [&result](mw_request, mw_done done) {
    done(mw_outcome{result, {}});
  };
  size_t answered = 0;
  // The first call stores the result; every later one is a hit.
  for (auto _ : state) {
    mw_request req{"quotes", "get_quote", args_text, {}};
    run_chain(mw_context{nullptr}, cchain, 0, std::move(req), terminal,
              [&answered](mw_outcome out) { answered += out.value ? 1 : 0; });
  }
  benchmark::DoNotOptimize(answered);
  state.counters["hits"] = static_cast<double>(cache->stats("quotes").hits);
}
BENCHMARK(cache_hit);

} // namespace

BENCHMARK_MAIN();
