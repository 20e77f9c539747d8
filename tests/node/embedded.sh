#!/usr/bin/env bash
# The embedded default: `caf-mcp node` without --config runs metrics_stream,
# logs_stream and alerts_stream inside the process; all three become
# healthy and each sends notifications/message that reach /api/events.
#
# usage: embedded.sh CAF_MCP_BIN. Every wait is bounded; loopback only.
set -u
BIN="$1"
tmp=$(mktemp -d)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill -KILL "$node_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

"$BIN" node --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
node_pid=$!
wait_for "$tmp/out" "listening on" || give_up "node did not start: $(cat "$tmp/err")"
URL=$(grep -o 'http://[^ ]*' "$tmp/out")
curl -sN -m 20 "${URL}api/events" >"$tmp/events" 2>/dev/null &
curl_pid=$!
for ((i = 0; i < 100; i++)); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${URL}readyz")" == 200 ] && break
  sleep 0.1
done
body=$(curl -s "${URL}api/servers")
for s in alerts_stream logs_stream metrics_stream; do
  check_match "$s is healthy" "\"name\":\"$s\"[^}]*\"state\":\"healthy\"" "$body"
done
# metrics every 1 s, logs every 0.7 s, alerts' first line at once.
for s in alerts_stream logs_stream metrics_stream; do
  for ((i = 0; i < 150; i++)); do
    grep -q "\"server\":\"$s\",\"level\"" "$tmp/events" && break
    sleep 0.1
  done
  grep -q "\"server\":\"$s\",\"level\"" "$tmp/events" && ok \
    || bad "no log event from $s within 15 s"
done
kill "$curl_pid" 2>/dev/null
kill -TERM "$node_pid"
wait "$node_pid"
check "SIGTERM: exit 0" 0 $?
node_pid=""
summary
