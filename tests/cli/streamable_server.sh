#!/usr/bin/env bash
# The Streamable HTTP endpoint of `caf-mcp demo-server` (2025-11-25,
# stateful; docs/fault-server.md "Streamable HTTP"), over 127.0.0.1:
# - the raw HTTP rules with curl: 406, 415, 400 (no session id, bad
#   protocol version, bad Last-Event-ID), 404 (unknown or deleted
#   session), 405 (other methods; GET with --no-get-stream), 409 (a second
#   GET stream), 403 (foreign Origin), 202 for notifications, the session
#   id header, SSE answers with event ids that end (and keep the
#   connection), resumption with Last-Event-ID, JSON answers with
#   --json-response, DELETE;
# - our own client over it (`caf-mcp tools|call|bench --transport http`):
#   every tool, progress, the record tool's execution count, auto-detection
#   on a Streamable HTTP endpoint at /sse (--streamable-path /sse);
# - the Streamable HTTP faults (session_gone, cut_response,
#   json_instead_of_stream, stream_instead_of_json): on the wire and what
#   the client makes of them, counted in /_stats.
# Every command has a timeout; waits are bounded polling loops; no sleeps
# stand in for a condition.
set -u
BIN="$1"
export LC_ALL=C

command -v curl >/dev/null 2>&1 || { echo "curl is missing"; echo "0 passed, 1 failed"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# start_server NAME ARGS...: sets $port, $base, $mcp.
start_server() {
  local name="$1" i
  shift
  "$BIN" demo-server --port 0 --port-file "$tmp/$name.port" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=("$!")
  for ((i = 0; i < 100; i++)); do
    [ -s "$tmp/$name.port" ] && break
    sleep 0.05
  done
  port=$(cat "$tmp/$name.port" 2>/dev/null)
  [[ "$port" =~ ^[0-9]+$ ]] || give_up "$name: no port: $(cat "$tmp/$name.err")"
  base="http://127.0.0.1:$port"
  mcp="$base/mcp"
}

ACC='Accept: application/json, text/event-stream'
CT='Content-Type: application/json'
V='MCP-Protocol-Version: 2025-11-25'
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'

# post URL BODY [HEADER...]: POST; headers to $tmp/h, body to $tmp/b; prints
# the status; curl's exit status in $tmp/rc.
post() {
  local url="$1" body="$2"
  shift 2
  local args=()
  local h
  for h in "$@"; do args+=(-H "$h"); done
  curl -s --max-time 10 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' \
    "${args[@]}" --data "$body" "$url"
  echo $? >"$tmp/rc"
}
# read_body: $body = $tmp/b with its trailing newlines ($(cat) drops them).
read_body() {
  body=$(cat "$tmp/b"; printf x)
  body=${body%x}
}
header() { grep -i "^$1:" "$tmp/h" | head -n1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
stats() { curl -s --max-time 5 "$base/_stats${1:-}"; }
# initialize URL [HEADER...]: a new session; sets $sid.
initialize() {
  local url="$1"
  shift
  local st
  st=$(post "$url" "$INIT" "$ACC" "$CT" "$@")
  check "initialize: 200" 200 "$st"
  sid=$(header Mcp-Session-Id)
  check_match "initialize: session id is a UUID" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$sid"
  check "initialized: 202" 202 "$(post "$url" '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$ACC" "$CT" "$V" "Mcp-Session-Id: $sid")"
}

# == the raw rules (SSE answers) ============================================
start_server sse --faults
check_match "stdout names the endpoint" "streamable http on http://127\.0\.0\.1:$port/mcp" "$(cat "$tmp/sse.out")"

check "POST without Accept both: 406" 406 "$(post "$mcp" "$INIT" 'Accept: application/json' "$CT")"
check_match "406 body is a JSON-RPC error" '"error":\{"code":-32000,"message":"Not Acceptable' "$(cat "$tmp/b")"
check "POST text/plain: 415" 415 "$(post "$mcp" "$INIT" "$ACC" 'Content-Type: text/plain')"
check "POST not JSON: 400" 400 "$(post "$mcp" '{nope' "$ACC" "$CT")"
check_match "not JSON: parse error" '"code":-32700' "$(cat "$tmp/b")"

st=$(post "$mcp" "$INIT" "$ACC" "$CT")
check "initialize: 200" 200 "$st"
check "initialize: curl ok (the stream ended)" 0 "$(cat "$tmp/rc")"
check_match "initialize: text/event-stream" '^text/event-stream' "$(header Content-Type)"
sid=$(header Mcp-Session-Id)
check_match "initialize: Mcp-Session-Id is a UUID v4" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$sid"
check_match "initialize: an event with an id and the result" $'^id: 1-1\nevent: message\ndata: \\{"jsonrpc":"2.0","id":1,"result":\\{"protocolVersion":"2025-11-25"' "$(cat "$tmp/b")"
S="Mcp-Session-Id: $sid"

check "notification: 202" 202 "$(post "$mcp" '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$ACC" "$CT" "$V" "$S")"
check "202 has no body" "" "$(cat "$tmp/b")"
check "response from the client: 202" 202 "$(post "$mcp" '{"jsonrpc":"2.0","id":"x","result":{}}' "$ACC" "$CT" "$V" "$S")"
check "no session id: 400" 400 "$(post "$mcp" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "$ACC" "$CT" "$V")"
check_match "400 names the header" 'Mcp-Session-Id header is required' "$(cat "$tmp/b")"
check "unknown session id: 404" 404 "$(post "$mcp" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "$ACC" "$CT" "$V" 'Mcp-Session-Id: 00000000-0000-4000-8000-000000000000')"
check "unsupported MCP-Protocol-Version: 400" 400 "$(post "$mcp" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "$ACC" "$CT" 'MCP-Protocol-Version: 1999-01-01' "$S")"
check_match "400 names the version" 'Unsupported protocol version' "$(cat "$tmp/b")"
check "foreign Origin: 403" 403 "$(post "$mcp" '{"jsonrpc":"2.0","id":2,"method":"ping"}' "$ACC" "$CT" "$V" "$S" 'Origin: http://evil.example')"
check "loopback Origin: 200" 200 "$(post "$mcp" '{"jsonrpc":"2.0","id":2,"method":"ping"}' "$ACC" "$CT" "$V" "$S" "Origin: http://localhost:$port")"

