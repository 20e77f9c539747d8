#!/usr/bin/env bash
# demo-start.sh CAF_MCP_BINARY STATE_DIR [NAME [SERVER_ARG...]]: start
# `caf-mcp demo-server --port 0 --host 127.0.0.1 SERVER_ARG...` and write
# STATE_DIR/NAME.url and STATE_DIR/NAME.pid (NAME defaults to "demo"; the
# same contract as tests/peers/start.sh, so `tests/peers/stop.sh NAME
# STATE_DIR` stops it). The fault-injection server is
# `demo-start.sh BIN STATE faults --faults`.
set -euo pipefail
BIN="$1"
STATE_DIR="$2"
NAME="${3:-demo}"
shift $(($# < 3 ? $# : 3))
mkdir -p "$STATE_DIR"
log="$STATE_DIR/$NAME.log"
rm -f "$STATE_DIR/$NAME.url" "$STATE_DIR/$NAME.pid"
setsid "$BIN" demo-server --port 0 --host 127.0.0.1 "$@" </dev/null >"$log" 2>&1 &
pid=$!
echo "$pid" >"$STATE_DIR/$NAME.pid"
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2
    echo "demo-start.sh: the demo server exited" >&2
    exit 1
  fi
  if url=$(grep -Eo -m1 'http://127\.0\.0\.1:[0-9]+/sse' "$log"); then
    printf '%s\n' "$url" >"$STATE_DIR/$NAME.url"
    echo "demo server $NAME ($*): pid $pid, $url"
    exit 0
  fi
  sleep 0.1
done
cat "$log" >&2
echo "demo-start.sh: no 'listening on' line within 10 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
