#!/usr/bin/env bash
# package.deb: `cpack -G DEB` builds the two Debian packages of
# docs/package.md into a temporary directory (nothing is installed):
#   caf-mcp      the program; Depends from dpkg-shlibdeps
#   caf-mcp-dev  static libraries, public headers, the CMake package,
#                the example; Depends on the -dev packages it was built with
# and checks their contents (dpkg-deb -c) and control fields (dpkg-deb -f),
# then unpacks both (dpkg-deb -x, into the temporary directory) and builds
# and runs the example against the unpacked caf-mcp-dev with the unpacked
# program's demo server: the stripped libraries still link, the package's
# CMake files work from wherever they are.
#
# usage: deb.sh BUILD_DIR SOURCE_DIR CXX_COMPILER [CXX_FLAGS]
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

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null 2>&1 ||
    give_up "$tool is missing (cpack: cmake; dpkg-deb: dpkg; dpkg-shlibdeps: dpkg-dev)"
done

if cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$tmp/out" \
     >"$tmp/cpack.log" 2>&1; then
  ok
else
  give_up "cpack -G DEB failed: $(tail -n 30 "$tmp/cpack.log")"
fi

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
run_deb="$tmp/out/caf-mcp_${version}_${arch}.deb"
dev_deb="$tmp/out/caf-mcp-dev_${version}_${arch}.deb"
[ -f "$run_deb" ] && ok || give_up "no $(basename "$run_deb"); made: $(ls "$tmp/out")"
[ -f "$dev_deb" ] && ok || give_up "no $(basename "$dev_deb"); made: $(ls "$tmp/out")"
ndebs=$(ls "$tmp/out"/*.deb | wc -l)
check "number of .deb files" 2 "$ndebs"

# -- contents -----------------------------------------------------------------

dpkg-deb -c "$run_deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/run.files"
dpkg-deb -c "$dev_deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/dev.files"
has() { # list path_regex what
  if grep -Eq "$2" "$1"; then ok; else bad "$3 missing from $(basename "$1" .files): $(grep -v '/$' "$1")"; fi
}
hasnt() {
  if grep -Eq "$2" "$1"; then bad "$3 in $(basename "$1" .files): $(grep -E "$2" "$1" | head -n 5)"; else ok; fi
}
has "$tmp/run.files" '^/usr/bin/caf-mcp$' "the program"
hasnt "$tmp/run.files" '\.(a|hpp|cmake)$' "development files"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?libcaf_mcp_actors\.a$' "libcaf_mcp_actors.a"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?libcaf_mcp_messages\.a$' "libcaf_mcp_messages.a"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?libcaf_mcp_transport\.a$' "libcaf_mcp_transport.a"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?libcaf_mcp_cluster\.a$' "libcaf_mcp_cluster.a"
has "$tmp/dev.files" '^/usr/include/caf_mcp/cluster/connect\.hpp$' "cluster/connect.hpp"
has "$tmp/dev.files" '^/usr/include/caf_mcp/actors/client\.hpp$' "a public header"
has "$tmp/dev.files" '^/usr/include/caf_mcp/messages/protocol\.hpp$' "messages/protocol.hpp"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?cmake/caf_mcp/caf_mcpConfig\.cmake$' "the CMake package config"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?cmake/caf_mcp/caf_mcpTargets\.cmake$' "the exported targets"
has "$tmp/dev.files" '^/usr/lib/([^/]+/)?cmake/caf_mcp/FindCAF\.cmake$' "FindCAF.cmake"
hasnt "$tmp/dev.files" '^/usr/bin/' "the program"
hasnt "$tmp/dev.files" '/(commands|client_options|registry|api)\.hpp$' "the app's private headers"

# The program is stripped; the libraries carry no debug info (sizes stay small).
mkdir -p "$tmp/x"
dpkg-deb -x "$run_deb" "$tmp/x/run"
dpkg-deb -x "$dev_deb" "$tmp/x/dev"
if objdump -h "$tmp/x/run/usr/bin/caf-mcp" | grep -q '\.debug_info'; then
  bad "/usr/bin/caf-mcp is not stripped"
else
  ok
fi
actors_a=$(find "$tmp/x/dev" -name libcaf_mcp_actors.a | head -n 1)
if [ -n "$actors_a" ] && objdump -h "$actors_a" 2>/dev/null | grep -q '\.debug_info'; then
  bad "libcaf_mcp_actors.a still has debug info"
else
  ok
fi
# Stripped archives still link: they keep their symbol table.
if [ -n "$actors_a" ] && nm "$actors_a" 2>/dev/null | grep -q ' T '; then ok; else bad "libcaf_mcp_actors.a has no symbols"; fi
# Within the budget (installed size under 100 MB).
for deb in "$run_deb" "$dev_deb"; do
  kb=$(dpkg-deb -f "$deb" Installed-Size)
  echo "$(basename "$deb"): $(stat -c %s "$deb") bytes, Installed-Size $kb KB"
  if [[ "$kb" =~ ^[0-9]+$ ]] && [ "$kb" -lt 100000 ]; then ok; else bad "$(basename "$deb") Installed-Size [$kb] KB"; fi
done

# -- control fields -----------------------------------------------------------

check "caf-mcp Package" caf-mcp "$(dpkg-deb -f "$run_deb" Package)"
check "caf-mcp-dev Package" caf-mcp-dev "$(dpkg-deb -f "$dev_deb" Package)"
check "caf-mcp Version" "$version" "$(dpkg-deb -f "$run_deb" Version)"
check "caf-mcp Architecture" "$arch" "$(dpkg-deb -f "$run_deb" Architecture)"
run_depends=$(dpkg-deb -f "$run_deb" Depends)
dev_depends=$(dpkg-deb -f "$dev_deb" Depends)
echo "caf-mcp Depends: $run_depends"
echo "caf-mcp-dev Depends: $dev_depends"

# depends_on FIELD PACKAGE: PACKAGE is one of the field's alternatives.
depends_on() {
  if printf '%s\n' "$2" | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//; s/:.*//' |
       grep -qx -- "$3"; then
    ok
  else
    bad "$1 Depends lacks $3: [$2]"
  fi
}
# The libraries we build on, by their Debian package names.
for p in libcaf-core0.17 libboost-json1.81.0 libboost-url1.81.0 libssl3 \
         libstdc++6 libc6; do
  depends_on caf-mcp "$run_depends" "$p"
