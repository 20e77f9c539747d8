#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): tool calls to the demo server
# made locally (a client in the calling process: `caf-mcp bench --url`)
# beside the same calls made through a caf-mcp node's cluster port (`caf-mcp
# bench --node`: BASP to node A, A's registry, A's client), plain and with
# mutual TLS, at 1 and 64 calls in flight (docs/cluster.md, "Speed"). The
# demo server is called over both its transports: HTTP+SSE (`/sse`, the
# answer comes on the SSE stream) and Streamable HTTP with JSON answers
# (`/mcp`, `--json-response`: the answer is the POST's body).
#
# usage: tests/bench/remote_calls.sh CAF_MCP_BIN [SECONDS]   (default 5 s per run)
set -u
BIN=$(realpath "$1")
SECS="${2:-5}"
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
wait_file() { # FILE PATTERN: at most 10 s
  local i
  for ((i = 0; i < 200; i++)); do [ -s "$1" ] && grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timeout waiting for $2 in $1" >&2; return 1
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj /CN=bench-ca >/dev/null 2>&1
for n in a b; do
  openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n >/dev/null 2>&1
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem \
    -days 2 >/dev/null 2>&1
done

"$BIN" demo-server --host 127.0.0.1 --port 0 --port-file "$tmp/demo.port" --json-response \
  >demo.log 2>&1 &
pids+=($!)
wait_file demo.port . || exit 1
URL="http://127.0.0.1:$(cat demo.port)/sse"
HTTP_URL="http://127.0.0.1:$(cat demo.port)/mcp"

start_node() { # NAME TLS_JSON
  local tls=""
  [ -n "$2" ] && tls="\"tls\": $2,"
  cat >"$1.json" <<JSON
{ "node": { "listen": "127.0.0.1:0", "name": "$1" },
  "mcpServers": { "demo": { "url": "$URL", "type": "sse" },
                  "demo_http": { "url": "$HTTP_URL", "type": "http" } },
  "cluster": { $tls "listen": "127.0.0.1:0", "max_calls_per_peer": 1024 } }
JSON
  "$BIN" node --config "$1.json" >"$1.out" 2>"$1.err" &
  pids+=($!)
  wait_file "$1.out" "cluster port" || exit 1
  grep -o 'cluster port [0-9.]*:[0-9]*' "$1.out" | awk '{print $3}'
}
PLAIN=$(start_node plain "")
TLS=$(start_node tls '{ "certificate": "a.pem", "key": "a.key", "cafile": "ca.pem" }')
# Both nodes list the demo servers before the runs.
for n in plain tls; do
  for srv in demo demo_http; do
    for ((i = 0; i < 100; i++)); do
      "$BIN" tools --node "$( [ $n = plain ] && echo "$PLAIN" || echo "$TLS")" --server $srv \
        $( [ $n = tls ] && echo "--node-cert b.pem --node-key b.key --node-cafile ca.pem") \
        >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
done

run() { # LABEL ARGS...
  local label="$1"; shift
  local out
  out=$("$BIN" bench "$@" --tool echo --args '{"text":"x"}' --duration "$SECS" --json 2>&1)
  printf '%-34s %s\n' "$label" "$(printf '%s' "$out" | grep -o '"calls_per_s":[0-9.]*\|"p50":[0-9]*\|"p99":[0-9]*\|"failed":[0-9]*' | head -4 | tr '\n' ' ')"
}
echo "echo on the demo server, $SECS s per run, $(nproc) cores"
for k in 1 64; do
  run "sse   local       in flight $k" --url "$URL" --concurrency "$k" --connects 0
  run "sse   remote      in flight $k" --node "$PLAIN" --server demo --concurrency "$k"
  run "sse   remote TLS  in flight $k" --node "$TLS" --server demo --concurrency "$k" \
    --node-cert b.pem --node-key b.key --node-cafile ca.pem
  run "http  local       in flight $k" --url "$HTTP_URL" --transport http --concurrency "$k" \
    --connects 0
  run "http  remote      in flight $k" --node "$PLAIN" --server demo_http --concurrency "$k"
  run "http  remote TLS  in flight $k" --node "$TLS" --server demo_http --concurrency "$k" \
    --node-cert b.pem --node-key b.key --node-cafile ca.pem
done
