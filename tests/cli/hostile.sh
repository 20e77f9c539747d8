#!/usr/bin/env bash
# What hostile input and misbehaving servers showed (issue 10): secrets stay
# out of every output, --timeout bounds a call, bad option values and bad
# headers are usage errors (exit 2), server text cannot drive the terminal,
# arguments come from a file or stdin, one value per -H, `tools` honours
# --timeout without a session, sse-decode allocates for its input only,
# tool lists are bounded (--max-tools, --max-tools-bytes).
#
# usage: hostile.sh CAF_MCP_BIN. Every wait is bounded (timeout N, counted
# polls); loopback only.
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
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# start_server NAME ARGS...: a demo server on a free port; sets PORT_<NAME>.
start_server() {
  local name="$1"
  shift
  "$BIN" demo-server --port 0 --host 127.0.0.1 --port-file "$tmp/$name.port" \
    "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$tmp/$name.port" "" || give_up "demo server $name did not start"
  printf -v "PORT_$name" '%s' "$(cat "$tmp/$name.port")"
}

start_server demo
# Every POST is read and never answered: initialize gets no response.
start_server mute --fault-after '0:{"fault":"no_answer","count":-1}'
# A port that refuses connections: bound by a process that never listens
# and holds it until the end (a port merely found free could be taken by a
# test running beside this one, and then it would not refuse).
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)
' "$tmp/closed.port" &
pids+=($!)
wait_for "$tmp/closed.port" "" || give_up "the refusing port was not bound"
closed_port=$(cat "$tmp/closed.port")
DEMO="http://127.0.0.1:$PORT_demo/sse"

# -- secrets stay out of every output -------------------------------------
for target in "$closed_port" "$PORT_mute"; do
  url="http://alice:pw-S3CRET1@127.0.0.1:$target/sse?token=S3CRET2&x=1"
  for cmd in "tools" "call echo {}" "ping --count 1"; do
    # shellcheck disable=SC2086
    timeout 20 "$BIN" $cmd --url "$url" -H 'Authorization: Bearer S3CRET3' \
      --timeout 2 --retries 1 --endpoint-timeout 1 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "$cmd against port $target fails with exit 3" 3 "$rc"
    if grep -q 'S3CRET' "$tmp/out" "$tmp/err"; then
      bad "$cmd against port $target printed a secret: $(cat "$tmp/err")"
    else
      ok
    fi
    check_match "$cmd names the server redacted" 'token=REDACTED|127\.0\.0\.1' \
      "$(cat "$tmp/err")"
  done
done
# Each kind of message that names the server, from servers that redirect
# (http_status, gave_up), send an endless line (event_too_large, gave_up) or
# keep the call waiting for a session (queue_timeout): the URL is redacted.
start_hostile() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/hostile_server.py" "$1" "$tmp/$1.port" \
    >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  wait_for "$tmp/$1.port" "" || give_up "hostile server $1 did not start"
  printf -v "${1}_port" '%s' "$(cat "$tmp/$1.port")"
}
start_hostile redirect
start_hostile endless
for spec in "$redirect_port:3:gave_up:http_status" \
            "$endless_port:2:gave_up:event_too_large" \
            "$endless_port:100:queue_timeout:event_too_large"; do
  IFS=: read -r p retries kind inner <<<"$spec"
  timeout 30 "$BIN" call echo '{}' --timeout 2 --retries "$retries" \
    --url "http://alice:pw-S3CRET1@127.0.0.1:$p/sse?token=S3CRET2&x=1" \
    -H 'Authorization: Bearer S3CRET3' >"$tmp/out" 2>"$tmp/err"
  check "$kind ($inner) fails with exit 3" 3 $?
  check_match "$kind ($inner) is the message" "^caf-mcp: $kind: .*$inner" "$(cat "$tmp/err")"
  check_match "$kind ($inner) names the server redacted" \
    "127\.0\.0\.1:$p/sse\?token=REDACTED&x=1" "$(cat "$tmp/err")"
  if grep -q 'S3CRET\|alice' "$tmp/out" "$tmp/err"; then
    bad "$kind ($inner) printed a secret: $(cat "$tmp/err")"
  else
    ok
  fi
done

# The cause of a call that waited in vain is given.
timeout 20 "$BIN" call --url "http://127.0.0.1:$PORT_mute/sse" echo '{}' \
  --timeout 2 --retries 1 >/dev/null 2>"$tmp/err"
check_match "a call without an initialize answer says why" \
  'initialize' "$(cat "$tmp/err")"