st=$(post "$mcp" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}' "$ACC" "$CT" "$V" "$S")
check "tools/call: 200" 200 "$st"
check "tools/call: the stream ended" 0 "$(cat "$tmp/rc")"
check "tools/call: session id on the answer" "$sid" "$(header Mcp-Session-Id)"
read_body
check_match "tools/call: a priming event first (2025-11-25)" $'^id: ([0-9]+)-1\ndata: \n\nid: ([0-9]+)-2\nevent: message\ndata: \\{"jsonrpc":"2.0","id":3,"result":\\{"content":\\[\\{"type":"text","text":"hi"\\}\\]\\}\\}\n\n$' "$body"
stream_no=$(printf '%s' "$body" | head -n1 | sed -E 's/^id: ([0-9]+)-1$/\1/')

# resumption: the stream's events after the given id, then the end
out=$(curl -s --max-time 10 -H 'Accept: text/event-stream' -H "$V" -H "$S" -H "Last-Event-ID: $stream_no-1" "$mcp")
check "resume: curl ok (the finished stream ends)" 0 $?
check_match "resume: replays the response" $'^id: '"$stream_no"$'-2\nevent: message\ndata: \\{"jsonrpc":"2.0","id":3,' "$out"
check "resume from the last event: nothing" "" "$(curl -s --max-time 10 -H 'Accept: text/event-stream' -H "$V" -H "$S" -H "Last-Event-ID: $stream_no-2" "$mcp")"
check "resume from an unknown id: 400" 400 "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H "$V" -H "$S" -H 'Last-Event-ID: 999-1' "$mcp")"
check "resume from a malformed id: 400" 400 "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H "$V" -H "$S" -H 'Last-Event-ID: x' "$mcp")"

