#!/usr/bin/env bash
# token-start.sh CAF_MCP_BINARY STATE_DIR: the fault server in token mode
# (docs/fault-server.md "Token mode") as the fixture `token`: writes a random
# token to STATE_DIR/token.secret (mode 600), then starts
# `caf-mcp demo-server --faults --token-file STATE_DIR/token.secret` through
# demo-start.sh (STATE_DIR/token.url, token.pid; stopped by
# tests/peers/stop.sh token STATE_DIR). Tests rotate the token by renaming a
# new file over token.secret. The token is never printed.
set -euo pipefail
BIN="$1"
STATE_DIR="$2"
mkdir -p "$STATE_DIR"
secret="$STATE_DIR/token.secret"
(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$secret.tmp")
mv -f "$secret.tmp" "$secret"
exec bash "$(dirname "${BASH_SOURCE[0]}")/demo-start.sh" "$BIN" "$STATE_DIR" \
  token --faults --token-file "$secret"
