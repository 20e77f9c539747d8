#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus`) scrapes the node: started on a
# free loopback port with a temporary config and storage dir, it must report
# the node's target up and answer a query for caf_mcp_server_up{server="demo"}
# with 1 through its HTTP API. The node needs a token here, so the scrape
# also proves bearer auth on /metrics (Prometheus sends it from a file).
#
# usage: prometheus.sh CAF_MCP_BIN. Every wait is bounded (counted polls);
# loopback only.
set -u
BIN="$1"
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

command -v prometheus >/dev/null || give_up "prometheus is not installed (deploy/packages.txt lists it; ./deploy/test installs it)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

"$BIN" demo-server --host 127.0.0.1 --port 0 --port-file "$tmp/demo.port" \
  >"$tmp/demo.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$tmp/demo.port" ] && break; sleep 0.05; done
[ -s "$tmp/demo.port" ] || give_up "demo server did not start"

printf 'prom-T0KEN' >"$tmp/token"
cat >"$tmp/node.json" <<EOF
{
  "node": { "listen": "127.0.0.1:0", "token": "prom-T0KEN" },
  "mcpServers": { "demo": { "url": "http://127.0.0.1:$(cat "$tmp/demo.port")/sse" } }
}
EOF
"$BIN" node --config "$tmp/node.json" >"$tmp/node.out" 2>"$tmp/node.err" &
pids+=($!)
wait_for "$tmp/node.out" "listening on" || give_up "node did not start: $(cat "$tmp/node.err")"
node_addr=$(grep -o 'http://[^ ]*' "$tmp/node.out" | sed 's|http://||; s|/$||')

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: caf_mcp_node
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: $tmp/token
    static_configs:
      - targets: ["$node_addr"]
EOF
# A port found free may be taken by a test running beside this one before
# Prometheus binds it: then Prometheus exits, and we try another (3 times).
for ((attempt = 0; attempt < 3; attempt++)); do
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prom.log" 2>&1 &
  prom_pid=$!
  pids+=($prom_pid)
  for ((i = 0; i < 300; i++)); do
    grep -q 'Server is ready to receive web requests' "$tmp/prom.log" && break
    kill -0 "$prom_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'Server is ready to receive web requests' "$tmp/prom.log" && break
  grep -qi 'address already in use' "$tmp/prom.log" \
    || give_up "Prometheus did not start: $(tail -3 "$tmp/prom.log")"
  kill_ours KILL "$prom_pid"
  wait "$prom_pid" 2>/dev/null
  prom_port=$(free_port)
done
grep -q 'Server is ready to receive web requests' "$tmp/prom.log" \
  || give_up "Prometheus found no free port in 3 tries: $(tail -1 "$tmp/prom.log")"
PROM="http://127.0.0.1:$prom_port"

# The target is scraped and healthy (bounded: 30 s).
health=""
for ((i = 0; i < 300; i++)); do
  health=$(curl -s -m 2 "$PROM/api/v1/targets" | grep -o '"health":"[a-z]*"' | head -1)
  [ "$health" == '"health":"up"' ] && break
  sleep 0.1
done
check "Prometheus scrapes the node" '"health":"up"' "$health"

# The query answers caf_mcp_server_up{server="demo"} = 1 (bounded: 30 s).
answer=""
for ((i = 0; i < 300; i++)); do
  answer=$(curl -s -m 2 "$PROM/api/v1/query" \
             --data-urlencode 'query=caf_mcp_server_up{server="demo"}')
  [[ "$answer" == *'"value":['*',"1"]'* ]] && break
  sleep 0.1
done
check_match "caf_mcp_server_up{server=\"demo\"} is 1 in Prometheus" \
  '"__name__":"caf_mcp_server_up".*"server":"demo".*"value":\[[0-9.]+,"1"\]' "$answer"

# The histogram and process metrics arrived too.
answer=$(curl -s -m 2 "$PROM/api/v1/query" \
           --data-urlencode 'query=count(process_resident_memory_bytes)')
check_match "process_resident_memory_bytes scraped" '"value":\[[0-9.]+,"1"\]' "$answer"
if grep -i 'scrape' "$tmp/prom.log" | grep -qi 'err'; then
  bad "Prometheus logged scrape errors: $(grep -i error "$tmp/prom.log" | head -3)"
else
  ok
fi
summary