# keep-alive after an SSE answer: two POSTs on one connection
n=$(curl -s --max-time 10 -o /dev/null -w '%{num_connects}\n' \
  -H "$ACC" -H "$CT" -H "$V" -H "$S" \
  --data '{"jsonrpc":"2.0","id":4,"method":"ping"}' "$mcp" --next \
  -s --max-time 10 -o /dev/null -w '%{num_connects}\n' \
  -H "$ACC" -H "$CT" -H "$V" -H "$S" \
  --data '{"jsonrpc":"2.0","id":5,"method":"ping"}' "$mcp" | tr '\n' ' ')
check "two SSE answers on one connection" "1 0 " "$n"

# the standalone GET stream
check "GET without Accept: 406" 406 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Accept: application/json' -H "$V" -H "$S" "$mcp")"
check "GET without session: 400" 400 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H "$V" "$mcp")"
(curl -sN --max-time 20 -D "$tmp/get.h" -H 'Accept: text/event-stream' -H "$V" -H "$S" "$mcp" >"$tmp/get.sse"; echo $? >"$tmp/get.rc") &
pids+=("$!")
wait_for "$tmp/get.sse" "data:" || bad "GET stream: no priming event"
check_match "GET stream: 200 text/event-stream" $'HTTP/1.1 200[^\n]*\r\n(.*\r\n)*[Cc]ontent-[Tt]ype: text/event-stream' "$(cat "$tmp/get.h")"
check_match "GET stream: priming event" $'^id: 0-1\ndata: ' "$(cat "$tmp/get.sse")"
check "second GET stream: 409" 409 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H "$V" -H "$S" "$mcp")"
check "PUT: 405" 405 "$(curl -s --max-time 5 -D "$tmp/h" -o /dev/null -w '%{http_code}' -X PUT -H "$S" "$mcp")"
check "405 Allow" "GET, POST, DELETE" "$(header Allow)"

# DELETE ends the session (and its GET stream)
check "DELETE: 200" 200 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X DELETE -H "$V" -H "$S" "$mcp")"
for ((i = 0; i < 100; i++)); do [ -s "$tmp/get.rc" ] && break; sleep 0.05; done
check "DELETE ends the GET stream" "yes" "$([ -s "$tmp/get.rc" ] && echo yes || echo no)"
check "after DELETE: POST 404" 404 "$(post "$mcp" '{"jsonrpc":"2.0","id":6,"method":"ping"}' "$ACC" "$CT" "$V" "$S")"
check "after DELETE: DELETE 404" 404 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X DELETE -H "$V" -H "$S" "$mcp")"
check "legacy /sse still served" 200 "$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$base/sse")"

# == our client over it =====================================================
out=$(timeout 30 "$BIN" tools --transport http --url "$mcp" 2>"$tmp/err")
check "client tools: exit" 0 $?
for t in echo add slow fail record record_idempotent; do
  check_match "client tools lists $t" "(^|"$'\n'")$t " "$out"
done
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" echo '{"text":"over http"}' 2>"$tmp/err")
check "client echo" "over http" "$out"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" add '{"a":2,"b":40}' 2>"$tmp/err")
check "client add" "42" "$out"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" fail '{"message":"as asked"}' 2>"$tmp/err")
check "client fail: exit 1 (isError)" 1 $?
check_match "client fail: text" "as asked" "$out$(cat "$tmp/err")"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" slow '{"ms":250}' 2>"$tmp/err")
check "client slow" "slept 250 ms" "$out"
check_match "client slow: progress before the result" "progress: 200/250" "$(cat "$tmp/err")"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" record '{"key":"k-plain"}' 2>"$tmp/err")
check "client record" $'k-plain\ncount 1' "$out"

timeout 60 "$BIN" bench --transport http --url "$mcp" --tool echo --args '{"text":"x"}' \
  --concurrency 64 --duration 0.5 --json >"$tmp/bench.json" 2>"$tmp/err"
check "bench 64 in flight: exit" 0 $?
check_match "bench: streamable_http" '"transport":"streamable_http"' "$(cat "$tmp/bench.json")"
check_match "bench: no failures" '"failed":0,' "$(cat "$tmp/bench.json")"

