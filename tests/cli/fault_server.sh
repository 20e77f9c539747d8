#!/usr/bin/env bash
# Fault injection of `caf-mcp demo-server --faults` (docs/fault-server.md),
# driven with curl over 127.0.0.1: every fault is armed through the control
# API (POST /_fault) and seen on the wire; the schedule options
# (--fault-every, --fault-after); GET /_stats; the record tool and
# --exec-log across a SIGKILL and a restart on the same port (--port,
# --port-file); usage errors; and that without --faults none of it exists.
#
# Every wait is a counted polling loop (at most ~5 s each) or a curl
# --max-time; no fixed sleeps stand in for a condition.
set -u
BIN="$1"
export LC_ALL=C

if ! command -v curl >/dev/null 2>&1; then
  echo "fault_server.sh: curl is missing; install it (apt-get install curl)"
  echo "0 passed, 1 failed"
  exit 1
fi

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

# wait_exit PID: polls up to 100 x 0.05 s for the process to end.
wait_exit() {
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

ms_now() { date +%s%3N; }

# start_server NAME ARGS...: starts the server, waits for its port file,
# sets $port and $base.
start_server() {
  local name="$1" i
  shift
  rm -f "$tmp/$name.port"
  "$BIN" demo-server --port-file "$tmp/$name.port" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  for ((i = 0; i < 100; i++)); do
    [ -s "$tmp/$name.port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  port=$(cat "$tmp/$name.port" 2>/dev/null)
  if [[ ! "$port" =~ ^[0-9]+$ ]]; then
    give_up "$name: no port file; stderr: $(cat "$tmp/$name.err")"
  fi
  base="http://127.0.0.1:$port"
}

# open_stream NAME: GET /sse into $tmp/NAME.sse; sets $endpoint and
# $stream_pid; curl's exit status goes to $tmp/NAME.rc.
open_stream() {
  local name="$1" i
  (curl -sN --max-time 60 "$base/sse" >"$tmp/$name.sse"; echo $? >"$tmp/$name.rc") &
  stream_pid=$!
  pids+=("$stream_pid")
  if ! wait_for "$tmp/$name.sse" "sessionId="; then
    bad "$name: no endpoint event"
    return 1
  fi
  for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$tmp/$name.sse")" -ge 3 ] && break
    sleep 0.05
  done
  endpoint=$(sed -n 's/^data: //p' "$tmp/$name.sse" | head -n 1)
}

# post BODY [URL]: prints "STATUS BODY" of the POST answer (000 = none).
post() {
  rm -f "$tmp/post_body" "$tmp/post_headers" "$tmp/post_status"
  curl -s --max-time "${POST_TIMEOUT:-5}" -o "$tmp/post_body" \
    -D "$tmp/post_headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "$1" \
    "${2:-$base$endpoint}" >"$tmp/post_status"
  echo $? >"$tmp/post_rc"
  printf '%s %s' "$(cat "$tmp/post_status")" "$(cat "$tmp/post_body" 2>/dev/null)"
}

# fault JSON: arms through the control API; prints "STATUS BODY".
fault() {
  curl -s --max-time 5 -o "$tmp/fault_body" -w '%{http_code}' \
    --data-binary "$1" "$base/_fault" >"$tmp/fault_status"
  printf '%s %s' "$(cat "$tmp/fault_status")" "$(tr -d '\n' <"$tmp/fault_body")"
}

stats() { curl -s --max-time 5 "$base/_stats${1:-}"; }

# stat KEY: one number from GET /_stats (top level or in faults_applied).
stat() { stats | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }

call() { # ID TOOL ARGS_JSON
  printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2" "$3"
}

# -- usage errors -------------------------------------------------------------

"$BIN" demo-server --port 0 --fault-every 0:post_503 >/dev/null 2>&1
check "--fault-every 0 is a usage error" 2 $?
"$BIN" demo-server --port 0 --fault-every 3:bogus >/dev/null 2>&1
check "unknown scheduled fault is a usage error" 2 $?
"$BIN" demo-server --port 0 --fault-after x:stall >/dev/null 2>&1
check "--fault-after without MS is a usage error" 2 $?
"$BIN" demo-server --port 0 --fault-every 2:drop_stream:9 >/dev/null 2>&1
check "a parameter for a fault without one is a usage error" 2 $?
"$BIN" demo-server --port 0 --exec-log "$tmp/no/such/dir/log" >/dev/null 2>&1
check "an exec log that cannot be opened fails" 3 $?

# -- without --faults nothing changes -----------------------------------------

start_server plain --port 0
check "no control API without --faults" 404 \
  "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --data '{"fault":"post_503"}' "$base/_fault")"
check "no stats without --faults" 404 \
  "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base/_stats")"
