#!/usr/bin/env bash
# package.install: caf-mcp as a package other CAF projects use
# (docs/package.md). Installs the build tree into a temporary prefix outside
# the source tree, then
#   - checks the layout (program, the three libraries, the public headers of
#     messages/, transport/ and actors/ and nothing else, the CMake package),
#   - compiles every installed header alone against that prefix (a header that
#     includes a private or uninstalled header fails here),
#   - configures and builds the installed example project
#     (share/doc/caf-mcp/examples, find_package(caf_mcp)) in the temporary
#     directory with -DCMAKE_PREFIX_PATH=PREFIX,
#   - runs the example against the installed program's demo server and checks
#     that it lists the tools and calls one.
#
# usage: install.sh BUILD_DIR SOURCE_DIR CXX_COMPILER [CXX_FLAGS]
#   CXX_FLAGS: compile and link flags the consumer needs to link the
#   libraries (the sanitizer flags of a sanitizer build; empty otherwise).
set -u
BUILD="$1"
SRC="$2"
CXX="$3"
FLAGS="${4:-}"

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$SRC/tests/cli/check.sh"
source "$SRC/tests/package/example.sh"

case "$tmp" in
  "$SRC"/*) give_up "temporary directory $tmp is inside the source tree" ;;
esac
prefix="$tmp/prefix"

# -- install ------------------------------------------------------------------

if cmake --install "$BUILD" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
  ok
else
  give_up "cmake --install failed: $(tail -n 20 "$tmp/install.log")"
fi

echo "installed in ${SECONDS} s"

# -- layout -------------------------------------------------------------------

expect_file() {
  if [ -f "$prefix/$1" ]; then ok; else bad "not installed: $1"; fi
}
expect_file bin/caf-mcp
[ -x "$prefix/bin/caf-mcp" ] && ok || bad "bin/caf-mcp is not executable"
libdir=$(cd "$prefix" && ls -d lib*/cmake/caf_mcp 2>/dev/null | head -n 1)
libdir="${libdir%/cmake/caf_mcp}"
[ -n "$libdir" ] && ok || give_up "no lib*/cmake/caf_mcp in the prefix: $(cd "$prefix" && find . -maxdepth 3)"
for layer in messages transport actors cluster; do
  expect_file "$libdir/libcaf_mcp_$layer.a"
done
for f in caf_mcpConfig.cmake caf_mcpConfigVersion.cmake caf_mcpTargets.cmake FindCAF.cmake; do
  expect_file "$libdir/cmake/caf_mcp/$f"
done
expect_file share/doc/caf-mcp/examples/CMakeLists.txt
expect_file share/doc/caf-mcp/examples/list_and_call.cpp
expect_file share/doc/caf-mcp/examples/remote_call.cpp

# The installed headers are exactly the include/ trees of the four layers:
# none missing, none extra (the app's private headers stay out).
(cd "$SRC" && for layer in messages transport actors cluster; do
   (cd "$layer/include" && find . -name '*.hpp')
 done) | sort >"$tmp/headers.expected"
(cd "$prefix/include" && find . -type f) | sort >"$tmp/headers.installed"
if diff "$tmp/headers.expected" "$tmp/headers.installed" >"$tmp/headers.diff"; then
  ok
else
  bad "installed headers differ from the layers' include trees: $(cat "$tmp/headers.diff")"
fi
nheaders=$(wc -l <"$tmp/headers.installed")
[ "$nheaders" -ge 3 ] && ok || bad "only $nheaders headers installed"

# -- every public header compiles alone against the prefix --------------------
# Only the prefix and the system directories are on the include path, so an
# include of a private header (app/, src/) or one that is not installed fails.
# One translation unit per header, compiled with ccache when there is one
# (CCACHE_BASEDIR at the temporary folder: the next run hits the cache).

cxx=("$CXX")
if command -v ccache >/dev/null 2>&1; then
  cxx=(ccache "$CXX")
fi
mkdir -p "$tmp/hdr"
while read -r h; do
  h="${h#./}"
  printf '#include <%s>\n' "$h" >"$tmp/hdr/${h//\//__}.cpp"
done <"$tmp/headers.installed"
compile_header() { # translation unit
  local tu="$1"
  (cd "$tmp" && "${cxx[@]}" -std=c++17 -I"$prefix/include" -c "$tu" -o "${tu%.cpp}.o") \
    >"${1%.cpp}.log" 2>&1 ||
    { echo "FAIL header alone: $(cat "$tu")"; sed -n 1,15p "${1%.cpp}.log"; return 1; }
}
export -f compile_header
export tmp prefix
export CXX_LINE="${cxx[*]}"
export CCACHE_BASEDIR="$tmp"
if find "$tmp/hdr" -name '*.cpp' -print0 |
     xargs -0 -P 2 -I{} bash -c 'cxx=($CXX_LINE); compile_header "$1"' _ {} \
       >"$tmp/headers.log" 2>&1; then
  ok
else
  bad "headers that do not compile alone:
$(cat "$tmp/headers.log")"
fi
unset CCACHE_BASEDIR
ntu=$(find "$tmp/hdr" -name '*.o' | wc -l)
check "one object per installed header" "$nheaders" "$ntu"
echo "$nheaders headers compiled alone by ${SECONDS} s"

# -- the example project against the installed package, run against the
# -- installed program's demo server ---------------------------------------

mkdir -p "$tmp/example"
example_check "$prefix" "$prefix/bin/caf-mcp" "$tmp/example" "$tmp"
echo "example built and run by ${SECONDS} s"

summary