# == faults ==================================================================
arm() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' --data "$1" "$base/_fault"; }
applied() { stats | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2; }
records() { stats '?records=1' | grep -o "\"$1\":[0-9]*" | tail -n1 | cut -d: -f2; }

# session_gone: the next POST gets 404 and does not run; the client starts
# a new session and the call runs once
initialize "$mcp"
S="Mcp-Session-Id: $sid"
check "arm session_gone" 200 "$(arm '{"fault":"session_gone"}')"
check "session_gone: 404" 404 "$(post "$mcp" '{"jsonrpc":"2.0","id":7,"method":"ping"}' "$ACC" "$CT" "$V" "$S")"
check "session_gone: the session is forgotten" 404 "$(post "$mcp" '{"jsonrpc":"2.0","id":8,"method":"ping"}' "$ACC" "$CT" "$V" "$S")"
opened=$(stats | grep -o '"sessions_opened":[0-9]*' | cut -d: -f2)
check "arm session_gone for calls" 200 "$(arm '{"fault":"session_gone","calls_only":true}')"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" record '{"key":"k-gone"}' 2>"$tmp/err")
check "session_gone: client exit" 0 $?
check "session_gone: the call ran once" $'k-gone\ncount 1' "$out"
check "session_gone: counted" 2 "$(applied session_gone)"
check "session_gone: the client opened a second session" $((opened + 2)) "$(stats | grep -o '"sessions_opened":[0-9]*' | cut -d: -f2)"

# cut_response: the answer ends after its priming event, without the end
# of the body; the client resumes with Last-Event-ID and gets the response
initialize "$mcp"
S="Mcp-Session-Id: $sid"
check "arm cut_response" 200 "$(arm '{"fault":"cut_response"}')"
st=$(post "$mcp" '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"record","arguments":{"key":"k-cut-raw"}}}' "$ACC" "$CT" "$V" "$S")
check "cut_response: 200" 200 "$st"
check "cut_response: the body did not end (curl 18)" 18 "$(cat "$tmp/rc")"
read_body
check_match "cut_response: the priming event and a retry, no response" $'^id: ([0-9]+)-1\ndata: \n\nretry: 100\n\n$' "$body"
no=$(printf '%s' "$body" | head -n1 | sed -E 's/^id: ([0-9]+)-1$/\1/')
out=$(curl -s --max-time 10 -H 'Accept: text/event-stream' -H "$V" -H "$S" -H "Last-Event-ID: $no-1" "$mcp")
check_match "cut_response: the response on resumption" '"id":9,"result":\{"content":\[\{"type":"text","text":"k-cut-raw"\}' "$out"
check "arm cut_response again" 200 "$(arm '{"fault":"cut_response"}')"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" record '{"key":"k-cut"}' 2>"$tmp/err")
check "cut_response: client exit" 0 $?
check "cut_response: the client resumed, the call ran once" $'k-cut\ncount 1' "$out"
check "cut_response: counted" 2 "$(applied cut_response)"

# json_instead_of_stream: a JSON body where a stream was expected
check "arm json_instead_of_stream" 200 "$(arm '{"fault":"json_instead_of_stream"}')"
st=$(post "$mcp" '{"jsonrpc":"2.0","id":10,"method":"ping"}' "$ACC" "$CT" "$V" "$S")
check "json_instead_of_stream: 200" 200 "$st"
check_match "json_instead_of_stream: application/json" '^application/json' "$(header Content-Type)"
check "json_instead_of_stream: the response" '{"jsonrpc":"2.0","id":10,"result":{}}' "$(cat "$tmp/b")"
check "arm json_instead_of_stream again" 200 "$(arm '{"fault":"json_instead_of_stream","calls_only":true}')"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" echo '{"text":"j"}' 2>"$tmp/err")
check "json_instead_of_stream: the client reads it" "j" "$out"
check "json_instead_of_stream: counted" 2 "$(applied json_instead_of_stream)"
check "the record counts" '"k-plain":1,"k-gone":1,"k-cut-raw":1,"k-cut":1' \
  "$(for k in k-plain k-gone k-cut-raw k-cut; do printf '"%s":%s,' "$k" "$(records "$k")"; done | sed 's/,$//')"
