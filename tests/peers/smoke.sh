#!/usr/bin/env bash
# smoke.sh NAME STATE_DIR: prove with curl alone that the running peer NAME
# (started by start.sh) behaves as tests/peers/README.md says. Bounded: every
# wait has a deadline, every curl a --max-time. Used as the CTest tests
# peers.smoke (NAME=everything) and peers.smoke.NAME (tests/peers/CMakeLists.txt).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 NAME STATE_DIR" >&2
  exit 2
fi
NAME="$1"
STATE_DIR="$2"
WAIT="${PEERS_SMOKE_WAIT:-10}" # seconds for each expected event

fail() { printf 'peers smoke %s: FAIL: %s\n' "$NAME" "$*" >&2; dump; exit 1; }
note() { printf 'peers smoke %s: %s\n' "$NAME" "$*"; }

command -v curl >/dev/null 2>&1 || { echo "curl not found (deploy/packages.txt lists it; run ./deploy/test)" >&2; exit 1; }
[ -s "$STATE_DIR/$NAME.url" ] || { echo "no $STATE_DIR/$NAME.url: is the fixture peers.start.$NAME running?" >&2; exit 1; }
URL="$(head -n1 "$STATE_DIR/$NAME.url")"
ORIGIN="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$URL")"

work="$(mktemp -d "${TMPDIR:-/tmp}/peers-smoke-$NAME.XXXXXX")"
curl_pids=()
cleanup() {
  local p
  for p in "${curl_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${curl_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
dump() {
  local f
  for f in "$work"/*; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f"):" >&2
    head -c 4000 "$f" | cat -A | sed -e 's/^/  | /' >&2
  done
}

CURL_TLS=()
if [ "$NAME" = https ]; then
  CURL_TLS=(--cacert "$(head -n1 "$STATE_DIR/https.ca")")
fi

# open_stream FILE [curl args...]: GET the SSE URL in the background, raw
# bytes to FILE, headers to FILE.h.
open_stream() {
  local file="$1"; shift
  curl -sS -N --max-time 60 "${CURL_TLS[@]}" -D "$file.h" -H 'Accept: text/event-stream' \
    "$@" "$URL" >"$file" 2>"$file.err" &
  curl_pids+=($!)
}

# wait_for FILE ERE [SECONDS]: until a line of FILE matches ERE (bounded).
wait_for() {
  local file="$1" re="$2" secs="${3:-$WAIT}" i
  for ((i = 0; i < secs * 20; i++)); do
    grep -aqE "$re" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# post PATH_OR_URL JSON [curl args...]: prints "HTTP_STATUS" and writes the body to $work/post.body
post() {
  local target="$1" json="$2"; shift 2
  case "$target" in http://* | https://*) ;; *) target="$ORIGIN$target" ;; esac
  curl -sS --max-time 5 "${CURL_TLS[@]}" -o "$work/post.body" -D "$work/post.h" -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data "$json" "$@" "$target" || echo "curl-failed"
}

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"caf-mcp-smoke","version":"0"}}}'
INITIALIZED='{"jsonrpc":"2.0","method":"notifications/initialized"}'
ECHO='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"smoke"}}}'

# endpoint FILE: the data of the first endpoint event
endpoint() {
  wait_for "$1" '^event: endpoint$' || fail "no endpoint event within ${WAIT}s"
  wait_for "$1" '^data: ' || fail "endpoint event without data"
  grep -a -m1 -A1 '^event: endpoint$' "$1" | sed -n 's/^data: //p' | tr -d '\r'
}

# session FILE [curl args]: the full MCP handshake and one echo call on FILE's stream
session() {
  local file="$1"; shift
  local ep code
  ep="$(endpoint "$file")"
  [[ "$ep" == /message\?sessionId=* ]] || fail "unexpected endpoint '$ep'"
  code="$(post "$ep" "$INIT" "$@")"
  [ "$code" = 202 ] || fail "POST initialize: HTTP $code (want 202)"
  wait_for "$file" '^data: .*"id":1[,}].*"serverInfo"|^data: .*"serverInfo".*"id":1[,}]' || fail "initialize response not on the stream"
  code="$(post "$ep" "$INITIALIZED" "$@")"
  [ "$code" = 202 ] || fail "POST notifications/initialized: HTTP $code"
  code="$(post "$ep" "$ECHO" "$@")"
  [ "$code" = 202 ] || fail "POST tools/call echo: HTTP $code"
  wait_for "$file" '^data: .*"text":"Echo: smoke".*"id":2[,}]|^data: .*"id":2[,}].*"text":"Echo: smoke"' ||
    fail "echo result not on the stream"
  echo "$ep"
}

case "$NAME" in
  everything | sdk-echo | https)
    open_stream "$work/stream"
    ep="$(session "$work/stream")"
    grep -qi '^content-type: text/event-stream' "$work/stream.h" || fail "GET: not text/event-stream"
    note "endpoint $ep; initialize, initialized and tools/call echo answered on the stream"
    if [ "$NAME" = everything ]; then
      wait_for "$work/stream" '"method":"notifications/tools/list_changed"' ||
        fail "no notifications/tools/list_changed after initialized"
      note "notifications/tools/list_changed arrived after initialized"
      # An unknown session id is never answered by server-everything.
      code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":9,"method":"ping"}' "$ORIGIN/message?sessionId=unknown" 2>/dev/null || true)"
      [ "$code" = 000 ] || fail "POST with an unknown session: HTTP $code (expected no answer)"
      note "POST with an unknown session id: no answer within 2 s (as documented)"
    fi
    ;;
  bearer)
    code="$(curl -sS -o "$work/401.body" -w '%{http_code}' --max-time 5 -H 'Accept: text/event-stream' "$URL")"
    [ "$code" = 401 ] || fail "GET without a token: HTTP $code (want 401)"
    code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H 'Authorization: Bearer wrong' "$URL")"
    [ "$code" = 401 ] || fail "GET with a wrong token: HTTP $code (want 401)"
    open_stream "$work/stream" -H 'Authorization: Bearer test-token'
    ep="$(endpoint "$work/stream")"
    code="$(post "$ep" "$INIT")"
    [ "$code" = 401 ] || fail "POST without a token: HTTP $code (want 401)"
    ep="$(session "$work/stream" -H 'Authorization: Bearer test-token')"
    note "401 without/with a wrong token on GET and POST; full session with the token"
    ;;
  other-origin)
    open_stream "$work/stream"
    ep="$(endpoint "$work/stream")"
    [[ "$ep" =~ ^https?://[^/]+/ ]] || fail "endpoint '$ep' is not absolute"
    ep_origin="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$ep")"
    [ "$ep_origin" != "$ORIGIN" ] || fail "endpoint '$ep' is on the same origin"
    hits="$(curl -sS --max-time 5 "$ORIGIN/trap-hits")"
    [[ "$hits" == *'"hits":0'* ]] || fail "trap-hits: $hits"
    note "endpoint $ep is on another origin than $ORIGIN; trap: $hits"
    ;;
  post-404 | post-503)
    want="${NAME#post-}"
    open_stream "$work/stream"
    ep="$(endpoint "$work/stream")"
    code="$(post "$ep" "$INIT")"
    [ "$code" = "$want" ] || fail "POST initialize: HTTP $code (want $want)"
    grep -qi '^content-type: text/plain' "$work/post.h" || fail "POST error body is not text/plain"
    if [ "$want" = 503 ]; then
      grep -qi '^retry-after: 2' "$work/post.h" || fail "503 without Retry-After: 2"
    else
      grep -q 'Session not found' "$work/post.body" || fail "404 body: $(cat "$work/post.body")"
    fi
    note "endpoint $ep; POST answered $code ($(head -c 80 "$work/post.body"))"
    ;;
  other-credentials)
    # Never print the password: notes and failures show it as ***.
    hide() { sed -e 's/s3cret/***/g' <<<"$1"; }
    client="caf-mcp-smoke-$$"
    init="${INIT/caf-mcp-smoke/$client}"
    open_stream "$work/stream"
    ep="$(endpoint "$work/stream")"
    [[ "$ep" =~ ^http://alice:s3cret@([^/@]+)/message\?sessionId=[0-9a-f-]+$ ]] ||
      fail "endpoint '$(hide "$ep")' is not http://alice:***@HOST:PORT/message?sessionId=ID"
    [ "http://${BASH_REMATCH[1]}" = "$ORIGIN" ] || fail "endpoint '$(hide "$ep")' is not on $ORIGIN"
    bare="${ep/alice:s3cret@/}"
    # Every POST without alice's credentials is refused, before the session sees it.
    code="$(post "$bare" "$init")"
    [ "$code" = 401 ] || fail "POST without credentials: HTTP $code (want 401)"
    grep -qi '^www-authenticate: basic' "$work/post.h" || fail "401 without WWW-Authenticate: Basic"
    ! grep -q s3cret "$work/post.body" || fail "the 401 body names the password"
    code="$(post "$bare" "$init" -u bob:pw)"
    [ "$code" = 401 ] || fail "POST as bob: HTTP $code (want 401)"
    code="$(post "$bare" "$init" -u alice:wrong)"
    [ "$code" = 401 ] || fail "POST as alice with a wrong password: HTTP $code (want 401)"
    code="$(post "$bare" "$init" -H 'Authorization: Bearer s3cret')"
    [ "$code" = 401 ] || fail "POST with a bearer token: HTTP $code (want 401)"
    # The endpoint URL as it is: curl sends its userinfo as Basic credentials.
    code="$(post "$ep" "$init")"
    [ "$code" = 202 ] || fail "POST initialize with the endpoint's credentials: HTTP $code (want 202)"
    wait_for "$work/stream" '^data: .*"id":1[,}].*"serverInfo"|^data: .*"serverInfo".*"id":1[,}]' ||
      fail "initialize response not on the stream"
    code="$(post "$ep" "$INITIALIZED")"
    [ "$code" = 202 ] || fail "POST notifications/initialized: HTTP $code"
    code="$(post "$ep" "$ECHO")"
    [ "$code" = 202 ] || fail "POST tools/call echo: HTTP $code"
    wait_for "$work/stream" '^data: .*"text":"Echo: smoke".*"id":2[,}]|^data: .*"id":2[,}].*"text":"Echo: smoke"' ||
      fail "echo result not on the stream"
    # What the peer recorded for this session: labels, never the password.
    seen="$(curl -sS --max-time 5 "$ORIGIN/seen?client=$client")"
    want='{"sessions":1,"gets":{"none":1},"posts":['
    want+='{"method":"initialize","auth":"none","status":401},'
    want+='{"method":"initialize","auth":"basic:bob","status":401},'
    want+='{"method":"initialize","auth":"basic:alice","status":401},'
    want+='{"method":"initialize","auth":"bearer","status":401},'
    want+='{"method":"initialize","auth":"alice","status":202},'
    want+='{"method":"notifications/initialized","auth":"alice","status":202},'
    want+='{"method":"tools/call","auth":"alice","status":202}]}'
    [ "$seen" = "$want" ] || fail "seen: $(hide "$seen")"
    note "endpoint $(hide "$ep") on $ORIGIN; POSTs without, with other credentials or a bearer token: 401; with the endpoint's: initialize, initialized and echo answered; seen: $seen"
    # The error paths: other credentials in the endpoint, another origin.
    curl -sS -N --max-time 60 -H 'Accept: text/event-stream' "$URL?as=mallory" >"$work/mallory" 2>"$work/mallory.err" &
    curl_pids+=($!)
    curl -sS -N --max-time 60 -H 'Accept: text/event-stream' "$URL?host=localhost" >"$work/localhost" 2>"$work/localhost.err" &
    curl_pids+=($!)
    ep="$(endpoint "$work/mallory")"
    [[ "$ep" == "http://mallory:s3cret@${ORIGIN#http://}/message?sessionId="* ]] || fail "?as=mallory: endpoint '$(hide "$ep")'"
    code="$(post "$ep" "$init")"
    [ "$code" = 401 ] || fail "POST as mallory: HTTP $code (want 401)"
    ep="$(endpoint "$work/localhost")"
    [[ "$ep" == "http://alice:s3cret@localhost:${ORIGIN##*:}/message?sessionId="* ]] || fail "?host=localhost: endpoint '$(hide "$ep")'"
    note "?as=mallory: endpoint with mallory's credentials, its POST 401; ?host=localhost: $(hide "$ep")"
    ! grep -q s3cret "$STATE_DIR/$NAME.log" || fail "the peer's log names the password"
    ;;
  no-endpoint)
    open_stream "$work/stream"
    wait_for "$work/stream.h" '^HTTP/1.1 200' 5 || fail "no 200 response head"
    grep -qi '^content-type: text/event-stream' "$work/stream.h" || fail "not text/event-stream"
    sleep 2
    [ ! -s "$work/stream" ] || fail "the stream sent bytes: $(head -c 200 "$work/stream")"
    kill -0 "${curl_pids[-1]}" 2>/dev/null || fail "the stream was closed"
    note "200 text/event-stream, then 2 s of silence with the connection open"
    ;;
  shttp-stateful | shttp-stateless | shttp-json | everything-http)
    # Streamable HTTP: initialize is a POST to the endpoint URL; the answer
    # is a JSON body (shttp-json) or an SSE stream, with Mcp-Session-Id
    # unless the server is stateless.
    init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}'
    curl -sS --max-time 10 -D "$work/init.h" -o "$work/init" -X POST \
      -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      --data "$init" "$URL" 2>"$work/init.err" || fail "initialize POST failed"
    grep -q '^HTTP/1.1 200' "$work/init.h" || fail "initialize: not 200"
    grep -q '"protocolVersion"' "$work/init" || fail "initialize: no result"
    if [ "$NAME" = shttp-json ]; then
      grep -qi '^content-type: application/json' "$work/init.h" || fail "initialize: not application/json"
    else
      grep -qi '^content-type: text/event-stream' "$work/init.h" || fail "initialize: not text/event-stream"
    fi
    if [ "$NAME" = shttp-stateless ]; then
      ! grep -qi '^mcp-session-id:' "$work/init.h" || fail "a stateless server sent Mcp-Session-Id"
    else
      grep -qi '^mcp-session-id:' "$work/init.h" || fail "no Mcp-Session-Id"
    fi
    note "initialize answered ($(grep -i '^content-type:' "$work/init.h" | tr -d '\r'))"
    ;;
  ts2 | ts2-modern)
    # The SDK 2.x server (servers/ts2.mjs): a 2026-07-28 server/discover is
    # answered in both postures; a 2025 initialize only by ts2 (stateless:
    # no Mcp-Session-Id), ts2-modern refuses it with -32022.
    meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
    code="$(curl -sS --max-time 10 -D "$work/disc.h" -o "$work/disc" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: server/discover' \
      --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{$meta}}" \
      "$URL" 2>"$work/disc.err")" || fail "server/discover POST failed"
    [ "$code" = 200 ] || fail "server/discover: HTTP $code (want 200)"
    grep -q '"supportedVersions":\["2026-07-28"\]' "$work/disc" || fail "server/discover: no supportedVersions [2026-07-28]"
    init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}'
    code="$(curl -sS --max-time 10 -D "$work/init.h" -o "$work/init" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      --data "$init" "$URL" 2>"$work/init.err")" || fail "initialize POST failed"
    if [ "$NAME" = ts2 ]; then
      [ "$code" = 200 ] || fail "initialize: HTTP $code (want 200)"
      grep -q '"protocolVersion":"2025-11-25"' "$work/init" || fail "initialize: no 2025-11-25 result"
      ! grep -qi '^mcp-session-id:' "$work/init.h" || fail "the stateless legacy fallback sent Mcp-Session-Id"
      note "server/discover and a 2025 initialize answered"
    else
      [ "$code" = 400 ] || fail "initialize: HTTP $code (want 400)"
      grep -q '"code":-32022' "$work/init" || fail "initialize: not refused with -32022"
      note "server/discover answered, initialize refused (-32022)"
    fi
    ;;
  *)
    echo "smoke.sh: unknown peer '$NAME'" >&2
    exit 2
    ;;
esac
note "ok"
