#!/usr/bin/env bash
# Remote tool calls across CAF nodes (issue 13, docs/cluster.md): node A
# holds the demo server and publishes its registry on a loopback cluster
# port; node B has A as its peer and calls A's tools as "node-a:demo".
# Checks the PEER:SERVER names, calls through B's API, /api/nodes, the
# `node` event and caf_mcp_peer_up; then A is killed (SIGKILL) with 8 calls
# in flight: all 8 fail with node_down (the detection time is measured and
# printed), /api/nodes shows A down; A restarted on the same port: B calls
# again within the reconnect backoff cap + 1 s (measured, printed); A
# stopped (SIGSTOP): B notices within the connection timeout (measured,
# printed; CAF drops a node silent one heartbeat less than that, checked at
# its heartbeat ticks: cluster::silence_limit). Also the start-time config errors.
#
# The command line and CAF programs against A's cluster port: `caf-mcp
# tools|call --node` (exit codes as with --url), the example of
# docs/cluster.md (connect_node), and a program with another app
# identifier, which A refuses at the handshake with a clear error.
#
# usage: cluster.sh CAF_MCP_BIN FOREIGN_APP_BIN EXAMPLE_BIN. Separate
# processes, loopback only; every wait is bounded (counted polls).
set -u
BIN="$1"
FOREIGN="$2"
EXAMPLE="$3"
tmp=$(mktemp -d)
pids=()
a_pid=""
b_pid=""
cleanup() {
  local p
  kill_ours CONT "$a_pid"
  kill_ours KILL "$a_pid"
  kill_ours KILL "$b_pid"
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Settings of both nodes (docs/cluster.md).
HEARTBEAT_S=1
CONN_TIMEOUT_S=3
RECONNECT_MAX_S=1

# -- the demo server --------------------------------------------------------------
"$BIN" demo-server --host 127.0.0.1 --port 0 --port-file "$tmp/demo.port" \
  >>"$tmp/demo.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$tmp/demo.port" ] && break; sleep 0.05; done
DEMO_PORT=$(cat "$tmp/demo.port")
[ -n "$DEMO_PORT" ] || give_up "demo server did not write its port"

