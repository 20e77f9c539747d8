#!/usr/bin/env bash
# deploy/caf-mcp-node.service passes `systemd-analyze verify` (with ExecStart
# pointed at the built binary, which verify requires to exist) and keeps its
# hardening. Exit 77 (CTest: skipped) if systemd-analyze is not installed.
#
# usage: systemd.sh CAF_MCP_BIN UNIT_FILE
set -u
BIN="$(realpath "$1")"
UNIT="$2"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"

grep -q '^ExecStart=/usr/local/bin/caf-mcp node --config /etc/caf-mcp/node.json$' "$UNIT" \
  && ok || bad "ExecStart does not run the node from /etc/caf-mcp/node.json"
for line in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes \
            PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
            RestrictAddressFamilies= SystemCallFilter=@system-service \
            RestartPreventExitStatus=2 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qF "$line" "$UNIT" && ok || bad "missing: $line"
done
sed "s|^ExecStart=/usr/local/bin/caf-mcp |ExecStart=$BIN |" "$UNIT" >"$tmp/caf-mcp-node.service"
out=$(systemd-analyze verify "$tmp/caf-mcp-node.service" 2>&1)
check "systemd-analyze verify exits 0" 0 $?
check "systemd-analyze verify says nothing" "" "$out"
summary