done
# Every shared library the packaged program needs (its own ELF NEEDED
# entries, located by ldd) belongs to a package its Depends names. (A library
# linked but unused, like libcaf_io today, is dropped by the linker's
# --as-needed, so the list follows what the program really uses.)
bin="$tmp/x/run/usr/bin/caf-mcp"
ldd "$bin" >"$tmp/ldd" 2>&1 || bad "ldd caf-mcp: $(cat "$tmp/ldd")"
needed=$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}' | while read -r so; do
  awk -v so="$so" '$1 == so && $2 == "=>" {print $3}' "$tmp/ldd"
done)
[ -n "$needed" ] && ok || bad "ldd lists no libraries for caf-mcp"
for lib in $needed; do
  owner=""
  for path in "$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr${lib}"; do
    owner=$(dpkg -S "$path" 2>/dev/null | head -n 1 | sed 's/:.*//; s/,.*//')
    [ -n "$owner" ] && break
  done
  if [ -z "$owner" ]; then
    bad "no Debian package owns $lib (needed by caf-mcp)"
  else
    depends_on "caf-mcp (for $lib)" "$run_depends" "$owner"
  fi
done
# Every package named is a real, installed Debian package (this machine
# built it with them).
for p in $(printf '%s\n' "$run_depends, $dev_depends" | tr ',|' '\n\n' |
             sed 's/^ *//; s/ .*//; s/:.*//' | sort -u); do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    ok
  else
    bad "Depends names $p, which is not an installed package"
  fi
done
for p in libcaf-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev; do
  depends_on caf-mcp-dev "$dev_depends" "$p"
done
check_match "caf-mcp-dev pins CAF 0.17" 'libcaf-dev \(<< 0\.18\)' "$dev_depends"

# -- the unpacked packages work ------------------------------------------------

mkdir -p "$tmp/example"
example_check "$tmp/x/dev/usr" "$tmp/x/run/usr/bin/caf-mcp" "$tmp/example" "$tmp"

summary
