#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): the memory a node keeps for a
# big tool list. For each N it starts a demo server with N extra tools
# (demo-server --extra-tools N) and a node holding it, waits until the node
# reports N+4 tools, and prints the node's resident memory then and 2 s
# later, and its peak.
#
# usage: node_tool_memory.sh CAF_MCP_BIN [N...]   (default N: 0 10000 100000)
set -u
BIN="$1"
shift
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(0 10000 100000)
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh" # wait_for
kib() { awk -v k="$2" '$1 == k ":" {print $2}' "/proc/$1/status"; }
for n in "${counts[@]}"; do
  rm -f "$tmp/port" "$tmp/node.out"
  "$BIN" demo-server --port 0 --port-file "$tmp/port" --extra-tools "$n" \
    >/dev/null 2>&1 &
  srv=$!
  pids+=("$srv")
  wait_for "$tmp/port" "" || { echo "demo server did not start"; exit 1; }
  cat >"$tmp/node.json" <<J
{"node":{"listen":"127.0.0.1:0"},"mcpServers":{"big":{"url":"http://127.0.0.1:$(cat "$tmp/port")/sse","max_tools":10000000,"max_tools_bytes":4294967296}}}
J
  "$BIN" node --config "$tmp/node.json" >"$tmp/node.out" 2>&1 &
  node=$!
  pids+=("$node")
  wait_for "$tmp/node.out" "listening on" || { echo "node did not start"; exit 1; }
  api=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/node.out" | head -1)
  want=$((n + 4))
  got=""
  for ((i = 0; i < 600; i++)); do
    got=$(curl -s "$api/api/servers" | grep -o '"tool_count":[0-9]*' | cut -d: -f2)
    [ "$got" = "$want" ] && break
    sleep 0.1
  done
  listed=$(kib "$node" VmRSS)
  # Resident once the listing's transient copies are gone (the client and
  # the pool free theirs after the registry has the list): a benchmark's
  # settling time, not a condition.
  sleep 2
  echo "{\"tools\":$got,\"rss_at_listed_kib\":$listed,\"rss_kib\":$(kib "$node" VmRSS),\"peak_kib\":$(kib "$node" VmHWM)}"
  kill "$node" "$srv" 2>/dev/null
  wait "$node" "$srv" 2>/dev/null
done