# -- node A: the demo server, published -----------------------------------------------
write_a() { # CLUSTER_PORT
  cat >"$tmp/a.json" <<EOF
{
  "node": { "listen": "127.0.0.1:0", "name": "node-a", "drain_timeout_s": 1 },
  "mcpServers": { "demo": { "url": "http://127.0.0.1:$DEMO_PORT/sse", "timeout": 30 } },
  "cluster": { "listen": "127.0.0.1:$1", "heartbeat_s": $HEARTBEAT_S,
               "connection_timeout_s": $CONN_TIMEOUT_S, "max_calls_per_peer": 8 }
}
EOF
}
start_a() {
  : >"$tmp/a.out"
  "$BIN" node --config "$tmp/a.json" >"$tmp/a.out" 2>>"$tmp/a.err" &
  a_pid=$!
  wait_for "$tmp/a.out" "listening on" || give_up "node A did not start: $(tail -5 "$tmp/a.err")"
  A_STARTED_MS=$(now_ms)
  A_URL=$(grep -o 'http://[^ ]*' "$tmp/a.out")
  A_CLUSTER=$(grep -o 'cluster port [0-9.]*:[0-9]*' "$tmp/a.out" | awk '{print $3}')
}
write_a 0
start_a
check_match "A prints its cluster port" '^127\.0\.0\.1:[0-9]+$' "$A_CLUSTER"
A_PORT=${A_CLUSTER##*:}
write_a "$A_PORT" # restarts bind the same port

# -- node B: A as its peer --------------------------------------------------------
cat >"$tmp/b.json" <<EOF
{
  "node": { "listen": "127.0.0.1:0", "name": "node-b" },
  "mcpServers": {},
  "cluster": { "heartbeat_s": $HEARTBEAT_S, "connection_timeout_s": $CONN_TIMEOUT_S,
               "reconnect_max_s": $RECONNECT_MAX_S,
               "peers": [ { "name": "node-a", "host": "127.0.0.1", "port": $A_PORT } ] }
}
EOF
"$BIN" node --config "$tmp/b.json" >"$tmp/b.out" 2>>"$tmp/b.err" &
b_pid=$!
wait_for "$tmp/b.out" "listening on" || give_up "node B did not start: $(tail -5 "$tmp/b.err")"
B_URL=$(grep -o 'http://[^ ]*' "$tmp/b.out")
# Last-Event-ID 0: every kept event, also those before this stream began.
(curl -sN -m 120 -H 'Last-Event-ID: 0' "${B_URL}api/events" >"$tmp/b.events" 2>/dev/null &)

# api URL METHOD PATH [BODY]: sets CODE and BODY.
api() {
  local url="$1" method="$2" path="$3" body="${4:-}"
  local out
  out=$(curl -s -m 20 -X "$method" "${url%/}$path" ${body:+-d "$body"} \
          -w '\n%{http_code}' 2>>"$tmp/curl.err")
  CODE="${out##*$'\n'}"
  BODY="${out%$'\n'*}"
  printf '%s %s %s -> %s %s\n' "$url" "$method" "$path" "$CODE" "$BODY" >>"$tmp/api.log"
}
field() { printf '%s' "$2" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }

# wait_node STATE [TRIES]: polls B's /api/nodes (0.1 s apart) until node-a
# is STATE; status 1 after TRIES polls (default 150).
wait_node() {
  local i s=""
  for ((i = 0; i < ${2:-150}; i++)); do
    api "$B_URL" GET /api/nodes
    s=$(field state "$BODY")
    [ "$s" == "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
# wait_server URL SERVER STATE: polls /api/servers/SERVER (bounded: 15 s).
wait_server() {
  local i s=""
  for ((i = 0; i < 150; i++)); do
    api "$1" GET "/api/servers/$2"
    s=$(field state "$BODY")
    [ "$s" == "$3" ] && return 0
    sleep 0.1
  done
  bad "$2 on $1 did not become $3 within 15 s (last: $s)"
  return 1
}

# -- A up on B -------------------------------------------------------------------
wait_node up || give_up "node-a never came up on B: $BODY; $(tail -5 "$tmp/b.err")"
ok
check_match "/api/nodes shows the peer" \
  '^\{"nodes":\[\{"name":"node-a","address":"127\.0\.0\.1:[0-9]+","state":"up","since":"[0-9T:.-]+Z","last_error":null,' "$BODY"
wait_server "$A_URL" demo healthy && ok
wait_server "$B_URL" node-a:demo healthy && ok
api "$B_URL" GET /api/servers
check_match "B lists A's server as node-a:demo held by node-a" \
  '"name":"node-a:demo".*"node":"node-a"' "$BODY"
api "$B_URL" GET /api/servers/node-a:demo
check_match "B shows A's tools" '"tools":\[.*"name":"echo"' "$BODY"
api "$B_URL" POST /api/servers/node-a:demo/tools/echo/call '{"text":"across nodes"}'
check "B calls echo on A" 200 "$CODE"
check_match "the result came from A's demo server" '"text":"across nodes"' "$BODY"
api "$B_URL" POST /api/servers/node-a:demo/tools/nope/call '{}'
check "an unknown remote tool is 404" 404 "$CODE"
api "$B_URL" POST /api/servers/node-z:demo/tools/echo/call '{}'
check "an unknown peer is 404" 404 "$CODE"
api "$B_URL" GET /metrics
check_match "caf_mcp_peer_up is 1" 'caf_mcp_peer_up\{peer="node-a"\} 1' "$BODY"
wait_for "$tmp/b.events" 'event: node' && ok || bad "no node event on B"
# (Last-Event-ID 0 replays the ring: the API subscribes before the peers
# start, so even a peer up at once is in it)
check_match "the node event when A came up" \
  'data: \{"name":"node-a","address":"127\.0\.0\.1:[0-9]+","state":"up","since":"[^"]+","last_error":null,"rtt_ms":' \
  "$(tr -d '\r' <"$tmp/b.events" | grep '^data: {"name":"node-a"' | tr '\n' ' ')"

# -- the command line and CAF programs on A's cluster port ---------------------------------
# run_cli NAME ARGS...: runs caf-mcp with a bound, sets RC, OUT, ERR.
run_cli() {
  local name="$1"; shift
  timeout 30 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  RC=$?
  OUT=$(cat "$tmp/$name.out")
  ERR=$(cat "$tmp/$name.err")
}
run_cli t1 "$BIN" tools --node "127.0.0.1:$A_PORT" --server demo
check "tools --node --server exits 0" 0 "$RC"
check_match "... and lists A's demo tools as tools --url does" '(^|.*'$'\n'')echo  .*slow  ' "$OUT"
run_cli t2 "$BIN" tools --node "127.0.0.1:$A_PORT" --json
check "tools --node (every server) exits 0" 0 "$RC"
check_match "... JSON: each server with its state and tools" '^\{"servers":\[\{"name":"demo","state":"healthy","tools":\[\{"name":' "$OUT"
run_cli c1 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo echo '{"text":"from the CLI"}'
check "call --node exits 0" 0 "$RC"
check "... and prints the result" "from the CLI" "$OUT"
run_cli c2 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo fail '{"message":"no"}'
check "call --node of an isError result exits 1" 1 "$RC"
run_cli c3 "$BIN" call --node "127.0.0.1:$A_PORT" --server nope echo '{}'
check "call --node with an unknown server exits 2" 2 "$RC"
check_match "... naming it" 'unknown server "nope"' "$ERR"
run_cli c4 "$BIN" call --node "127.0.0.1:$A_PORT" echo '{}'
check "call --node without --server exits 2" 2 "$RC"
run_cli c5 "$BIN" call --node "127.0.0.1:$A_PORT" --url http://127.0.0.1:1/sse --server demo echo '{}'
check "--node with --url exits 2" 2 "$RC"
run_cli c6 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo --node-cert "$tmp/none.pem" --node-key "$tmp/none.key" --node-cafile "$tmp/none.ca" echo '{}'
check "an unreadable --node-cert exits 2" 2 "$RC"
check_match "... naming it" '--node-cert .*none\.pem: No such file' "$ERR"
# A port where nothing listens (A's HTTP port is no cluster port either).
closed=$(( (A_PORT % 50000) + 10000 ))
run_cli c7 "$BIN" call --node "127.0.0.1:$closed" --server demo --connect-timeout 1 echo '{}'
check "call --node to a port without a node exits 3" 3 "$RC"
check_match "... node_down with the connect error" 'node_down: .*127\.0\.0\.1:'"$closed"'.*connect' "$ERR"
run_cli c8 "$BIN" tools --node "localhost" --server demo
check "--node without a port exits 2" 2 "$RC"
run_cli e1 "$EXAMPLE" 127.0.0.1 "$A_PORT" demo echo '{"text":"from the example"}'
check "the connect_node example exits 0" 0 "$RC"
check_match "... and got the answer" 'echo -> from the example' "$OUT"
run_cli f1 "$FOREIGN" 127.0.0.1 "$A_PORT" "caf-mcp/0-other-build"
check "a program with another app identifier is refused (exit 3)" 3 "$RC"
check_match "... with a clear error" 'node_down: .*runs another application or wire protocol.*caf-mcp/0-other-build.*refused at the handshake' "$ERR"
run_cli f2 "$FOREIGN" 127.0.0.1 "$A_PORT" "caf-mcp/2"
check "the same program with caf-mcp's identifier connects (exit 0)" 0 "$RC"

# -- SIGKILL with 8 calls in flight -----------------------------------------------------
for n in 1 2 3 4 5 6 7 8; do
  (
    out=$(curl -s -m 30 -X POST "${B_URL%/}/api/servers/node-a:demo/tools/slow/call" \
            -d '{"ms":20000}' -w '\n%{http_code}' 2>/dev/null)
    end=$(now_ms)
    printf '%s\n%s\n' "$end" "$out" >"$tmp/call.$n"
  ) &
  pids+=($!)
done
in_flight=""
for ((i = 0; i < 100; i++)); do
  api "$A_URL" GET /api/servers/demo
  in_flight=$(field in_flight "$BODY")
  [ "$in_flight" == 8 ] && break
  sleep 0.05
done
check "8 calls in flight on A" 8 "$in_flight"
# A takes at most max_calls_per_peer (8) calls in flight from one node.
api "$B_URL" POST /api/servers/node-a:demo/tools/echo/call '{"text":"ninth"}'
check "a 9th call from B is refused by A's front with 503" 503 "$CODE"
check_match "... queue_full naming the bound" '"code":"queue_full".*cluster\.max_calls_per_peer' "$BODY"
killed_ms=$(now_ms)
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
a_pid=""
for ((i = 0; i < 200; i++)); do
  done_n=0
  for n in 1 2 3 4 5 6 7 8; do [ -s "$tmp/call.$n" ] && done_n=$((done_n + 1)); done
  [ "$done_n" == 8 ] && break
  sleep 0.05
done
check "all 8 calls answered" 8 "$done_n"
worst=0
best=999999
node_down=0
for n in 1 2 3 4 5 6 7 8; do
  [ -s "$tmp/call.$n" ] || continue
  end=$(head -1 "$tmp/call.$n")
  code=$(tail -1 "$tmp/call.$n")
  [ "$code" == 503 ] && grep -q '"code":"node_down"' "$tmp/call.$n" && node_down=$((node_down + 1))
  d=$((end - killed_ms))
  [ "$d" -gt "$worst" ] && worst=$d
  [ "$d" -lt "$best" ] && best=$d
done
check "all 8 failed with 503 node_down" 8 "$node_down"
echo "SIGKILL: the 8 calls in flight failed with node_down $best to $worst ms after the kill (measured at each curl's end, as the API client sees it: process start-up and exit of the shell tools included)"
if [ "$worst" -le 1000 ]; then ok; else bad "node_down took $worst ms (bound 1000 ms)"; fi
wait_node down 20 && ok || bad "B's /api/nodes does not show node-a down: $BODY"
# B's own clock: "since" is when its peer actor saw the loss and failed the
# pending calls (in the same step), in ms since the epoch like killed_ms.
since=$(field since "$BODY" | sed 's/^\(....-..-..\)T/\1 /; s/Z$//')
since_ms=$(date -u -d "$since" +%s%3N 2>/dev/null)
if [ -n "$since_ms" ]; then
  echo "SIGKILL: B's peer actor saw node-a down and failed its calls $((since_ms - killed_ms)) ms after the kill (B's /api/nodes since)"
  if [ $((since_ms - killed_ms)) -le 100 ]; then ok; else bad "B saw the loss only $((since_ms - killed_ms)) ms after the kill (bound 100 ms)"; fi
else
  bad "no since time in /api/nodes: $BODY"
fi
# The loss, or (once B has tried again) the refused reconnect.
check_match "last_error says why" '"last_error":"(connection lost: exit_reason\(remote_link_unreachable\)|connect to 127\.0\.0\.1:[0-9]+: .*cannot_connect_to_node)' "$BODY"
api "$B_URL" POST /api/servers/node-a:demo/tools/echo/call '{"text":"x"}'
check "a call while A is down fails at once with 503" 503 "$CODE"
check_match "... with node_down" '"code":"node_down"' "$BODY"
api "$B_URL" GET /api/servers/node-a:demo
check "A's server shows down on B" down "$(field state "$BODY")"
api "$B_URL" GET /metrics
check_match "caf_mcp_peer_up is 0" 'caf_mcp_peer_up\{peer="node-a"\} 0' "$BODY"
wait_for "$tmp/b.events" '"state":"down"' && ok || bad "no node event (down) on B"

# -- A restarted on the same port ----------------------------------------------------------
sleep 1.5 # let B's backoff grow past its first steps (the bound is the cap)
start_a
check "A binds the same cluster port again" "127.0.0.1:$A_PORT" "$A_CLUSTER"
back_ms=""
for ((i = 0; i < 200; i++)); do
  api "$B_URL" POST /api/servers/node-a:demo/tools/echo/call '{"text":"again"}'
  if [ "$CODE" == 200 ]; then back_ms=$(($(now_ms) - A_STARTED_MS)); break; fi
  sleep 0.02
done
if [ -n "$back_ms" ]; then
  echo "restart: B called A again $back_ms ms after A was listening (bound: reconnect_max_s $RECONNECT_MAX_S s + 1 s)"
  if [ "$back_ms" -le $(((RECONNECT_MAX_S + 1) * 1000)) ]; then ok; else bad "B called again only after $back_ms ms"; fi
else
  bad "B never called A again after the restart (last: $CODE $BODY)"
fi
wait_node up 20 && ok || bad "node-a not up again on B: $BODY"

# -- a retryable call across a restart runs once more, a plain one never -------------
wait_server "$A_URL" demo healthy && ok
for kind in retryable plain; do
  q=""
  [ "$kind" == retryable ] && q="?retryable=true"
  (
    out=$(curl -s -m 30 -X POST "${B_URL%/}/api/servers/node-a:demo/tools/slow/call$q" \
            -d '{"ms":1500}' -w '\n%{http_code}' 2>/dev/null)
    printf '%s\n' "$out" >"$tmp/rcall.$kind"
  ) &
  pids+=($!)
done
in_flight=""
for ((i = 0; i < 100; i++)); do
  api "$A_URL" GET /api/servers/demo
  in_flight=$(field in_flight "$BODY")
  [ "$in_flight" == 2 ] && break
  sleep 0.05
done
check "2 calls in flight on A before the second kill" 2 "$in_flight"
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
start_a
for ((i = 0; i < 300; i++)); do
  [ -s "$tmp/rcall.retryable" ] && [ -s "$tmp/rcall.plain" ] && break
  sleep 0.05
done
check "the plain call failed with 503" 503 "$(tail -1 "$tmp/rcall.plain" 2>/dev/null)"
check_match "... node_down" '"code":"node_down"' "$(cat "$tmp/rcall.plain" 2>/dev/null)"
check "the retryable call was sent once more and answered" 200 "$(tail -1 "$tmp/rcall.retryable" 2>/dev/null)"
check_match "... by the restarted A's demo server" '"text":"slept 1500 ms"' "$(cat "$tmp/rcall.retryable" 2>/dev/null)"
api "$A_URL" POST /api/servers/demo/tools/echo/call?retryable=maybe '{"text":"x"}'
check "retryable other than true/false is 400" 400 "$CODE"
wait_node up 30 && ok || bad "node-a not up after the second restart: $BODY"

# -- SIGSTOP: a hung node ----------------------------------------------------------------
stopped_ms=$(now_ms)
kill -STOP "$a_pid"
if wait_node down $(((CONN_TIMEOUT_S + HEARTBEAT_S + 3) * 10)); then
  since=$(field since "$BODY" | sed 's/^\(....-..-..\)T/\1 /; s/Z$//')
  d=$(($(date -u -d "$since" +%s%3N) - stopped_ms))
  echo "SIGSTOP: B saw node-a down $d ms after the stop (B's /api/nodes since; connection_timeout_s $CONN_TIMEOUT_S, heartbeat_s $HEARTBEAT_S)"
  # Within the connection timeout; 250 ms for the tick's own lateness on a
  # busy machine and B's handling of the loss. No earlier than two
  # heartbeats before it (the silence limit less the one interval A's last
  # heartbeat may predate the stop): an early "down" would be a healthy
  # node dropped.
  if [ "$d" -le $((CONN_TIMEOUT_S * 1000 + 250)) ] &&
     [ "$d" -ge $(((CONN_TIMEOUT_S - 2 * HEARTBEAT_S) * 1000)) ]; then ok
  else bad "SIGSTOP detected after $d ms (want $(((CONN_TIMEOUT_S - 2 * HEARTBEAT_S) * 1000)) to $((CONN_TIMEOUT_S * 1000 + 250)))"; fi
else
  bad "B never noticed the stopped node"
fi
kill -CONT "$a_pid"

# -- config errors at start --------------------------------------------------------------------
cat >"$tmp/bad1.json" <<EOF
{ "cluster": { "listen": "0.0.0.0:4999" } }
EOF
"$BIN" node --config "$tmp/bad1.json" >/dev/null 2>"$tmp/bad1.err"
check "a non-loopback cluster port without tls exits 2" 2 "$?"
check_match "... naming cluster.listen" '"cluster.listen": a cluster port on a non-loopback address needs "tls"' "$(cat "$tmp/bad1.err")"
: >"$tmp/cert.pem"
cat >"$tmp/bad2.json" <<EOF
{ "cluster": { "listen": "127.0.0.1:0", "tls": { "certificate": "cert.pem", "key": "missing.key" } } }
EOF
"$BIN" node --config "$tmp/bad2.json" >/dev/null 2>"$tmp/bad2.err"
check "an unreadable tls file exits 2" 2 "$?"
check_match "... naming cluster.tls.key" '"cluster.tls.key": cannot read .*missing\.key' "$(cat "$tmp/bad2.err")"

if [ "$fail" -gt 0 ]; then
  echo "--- B stderr"; tail -20 "$tmp/b.err"
  echo "--- A stderr"; tail -20 "$tmp/a.err"
  echo "--- api log"; tail -30 "$tmp/api.log"
fi
summary
