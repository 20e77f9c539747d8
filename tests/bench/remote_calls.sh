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
# usage: tests/bench/remote_calls.sh CAF_MCP_BIN [SECONDS] [ROUNDS]
#   (default 3 s per run, 3 rounds: about 3.5 minutes)
set -u
BIN=$(realpath "$1")
SECS="${2:-3}"
ROUNDS="${3:-3}"
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

# Not called in $(...): the node's pid must reach this shell's `pids`, or
# the node outlives the script.
start_node() { # NAME TLS_JSON: sets NODE_ADDR to its cluster address
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
  NODE_ADDR=$(grep -o 'cluster port [0-9.]*:[0-9]*' "$1.out" | awk '{print $3}')
}
start_node plain ""
PLAIN=$NODE_ADDR
start_node tls '{ "certificate": "a.pem", "key": "a.key", "cafile": "ca.pem" }'
TLS=$NODE_ADDR
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

# Each configuration runs once per round, all of them in turn, and the
# figures are medians over the rounds: this machine's speed moves by up to
# 40% within minutes, so one run per configuration compares phases, not
# configurations. The cost a remote call adds is taken within each round
# (remote p50 minus the local p50 of the same round) before the median.
res="$tmp/res"
mkdir -p "$res"
run() { # KEY ARGS...: appends "calls_per_s p50 failed" to $res/KEY
  local key="$1"; shift
  local out cps p50 failed
  out=$("$BIN" bench "$@" --tool echo --args '{"text":"x"}' --duration "$SECS" --json 2>&1)
  cps=$(printf '%s' "$out" | grep -o '"calls_per_s":[0-9.]*' | head -1 | cut -d: -f2)
  p50=$(printf '%s' "$out" | grep -o '"p50":[0-9]*' | head -1 | cut -d: -f2)
  failed=$(printf '%s' "$out" | grep -o '"failed":[0-9]*' | head -1 | cut -d: -f2)
  if [ -z "$cps" ] || [ -z "$p50" ]; then
    echo "$key: no figures from caf-mcp bench: $out" >&2
    return
  fi
  echo "$cps $p50 ${failed:-?}" >>"$res/$key"
}
TLS_ARGS=(--node-cert b.pem --node-key b.key --node-cafile ca.pem)
echo "echo on the demo server, $ROUNDS rounds of $SECS s per configuration, $(nproc) cores"
floor="$(dirname "$BIN")/../tests/bench/handoff-floor"
[ -x "$floor" ] || floor=""
field() { # JSON NAME: the number of "NAME" (its "p50" if it is an object)
  printf '%s' "$1" | sed -n "s/.*\"$2\":{*\(\"p50\":\)*\([0-9.]*\).*/\2/p"
}
for ((r = 1; r <= ROUNDS; r++)); do
  # The machine's speed at the start of the round (handoff-floor): a fixed
  # computation, a system call, a loopback TCP round trip.
  if [ -n "$floor" ]; then
    f=$("$floor" 2000)
    [ "$r" = 1 ] && echo "machine floor (handoff-floor): $f"
    echo "$(field "$f" compute_step_ns) $(field "$f" syscall_ns) $(field "$f" tcp_round_trip_us)" \
      >>"$tmp/floor"
  fi
  for k in 1 64; do
    run "sse.local.$k" --url "$URL" --concurrency "$k" --connects 0
    run "sse.remote.$k" --node "$PLAIN" --server demo --concurrency "$k"
    run "sse.tls.$k" --node "$TLS" --server demo --concurrency "$k" "${TLS_ARGS[@]}"
    run "http.local.$k" --url "$HTTP_URL" --transport http --concurrency "$k" --connects 0
    run "http.remote.$k" --node "$PLAIN" --server demo_http --concurrency "$k"
    run "http.tls.$k" --node "$TLS" --server demo_http --concurrency "$k" "${TLS_ARGS[@]}"
  done
done

# median [min-max] of the numbers on stdin
stats() {
  sort -n | awk '{v[NR] = $1} END {
    if (NR == 0) { print "-"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f [%.0f-%.0f]", m, v[1], v[NR] }'
}
col() { # KEY FIELD
  [ -s "$res/$1" ] && awk -v f="$2" '{print $f}' "$res/$1"
}
diff_p50() { # KEY BASE: per-round p50 of KEY minus p50 of BASE
  [ -s "$res/$1" ] && [ -s "$res/$2" ] && paste -d' ' "$res/$1" "$res/$2" | awk '{print $2 - $5}'
}
failed_total=$(cat "$res"/* 2>/dev/null | awk '$3 != "?" {n += $3} END {print n + 0}')
echo
echo "medians over the rounds [min-max]; calls that failed: $failed_total"
printf '%-5s %-11s %-9s %-24s %s\n' transport path in_flight "calls/s" "p50 us"
for k in 1 64; do
  for t in sse http; do
    for path in local remote tls; do
      label=$path; [ $path = tls ] && label="remote TLS"
      printf '%-5s %-11s %-9s %-24s %s\n' "$t" "$label" "$k" "$(col "$t.$path.$k" 1 | stats)" \
        "$(col "$t.$path.$k" 2 | stats)"
    done
  done
done
echo
echo "what a remote call adds to the local p50 at 1 in flight, per round (target: at most 200 us)"
for t in sse http; do
  echo "  $t plain: $(diff_p50 "$t.remote.1" "$t.local.1" | stats) us   TLS: $(diff_p50 "$t.tls.1" "$t.local.1" | stats) us"
done
echo "calls/s at 64 in flight (targets: at least 30000 plain, 20000 with TLS)"
for t in sse http; do
  echo "  $t plain: $(col "$t.remote.64" 1 | stats)   TLS: $(col "$t.tls.64" 1 | stats)"
done
# Per round: how fast the machine ran, and what the remote calls reached
# beside the local ones of the same round. A slow phase shows in all of
# them at once.
if [ -s "$tmp/floor" ]; then
  echo
  echo "per round: machine speed at its start, calls/s at 64 in flight (remote/local)"
  printf '%-5s %-10s %-10s %-10s %-22s %s\n' round "step ns" "syscall ns" "tcp rt us" \
    "sse local remote" "http local remote"
  paste -d' ' "$tmp/floor" <(col sse.local.64 1) <(col sse.remote.64 1) \
    <(col http.local.64 1) <(col http.remote.64 1) |
    awk '{ printf "%-5d %-10s %-10s %-10s %-6.0f %-6.0f (%.2f)  %-6.0f %-6.0f (%.2f)\n",
             NR, $1, $2, $3, $4, $5, ($4 > 0 ? $5 / $4 : 0), $6, $7, ($6 > 0 ? $7 / $6 : 0) }'
fi