open_stream plain
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' >/dev/null
if wait_for "$tmp/plain.sse" '"id":1,' && ! grep -qF '"name":"record"' "$tmp/plain.sse"; then
  ok
else
  bad "plain server lists the record tool"
fi
kill "$server_pid"
wait_exit "$server_pid" || bad "plain server did not stop"

# -- the fault server: control API --------------------------------------------

start_server faults --port 0 --faults --exec-log "$tmp/exec.log"
check "arm post_503 echoes the fault" \
  '200 {"fault":"post_503","count":2,"retry_after":1,"armed":[{"fault":"post_503","count":2,"retry_after":1}]}' \
  "$(fault '{"fault":"post_503","count":2,"retry_after":1}')"
check "GET /_fault lists armed faults" \
  '{"armed":[{"fault":"post_503","count":2,"retry_after":1}]}' \
  "$(curl -s --max-time 5 "$base/_fault" | tr -d '\n')"
check "none clears" '200 {"fault":"none","cleared":1,"armed":[]}' \
  "$(fault '{"fault":"none"}')"
check_match "unknown fault is a 400" '^400 \{"error":"unknown fault: bogus"\}$' \
  "$(fault '{"fault":"bogus"}')"
check_match "unknown parameter is a 400" '^400 \{"error":"unknown parameter: colour"\}$' \
  "$(fault '{"fault":"stall","colour":1}')"
check_match "not JSON is a 400" '^400 \{"error":"invalid JSON' "$(fault 'nope')"
check_match "count 0 is a 400" '^400 ' "$(fault '{"fault":"stall","count":0}')"
check "PUT /_fault is a 405" 405 \
  "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X PUT "$base/_fault")"
check "stats start at zero" \
  '"posts":0,"calls":0,"executions":0' \
  "$(stats | grep -o '"posts":[0-9]*,"calls":[0-9]*,"executions":[0-9]*')"

open_stream s1
sse="$tmp/s1.sse"
check "the record tool is listed" "202 Accepted" \
  "$(post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')"
expect() { # NAME STRING
  if wait_for "$sse" "$2"; then ok; else bad "$1: no $2 on the stream"; fi
}
expect "record in tools/list" '"name":"record"'
post "$(call 2 record '{"key":"k1"}')" >/dev/null
expect "record answers the key and the count" \
  '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"k1"},{"type":"text","text":"count 1"}]}}'

# -- POST faults --------------------------------------------------------------

fault '{"fault":"post_503","count":2,"retry_after":1}' >/dev/null
check "post_503 (1)" "503 Service Unavailable" "$(post '{"jsonrpc":"2.0","id":3,"method":"ping"}')"
check "post_503 has Retry-After" "Retry-After: 1" \
  "$(tr -d '\r' <"$tmp/post_headers" | grep -i '^Retry-After')"
