// Throughput of the JSON-RPC codec and the MCP type layer: messages/s and
// bytes/s for the messages a client sees most (tools/call request and
// response, a ~8 KB tools/list result, progress notifications).
//
//   bench-codec --benchmark_min_time=0.2
//
// "decode" = text -> jsonrpc_message; "encode" = jsonrpc_message -> text
// (into a reused buffer); "*_mcp" adds the MCP struct conversion
// (from_json / to_json_text) on top.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "caf_mcp/messages/jsonrpc.hpp"
#include "caf_mcp/messages/mcp.hpp"

using namespace caf_mcp;

namespace {

const std::string tools_call_request
  = R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello world","count":3},"_meta":{"progressToken":42}}})";

const std::string tools_call_response
  = R"({"result":{"content":[{"type":"text","text":"Echo: hello world hello world hello world"}]},"jsonrpc":"2.0","id":42})";

const std::string progress_notification
  = R"({"method":"notifications/progress","params":{"progressToken":42,"progress":35,"total":100,"message":"step 7 of 20"},"jsonrpc":"2.0"})";

/// A tools/list result shaped like server-everything's (~8 KB).
std::string make_tools_list_response() {
  std::string tools;
  for (int i = 0; tools.size() < 8000; ++i) {
    if (i > 0)
      tools += ',';
    auto n = std::to_string(i);
    tools += R"({"name":"tool_)" + n
             + R"(","description":"Performs operation number )" + n
             + R"( on the given inputs and returns a text summary of what happened","inputSchema":{"type":"object","properties":{"message":{"type":"string","description":"Message to process"},"count":{"type":"number","description":"How many times","default":1},"mode":{"type":"string","enum":["fast","slow","careful"]}},"required":["message"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"},"annotations":{"readOnlyHint":true}})";
  }
  return R"({"result":{"tools":[)" + tools
         + R"(],"nextCursor":"page-2"},"jsonrpc":"2.0","id":1})";
}

const std::string tools_list_response = make_tools_list_response();

void set_counters(benchmark::State& state, size_t bytes) {
  auto n = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(n * static_cast<int64_t>(bytes));
}

jsonrpc_message decode_single(const std::string& text) {
  auto res = decode(text);
  if (!res.ok() || res.messages.size() != 1)
    abort();
  return std::move(res.messages.front());
}

// -- decode -------------------------------------------------------------------

void decode_bench(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto res = decode(text);
    benchmark::DoNotOptimize(res);
  }
  set_counters(state, text.size());
}

void BM_decode_tools_call_request(benchmark::State& state) {
  decode_bench(state, tools_call_request);
}
BENCHMARK(BM_decode_tools_call_request);

void BM_decode_tools_call_response(benchmark::State& state) {
  decode_bench(state, tools_call_response);
}
BENCHMARK(BM_decode_tools_call_response);

void BM_decode_tools_list_8k(benchmark::State& state) {
  state.SetLabel(std::to_string(tools_list_response.size()) + " bytes");
  decode_bench(state, tools_list_response);
}
BENCHMARK(BM_decode_tools_list_8k);

void BM_decode_progress(benchmark::State& state) {
  decode_bench(state, progress_notification);
}
BENCHMARK(BM_decode_progress);

/// The same decode with one monotonic arena per text (make_decode_arena).
void BM_decode_tools_list_8k_arena(benchmark::State& state) {
  for (auto _ : state) {
    decode_result res;
    decode(tools_list_response, make_decode_arena(tools_list_response.size()),
           res);
    benchmark::DoNotOptimize(res);
  }
  set_counters(state, tools_list_response.size());
}
BENCHMARK(BM_decode_tools_list_8k_arena);

void BM_decode_tools_call_response_arena(benchmark::State& state) {
  for (auto _ : state) {
    decode_result res;
    decode(tools_call_response, make_decode_arena(tools_call_response.size()),
           res);
    benchmark::DoNotOptimize(res);
  }
  set_counters(state, tools_call_response.size());
}
BENCHMARK(BM_decode_tools_call_response_arena);

// -- encode -------------------------------------------------------------------

void encode_bench(benchmark::State& state, const std::string& text) {
  auto msg = decode_single(text);
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode_into(out, msg);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, out.size());
}

void BM_encode_tools_call_request(benchmark::State& state) {
  encode_bench(state, tools_call_request);
}
BENCHMARK(BM_encode_tools_call_request);

void BM_encode_tools_call_response(benchmark::State& state) {
  encode_bench(state, tools_call_response);
}
BENCHMARK(BM_encode_tools_call_response);

void BM_encode_tools_list_8k(benchmark::State& state) {
  encode_bench(state, tools_list_response);
}
BENCHMARK(BM_encode_tools_list_8k);

void BM_encode_progress(benchmark::State& state) {
  encode_bench(state, progress_notification);
}
BENCHMARK(BM_encode_progress);

// -- with the MCP types -------------------------------------------------------

/// What a session does for each call: write the params struct, frame it.
void BM_encode_tools_call_request_mcp(benchmark::State& state) {
  call_tool_params params;
  params.name = "echo";
  params.arguments = R"({"message":"hello world","count":3})";
  params.progress_token = progress_token{42};
  std::string out;
  int64_t id = 0;
  for (auto _ : state) {
    out.clear();
    encode_request_into(out, request_id{++id}, methods::tools_call,
                        to_json_text(params));
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, out.size());
}
BENCHMARK(BM_encode_tools_call_request_mcp);

/// What a session does for each response: decode, read the result struct.
void BM_decode_tools_call_response_mcp(benchmark::State& state) {
  for (auto _ : state) {
    auto res = decode(tools_call_response);
    call_tool_result result;
    auto err = from_json(std::get<response>(res.messages.front()).result,
                         result);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(result);
  }
  set_counters(state, tools_call_response.size());
}
BENCHMARK(BM_decode_tools_call_response_mcp);

void BM_decode_tools_list_8k_mcp(benchmark::State& state) {
  for (auto _ : state) {
    auto res = decode(tools_list_response);
    list_tools_result result;
    auto err = from_json(std::get<response>(res.messages.front()).result,
                         result);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(result);
  }
  set_counters(state, tools_list_response.size());
}
BENCHMARK(BM_decode_tools_list_8k_mcp);

void BM_decode_progress_mcp(benchmark::State& state) {
  for (auto _ : state) {
    auto res = decode(progress_notification);
    progress_params params;
    auto& note = std::get<notification>(res.messages.front());
    auto err = from_json(*note.params, params);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(params);
  }
  set_counters(state, progress_notification.size());
}
BENCHMARK(BM_decode_progress_mcp);

} // namespace

BENCHMARK_MAIN();
