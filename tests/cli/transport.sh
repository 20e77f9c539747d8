#!/usr/bin/env bash
# CLI contract of --transport: `tools`, `call` (progress on stderr) and
# `bench --json` over Streamable HTTP against the SDK 1.x peers (fixtures
# shttp-stateful and shttp-json, URLs in $CAF_MCP_PEERS_STATE), `auto`
# against a Streamable HTTP peer and against our SSE demo server (fallback),
# and usage errors. Every command has a timeout; no sleeps.
set -u
BIN="$1"

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  kill_ours KILL "$server_pid"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

state="${CAF_MCP_PEERS_STATE:-}"
[ -n "$state" ] || give_up "CAF_MCP_PEERS_STATE is not set (run through ctest)"
stateful=$(head -n1 "$state/shttp-stateful.url" 2>/dev/null)
json=$(head -n1 "$state/shttp-json.url" 2>/dev/null)
[ -n "$stateful" ] && [ -n "$json" ] || give_up "no streamable peer URLs in $state"

# tools and call over each answer kind
for url in "$stateful" "$json"; do
  out=$(timeout 30 "$BIN" tools --transport http --url "$url" 2>"$tmp/err")
  check "tools over $url: exit" 0 $?
  check_match "tools over $url lists echo" $'(^|\n)echo ' "$out"
  out=$(timeout 30 "$BIN" call --transport http --url "$url" echo '{"message":"cli"}' 2>"$tmp/err")
  check "call over $url: exit" 0 $?
  check "call over $url: text" "Echo: cli" "$out"
done
out=$(timeout 30 "$BIN" call --transport http --url "$stateful" progress '{"steps":2}' 2>"$tmp/err")
check "progress: exit" 0 $?
check "progress: text" "done 2" "$out"
check_match "progress on stderr" "progress: 2/2" "$(cat "$tmp/err")"

# bench reports the transport
timeout 60 "$BIN" bench --transport http --url "$json" --tool echo \
  --args '{"message":"b"}' --duration 0.3 --connects 2 --json >"$tmp/b.json" 2>"$tmp/err"
check "bench: exit" 0 $?
check_match "bench --json names the transport" '"transport":"streamable_http"' "$(cat "$tmp/b.json")"
check_match "bench --json: no failures" '"failed":0,' "$(cat "$tmp/b.json")"

# auto: Streamable HTTP where it is spoken, SSE (fallback) where it is not
out=$(timeout 30 "$BIN" call --transport auto --url "$stateful" echo '{"message":"a"}' -v 2>"$tmp/err")
check "auto on Streamable HTTP: text" "Echo: a" "$out"
check_match "auto on Streamable HTTP: detected" "detected Streamable HTTP" "$(cat "$tmp/err")"
# a 2025 server: the default (--protocol-version auto) probes server/discover
# first and falls back to the handshake
check_match "auto on a 2025 server: discovery refused, handshake" "server/discover refused" "$(cat "$tmp/err")"

"$BIN" demo-server --port 0 --host 127.0.0.1 >"$tmp/out" 2>"$tmp/derr" &
server_pid=$!
wait_for "$tmp/out" "listening on" || give_up "demo server did not start: $(cat "$tmp/derr")"
sse=$(grep -Eo -m1 'http://127\.0\.0\.1:[0-9]+/sse' "$tmp/out")
out=$(timeout 30 "$BIN" call --transport auto --url "$sse" echo '{"text":"s"}' -v 2>"$tmp/err")
check "auto on SSE: exit" 0 $?
check "auto on SSE: text" "s" "$out"
check_match "auto on SSE: fell back" "trying HTTP\+SSE" "$(cat "$tmp/err")"
check_match "auto on SSE: ready over sse" "transport sse\)" "$(cat "$tmp/err")"

# usage errors
timeout 10 "$BIN" tools --transport carrier-pigeon --url "$sse" >/dev/null 2>"$tmp/err"
check "unknown transport: exit 2" 2 $?
check_match "unknown transport: message names the choices" "sse|http|auto|transport" "$(cat "$tmp/err")"
check_match "--help lists --transport" "--transport" "$("$BIN" tools --help)"

# protocol versions: the era follows --protocol-version
out=$(timeout 30 "$BIN" call --transport auto --url "$stateful" echo '{"message":"h"}' --protocol-version 2025-11-25 -v 2>"$tmp/err")
check "2025-11-25 (handshake only) on Streamable HTTP: text" "Echo: h" "$out"
check_match "2025-11-25: ready with the handshake" "ready \\(protocol 2025-11-25, transport streamable_http\\)" "$(cat "$tmp/err")"
if grep -q "server/discover" "$tmp/err"; then bad "2025-11-25: no discovery probe"; else ok; fi
timeout 10 "$BIN" tools --transport sse --protocol-version 2026-07-28 --url "$sse" >/dev/null 2>"$tmp/err"
check "2026-07-28 over sse: exit 2" 2 $?
check_match "2026-07-28 over sse: says why" "stateless MCP\\) needs --transport http" "$(cat "$tmp/err")"
timeout 10 "$BIN" tools --protocol-version 2099-01-01 --url "$sse" >/dev/null 2>"$tmp/err"
check "unknown protocol version: exit 2" 2 $?
check_match "unknown protocol version: lists the choices" "auto, 2026-07-28, 2025-11-25" "$(cat "$tmp/err")"
check_match "--help explains --protocol-version" "stateless" "$("$BIN" tools --help)"

summary