check "post_503 (2)" "503 Service Unavailable" "$(post '{"jsonrpc":"2.0","id":4,"method":"ping"}')"
check "post_503 count used up" "202 Accepted" "$(post '{"jsonrpc":"2.0","id":5,"method":"ping"}')"
expect "the POST after the faults is answered" '{"jsonrpc":"2.0","id":5,"result":{}}'
if grep -qF '"id":3,' "$sse" || grep -qF '"id":4,' "$sse"; then
  bad "a refused POST was processed"
else
  ok
fi
fault '{"fault":"post_503"}' >/dev/null
post '{"jsonrpc":"2.0","id":6,"method":"ping"}' >/dev/null
check "post_503 without retry_after has no Retry-After" "" \
  "$(tr -d '\r' <"$tmp/post_headers" | grep -i '^Retry-After')"

fault '{"fault":"post_429","retry_after":7}' >/dev/null
check "post_429" "429 Too Many Requests" "$(post '{"jsonrpc":"2.0","id":7,"method":"ping"}')"
check "post_429 has Retry-After" "Retry-After: 7" \
  "$(tr -d '\r' <"$tmp/post_headers" | grep -i '^Retry-After')"

fault '{"fault":"post_404"}' >/dev/null
check "post_404 says the session expired" "404 Session not found" \
  "$(post '{"jsonrpc":"2.0","id":8,"method":"ping"}')"

fault '{"fault":"no_answer"}' >/dev/null
t0=$(ms_now)
res=$(POST_TIMEOUT=1 post '{"jsonrpc":"2.0","id":9,"method":"ping"}')
check "no_answer: no status line until the client gives up" "000 " "$res"
check "no_answer: curl timed out (28)" 28 "$(cat "$tmp/post_rc")"
[ $(( $(ms_now) - t0 )) -ge 900 ] && ok || bad "no_answer: curl returned early"

fault '{"fault":"no_answer","process":true}' >/dev/null
POST_TIMEOUT=1 post '{"jsonrpc":"2.0","id":10,"method":"ping"}' >/dev/null
check "no_answer with process: still no status" 28 "$(cat "$tmp/post_rc")"
expect "no_answer with process: the request ran" '{"jsonrpc":"2.0","id":10,"result":{}}'
if grep -qF '"id":9,' "$sse"; then bad "no_answer ran the request"; else ok; fi

fault '{"fault":"post_drop"}' >/dev/null
post '{"jsonrpc":"2.0","id":11,"method":"ping"}' >/dev/null
check "post_drop: connection closed without a reply (52)" 52 "$(cat "$tmp/post_rc")"

fault '{"fault":"post_503","calls_only":true}' >/dev/null
check "calls_only skips a POST without tools/call" "202 Accepted" \
  "$(post '{"jsonrpc":"2.0","id":12,"method":"ping"}')"
check "calls_only takes the tools/call" "503 Service Unavailable" \
  "$(post "$(call 13 echo '{"text":"x"}')")"

# -- stream faults ------------------------------------------------------------

fault '{"fault":"unknown_id"}' >/dev/null
post "$(call 20 echo '{"text":"u"}')" >/dev/null
expect "unknown_id: the real response" '{"jsonrpc":"2.0","id":20,"result":'
unk=$(grep -n '"id":987654321,' "$sse" | head -n 1 | cut -d: -f1)
real=$(grep -n '"id":20,' "$sse" | head -n 1 | cut -d: -f1)
if [ -n "$unk" ] && [ "$unk" -lt "$real" ]; then ok; else
  bad "unknown_id: no unasked response before the real one ($unk, $real)"
fi

fault '{"fault":"duplicate_response"}' >/dev/null
post "$(call 21 record '{"key":"dup"}')" >/dev/null
expect "duplicate_response" '"id":21,'
post '{"jsonrpc":"2.0","id":22,"method":"ping"}' >/dev/null
expect "stream goes on after duplicate" '"id":22,'
check "duplicate_response: the response twice" 2 "$(grep -c '"id":21,' "$sse")"
check "duplicate_response: the tool ran once" 1 \
  "$(stats '?records=1' | grep -o '"dup":[0-9]*' | cut -d: -f2)"

