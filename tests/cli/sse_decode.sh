#!/usr/bin/env bash
# CLI contract of `caf-mcp sse-decode`: exact output at several chunk sizes,
# exit status 0 at end of input, 2 on usage errors, oversized events reported
# on stderr while later events still come out.
set -u
BIN="$1"
fail=0
pass=0
check() { # name expected actual
  if [ "$2" == "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL %s\n--- expected\n%s\n--- actual\n%s\n' "$1" "$2" "$3"
  fi
}

input=$'\xEF\xBB\xBF: comment\r\nevent: endpoint\r\ndata: /message?sessionId=1\r\n\r\nretry: 500\nid: 4\ndata: {"a":"\\"q\\""}\ndata: tab\there\n\ndata: \xff\r\rdata: cut'
expected=$(cat <<'JSON'
{"event":"endpoint","data":"/message?sessionId=1","id":""}
{"retry":500}
{"event":"message","data":"{\"a\":\"\\\"q\\\"\"}\ntab\there","id":"4"}
JSON
)
expected+=$'\n{"event":"message","data":"\xef\xbf\xbd","id":"4"}'
for n in 1 2 7 65536; do
  out=$(printf '%s' "$input" | "$BIN" sse-decode --chunk-size "$n")
  check "exit status at chunk size $n" 0 $?
  check "output at chunk size $n" "$expected" "$out"
done
out=$(printf '%s' "$input" | "$BIN" sse-decode)
check "default chunk size" "$expected" "$out"

out=$("$BIN" sse-decode < /dev/null)
check "empty input exits 0" 0 $?
check "empty input prints nothing" "" "$out"

err=$("$BIN" sse-decode --chunk-size 0 < /dev/null 2>&1 >/dev/null)
check "chunk size 0 is a usage error" 2 $?
check "usage error is one line" 1 "$(printf '%s\n' "$err" | wc -l)"
"$BIN" sse-decode --no-such-flag < /dev/null 2>/dev/null
check "unknown flag is a usage error" 2 $?
"$BIN" sse-decode extra-arg < /dev/null 2>/dev/null
check "extra argument is a usage error" 2 $?

out=$(printf 'data: %0200d\n\ndata: after\n\n' 0 | "$BIN" sse-decode --max-event-size 64 2>/tmp/sse_decode_err.$$)
check "oversized event: exit 0" 0 $?
check "oversized event: later events survive" '{"event":"message","data":"after","id":""}' "$out"
err=$(cat /tmp/sse_decode_err.$$)
rm -f /tmp/sse_decode_err.$$
case "$err" in
  *event_too_large*) pass=$((pass + 1)) ;;
  *) fail=$((fail + 1)); echo "FAIL oversized event not reported on stderr: $err" ;;
esac

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
