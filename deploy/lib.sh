# Shared set-up for deploy/run and deploy/test. Source it; do not run it.
# - install the Debian packages of deploy/packages.txt that are missing
# - configure and build into build/ (BUILD_DIR, CMAKE_BUILD_TYPE and
#   CAF_MCP_CMAKE_ARGS may override)

set -euo pipefail

CAF_MCP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$CAF_MCP_ROOT/build}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
# For -DCAF_MCP_ASAN=ON builds: silence CAF 0.17.6's own UBSan report (see
# cmake/ubsan.supp); every other finding still stops the test.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-suppressions=$CAF_MCP_ROOT/cmake/ubsan.supp:halt_on_error=1:print_stacktrace=1}"

log() { printf '[caf-mcp] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root to run: $*"
    return 1
  fi
}

# install_packages FILE: apt-get install every listed package not yet
# installed; does nothing (and needs no network) when all are present.
install_packages() {
  local file="$1" missing=() pkg
  while read -r pkg; do
    pkg="${pkg%%#*}"
    pkg="$(echo "$pkg" | tr -d '[:space:]')"
    [ -n "$pkg" ] || continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done < "$file"
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# build [TARGET...]: configure (once) and build into $BUILD_DIR.
build() {
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    log "configuring $BUILD_DIR"
    cmake -S "$CAF_MCP_ROOT" -B "$BUILD_DIR" \
      -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
      ${CAF_MCP_CMAKE_ARGS:-} >&2
  fi
  local targets=()
  local t
  for t in "$@"; do targets+=(--target "$t"); done
  log "building ($JOBS jobs)"
  cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}" >&2
}

# setup_peers: the Node.js MCP peers of tests/peers (CTest fixtures). Installs
# Debian's nodejs and npm only when `node` or `npm` is missing (a Node.js that
# is already there is kept), then runs `npm ci` in tests/peers when its
# node_modules is missing or older than package-lock.json.
setup_peers() {
  local dir="$CAF_MCP_ROOT/tests/peers"
  [ -f "$dir/package-lock.json" ] || return 0
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing: nodejs npm"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  if [ ! -d "$dir/node_modules" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm ci in tests/peers (node $(node --version), npm $(npm --version))"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

setup() {
  install_packages "$CAF_MCP_ROOT/deploy/packages.txt"
}