fault '{"fault":"malformed_json"}' >/dev/null
post "$(call 23 echo '{"text":"m"}')" >/dev/null
post '{"jsonrpc":"2.0","id":24,"method":"ping"}' >/dev/null
expect "stream goes on after malformed_json" '"id":24,'
check "malformed_json: truncated data, id visible" 'data: {"jsonrpc":"2.0","id":23,"result":' \
  "$(grep -F '"id":23,' "$sse")"

fault '{"fault":"malformed_sse"}' >/dev/null
post "$(call 25 echo '{"text":"s"}')" >/dev/null
expect "malformed_sse utf8" '"id":25,'
if grep -F '"id":25,' "$sse" | grep -q $'\xff\xfe'; then ok; else
  bad "malformed_sse: no invalid UTF-8 in the data line"
fi
fault '{"fault":"malformed_sse","variant":"not_jsonrpc"}' >/dev/null
post "$(call 26 echo '{"text":"s"}')" >/dev/null
expect "malformed_sse not_jsonrpc" 'data: {"not":"json-rpc","id":26}'

fault '{"fault":"oversized_event"}' >/dev/null
post "$(call 27 echo '{"text":"big"}')" >/dev/null
post '{"jsonrpc":"2.0","id":28,"method":"ping"}' >/dev/null
expect "stream goes on after oversized_event" '"id":28,'
# The event: "event: message\n", the data line, the blank line.
size=$(( $(grep -F '"id":27,' "$sse" | wc -c) + 15 + 1 ))
if [ "$size" -gt 2097152 ]; then ok; else bad "oversized_event: only $size bytes"; fi
if grep -F '"id":27,' "$sse" | grep -qF '"text":"big"'; then ok; else
  bad "oversized_event: not the real response"
fi
fault '{"fault":"oversized_event","bytes":1000}' >/dev/null
post "$(call 29 echo '{"text":"b"}')" >/dev/null
expect "oversized_event bytes" '"id":29,'
size=$(( $(grep -F '"id":29,' "$sse" | wc -c) + 15 + 1 ))
if [ "$size" -gt 1000 ] && [ "$size" -lt 1100 ]; then ok; else
  bad "oversized_event 1000: $size bytes"
fi

fault '{"fault":"stall","ms":400}' >/dev/null
t0=$(ms_now)
post "$(call 30 echo '{"text":"stalled"}')" >/dev/null
post '{"jsonrpc":"2.0","id":31,"method":"ping"}' >/dev/null
expect "stall: half the event" 'data: {"jsonrpc":"2.0","id":30,'
expect "stall: the rest after the pause" '{"jsonrpc":"2.0","id":30,"result":{"content":[{"type":"text","text":"stalled"}]}}'
expect "stall: later events follow" '{"jsonrpc":"2.0","id":31,"result":{}}'
[ $(( $(ms_now) - t0 )) -ge 400 ] && ok || bad "stall: the rest came before 400 ms"
s30=$(grep -n '"id":30,' "$sse" | cut -d: -f1)
s31=$(grep -n '"id":31,' "$sse" | cut -d: -f1)
[ "$s30" -lt "$s31" ] && ok || bad "stall: events out of order"

fault '{"fault":"drop_stream"}' >/dev/null
post "$(call 32 record '{"key":"dropped"}')" >/dev/null
if wait_exit "$stream_pid"; then ok; else bad "drop_stream: the stream stayed open"; fi
wait "$stream_pid" 2>/dev/null
check "drop_stream: curl saw a broken body (18)" 18 "$(cat "$tmp/s1.rc")"
last=$(tail -c 200 "$sse")
case "$last" in
  *'data: {"jsonrpc":"2.0","id":32,'*) ok ;;
  *) bad "drop_stream: the half event is missing: [$last]" ;;
