#!/usr/bin/env bash
# demo-start.sh CAF_MCP_BINARY STATE_DIR: start `caf-mcp demo-server --port 0`
# on 127.0.0.1 and write STATE_DIR/demo.url and STATE_DIR/demo.pid (the same
# contract as tests/peers/start.sh, so tests/peers/stop.sh stops it).
set -euo pipefail
BIN="$1"
STATE_DIR="$2"
mkdir -p "$STATE_DIR"
log="$STATE_DIR/demo.log"
rm -f "$STATE_DIR/demo.url" "$STATE_DIR/demo.pid"
setsid "$BIN" demo-server --port 0 --host 127.0.0.1 </dev/null >"$log" 2>&1 &
pid=$!
echo "$pid" >"$STATE_DIR/demo.pid"
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2
    echo "demo-start.sh: the demo server exited" >&2
    exit 1
  fi
  if url=$(grep -Eo -m1 'http://127\.0\.0\.1:[0-9]+/sse' "$log"); then
    printf '%s\n' "$url" >"$STATE_DIR/demo.url"
    echo "demo server: pid $pid, $url"
    exit 0
  fi
  sleep 0.1
done
cat "$log" >&2
echo "demo-start.sh: no 'listening on' line within 10 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
