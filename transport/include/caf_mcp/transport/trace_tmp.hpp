#pragma once
#include <chrono>
#include <cstdio>
#include <cstdlib>
inline void caf_mcp_trace(const char* what) {
  static bool on = std::getenv("CAF_MCP_TRACE") != nullptr;
  if (!on) return;
  static auto t0 = std::chrono::steady_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "[%7ld us] %s\n", static_cast<long>(us), what);
}