esac
if [ "$(tail -c 1 "$sse" | od -An -c | tr -d ' ')" == '\n' ]; then
  bad "drop_stream: the event was complete"
else
  ok
fi
check "drop_stream: the tool ran" 1 \
  "$(stats '?records=1' | grep -o '"dropped":[0-9]*' | cut -d: -f2)"
check "drop_stream: the session is gone" "404 Session not found" \
  "$(post '{"jsonrpc":"2.0","id":33,"method":"ping"}')"

# stall forever, then a restart by command ends it.
open_stream s2
sse="$tmp/s2.sse"
s2_pid=$stream_pid
s2_endpoint=$endpoint
open_stream s3
s3_pid=$stream_pid
endpoint=$s2_endpoint
fault '{"fault":"stall"}' >/dev/null
post "$(call 40 echo '{"text":"forever"}')" >/dev/null
post '{"jsonrpc":"2.0","id":41,"method":"ping"}' >/dev/null
expect "stall forever: half the event" 'data: {"jsonrpc":"2.0","id":40,'
check_match "new_session now closes both streams" \
  '^200 \{"fault":"new_session","now":true,"closed":2,' \
  "$(fault '{"fault":"new_session","now":true}')"
wait_exit "$s2_pid" && wait_exit "$s3_pid" && ok || bad "new_session: a stream stayed open"
if grep -qF '"text":"forever"' "$sse" || grep -qF '"id":41,' "$sse"; then
  bad "stall forever: held bytes were sent"
else
  ok
fi
check "old session ids are forgotten" "404 Session not found" \
  "$(post '{"jsonrpc":"2.0","id":42,"method":"ping"}')"

# new_session armed: the next tools/call does not run, all streams close.
open_stream s4
s4_pid=$stream_pid
open_stream s5
s5_pid=$stream_pid
exec_before=$(stat executions)
fault '{"fault":"new_session"}' >/dev/null
post "$(call 50 record '{"key":"never"}')" >/dev/null
wait_exit "$s4_pid" && wait_exit "$s5_pid" && ok || bad "armed new_session: a stream stayed open"
check "armed new_session: the call did not run" "$exec_before" "$(stat executions)"
check "armed new_session: sessions_open" 0 "$(stat sessions_open)"
check "armed new_session: POST to the old id" "404 Session not found" \
  "$(post '{"jsonrpc":"2.0","id":51,"method":"ping"}')"
open_stream s6
sse="$tmp/s6.sse"
post "$(call 52 echo '{"text":"again"}')" >/dev/null
expect "a new session after the restart works" '"id":52,"result"'

# no_answer held open, then closed by a restart.
fault '{"fault":"no_answer"}' >/dev/null
(POST_TIMEOUT=30 post '{"jsonrpc":"2.0","id":53,"method":"ping"}' >/dev/null) &
held_pid=$!
pids+=("$held_pid")
for ((i = 0; i < 100; i++)); do
  [ "$(stat no_answer)" -ge 3 ] && break
  sleep 0.05
done
fault '{"fault":"new_session","now":true}' >/dev/null
if wait_exit "$held_pid"; then ok; else bad "new_session: a held POST stayed open"; fi

# -- stats --------------------------------------------------------------------

st=$(stats)
for key in sessions_opened sessions_open posts calls executions unauthorized \
           faults_applied record_executions record_keys duplicates; do
  if grep -qF "\"$key\":" <<<"$st"; then ok; else bad "stats: no $key in $st"; fi
done
check "stats: sessions_opened" 6 "$(stat sessions_opened)"
check "stats: no 401 without --token-file" 0 "$(stat unauthorized)"
for f in post_503 post_429 post_404 no_answer post_drop unknown_id \
         duplicate_response malformed_json malformed_sse oversized_event stall \
         drop_stream new_session; do
  n=$(stat "$f")
  if [ -n "$n" ] && [ "$n" -ge 1 ]; then ok; else bad "stats: $f applied $n times"; fi
