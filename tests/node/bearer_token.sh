#!/usr/bin/env bash
# The bearer_token middleware from the node's config (issue 14): a node
# whose servers have "middlewares":[{"type":"bearer_token","file":...}] in
# front of a demo server in token mode (--faults --token-file, see
# docs/fault-server.md). A call through the node's API works; after both
# files are rotated (the server's first: its old token is refused at once)
# a call still works, with exactly one 401 on the server and one execution;
# a server whose file keeps the old token answers `unauthorized` after two
# 401s, not a loop; no token reaches any output.
#
# usage: bearer_token.sh CAF_MCP_BIN. Every wait is bounded; loopback only.
set -u
BIN="$1"
export LC_ALL=C
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

new_token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
# rotate FILE TOKEN: write FILE.tmp, rename it over FILE.
rotate() { printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"; }

t1=$(new_token)
rotate "$tmp/server.token" "$t1"
rotate "$tmp/client.token" "$t1"
rotate "$tmp/stale.token" "$t1"
"$BIN" demo-server --host 127.0.0.1 --port 0 --faults --verbose \
  --token-file "$tmp/server.token" --port-file "$tmp/demo.port" \
  >"$tmp/demo.out" 2>"$tmp/demo.err" &
pids+=($!)
for ((i = 0; i < 100; i++)); do
  [ -s "$tmp/demo.port" ] && break
  sleep 0.05
done
[ -s "$tmp/demo.port" ] || give_up "demo server did not start: $(cat "$tmp/demo.err")"
DEMO="http://127.0.0.1:$(cat "$tmp/demo.port")"

printf '%s\n' '{
  "node": { "listen": "127.0.0.1:0", "name": "node-bt" },
  "mcpServers": {
    "demo": { "url": "'"$DEMO"'/sse", "timeout": 10,
              "middlewares": [ { "type": "bearer_token",
                                 "file": "'"$tmp"'/client.token",
                                 "timeout_s": 5 } ] },
    "stale": { "url": "'"$DEMO"'/sse", "timeout": 10,
               "middlewares": [ { "type": "bearer_token",
                                  "file": "'"$tmp"'/stale.token" } ] }
  }
}' >"$tmp/node.json"
"$BIN" node -v --config "$tmp/node.json" >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
wait_for "$tmp/node.out" "listening on" || give_up "node did not start: $(cat "$tmp/node.err")"
URL=$(grep -o 'http://[^ ]*' "$tmp/node.out")

# api METHOD PATH [BODY]: sets CODE and BODY.
api() {
  local out
  out=$(curl -s -m 20 -X "$1" "${URL%/}$2" ${3:+-d "$3"} -w '\n%{http_code}')
  CODE="${out##*$'\n'}"
  BODY="${out%$'\n'*}"
  printf '%s %s -> %s %s\n' "$1" "$2" "$CODE" "$BODY" >>"$tmp/api.log"
}
# stat_field NAME: a top-level number of the demo server's /_stats.
stat_field() {
  curl -s -m 5 "$DEMO/_stats" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2
}
# record_count KEY: executions of KEY on the server (empty: none).
record_count() {
  curl -s -m 5 "$DEMO/_stats?records=1" | grep -o '"records":{.*' \
    | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}
# wait_healthy SERVER (bounded: 10 s).
wait_healthy() {
  local i
  for ((i = 0; i < 100; i++)); do
    api GET "/api/servers/$1"
    [[ "$BODY" =~ \"state\":\"healthy\" ]] && return 0
    sleep 0.1
  done
  bad "$1 not healthy within 10 s: $BODY"
  return 1
}
wait_healthy demo
wait_healthy stale

api POST /api/servers/demo/tools/record/call '{"key":"bt-1"}'
check "a call with the token" 200 "$CODE"
check_match "its result" '"text":"bt-1"' "$BODY"
check "no 401 so far" 0 "$(stat_field unauthorized)"

# Rotate the server's token (the old one is refused from now on), then the
# node's file.
t2=$(new_token)
rotate "$tmp/server.token" "$t2"
rotate "$tmp/client.token" "$t2"
api POST /api/servers/demo/tools/record/call '{"key":"bt-2"}'
check "a call after the rotation" 200 "$CODE"
check_match "its result" '"text":"bt-2"' "$BODY"
check "one 401 (the old token), then the refreshed token" 1 "$(stat_field unauthorized)"
check "the call ran once" 1 "$(record_count bt-2)"
api POST /api/servers/demo/tools/record/call '{"key":"bt-3"}'
check "the next call" 200 "$CODE"
check "no more 401s" 1 "$(stat_field unauthorized)"

# The stale server's file still holds t1: two 401s, then unauthorized.
api POST /api/servers/stale/tools/record/call '{"key":"bt-stale"}'
check_match "a stale token fails the call" '"code":"unauthorized"' "$BODY"
check "two more 401s, no loop" 3 "$(stat_field unauthorized)"
check "the refused call never ran" "" "$(record_count bt-stale)"

for t in "$t1" "$t2"; do
  if grep -qF -- "$t" "$tmp/node.out" "$tmp/node.err" "$tmp/demo.out" \
       "$tmp/demo.err" "$tmp/api.log"; then
    bad "a token reached an output"
  else
    ok
  fi
done
kill -TERM "$node_pid"
wait "$node_pid"
check "SIGTERM: exit 0" 0 $?
node_pid=""
summary