# -- bad option values are usage errors ------------------------------------
for v in nan inf -inf 1e300 -1 0 abc 5x; do
  "$BIN" call --url "$DEMO" echo '{}' --timeout "$v" >/dev/null 2>"$tmp/err"
  check "--timeout $v is a usage error" 2 $?
  len=$(wc -c <"$tmp/err")
  if [ "$len" -lt 200 ] && ! grep -q '0000000000' "$tmp/err"; then ok; else
    bad "--timeout $v: message too long: $(head -c 300 "$tmp/err")"
  fi
done
"$BIN" tools --url "$DEMO" --connect-timeout nan >/dev/null 2>&1
check "--connect-timeout nan is a usage error" 2 $?

# -- bad headers are refused, not dropped ----------------------------------
for h in $'X-A: b\r\nX-Evil: 1' $'X-A: b\nc' 'Host: evil' 'content-length: 5' \
         'Transfer-Encoding: chunked' 'Connection: close' 'Bad Name: x' \
         'no-colon-S3CRET4'; do
  "$BIN" call --url "$DEMO" -H "$h" echo '{"text":"x"}' >"$tmp/out" 2>"$tmp/err"
  check "-H '${h//$'\r'/\\r}' is a usage error" 2 $?
  if grep -q 'S3CRET4\|evil\|chunked' "$tmp/err"; then
    bad "-H message echoed the value: $(cat "$tmp/err")"
  else
    ok
  fi
done

# -- one value per -H ----------------------------------------------------------
out=$("$BIN" call --url "$DEMO" -H 'X-A: b' echo '{"text":"one-value"}' 2>&1)
check "-H takes one value; the positionals after it stay" 0 $?
check_match "the call after -H answered" 'one-value' "$out"

# -- server text cannot drive the terminal -------------------------------------
"$BIN" call --url "$DEMO" echo \
  '{"text":"a\u001b]0;pwned\u0007b\r\u202e\u009bc\nnext"}' >"$tmp/out" 2>&1
check "an echo with control characters works" 0 $?
if grep -qP '[\x1b\x07\x0d]' "$tmp/out" || grep -qP '\xe2\x80\xae|\xc2\x9b' "$tmp/out"; then
  bad "raw control characters reached the terminal: $(od -c "$tmp/out" | head -3)"
else
  ok
fi
check "newlines in tool text stay newlines" 2 "$(wc -l <"$tmp/out")"

# -- arguments from a file or stdin ----------------------------------------------
python3 - "$tmp/args.json" <<'PY'
import json, sys
json.dump({"text": "x" * 1500000}, open(sys.argv[1], "w"))
PY
"$BIN" call --url "$DEMO" echo "@$tmp/args.json" >"$tmp/out" 2>"$tmp/err"
check "1.5 MB of arguments from @FILE" 0 $?
check "the whole text came back" 1500001 "$(wc -c <"$tmp/out")"
"$BIN" call --url "$DEMO" echo - <"$tmp/args.json" >"$tmp/out" 2>&1
check "arguments from stdin (-)" 0 $?
"$BIN" call --url "$DEMO" echo "@$tmp/missing.json" >/dev/null 2>&1
check "a missing @FILE is a usage error" 2 $?

# -- tools honours --timeout while no session comes up ---------------------------
start=$(date +%s)
timeout 15 "$BIN" tools --url "http://127.0.0.1:$closed_port/sse" --retries -1 \
  --timeout 2 >/dev/null 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
check "tools --retries -1 --timeout 2 gives up with exit 3" 3 "$rc"
if [ "$took" -le 6 ]; then ok; else bad "tools took $took s for --timeout 2"; fi

# -- --timeout bounds a call that reports progress ---------------------------------
# slow sends progress every 100 ms for 10 s: without --max-timeout the call
# ends at --timeout.
start=$(date +%s)
timeout 15 "$BIN" call --url "$DEMO" slow '{"ms":10000}' --timeout 1 \
  >/dev/null 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
check "a progressing call ends at --timeout (exit 3)" 3 "$rc"
check_match "with the timeout code" '^caf-mcp: timeout' "$(tail -1 "$tmp/err")"
if [ "$took" -le 4 ]; then ok; else bad "the call took $took s for --timeout 1"; fi
timeout 15 "$BIN" call --url "$DEMO" slow '{"ms":1500}' --timeout 1 \
  --max-timeout 5 >/dev/null 2>&1
check "--max-timeout lets progress extend the call" 0 $?