done
check "stats: duplicate_response did not duplicate the execution" '"duplicates":{}' \
  "$(grep -o '"duplicates":{[^}]*}' <<<"$st")"

# -- exec log across SIGKILL and a restart on the same port -------------------

open_stream s7
post "$(call 60 record '{"key":"before-kill"}')" >/dev/null
if wait_for "$tmp/s7.sse" '"text":"before-kill"'; then ok; else bad "record before kill"; fi
fixed=$port
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null
start_server restarted --port "$fixed" --exec-log "$tmp/exec.log"
check "restart on the same port" "$fixed" "$port"
open_stream s8
post "$(call 61 record '{"key":"before-kill"}')" >/dev/null
if wait_for "$tmp/s8.sse" '{"type":"text","text":"count 1"}'; then ok; else
  bad "record counts per process"
fi
check "exec log survives the kill and is appended to" \
  "$(printf 'k1\ndup\ndropped\nbefore-kill\nbefore-kill')" "$(grep -v '^#start ' "$tmp/exec.log")"
check "one start marker per server process" 2 "$(grep -c '^#start ' "$tmp/exec.log")"
post "$(call 62 record '{"key":"a\nb"}')" >/dev/null
if wait_for "$tmp/s8.sse" '"id":62,' && grep -F '"id":62,' "$tmp/s8.sse" | grep -qF '"isError":true'; then
  ok
else
  bad "record rejects a key with a line break"
fi

# -- the schedule -------------------------------------------------------------

kill "$server_pid"
wait_exit "$server_pid" || bad "server did not stop on SIGTERM"
wait "$server_pid" 2>/dev/null
check "exit status after SIGTERM" 0 $?
start_server sched --port 0 --fault-every 3:post_503:2 \
  --fault-every '4:{"fault":"duplicate_response"}' --fault-after 0:post_429:3
open_stream s9
sse="$tmp/s9.sse"
check "--fault-after 0 takes the first POST" "429 Too Many Requests" \
  "$(post '{"jsonrpc":"2.0","id":1,"method":"ping"}')"
check "--fault-after 0: Retry-After" "Retry-After: 3" \
  "$(tr -d '\r' <"$tmp/post_headers" | grep -i '^Retry-After')"
res=""
retry=""
for id in 1 2 3 4 5 6 7; do
  res+="$(post "$(call "$id" echo '{"text":"s"}')" | cut -d' ' -f1) "
  [ "$id" == 6 ] && retry=$(tr -d '\r' <"$tmp/post_headers" | grep -i '^Retry-After')
done
check "--fault-every 3: calls 3 and 6 refused" "202 202 503 202 202 503 202 " "$res"
check "--fault-every 3: Retry-After" "Retry-After: 2" "$retry"
expect "--fault-every 4: call 4 answered" '"id":4,'
expect "call 7 answered" '"id":7,'
check "--fault-every 4: the response of call 4 twice" 2 "$(grep -c '"id":4,' "$sse")"
check "--fault-every 4: the response of call 5 once" 1 "$(grep -c '"id":5,' "$sse")"
check "stats count scheduled faults" 2 "$(stat post_503)"
kill "$server_pid"
wait "$server_pid" 2>/dev/null

t_start=$(ms_now)
start_server timed --port 0 --fault-after 300:post_404
open_stream s10
got=""
for ((i = 0; i < 100; i++)); do
  got=$(post '{"jsonrpc":"2.0","id":1,"method":"ping"}')
  [ "$got" == "404 Session not found" ] && break
  sleep 0.05
done
check "--fault-after 300 arms post_404" "404 Session not found" "$got"
[ $(( $(ms_now) - t_start )) -ge 300 ] && ok || bad "--fault-after 300 fired early"
check "--fault-after 300: the POST before it were accepted" "$i" "$(stat posts | xargs -I{} expr {} - 1)"
kill "$server_pid"
wait "$server_pid" 2>/dev/null

summary
