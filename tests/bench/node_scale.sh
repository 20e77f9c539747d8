#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): a node holding N configured
# servers, all pointing at one demo server. Prints the node's RSS with no
# servers and with N (per server), its CPU use while idle between health
# pings, and how long /metrics and /api/servers take.
#
# usage: node_scale.sh CAF_MCP_BIN [N=1000] [IDLE_S=30] [NODE ARGS...]
set -u
BIN="$1"
N="${2:-1000}"
IDLE_S="${3:-30}"
shift 3 2>/dev/null || shift $#
NODE_ARGS=("$@")
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

"$BIN" demo-server --host 127.0.0.1 --port 0 --port-file "$tmp/demo.port" \
  >"$tmp/demo.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$tmp/demo.port" ] && break; sleep 0.05; done
DEMO="http://127.0.0.1:$(cat "$tmp/demo.port")/sse"

# start_node CONFIG: sets NODE_PID and URL.
start_node() {
  "$BIN" node --config "$1" "${NODE_ARGS[@]}" >"$tmp/node.out" 2>"$tmp/node.err" &
  NODE_PID=$!
  pids+=("$NODE_PID")
  for ((i = 0; i < 200; i++)); do grep -q listening "$tmp/node.out" && break; sleep 0.05; done
  grep -q listening "$tmp/node.out" || { echo "node did not start: $(cat "$tmp/node.err")"; exit 1; }
  URL=$(grep -o 'http://[^ ]*' "$tmp/node.out")
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '{"node":{"listen":"127.0.0.1:0"},"mcpServers":{}}' >"$tmp/empty.json"
start_node "$tmp/empty.json"
sleep 2   # the schedule: let the empty node settle before reading its RSS
rss0=$(rss_kib "$NODE_PID")
kill -TERM "$NODE_PID"; wait "$NODE_PID" 2>/dev/null

{
  printf '{"node":{"listen":"127.0.0.1:0"},"mcpServers":{'
  for ((i = 0; i < N; i++)); do
    [ "$i" -gt 0 ] && printf ','
    printf '"s%04d":{"url":"%s"}' "$i" "$DEMO"
  done
  printf '}}'
} >"$tmp/many.json"
t0=$(date +%s.%N)
start_node "$tmp/many.json"
ready=""
for ((i = 0; i < 1200; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${URL}readyz")
  [ "$code" == 200 ] && { ready=1; break; }
  sleep 0.1
done
t1=$(date +%s.%N)
[ -n "$ready" ] || echo "not all $N servers ready after 120 s"
sleep 2   # the schedule: the first tool listings settle
rss1=$(rss_kib "$NODE_PID")
c0=$(cpu_ticks "$NODE_PID")
sleep "$IDLE_S"   # the measurement window: idle with health pings
c1=$(cpu_ticks "$NODE_PID")
hz=$(getconf CLK_TCK)
metrics_s=$(curl -s -o "$tmp/metrics" -w '%{time_total}' "${URL}metrics")
servers_s=$(curl -s -o "$tmp/servers" -w '%{time_total}' "${URL}api/servers")
metrics_s2=$(curl -s -o /dev/null -w '%{time_total}' "${URL}metrics")
servers_s2=$(curl -s -o /dev/null -w '%{time_total}' "${URL}api/servers")
awk -v n="$N" -v r0="$rss0" -v r1="$rss1" -v c="$((c1 - c0))" -v hz="$hz" \
    -v idle="$IDLE_S" -v t0="$t0" -v t1="$t1" -v m="$metrics_s" -v s="$servers_s" \
    -v m2="$metrics_s2" -v s2="$servers_s2" -v mb="$(wc -c <"$tmp/metrics")" \
    -v sb="$(wc -c <"$tmp/servers")" 'BEGIN {
  printf "servers            %d (all on one demo server)\n", n
  printf "all ready after    %.1f s\n", t1 - t0
  printf "rss empty node     %d KiB\n", r0
  printf "rss with servers   %d KiB (%.1f KiB per server)\n", r1, (r1 - r0) / n
  printf "idle cpu           %.2f %% of one core over %d s (health pings every 15 s)\n", 100 * c / hz / idle, idle
  printf "GET /metrics       %.1f ms, then %.1f ms (%d bytes)\n", m * 1000, m2 * 1000, mb
  printf "GET /api/servers   %.1f ms, then %.1f ms (%d bytes)\n", s * 1000, s2 * 1000, sb
}'
kill -TERM "$NODE_PID"; wait "$NODE_PID" 2>/dev/null
