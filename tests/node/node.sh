#!/usr/bin/env bash
# The node over real sockets (issue 11): a node holding the demo server,
# server-everything and a misbehaving SDK server (post-503) from one config.
# Checks /api/servers states, calls through the API on each server, every
# error status, events (a state change, a log notification, a call),
# Last-Event-ID resumption, a killed-and-restarted server going down and
# healthy again, SIGHUP adding/removing/changing servers (unchanged ones keep
# their sessions), SIGTERM with calls in flight (answered, exit 0), auth on
# and off, a rejected reload, and that no secret reaches any output.
#
# usage: node.sh CAF_MCP_BIN PEERS_STATE_DIR. Every wait is bounded (counted
# polls); loopback only.
set -u
BIN="$1"
STATE="$2"
tmp=$(mktemp -d)
pids=()
node_pid=""
cleanup() {
  local p
  kill_ours KILL "$node_pid"
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

EVERYTHING=$(cat "$STATE/everything.url") || give_up "no everything peer"
POST503=$(cat "$STATE/post-503.url") || give_up "no post-503 peer"
SHTTP=$(cat "$STATE/shttp-stateful.url") || give_up "no shttp-stateful peer"
MODERN=$(cat "$STATE/ts2-modern.url") || give_up "no ts2-modern peer"

# -- the demo server (restartable on its port) ------------------------------
start_demo() { # PORT
  rm -f "$tmp/demo.port"
  "$BIN" demo-server --host 127.0.0.1 --port "$1" --faults \
    --port-file "$tmp/demo.port" >>"$tmp/demo.log" 2>&1 &
  demo_pid=$!
  pids+=("$demo_pid")
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$tmp/demo.port" ] && break
    sleep 0.05
  done
  [ -s "$tmp/demo.port" ] || give_up "demo server did not start"
  DEMO_PORT=$(cat "$tmp/demo.port")
}
start_demo 0

# -- the config ------------------------------------------------------------------
export NODE_TEST_SECRET=S3CRET-Q
export NODE_TEST_HEADER=S3CRET-H
write_config() { # extra servers JSON, token
  local token_line=""
  [ -n "$2" ] && token_line="\"token\": \"$2\","
  cat >"$tmp/node.json" <<EOF
{
  // the node under test
  "node": { "listen": "127.0.0.1:0", "name": "node-t", "drain_timeout_s": 5,
            $token_line },
  "mcpServers": {
    "demo": { "url": "http://127.0.0.1:$DEMO_PORT/sse?token=\${NODE_TEST_SECRET}",
              "headers": { "X-Secret": "\${env:NODE_TEST_HEADER}" },
              "desc": "the demo server", "timeout": 10 },
    "everything": { "serverUrl": "$EVERYTHING", "type": "sse",
                    "middlewares": [ { "type": "cache", "tools": ["echo"] } ] },
    "broken": { "sse_url": "$POST503", "timeout": 3 },
    "off": { "url": "http://127.0.0.1:9/sse", "disabled": true },
    "shttp": { "url": "$SHTTP", "type": "streamableHttp" },
    "shttp-auto": { "url": "$SHTTP" },
    "modern": { "url": "$MODERN", "type": "http" },
    "flaky": { "url": "http://127.0.0.1:$DEMO_PORT/sse", "timeout": 10,
               "middlewares": [ { "type": "logging" }, { "type": "metrics" },
                                { "type": "retry", "max_attempts": 3, "base_s": 0.05,
                                  "max_s": 0.2, "max_wait_s": 5 } ] },
    $1
  },
}
EOF
}

start_node() {
  : >"$tmp/node.out"
  "$BIN" node --config "$tmp/node.json" >"$tmp/node.out" 2>>"$tmp/node.err" &
  node_pid=$!
  wait_for "$tmp/node.out" "listening on" || give_up "node did not start: $(cat "$tmp/node.err")"
  URL=$(grep -o 'http://[^ ]*' "$tmp/node.out")
}

# api METHOD PATH [BODY] [CURL ARGS...]: sets CODE and BODY.
api() {
  local method="$1" path="$2" body="${3:-}"
  shift 3 2>/dev/null || shift $#
  local out
  out=$(curl -s -m 20 -X "$method" "${URL%/}$path" ${body:+-d "$body"} \
          -w '\n%{http_code}' "$@" 2>>"$tmp/curl.err")
  CODE="${out##*$'\n'}"
  BODY="${out%$'\n'*}"
  printf '%s %s -> %s %s\n' "$method" "$path" "$CODE" "$BODY" >>"$tmp/api.log"
}

# field NAME JSON: the first "NAME":VALUE of JSON (strings without quotes).
field() { printf '%s' "$2" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }

# server_field SERVER NAME: a field of one server from /api/servers/SERVER.
server_field() {
  api GET "/api/servers/$1" "" ${AUTH:+-H "$AUTH"}
  field "$2" "$BODY"
}

# wait_state SERVER STATE: polls /api/servers/SERVER (bounded: 15 s).
wait_state() {
  local i s=""
  for ((i = 0; i < 150; i++)); do
    s=$(server_field "$1" state)
    [ "$s" == "$2" ] && return 0
    sleep 0.1
  done
  bad "$1 did not become $2 within 15 s (last: $s)"
  return 1
}

write_config "" ""
start_node
check_match "the node prints its URL" '^http://127\.0\.0\.1:[0-9]+/$' "$URL"
(curl -sN -m 120 "${URL}api/events" >"$tmp/events" 2>/dev/null &)

# -- states -------------------------------------------------------------------------
wait_state demo healthy && ok
wait_state everything healthy && ok
wait_state flaky healthy && ok
api GET /api/servers
check "GET /api/servers is 200" 200 "$CODE"
check_match "servers sorted by name" '"name":"broken".*"name":"demo".*"name":"everything".*"name":"off"' "$BODY"
check_match "the disabled server is down and disabled" '"name":"off"[^}]*"state":"down"[^}]*"phase":"closed"' "$BODY"
check_match "the URL is redacted" 'token=REDACTED' "$BODY"
check "demo's tool count (with --faults: record and record_idempotent too)" 6 "$(server_field demo tool_count)"
# -- SSE and Streamable HTTP servers in one config (type, auto-detection) -----------
wait_state shttp healthy && ok
wait_state shttp-auto healthy && ok
check "a server of type streamableHttp shows its transport" streamable-http "$(server_field shttp transport)"
check "auto-detection found Streamable HTTP (SDK 1.x server)" streamable-http "$(server_field shttp-auto transport)"
check "auto-detection found SSE on the demo server" sse "$(server_field demo transport)"
check "a server of type sse shows sse" sse "$(server_field everything transport)"
api POST /api/servers/shttp/tools/echo/call '{"message":"over streamable http"}'
check "a call over Streamable HTTP through the node is 200" 200 "$CODE"
check_match "... with the SDK server's answer" 'Echo: over streamable http' "$BODY"
api POST /api/servers/shttp-auto/tools/echo/call '{"message":"auto"}'
check "a call to the auto-detected server is 200" 200 "$CODE"
# a stateless MCP 2026-07-28 server (the TypeScript SDK 2.x, modern only)
# in the same config: discovered, not initialized
wait_state modern healthy && ok
check "a 2026-07-28 server shows streamable-http" streamable-http "$(server_field modern transport)"
api POST /api/servers/modern/tools/regional/call '{"region":"eu-north"}'
check "a call to the 2026-07-28 server is 200" 200 "$CODE"
check_match "... with the x-mcp-header mirrored (the server saw Mcp-Param-Region)" 'region=eu-north header=eu-north' "$BODY"
api GET /metrics
check_match "caf_mcp_server_info labels each server's transport" 'caf_mcp_server_info\{server="shttp",transport="streamable-http"\} 1' "$BODY"
check_match "... sse for the demo server" 'caf_mcp_server_info\{server="demo",transport="sse"\} 1' "$BODY"
api GET /api/servers/everything
check_match "everything lists its tools with schemas" '"tools":\[\{"name":"[^"]*".*"inputSchema"' "$BODY"
api GET /healthz
check "healthz" '200 {"status":"ok"}' "$CODE $BODY"
api GET /readyz
check "readyz is 503 while the POST-503 server is not ready" 503 "$CODE"
check_match "readyz names it" '"not_ready":\["broken"\]' "$BODY"

# -- calls on each server ------------------------------------------------------------
api POST /api/servers/demo/tools/echo/call '{"text":"hello node"}'
check "echo on demo" 200 "$CODE"
check_match "echo's result" '"text":"hello node"' "$BODY"
api POST /api/servers/demo/tools/fail/call '{}'
check "an isError result is 200" 200 "$CODE"
check_match "isError is in the result" '"isError":true' "$BODY"
api POST /api/servers/everything/tools/echo/call '{"message":"from the node"}'
check "echo on everything" 200 "$CODE"
check_match "everything's echo" 'from the node' "$BODY"
# The cache middleware from the config: the same arguments (other spacing
# and key order do not matter) are answered from the cache.
api POST /api/servers/everything/tools/echo/call '{ "message" : "from the node" }'
check "echo again" 200 "$CODE"
check_match "echo again answers the same" 'from the node' "$BODY"
api GET /metrics
check_match "the cache answered the second echo" 'caf_mcp_cache_hits_total\{server="everything"\} 1[^0-9.]' "$BODY"
check_match "after one miss" 'caf_mcp_cache_misses_total\{server="everything"\} 1[^0-9.]' "$BODY"
check_match "a server without a cache counts nothing" 'caf_mcp_cache_hits_total\{server="demo"\} 0[^0-9.]' "$BODY"
# The retry middleware from the config (server "flaky", the demo server
# again). A 503 whose Retry-After (1 s) is beyond the call's deadline
# (0.5 s): the supervisor gives it back, retry waits it out and sends it
# again; the server ran it once. The answer's Caf-Mcp-Meta header says so.
fault() { curl -s -m 5 -X POST "http://127.0.0.1:$DEMO_PORT/_fault" -d "$1" >/dev/null; }
records() { # KEY: how often the demo server ran record with KEY
  curl -s -m 5 "http://127.0.0.1:$DEMO_PORT/_stats?records=1" \
    | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2
}
fault '{"fault":"post_503","retry_after":1,"calls_only":true}'
rkey="node-retry-$$"
out=$(curl -s -m 20 -D "$tmp/retry.hdr" -X POST \
        "${URL}api/servers/flaky/tools/record/call?timeout=0.5" -d "{\"key\":\"$rkey\"}")
check_match "retry: the refused call answered after one more try" "\"text\":\"$rkey\"" "$out"
check_match "retry: Caf-Mcp-Meta names the attempts" '^Caf-Mcp-Meta: .*retry\.attempts=2$' "$(tr -d '\r' <"$tmp/retry.hdr" | grep -i '^Caf-Mcp-Meta:')"
check "retry: the server ran it once" 1 "$(records "$rkey")"
# A lost response of a plain tool is never sent again; of an idempotent
# one it is.
fault '{"fault":"drop_stream"}'
api POST /api/servers/flaky/tools/record/call "{\"key\":\"$rkey-lost\"}"
check "retry: a lost response of record is 502" 502 "$CODE"
check_match "retry: its code" '"code":"connection_lost"' "$BODY"
check "retry: record ran once" 1 "$(records "$rkey-lost")"
wait_state flaky healthy && ok
fault '{"fault":"drop_stream"}'
api POST /api/servers/flaky/tools/record_idempotent/call "{\"key\":\"$rkey-idem\"}"
check "retry: record_idempotent answered after a lost response" 200 "$CODE"
check "retry: record_idempotent ran twice (allowed)" 2 "$(records "$rkey-idem")"
api GET /metrics
check_match "flaky's calls counted by its metrics middleware" \
  'caf_mcp_tool_calls_total\{server="flaky",tool="record",outcome="connection_lost"\} 1[^0-9]' "$BODY"
check_match "flaky's ok calls" \
  'caf_mcp_tool_calls_total\{server="flaky",tool="record",outcome="ok"\} 1[^0-9]' "$BODY"
wait_for "$tmp/events" '"retry.attempts":"2"' || bad "no call event with retry.attempts"
check_match "the call event carries the meta" '"server":"flaky","tool":"record","outcome":"ok","duration_ms":[0-9.]*,"meta":\{[^}]*"retry.attempts":"2"' "$(cat "$tmp/events")"
api POST "/api/servers/everything/tools/toggle-simulated-logging/call" '{}'
check "toggle-simulated-logging on everything" 200 "$CODE"
api POST /api/servers/broken/tools/x/call '{}' 
check "a call to the POST-503 server is 503" 503 "$CODE"
check_match "its code is an mcp_errc name" '"code":"(service_unavailable|queue_timeout|gave_up|closed)"' "$BODY"
api POST /api/servers/demo/tools/slow/call '{"ms":100}' -H 'Content-Type: application/json'
check "slow 100 ms" 200 "$CODE"

# -- every error status ------------------------------------------------------------------
api POST /api/servers/nope/tools/echo/call '{}'
check "unknown server is 404" 404 "$CODE"
check "unknown server: invalid_argument" invalid_argument "$(field code "$BODY")"
api POST /api/servers/demo/tools/nope/call '{}'
check "unknown tool is 404" 404 "$CODE"
api GET /api/servers/nope
check "GET unknown server is 404" 404 "$CODE"
api POST /api/servers/demo/tools/echo/call '[1,2]'
check "arguments not an object: 400" 400 "$CODE"
api POST /api/servers/demo/tools/echo/call '{"text":'
check "arguments not JSON: 400" 400 "$CODE"
api POST '/api/servers/demo/tools/echo/call?timeout=abc' '{"text":"x"}'
check "a bad timeout: 400" 400 "$CODE"
api POST '/api/servers/demo/tools/slow/call?timeout=0.3' '{"ms":5000}'
check "a call past its timeout: 504" 504 "$CODE"
check "the timeout code" timeout "$(field code "$BODY")"
api GET /api/servers/demo/tools/echo/call
check "GET on a call path: 405" 405 "$CODE"
api GET /nothing/here
check "an unknown path: 404" 404 "$CODE"
api POST /api/servers/demo/tools/echo/call '{"text":"x"}' -H 'Origin: http://evil.example'
check "a POST from another origin: 403" 403 "$CODE"
api GET /api/servers "" -H 'Host: rebind.attacker.example:8080'
check "a rebound Host name without a token: 403" 403 "$CODE"
api POST /api/servers/demo/tools/echo/call '{"text":"x"}' -H "Origin: ${URL%/}"
check "a POST from the node's own origin: 200" 200 "$CODE"
# An upstream failure: the demo server drops the next POST (outcome unknown).
curl -s -m 5 -X POST "http://127.0.0.1:$DEMO_PORT/_fault" -d '{"fault":"post_drop"}' >/dev/null
api POST /api/servers/demo/tools/echo/call '{"text":"dropped"}'
check "an upstream failure: 502" 502 "$CODE"
check "its code" outcome_unknown "$(field code "$BODY")"

# -- progress events -------------------------------------------------------------------
api POST '/api/servers/demo/tools/slow/call?progress=p-1' '{"ms":350}'
check "slow with progress" 200 "$CODE"
api POST '/api/servers/demo/tools/slow/call?progress=bad%20id' '{"ms":1}'
check "a bad progress id: 400" 400 "$CODE"

# -- kill and restart a server -------------------------------------------------------------
kill -KILL "$demo_pid"
wait "$demo_pid" 2>/dev/null
wait_state demo down && ok
api POST '/api/servers/demo/tools/echo/call?timeout=0.5' '{"text":"x"}'
check "a call while the server is down: 503" 503 "$CODE"
start_demo "$DEMO_PORT"
wait_state demo healthy && ok
rc_before=$(server_field demo reconnects)
check_match "the restart counts as a reconnect" '^[1-9][0-9]*$' "$rc_before"

# -- events --------------------------------------------------------------------------------
wait_for "$tmp/events" '"level"' || bad "no log event from everything"
grep -q '^event: log$' "$tmp/events" && ok || bad "no 'event: log'"
grep -q '"state":"down"' "$tmp/events" && ok || bad "no server event with state down"
grep -q '^event: call$' "$tmp/events" && ok || bad "no call event"
grep -q '"call":"p-1"' "$tmp/events" && ok || bad "no progress event for p-1"
first_id=$(grep -m1 '^id: ' "$tmp/events" | cut -d' ' -f2)
curl -sN -m 2 -H "Last-Event-ID: $first_id" "${URL}api/events" >"$tmp/resumed" 2>/dev/null
second_id=$(grep -m1 '^id: ' "$tmp/resumed" | cut -d' ' -f2)
check "Last-Event-ID resumes after the given id" "$((first_id + 1))" "$second_id"

# -- metrics ---------------------------------------------------------------------------------
api GET /metrics
check "metrics: 200" 200 "$CODE"
printf '%s\n' "$BODY" >"$tmp/metrics.txt"
for m in caf_mcp_server_up caf_mcp_server_state caf_mcp_tool_calls_total \
         caf_mcp_tool_call_duration_seconds_bucket caf_mcp_reconnects_total \
         caf_mcp_in_flight caf_mcp_tools caf_mcp_ping_rtt_seconds \
         caf_mcp_notifications_total caf_mcp_cache_hits_total \
         caf_mcp_session_messages_total \
         process_resident_memory_bytes process_cpu_seconds_total process_open_fds; do
  grep -q "^$m" "$tmp/metrics.txt" && ok || bad "metric $m missing"
done
check_match "calls counted by outcome" 'caf_mcp_tool_calls_total\{server="demo",tool="echo",outcome="ok"\} [1-9]' "$BODY"
check_match "the upstream failure counted" 'outcome="outcome_unknown"\} 1' "$BODY"
check_match "the sessions' requests counted" \
  'caf_mcp_session_messages_total\{server="demo",kind="requests_sent"\} [1-9]' "$BODY"
check_match "and their responses" \
  'caf_mcp_session_messages_total\{server="demo",kind="responses"\} [1-9]' "$BODY"
if command -v promtool >/dev/null; then
  if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1; then ok; else
    bad "promtool check metrics: $(cat "$tmp/promtool.out")"
  fi
else
  bad "promtool is not installed (deploy/packages.txt lists prometheus)"
fi

# -- SIGHUP: add, remove, change; unchanged keep their sessions --------------------------------
since_before=$(server_field everything connected_since)
rc_every=$(server_field everything reconnects)
write_config '"demo2": { "url": "http://127.0.0.1:'"$DEMO_PORT"'/sse" }' ""
sed -i 's/"the demo server"/"the changed demo server"/; /"broken"/d' "$tmp/node.json"
kill -HUP "$node_pid"
wait_for "$tmp/node.err" "reloaded:" || bad "no reload line"
check_match "the reload line names the diff" 'added demo2; removed broken; changed demo; unchanged everything, flaky, modern, off' "$(grep 'reloaded:' "$tmp/node.err" | tail -1)"
wait_state demo2 healthy && ok
api GET /api/servers/broken
check "a removed server is gone" 404 "$CODE"
check "demo's description changed" "the changed demo server" "$(server_field demo description)"
check "everything kept its session (connected_since)" "$since_before" "$(server_field everything connected_since)"
check "everything kept its session (reconnects)" "$rc_every" "$(server_field everything reconnects)"
wait_for "$tmp/events" '"status":"reloaded"' && ok || bad "no config event"
wait_for "$tmp/events" '"server":"demo2","added":[' && ok || bad "no tools event for demo2"

# A bad file is rejected; the node keeps running on the old one.
cp "$tmp/node.json" "$tmp/node.good"
printf '{"mcpServers": {"x": {"url": "http://127.0.0.1:1/sse", "timeout": "soon"}}}' >"$tmp/node.json"
kill -HUP "$node_pid"
wait_for "$tmp/node.err" "reload rejected" || bad "no rejection line"
check_match "the rejection names file, server and key" 'node.json: server "x": "timeout": expected a number' "$(grep 'reload rejected' "$tmp/node.err")"
api GET /api/servers/demo2
check "still running the old config" 200 "$CODE"
wait_for "$tmp/events" '"status":"rejected"' && ok || bad "no rejected config event"

# -- SIGTERM with calls in flight ---------------------------------------------------------------
curls=()
for i in 1 2 3; do
  curl -s -m 20 -X POST "${URL}api/servers/demo/tools/slow/call" -d '{"ms":800}' \
    -o "$tmp/inflight.$i" -w '%{http_code}' >"$tmp/inflight.$i.code" 2>/dev/null &
  curls+=($!)
done
for ((i = 0; i < 100; i++)); do
  n=$(curl -s "${URL}metrics" | grep '^caf_mcp_in_flight{server="demo"}' | cut -d' ' -f2)
  [ "$n" == 3 ] && break
  sleep 0.05
done
check "three calls in flight before SIGTERM" 3 "$n"
kill -TERM "$node_pid"
wait "$node_pid"
check "SIGTERM: exit 0" 0 $?
node_pid=""
wait "${curls[@]}"
for i in 1 2 3; do
  check "call $i in flight at SIGTERM was answered" "200" "$(cat "$tmp/inflight.$i.code")"
  check_match "call $i's result" 'slept 800 ms' "$(cat "$tmp/inflight.$i")"
done

# -- auth on ------------------------------------------------------------------------------------
cp "$tmp/node.good" "$tmp/node.json"
write_config "" "T0KEN-S3CRET"
start_node
api GET /api/servers
check "no token: 401" 401 "$CODE"
check "401 code" unauthorized "$(field code "$BODY")"
api GET /api/servers "" -H "Authorization: Bearer wrong"
check "wrong token: 401" 401 "$CODE"
api GET /metrics
check "metrics need the token" 401 "$CODE"
api GET /api/events
check "events need the token" 401 "$CODE"
api GET /api/servers "" -H "Authorization: Bearer T0KEN-S3CRET"
check "the token: 200" 200 "$CODE"
api GET /healthz
check "healthz needs no token" 200 "$CODE"
# A call longer than drain_timeout_s (5 s) fails with a code at SIGTERM.
curl -s -m 30 -X POST "${URL}api/servers/demo/tools/slow/call" -d '{"ms":20000}' \
  -H "Authorization: Bearer T0KEN-S3CRET" -o "$tmp/late" -w '%{http_code}' \
  >"$tmp/late.code" 2>/dev/null &
late=$!
for ((i = 0; i < 100; i++)); do
  n=$(curl -s -H "Authorization: Bearer T0KEN-S3CRET" "${URL}metrics" \
        | grep '^caf_mcp_in_flight{server="demo"}' | cut -d' ' -f2)
  [ "$n" == 1 ] && break
  sleep 0.05
done
check "one long call in flight before SIGTERM" 1 "$n"
kill -TERM "$node_pid"
wait "$node_pid"
check "SIGTERM with a call past the drain timeout: exit 0" 0 $?
node_pid=""
wait "$late"
check "the call past the drain timeout: 503" 503 "$(cat "$tmp/late.code")"
check "its code" closed "$(field code "$(cat "$tmp/late")")"
grep -q "1 calls failed at the drain deadline" "$tmp/node.err" && ok \
  || bad "no drain-deadline line: $(tail -3 "$tmp/node.err")"

# -- config errors exit 2 -------------------------------------------------------------------------
printf '{"node":{"listen":"0.0.0.0:0"}}' >"$tmp/open.json"
"$BIN" node --config "$tmp/open.json" >/dev/null 2>"$tmp/open.err"
check "non-loopback without a token: exit 2" 2 $?
check_match "names the key" 'open.json: "node.listen": .*token' "$(cat "$tmp/open.err")"
printf '{"mcpServers":{"a":{"url":"http://127.0.0.1:1/sse","headers":{"X":"${UNSET_NODE_VAR_123}"}}}}' >"$tmp/unset.json"
"$BIN" node --config "$tmp/unset.json" >/dev/null 2>"$tmp/unset.err"
check "an unset variable: exit 2" 2 $?
check_match "names the variable" 'unset.json: server "a": "headers": environment variable UNSET_NODE_VAR_123 is not set' "$(cat "$tmp/unset.err")"

# -- no secret in any output ----------------------------------------------------------------------
if grep -l 'S3CRET' "$tmp/node.out" "$tmp/node.err" "$tmp/events" "$tmp/resumed" \
     "$tmp/api.log" "$tmp/metrics.txt" 2>/dev/null | grep -v api.log; then
  bad "a secret reached an output: $(grep -h 'S3CRET' "$tmp/node.err" "$tmp/events" | head -3)"
else
  ok
fi
# api.log holds the requests' own Authorization only in curl args, never in answers.
if grep -q 'S3CRET' <(cut -d' ' -f4- "$tmp/api.log"); then
  bad "a secret reached an API answer: $(grep 'S3CRET' "$tmp/api.log" | head -2)"
else
  ok
fi

summary
