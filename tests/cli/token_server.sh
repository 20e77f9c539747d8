#!/usr/bin/env bash
# Token mode of `caf-mcp demo-server --token-file FILE` (docs/fault-server.md
# "Token mode"), driven with curl over 127.0.0.1: the SSE GET and the POSTs
# need `Authorization: Bearer TOKEN` with FILE's current content, others get
# 401 with WWW-Authenticate; a token rotated by renaming a new file over FILE
# is in force at once and the old one refused; a broken FILE refuses
# everything (and says so on stderr, without the token); /_stats counts the
# 401s (with --faults); the token never reaches stdout or stderr, even with
# --verbose; start-up errors exit 3. Works with and without --faults.
#
# Every wait is a counted polling loop or a curl --max-time.
set -u
BIN="$1"
export LC_ALL=C

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

new_token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
# rotate FILE TOKEN: write FILE.tmp, rename it over FILE.
rotate() { printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"; }

# start_server NAME ARGS...: sets $port, $base, $server_pid.
start_server() {
  local name="$1" i
  shift
  rm -f "$tmp/$name.port"
  "$BIN" demo-server --port 0 --port-file "$tmp/$name.port" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  for ((i = 0; i < 100; i++)); do
    [ -s "$tmp/$name.port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  port=$(cat "$tmp/$name.port" 2>/dev/null)
  [[ "$port" =~ ^[0-9]+$ ]] || give_up "$name: no port; $(cat "$tmp/$name.err")"
  base="http://127.0.0.1:$port"
}

# req METHOD PATH [AUTH]: sets CODE and HDRS (the response head).
req() {
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: $3")
  local data=()
  [ "$1" == POST ] && data=(-H 'Content-Type: application/json'
                            -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
  CODE=$(curl -s -m 5 -X "$1" "${auth[@]}" "${data[@]}" -D "$tmp/head" \
           -o "$tmp/body" -w '%{http_code}' "$base$2")
  HDRS=$(tr -d '\r' <"$tmp/head")
}

# sse AUTH: opens a stream for at most 1 s; sets CODE and SSE (what came).
sse() {
  local out
  out=$(curl -sN -m 1 -H "Authorization: $1" -w '\n%{http_code}' "$base/sse")
  CODE="${out##*$'\n'}"
  SSE="${out%$'\n'*}"
}

# -- start-up errors ---------------------------------------------------------
"$BIN" demo-server --port 0 --token-file "$tmp/missing" >"$tmp/e1.out" 2>"$tmp/e1.err"
check "a missing token file: exit 3" 3 $?
check "the error names the file" "caf-mcp demo-server: --token-file: token file $tmp/missing: No such file or directory" "$(cat "$tmp/e1.err")"
: >"$tmp/empty"
"$BIN" demo-server --port 0 --faults --token-file "$tmp/empty" >/dev/null 2>"$tmp/e2.err"
check "an empty token file: exit 3" 3 $?
check_match "the error says why" "no token" "$(cat "$tmp/e2.err")"

for mode in plain faults; do
  extra=()
  [ "$mode" == faults ] && extra=(--faults)
  file="$tmp/$mode.token"
  t1=$(new_token)
  rotate "$file" "$t1"
  start_server "$mode" --token-file "$file" --verbose "${extra[@]}"

  req GET /sse
  check "$mode: GET /sse without a token: 401" 401 "$CODE"
  check_match "$mode: WWW-Authenticate: Bearer" $'(^|\n)WWW-Authenticate: Bearer realm="caf-mcp demo-server"(\n|$)' "$HDRS"
  req GET /sse "Bearer $(new_token)"
  check "$mode: GET /sse with a wrong token: 401" 401 "$CODE"
  check_match "$mode: invalid_token" 'error="invalid_token"' "$HDRS"
  req GET /sse "Basic $t1"
  check "$mode: another scheme: 401" 401 "$CODE"
  req GET /sse "Bearer ${t1}x"
  check "$mode: a longer token: 401" 401 "$CODE"
  req POST "/message?sessionId=x" "Bearer ${t1:0:31}"
  check "$mode: POST with a shorter token: 401" 401 "$CODE"
  req POST "/message?sessionId=x" "Bearer $t1"
  check "$mode: POST with the token reaches the session check (404)" 404 "$CODE"
  sse "Bearer $t1"
  check_match "$mode: GET /sse with the token: the endpoint event" 'event: endpoint' "$SSE"
  sse "bearer $t1"
  check_match "$mode: the scheme in any case" 'event: endpoint' "$SSE"

  # A whole session with the token: initialize over POST, answer on the stream.
  (curl -sN -m 5 -H "Authorization: Bearer $t1" "$base/sse" >"$tmp/$mode.sse" &)
  wait_for "$tmp/$mode.sse" "sessionId=" || bad "$mode: no endpoint event"
  ep=$(grep -o '/message?sessionId=[0-9a-f-]*' "$tmp/$mode.sse" | head -1)
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t1" \
           -H 'Content-Type: application/json' \
           -d '{"jsonrpc":"2.0","id":7,"method":"ping"}' "$base$ep")
  check "$mode: POST of the session with the token: 202" 202 "$code"
  wait_for "$tmp/$mode.sse" '"id":7' && ok || bad "$mode: no answer to the ping"

  # Rotation: the new token at once, the old one refused.
  t2=$(new_token)
  rotate "$file" "$t2"
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t1" \
           -H 'Content-Type: application/json' \
           -d '{"jsonrpc":"2.0","id":8,"method":"ping"}' "$base$ep")
  check "$mode: after the rotation the old token: 401" 401 "$code"
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t2" \
           -H 'Content-Type: application/json' \
           -d '{"jsonrpc":"2.0","id":9,"method":"ping"}' "$base$ep")
  check "$mode: the new token on the open session: 202" 202 "$code"
  sse "Bearer $t2"
  check_match "$mode: a new stream with the new token" 'event: endpoint' "$SSE"
  req GET /sse "Bearer $t1"
  check "$mode: a new stream with the old token: 401" 401 "$CODE"

  # A broken file refuses everything, then a good one is taken again.
  : >"$file.tmp" && mv -f "$file.tmp" "$file"
  req GET /sse "Bearer $t2"
  check "$mode: an empty file: 401" 401 "$CODE"
  check_match "$mode: stderr names the file" "refusing every request: token file $file: no token" "$(cat "$tmp/$mode.err")"
  t3=$(new_token)
  rotate "$file" "$t3"
  sse "Bearer $t3"
  check_match "$mode: a good file again" 'event: endpoint' "$SSE"

  # Controls are not behind the token; /_stats counts the 401s.
  code=$(curl -s -m 5 -o "$tmp/stats" -w '%{http_code}' "$base/_stats")
  if [ "$mode" == faults ]; then
    check "$mode: /_stats without a token" 200 "$code"
    check_match "$mode: unauthorized counted" '"unauthorized":8[,}]' "$(cat "$tmp/stats")"
  else
    check "$mode: no control API without --faults" 404 "$code"
  fi

  # No token in any output (--verbose included).
  for t in "$t1" "$t2" "$t3"; do
    if grep -qF -- "$t" "$tmp/$mode.out" "$tmp/$mode.err"; then
      bad "$mode: a token reached the server's output"
    else
      ok
    fi
  done
  kill -TERM "$server_pid"
done
summary
