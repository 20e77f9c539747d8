# Warnings, sanitizers, fuzzing and ccache for caf-mcp's own targets.

option(CAF_MCP_ASAN "Build with AddressSanitizer + UndefinedBehaviorSanitizer" OFF)
option(CAF_MCP_TSAN "Build with ThreadSanitizer" OFF)
option(CAF_MCP_FUZZ "Build libFuzzer targets (needs clang and libclang-rt-14-dev)" OFF)
option(CAF_MCP_WERROR "Treat warnings on our own code as errors" OFF)
option(CAF_MCP_BENCH "Build Google Benchmark programs if libbenchmark-dev is present" ON)

if(CAF_MCP_ASAN AND CAF_MCP_TSAN)
  message(FATAL_ERROR "CAF_MCP_ASAN and CAF_MCP_TSAN cannot be combined")
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

if(CAF_MCP_ASAN)
  # Every UBSan finding is fatal except "null", which stays recoverable so
  # that cmake/ubsan.supp can silence CAF 0.17.6's own report (it binds a
  # reference to a null shared_ptr<tuple<>> in detail/init_fun_factory.hpp
  # whenever a function-based actor is spawned without arguments). Run with
  # UBSAN_OPTIONS=suppressions=cmake/ubsan.supp:halt_on_error=1.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -fsanitize-recover=null)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CAF_MCP_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(CAF_MCP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CAF_MCP_FUZZ needs clang (CXX=clang++)")
  endif()
  # Instrument everything we compile; the fuzz executables add -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Strict warnings for caf-mcp's own code only (not for third-party headers,
# which come in as SYSTEM includes).
function(caf_mcp_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(CAF_MCP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