# -- a tool list is bounded: --max-tools and --max-tools-bytes ----------------------
start_server big --extra-tools 20000
BIG="http://127.0.0.1:$PORT_big/sse"
"$BIN" tools --url "$BIG" >"$tmp/out" 2>"$tmp/err"
check "20,004 tools beyond the default max_tools: exit 3" 3 $?
check_match "limit_exceeded naming max_tools" \
  '^caf-mcp: limit_exceeded: .*more than 10000 tools \(max_tools\)' \
  "$(tail -1 "$tmp/err")"
"$BIN" tools --url "$BIG" --max-tools 20004 >"$tmp/out" 2>"$tmp/err"
check "--max-tools 20004 lists them" 0 $?
check "every tool listed once" 20004 "$(wc -l <"$tmp/out")"
"$BIN" tools --url "$BIG" --max-tools 20003 >/dev/null 2>"$tmp/err"
check "--max-tools 20003 is one short: exit 3" 3 $?
"$BIN" tools --url "$BIG" --max-tools 20004 --max-tools-bytes 100000 \
  >/dev/null 2>"$tmp/err"
check "--max-tools-bytes 100000 against about 940 KB of tools: exit 3" 3 $?
check_match "limit_exceeded naming max_tools_bytes" \
  'limit_exceeded: .*\(max_tools_bytes\)' "$(tail -1 "$tmp/err")"
"$BIN" tools --url "$DEMO" --max-tools 0 >/dev/null 2>&1
check "--max-tools 0 is a usage error" 2 $?

# -- sse-decode allocates for its input, not for --chunk-size ---------------------
printf 'data: hello\n\n' >"$tmp/in.sse"
limit=300000
# AddressSanitizer reserves terabytes of address space for its shadow
# memory: no address-space limit for such a build (the check then only
# proves the decode works).
if ldd "$BIN" 2>/dev/null | grep -q libasan; then limit=unlimited; fi
(ulimit -v "$limit"; "$BIN" sse-decode --chunk-size 1073741824 <"$tmp/in.sse" \
  >"$tmp/out" 2>"$tmp/err")
check "sse-decode --chunk-size 1 GiB under a 300 MB address-space limit" 0 $?
check_match "and decodes" '"data":"hello"' "$(cat "$tmp/out")"

# -- -v logs state changes, without secrets -----------------------------------------
"$BIN" call -v --url "http://127.0.0.1:$PORT_demo/sse?token=S3CRET5" \
  -H 'Authorization: Bearer S3CRET6' echo '{"text":"v"}' >/dev/null 2>"$tmp/err"
check "call -v works" 0 $?
check_match "-v logs the session becoming ready" 'caf-mcp info session.*ready' \
  "$(cat "$tmp/err")"
if grep -q 'S3CRET' "$tmp/err"; then bad "-v printed a secret"; else ok; fi
# -v ends with the session's counters (session_stats) in one line.
check_match "-v prints the session counters at exit" \
  'caf-mcp info session: .*: stats: requests_sent=[1-9][0-9]* responses=[1-9][0-9]* unknown_responses=0 ' \
  "$(cat "$tmp/err")"

# -- -vv hides the session id; `tools` lists once ---------------------------------
# A verbose demo server prints each session id it hands out and each
# request it gets ("session <8 chars>: tools/list id=N").
start_server verbose --verbose
"$BIN" call -vv --url "http://127.0.0.1:$PORT_verbose/sse" echo '{"text":"vv"}' \
  >/dev/null 2>"$tmp/err"
check "call -vv works" 0 $?
sid=$(sed -n 's/^demo-server: session \([0-9a-f-]\{36\}\) opened$/\1/p' \
  "$tmp/verbose.log" | head -n 1)
[ -n "$sid" ] || bad "the verbose demo server named no session: $(cat "$tmp/verbose.log")"
check_match "-vv logs the endpoint with its session id redacted" \
  'endpoint http://127\.0\.0\.1:[0-9]+/message\?sessionId=REDACTED-[0-9a-f]{8}' \
  "$(cat "$tmp/err")"
if [ -n "$sid" ] && grep -qF "$sid" "$tmp/err"; then
  bad "-vv printed the session id $sid: $(grep -F "$sid" "$tmp/err" | head -n 3)"
else
  ok
fi
before=$(grep -c ': tools/list id=' "$tmp/verbose.log")
"$BIN" tools --url "http://127.0.0.1:$PORT_verbose/sse" >"$tmp/out" 2>"$tmp/err"
check "tools against the verbose server works" 0 $?
check_match "tools lists the tools" 'echo' "$(cat "$tmp/out")"
# The server logs the request before it answers, and the answer came.
after=$(grep -c ': tools/list id=' "$tmp/verbose.log")
check "tools sends one tools/list (one page)" 1 "$((after - before))"

summary
