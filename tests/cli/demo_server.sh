#!/usr/bin/env bash
# CLI contract of `caf-mcp demo-server`, driven with curl over loopback: the
# listening line, the SSE stream (headers, endpoint event, message events),
# POST answers (202, 404 unknown session, 400 not JSON), the MCP methods and
# tools, paging, progress, cancellation, keep-alive, session removal when the
# stream closes, exit 0 on SIGTERM and 2 on usage errors.
#
# Every wait is a counted polling loop (at most ~5 s each); no fixed sleeps.
set -u
BIN="$1"

if ! command -v curl >/dev/null 2>&1; then
  echo "demo_server.sh: curl is missing; install it (apt-get install curl)"
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d)
server_pid=""
sse_pid=""
cleanup() {
  [ -n "$sse_pid" ] && kill "$sse_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# expect_event NAME FIXED_STRING: the SSE stream shows the string (bounded).
expect_event() {
  if wait_for "$tmp/sse" "$2"; then ok; else bad "$1: no event with $2"; fi
}

# -- usage errors -------------------------------------------------------------

"$BIN" demo-server --port 70000 >/dev/null 2>&1
check "port out of range is a usage error" 2 $?
"$BIN" demo-server >/dev/null 2>&1
check "missing --port is a usage error" 2 $?
"$BIN" demo-server --port 0 --threads 0 >/dev/null 2>&1
check "zero threads is a usage error" 2 $?

# -- start --------------------------------------------------------------------

"$BIN" demo-server --port 0 --page-size 3 >"$tmp/out" 2>"$tmp/err" &
server_pid=$!
# Wait for one complete line (ended by a newline).
for ((i = 0; i < 100; i++)); do
  [ "$(wc -l <"$tmp/out")" -ge 1 ] && break
  sleep 0.05
done
line=$(head -n 1 "$tmp/out")
if [[ "$line" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)/sse$ ]]; then
  ok
  port=${BASH_REMATCH[1]}
else
  give_up "listening line: [$line] stderr: $(cat "$tmp/err")"
fi
base="http://127.0.0.1:$port"

# -- the SSE stream -----------------------------------------------------------

curl -sN --max-time 60 -D "$tmp/sse_headers" "$base/sse" >"$tmp/sse" &
sse_pid=$!
if wait_for "$tmp/sse" "event: endpoint"; then ok; else bad "no endpoint event"; fi
# Wait for the whole event (ended by its blank line: three line ends).
for ((i = 0; i < 100; i++)); do
  [ "$(wc -l <"$tmp/sse")" -ge 3 ] && break
  sleep 0.05
done
endpoint=$(sed -n 's/^data: //p' "$tmp/sse" | head -n 1)
uuid='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
if [[ "$endpoint" =~ ^/message\?sessionId=$uuid$ ]]; then
  ok
else
  bad "endpoint is not /message?sessionId=<uuid v4>: [$endpoint]"
fi
check "endpoint event framing" \
  "$(printf 'event: endpoint\ndata: %s\n' "$endpoint")" \
  "$(head -n 2 "$tmp/sse")"
headers=$(tr -d '\r' <"$tmp/sse_headers")
case "$headers" in
  "HTTP/1.1 200 OK"*) ok ;;
  *) bad "SSE status line: $headers" ;;
esac
for h in "Content-Type: text/event-stream" "Cache-Control: no-cache" \
         "Transfer-Encoding: chunked"; do
  if grep -qiF "$h" <<<"$headers"; then ok; else bad "SSE header $h missing"; fi
done
if grep -qi "^Content-Length" <<<"$headers"; then
  bad "SSE response has a Content-Length"
else
  ok
fi

# post BODY [URL]: prints "STATUS BODY" of the POST answer.
post() {
  curl -s --max-time 5 -o "$tmp/post_body" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "$1" \
    "${2:-$base$endpoint}" >"$tmp/post_status"
  printf '%s %s' "$(cat "$tmp/post_status")" "$(cat "$tmp/post_body")"
}

# -- lifecycle ----------------------------------------------------------------

check "initialize is accepted" "202 Accepted" "$(post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}')"
expect_event "initialize keeps a supported revision" \
  '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"'
expect_event "initialize names the server" \
  '"serverInfo":{"name":"caf-mcp-demo","version":"0.1.0"}'
expect_event "initialize offers tools and logging" '"logging":{}'
expect_event "tools capability" '"tools":{"listChanged":true}'
check "initialized is accepted" "202 Accepted" "$(post '{"jsonrpc":"2.0","method":"notifications/initialized"}')"
post '{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >/dev/null
expect_event "unknown revision gets the latest" \
  '{"jsonrpc":"2.0","id":2,"result":{"protocolVersion":"2025-11-25"'

# -- methods ------------------------------------------------------------------

post '{"jsonrpc":"2.0","id":3,"method":"ping"}' >/dev/null
expect_event "ping" '{"jsonrpc":"2.0","id":3,"result":{}}'
post '{"jsonrpc":"2.0","id":4,"method":"tools/list"}' >/dev/null
expect_event "tools/list first page" '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"echo"'
expect_event "tools/list next cursor" '"nextCursor":"3"}}'
expect_event "tools have input schemas" '"inputSchema":{"type":"object","properties":{"text":{"type":"string"'
post '{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"cursor":"3"}}' >/dev/null
expect_event "tools/list last page" '{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"fail"'
if wait_for "$tmp/sse" '"id":5,' && grep -F '"id":5,' "$tmp/sse" | grep -qF nextCursor; then
  bad "last page has a nextCursor"
else
  ok