check "no duplicates" '"duplicates":{}' "$(stats | grep -o '"duplicates":{[^}]*}')"

# == --json-response, --no-get-stream =======================================
start_server json --faults --json-response --no-get-stream
check "json mode: initialize 200" 200 "$(post "$mcp" "$INIT" "$ACC" "$CT")"
check_match "json mode: initialize answered as JSON" '^application/json' "$(header Content-Type)"
check_match "json mode: the result" '^\{"jsonrpc":"2.0","id":1,"result":\{"protocolVersion":"2025-11-25"' "$(cat "$tmp/b")"
initialize "$mcp"
S="Mcp-Session-Id: $sid"
st=$(post "$mcp" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"js"}}}' "$ACC" "$CT" "$V" "$S")
check "json mode: 200" 200 "$st"
check "json mode: one JSON body" '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"js"}]}}' "$(cat "$tmp/b")"
check "json mode: session id on the answer" "$sid" "$(header Mcp-Session-Id)"
check "--no-get-stream: GET 405" 405 "$(curl -s --max-time 5 -D "$tmp/h" -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' -H "$V" -H "$S" "$mcp")"
check "--no-get-stream: Allow" "POST, DELETE" "$(header Allow)"
check "arm stream_instead_of_json" 200 "$(arm '{"fault":"stream_instead_of_json"}')"
st=$(post "$mcp" '{"jsonrpc":"2.0","id":4,"method":"ping"}' "$ACC" "$CT" "$V" "$S")
check_match "stream_instead_of_json: text/event-stream" '^text/event-stream' "$(header Content-Type)"
read_body
check_match "stream_instead_of_json: the response as an event" $'data: \\{"jsonrpc":"2.0","id":4,"result":\\{\\}\\}\n\n$' "$body"
check "arm stream_instead_of_json for calls" 200 "$(arm '{"fault":"stream_instead_of_json","calls_only":true}')"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" record '{"key":"k-json"}' 2>"$tmp/err")
check "stream_instead_of_json: the client reads it" $'k-json\ncount 1' "$out"
check "stream_instead_of_json: counted" 2 "$(applied stream_instead_of_json)"
out=$(timeout 30 "$BIN" call --transport http --url "$mcp" slow '{"ms":150}' 2>"$tmp/err")
check "json mode: slow" "slept 150 ms" "$out"
timeout 60 "$BIN" bench --transport http --url "$mcp" --tool echo --args '{"text":"x"}' \
  --concurrency 64 --duration 0.5 --json >"$tmp/bench.json" 2>"$tmp/err"
check_match "json mode bench: no failures" '"failed":0,' "$(cat "$tmp/bench.json")"

# == Streamable HTTP on a URL ending in /sse ================================
start_server onsse --streamable-path /sse
url="$base/sse"
check "GET /sse is no legacy stream: 400 without session" 400 "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' "$url")"
out=$(timeout 30 "$BIN" call --transport http --url "$url" echo '{"text":"on sse"}' 2>"$tmp/err")
check "client over http on /sse" "on sse" "$out"
out=$(timeout 30 "$BIN" call --transport auto --url "$url" echo '{"text":"auto"}' -v 2>"$tmp/err")
check "auto on /sse: text" "auto" "$out"
check_match "auto on /sse: detected Streamable HTTP" "detected Streamable HTTP" "$(cat "$tmp/err")"

# token mode guards the endpoint too
printf 'tok-123\n' >"$tmp/token"
start_server tok --token-file "$tmp/token"
check "token mode: no token: 401" 401 "$(post "$mcp" "$INIT" "$ACC" "$CT")"
check "token mode: wrong token: 401" 401 "$(post "$mcp" "$INIT" "$ACC" "$CT" 'Authorization: Bearer nope')"
check "token mode: the token: 200" 200 "$(post "$mcp" "$INIT" "$ACC" "$CT" 'Authorization: Bearer tok-123')"

# usage
"$BIN" demo-server --port 0 --streamable-path 'no-slash' >/dev/null 2>"$tmp/err"
check "bad --streamable-path: exit 2" 2 $?
check_match "--help names --json-response" "--json-response" "$("$BIN" demo-server --help)"

summary
