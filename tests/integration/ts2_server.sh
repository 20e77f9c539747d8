#!/usr/bin/env bash
# ts2_server.sh CAF_MCP POSTURE: the CLI (`tools`, `call`) over Streamable HTTP
# against our server on the TypeScript SDK 2.x (tests/peers/servers/ts2.mjs,
# @modelcontextprotocol/server 2.4.0, createMcpHandler), URLs in
# $CAF_MCP_PEERS_STATE.
#   legacy  peer ts2 (modern + 2025 stateless fallback), our client with the
#           2025 handshake (--protocol-version 2025-11-25)
#   modern  peer ts2-modern (legacy: 'reject'), our client speaking
#           2026-07-28 (--protocol-version 2026-07-28: server/discover,
#           per-request _meta, Mcp-Method/Mcp-Name/Mcp-Param-* headers)
# Checks the tool list, the texts of echo/add/regional, that one call runs
# the tool exactly once (the peer's /control/stats), and the exit statuses
# (0 ok, 1 isError, 3 protocol failure). Every command has a timeout; no
# sleeps.
set -u
BIN="$1"
POSTURE="$2"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

case "$POSTURE" in
  legacy) peer=ts2; version=2025-11-25 ;;
  modern) peer=ts2-modern; version=2026-07-28 ;;
  # auto: the default; against the default posture discovery succeeds, so
  # the session speaks 2026-07-28 as in `modern`.
  auto) peer=ts2; version=auto ;;
  *) give_up "unknown posture '$POSTURE' (legacy | modern | auto)" ;;
esac
state="${CAF_MCP_PEERS_STATE:-}"
[ -n "$state" ] || give_up "CAF_MCP_PEERS_STATE is not set (run through ctest)"
url=$(head -n1 "$state/$peer.url" 2>/dev/null)
[ -n "$url" ] || give_up "no $state/$peer.url: is the fixture peers.start.$peer running?"
stats_url="${url%/mcp}/control/stats"
command -v curl >/dev/null 2>&1 || give_up "curl not found (deploy/packages.txt lists it)"

run() { # caf-mcp SUBCOMMAND ARGS...: stdout to $out, stderr to $tmp/err, status to $rc
  out=$(timeout 30 "$BIN" "$1" --transport http --protocol-version "$version" --url "$url" "${@:2}" 2>"$tmp/err")
  rc=$?
}
# tool_runs NAME: how often the peer ran tool NAME so far
tool_runs() {
  curl -sS --max-time 5 "$stats_url" 2>/dev/null |
    grep -Eo "\"$1\":[0-9]+" | grep -Eo '[0-9]+$' || echo 0
}

# tools: every tool of the server, by name
run tools
check "tools: exit (stderr: $(head -c 300 "$tmp/err"))" 0 "$rc"
for t in echo add regional confirm; do
  check_match "tools lists $t" "(^|"$'\n'")$t( |$)" "$out"
done

# echo: the text, and the tool ran exactly once for one call
before=$(tool_runs echo)
run call echo '{"message":"hi"}'
check "call echo: exit (stderr: $(head -c 300 "$tmp/err"))" 0 "$rc"
check "call echo: text" "Echo: hi" "$out"
after=$(tool_runs echo)
check "call echo ran once on the server" "$((before + 1))" "$after"

# add: numbers in, the sum as text
run call add '{"a":2,"b":3.5}'
check "call add: exit" 0 "$rc"
check "call add: text" "5.5" "$out"

# regional: `region` is declared "x-mcp-header": "Region". A 2026-07-28
# client must mirror it into Mcp-Param-Region (the server answers -32020
# without it); the 2025 revisions know no such header.
run call regional '{"region":"eu-west"}'
check "call regional: exit (stderr: $(head -c 300 "$tmp/err"))" 0 "$rc"
if [ "$POSTURE" != legacy ]; then
  check "call regional: body and Mcp-Param-Region" "region=eu-west header=eu-west" "$out"
else
  check_match "call regional: body value" '^region=eu-west header=(-none-|eu-west)$' "$out"
fi

# a tool error (arguments the schema refuses): isError, exit 1
run call add '{"a":"x","b":1}'
check "call add with a string: exit 1 (isError)" 1 "$rc"

# an unknown tool: exit 1 (isError) or 3 (JSON-RPC error), never 0
run call no-such-tool '{}'
check_match "call no-such-tool: exit 1 or 3" '^(1|3)$' "$rc"

if [ "$POSTURE" = legacy ]; then
  # confirm asks for input (elicitation). The stateless legacy fallback
  # has no handshake state: the SDK sees no client capabilities and the
  # tool answers isError "Client does not support form elicitation."
  run call confirm '{"what":"deploy"}'
  check "call confirm (legacy): exit 1" 1 "$rc"
  check_match "call confirm (legacy): text" "does not support form elicitation" "$out"
fi

summary