fi
post '{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"cursor":"bogus"}}' >/dev/null
expect_event "bad cursor" '{"jsonrpc":"2.0","id":6,"error":{"code":-32602'
post '{"jsonrpc":"2.0","id":"m7","method":"no/such/method"}' >/dev/null
expect_event "unknown method" '{"jsonrpc":"2.0","id":"m7","error":{"code":-32601,"message":"Method not found"}}'
post '{"jsonrpc":"2.0","id":8,"method":"logging/setLevel","params":{"level":"debug"}}' >/dev/null
expect_event "logging/setLevel" '{"jsonrpc":"2.0","id":8,"result":{}}'

# -- tools --------------------------------------------------------------------

post '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi \"you\"\n"}}}' >/dev/null
expect_event "echo" '{"jsonrpc":"2.0","id":10,"result":{"content":[{"type":"text","text":"hi \"you\"\n"}]}}'
post '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}' >/dev/null
expect_event "add integers" '{"jsonrpc":"2.0","id":11,"result":{"content":[{"type":"text","text":"3"}]}}'
post '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"add","arguments":{"a":1.5,"b":1.0}}}' >/dev/null
expect_event "add fractions" '{"jsonrpc":"2.0","id":12,"result":{"content":[{"type":"text","text":"2.5"}]}}'
post '{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"fail","arguments":{"message":"boom"}}}' >/dev/null
expect_event "fail" '{"jsonrpc":"2.0","id":13,"result":{"content":[{"type":"text","text":"boom"}],"isError":true}}'
post '{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"nope","arguments":{}}}' >/dev/null
expect_event "unknown tool" '{"jsonrpc":"2.0","id":14,"result":{"content":[{"type":"text","text":"Unknown tool: nope"}],"isError":true}}'
post '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"add","arguments":{"a":"x","b":2}}}' >/dev/null
expect_event "bad arguments" '{"jsonrpc":"2.0","id":15,"result":{"content":[{"type":"text","text":"Invalid arguments for tool add: \"a\" must be a number"}],"isError":true}}'
post '{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"arguments":{}}}' >/dev/null
expect_event "tools/call without name" '{"jsonrpc":"2.0","id":16,"error":{"code":-32602'
post '{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"slow","arguments":{"ms":150},"_meta":{"progressToken":"p17"}}}' >/dev/null
expect_event "slow progress" '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p17","progress":100,"total":150}}'
expect_event "slow final progress" '"params":{"progressToken":"p17","progress":150,"total":150}}'
expect_event "slow answer" '{"jsonrpc":"2.0","id":17,"result":{"content":[{"type":"text","text":"slept 150 ms"}]}}'
# A cancelled call sends nothing: cancel an 200 ms call, then wait for a
# 400 ms call started after it; the cancelled one would have come first.
post '{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"slow","arguments":{"ms":200}}}' >/dev/null
post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":18,"reason":"test"}}' >/dev/null
post '{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"name":"slow","arguments":{"ms":400}}}' >/dev/null
expect_event "slow after the cancelled one" '"id":19,"result":{"content":[{"type":"text","text":"slept 400 ms"}]}'
if grep -qF '"id":18,' "$tmp/sse"; then bad "cancelled call answered"; else ok; fi

# -- batches, keep-alive, errors ----------------------------------------------

check "batch is accepted" "202 Accepted" "$(post '[{"jsonrpc":"2.0","id":20,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":21}]')"
expect_event "batch request answered" '{"jsonrpc":"2.0","id":20,"result":{}}'
expect_event "invalid batch element answered" '{"jsonrpc":"2.0","id":21,"error":{"code":-32600'

# Two POSTs in one curl call: the second reuses the connection (keep-alive).
ka=$(curl -s --max-time 5 -H 'Content-Type: application/json' \
  -o /dev/null -w '%{http_code} %{num_connects}\n' \
  --data '{"jsonrpc":"2.0","id":30,"method":"ping"}' "$base$endpoint" \
  --next -H 'Content-Type: application/json' \
  -o /dev/null -w '%{http_code} %{num_connects}\n' \
  --data '{"jsonrpc":"2.0","id":31,"method":"ping"}' "$base$endpoint")
check "keep-alive POSTs" $'202 1\n202 0' "$ka"
expect_event "second keep-alive POST answered" '{"jsonrpc":"2.0","id":31,"result":{}}'

check "unknown session" "404 Session not found" \
  "$(post '{"jsonrpc":"2.0","id":40,"method":"ping"}' "$base/message?sessionId=00000000-0000-4000-8000-000000000000")"
res=$(post 'this is not json')
case "$res" in
  "400 Invalid message: invalid JSON"*) ok ;;
  *) bad "non-JSON body: [$res]" ;;
esac
res=$(post '{"hello":"world"}')
case "$res" in
  "400 Invalid message:"*) ok ;;
  *) bad "JSON that is not JSON-RPC: [$res]" ;;
esac
check "unknown path" "404" "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/nowhere")"

# -- session end --------------------------------------------------------------

kill "$sse_pid" 2>/dev/null
wait "$sse_pid" 2>/dev/null
sse_pid=""
res=""
for ((i = 0; i < 100; i++)); do
  res=$(post '{"jsonrpc":"2.0","id":50,"method":"ping"}')
  [ "$res" == "404 Session not found" ] && break
  sleep 0.05
done
check "closed stream removes the session" "404 Session not found" "$res"

# -- shutdown -----------------------------------------------------------------

kill -TERM "$server_pid"
for ((i = 0; i < 100; i++)); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$server_pid" 2>/dev/null; then
  bad "server still running 5 s after SIGTERM"
else
  wait "$server_pid"
  check "exit status after SIGTERM" 0 $?
  server_pid=""
fi
check "nothing on stderr without --verbose" "" "$(cat "$tmp/err")"

summary
