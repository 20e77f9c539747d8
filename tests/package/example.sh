# Shared by tests/package/install.sh and deb.sh (source it after
# tests/cli/check.sh): build the installed example project against a prefix
# and run it against a demo server.
#
#   example_check PREFIX SERVER_BIN WORK ROOT
#     PREFIX      where caf-mcp is installed (CMAKE_PREFIX_PATH)
#     SERVER_BIN  the caf-mcp program that serves the demo server
#     WORK        an empty folder to build in
#     ROOT        the temporary directory holding PREFIX and WORK
#   Uses CXX, FLAGS (compile and link flags, may be empty), BUILD (the build
#   tree, which the example must not link from) and sets server_pid (the
#   caller's cleanup kills it).
#
# ccache, when present, shares its cache across runs: CCACHE_BASEDIR at ROOT
# hashes the paths inside it relative to it.
example_check() {
  local prefix="$1" server="$2" work="$3" root="$4" launcher=() found expected
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  expected=$(cd "$prefix" && ls -d lib*/cmake/caf_mcp 2>/dev/null | head -n 1)
  [ -n "$expected" ] || { bad "no lib*/cmake/caf_mcp under $prefix"; return 1; }
  cp -r "$prefix/share/doc/caf-mcp/examples" "$work/example" ||
    { bad "no examples in $prefix/share/doc/caf-mcp"; return 1; }
  if (export CCACHE_BASEDIR="$root"
      cmake -S "$work/example" -B "$work/build" \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER="$CXX" "${launcher[@]}" \
        -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS") \
       >"$work/configure.log" 2>&1; then
    ok
  else
    bad "configuring the example against $prefix failed: $(tail -n 30 "$work/configure.log")"
    return 1
  fi
  # It found our package in the prefix, not a copy elsewhere.
  found=$(sed -n 's/^caf_mcp_DIR:PATH=//p' "$work/build/CMakeCache.txt")
  check "caf_mcp_DIR is the prefix's" "$prefix/$expected" "$found"
  if (export CCACHE_BASEDIR="$root"; cmake --build "$work/build" -j 2) \
       >"$work/build.log" 2>&1; then
    ok
  else
    bad "building the example against $prefix failed: $(tail -n 30 "$work/build.log")"
    return 1
  fi
  local example="$work/build/list-and-call"
  [ -x "$example" ] || { bad "no list-and-call built"; return 1; }
  # The cluster example links caf_mcp::cluster (CAF io and openssl found by
  # the package); it runs in node.cluster.
  [ -x "$work/build/remote-call" ] && ok || bad "no remote-call built"
  # It linked the libraries in the prefix, not the build tree's.
  if grep -q -- "$BUILD" "$work/build/CMakeFiles/list-and-call.dir/link.txt"; then
    bad "the example links from the build tree: $(cat "$work/build/CMakeFiles/list-and-call.dir/link.txt")"
  else
    ok
  fi

  "$server" demo-server --port 0 --port-file "$work/port" \
    >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  if ! wait_for "$work/port" ""; then
    bad "demo server ($server) wrote no port file: $(cat "$work/server.err")"
    return 1
  fi
  local port url out rc
  port=$(head -n 1 "$work/port")
  [[ "$port" =~ ^[0-9]+$ ]] || { bad "port file: [$port]"; return 1; }
  url="http://127.0.0.1:$port/sse"
  timeout 60 "$example" "$url" add '{"a":20,"b":22}' >"$work/ex.out" 2>"$work/ex.err"
  check "example exit status (stderr: $(cat "$work/ex.err"))" 0 $?
  out=$(cat "$work/ex.out")
  check_match "example lists the tools" $'(^|\n)tool add: ' "$out"
  check_match "example lists echo" $'(^|\n)tool echo: ' "$out"
  check_match "example calls add" $'(^|\n)add -> 42(\n|$)' "$out"
  # A failing call fails the example (it is not printing a fixed text).
  timeout 60 "$example" "$url" add '{"a":"x"}' >"$work/ex2.out" 2>"$work/ex2.err"
  rc=$?
  [ "$rc" -ne 0 ] && ok || bad "example with bad arguments exited 0: $(cat "$work/ex2.out")"
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
}
