#!/usr/bin/env bash
# CLI contract of `caf-mcp bench` against a demo server on loopback: the JSON
# object (every field there, counts that add up, percentiles in order, the
# cold setup and the fresh-session connect times), the text form, the io
# options, isError results counted as tool errors, usage errors.
# Needs node (installed by deploy/test) to read the JSON. No fixed sleeps:
# every wait is a counted polling loop. Also: the soft descriptor limit is
# raised for many sessions.
set -u
BIN="$1"

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

if ! command -v node >/dev/null 2>&1; then
  give_up "node is missing (deploy/test installs it)"
fi

"$BIN" demo-server --port 0 --host 127.0.0.1 >"$tmp/out" 2>"$tmp/err" &
server_pid=$!
wait_for "$tmp/out" "listening on"
url=$(grep -Eo -m1 'http://127\.0\.0\.1:[0-9]+/sse' "$tmp/out")
if [ -z "$url" ]; then
  give_up "demo server did not start: $(cat "$tmp/err")"
fi

# judge FILE WANT: prints the problems with one bench JSON object (empty =
# none).
judge() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(process.argv[2]);
    let r;
    try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); }
    catch (e) { console.log("not JSON: " + e.message); process.exit(0); }
    const bad = [];
    for (const k of ["calls","ok","failed","tool_errors","errors","duration_s",
                     "calls_per_s","latency_us","setup_ms","connect_ms",
                     "concurrency","sessions","reconnects","resent",
                     "longest_recovery_ms"])
      if (!(k in r)) bad.push("missing " + k);
    if (bad.length) { console.log(bad.join("; ")); process.exit(0); }
    if (!(r.calls > 0)) bad.push("no calls");
    if (r.ok + r.failed !== r.calls) bad.push("ok + failed != calls");
    if (r.failed !== 0) bad.push("failed " + r.failed + " " + JSON.stringify(r.errors));
    if (r.tool_errors !== (want.all_tool_errors ? r.ok : 0))
      bad.push("tool_errors " + r.tool_errors);
    const l = r.latency_us;
    if (!(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max))
      bad.push("latency percentiles out of order " + JSON.stringify(l));
    if (!(r.setup_ms > 0)) bad.push("setup_ms " + r.setup_ms);
    const c = r.connect_ms;
    if (c.n !== want.connects) bad.push("connect_ms.n " + c.n);
    if (c.n > 0 && !(c.min > 0 && c.min <= c.p50 && c.p50 <= c.max))
      bad.push("connect_ms out of order " + JSON.stringify(c));
    if (r.concurrency !== want.concurrency) bad.push("concurrency " + r.concurrency);
    if (r.sessions !== want.sessions) bad.push("sessions " + r.sessions);
    const rate = r.calls / r.duration_s;
    if (Math.abs(rate - r.calls_per_s) > 0.01 * rate + 1)
      bad.push("calls_per_s " + r.calls_per_s + " vs " + rate);
    console.log(bad.join("; "));
  ' "$1" "$2" 2>&1 # a crash of the judge is a problem too
}

run_json() { # name want_json args...
  local name="$1" want="$2"
  shift 2
  "$BIN" bench --url "$url" --duration 0.3 --json "$@" >"$tmp/b.json" 2>"$tmp/b.err"
  check "$name: exit status" 0 $?
  check "$name: $(cat "$tmp/b.err")" "" "$(judge "$tmp/b.json" "$want")"
}

run_json "one call at a time" '{"connects":3,"concurrency":1,"sessions":1}' \
  --tool echo --args '{"text":"x"}' --connects 3
run_json "8 in flight over 2 sessions" '{"connects":0,"concurrency":8,"sessions":2}' \
  --tool echo --args '{"text":"x"}' --concurrency 8 --sessions 2 --connects 0
run_json "two io threads, no busy poll" '{"connects":2,"concurrency":4,"sessions":2}' \
  --tool add --args '{"a":1,"b":2}' --concurrency 4 --sessions 2 --connects 2 \
  --io-threads 2 --busy-poll-us 0
run_json "isError results are tool errors, not failures" \
  '{"connects":0,"concurrency":2,"sessions":1,"all_tool_errors":true}' \
  --tool fail --concurrency 2 --connects 0

# 100 held sessions need 200+ descriptors: under a soft limit of 128 the
# binary raises its soft limit to the hard one (skipped where the hard
# limit itself is too low to tell).
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ]; then
  (
    ulimit -Sn 128 || exit 1
    "$BIN" bench --url "$url" --duration 0.3 --json --tool echo \
      --args '{"text":"x"}' --sessions 100 --connects 0 >"$tmp/b.json" 2>"$tmp/b.err"
  )
  check "100 sessions under a soft limit of 128: exit status" 0 $?
  check "100 sessions under a soft limit of 128: $(cat "$tmp/b.err")" "" \
    "$(judge "$tmp/b.json" '{"connects":0,"concurrency":1,"sessions":100}')"
fi

# The text form names the same figures.
"$BIN" bench --url "$url" --tool echo --args '{"text":"x"}' --duration 0.2 \
  --connects 2 >"$tmp/b.txt" 2>&1
check "text form: exit status" 0 $?
for word in "calls " "throughput" "latency      p50" "setup " "connect      p50" "(2 fresh sessions"; do
  if grep -qF -- "$word" "$tmp/b.txt"; then ok; else bad "text form lacks [$word]: $(cat "$tmp/b.txt")"; fi
done

# Usage errors exit with 2.
"$BIN" bench --url "$url" --tool echo --io-threads 0 >/dev/null 2>&1
check "zero io threads is a usage error" 2 $?
"$BIN" bench --url "$url" --tool echo --busy-poll-us -1 >/dev/null 2>&1
check "negative busy poll is a usage error" 2 $?
"$BIN" bench --url "$url" --tool echo --args '[1]' >/dev/null 2>&1
check "args that are not an object are a usage error" 2 $?

summary
