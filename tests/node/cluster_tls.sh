#!/usr/bin/env bash
# Mutual TLS between nodes (issue 13, docs/cluster.md): a CA made here with
# the openssl CLI signs node A's and node B's certificates; A publishes on
# a loopback cluster port with `tls`. B (same CA) calls A's demo server;
# node C (a certificate from another CA) and node D (no TLS) are refused
# and never come up.
#
# usage: cluster_tls.sh CAF_MCP_BIN. Skipped (77) without the openssl CLI.
# Separate processes, loopback only; every wait is bounded.
set -u
BIN="$1"
command -v openssl >/dev/null 2>&1 || { echo "no openssl CLI: skipped"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  kill_ours KILL "${pids[@]}"
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "${BASH_SOURCE[0]}")/../cli/check.sh"
cd "$tmp" || exit 1

# -- certificates -------------------------------------------------------------------
make_ca() { # NAME
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=$1" >/dev/null 2>&1 || give_up "openssl: CA $1"
}
make_cert() { # NAME CA
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$1" >/dev/null 2>&1 &&
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
      -CAcreateserial -out "$1.pem" -days 2 >/dev/null 2>&1 || give_up "openssl: cert $1"
}
make_ca ca
make_ca other-ca
make_cert a ca
make_cert b ca
make_cert c other-ca

# -- the demo server and node A ------------------------------------------------------
"$BIN" demo-server --host 127.0.0.1 --port 0 --port-file demo.port >demo.log 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -s demo.port ] && break; sleep 0.05; done
[ -s demo.port ] || give_up "demo server did not start"
cat >a.json <<EOF
{ "node": { "listen": "127.0.0.1:0", "name": "node-a" },
  "mcpServers": { "demo": { "url": "http://127.0.0.1:$(cat demo.port)/sse" } },
  "cluster": { "listen": "127.0.0.1:0",
               "tls": { "certificate": "a.pem", "key": "a.key", "cafile": "ca.pem" } } }
EOF
"$BIN" node --config a.json >a.out 2>a.err &
pids+=($!)
wait_for a.out "listening on" || give_up "node A did not start: $(tail -n 5 a.err)"
check_match "A publishes with tls" 'cluster port 127\.0\.0\.1:[0-9]+ \(tls\)' "$(cat a.out)"
A_PORT=$(grep -o 'cluster port [0-9.]*:[0-9]*' a.out | cut -d: -f2)

# start_peer NAME TLS_JSON: a node with A as its peer; sets URL.
start_peer() {
  local tls=""
  [ -n "$2" ] && tls="\"tls\": $2,"
  cat >"$1.json" <<EOF
{ "node": { "listen": "127.0.0.1:0", "name": "node-$1" },
  "cluster": { $tls "connection_timeout_s": 3,
               "peers": [ { "name": "node-a", "host": "127.0.0.1", "port": $A_PORT } ] } }
EOF
  "$BIN" node --config "$1.json" >"$1.out" 2>"$1.err" &
  pids+=($!)
  wait_for "$1.out" "listening on" || give_up "node $1 did not start: $(tail -n 5 "$1.err")"
  URL=$(grep -o 'http://[^ ]*' "$1.out")
}
# peer_state: node-a's state on the node at URL.
peer_state() {
  curl -s -m 5 "${URL}api/nodes" | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4
}

# -- B: same CA --------------------------------------------------------------------
start_peer b '{ "certificate": "b.pem", "key": "b.key", "cafile": "ca.pem" }'
state=""
for ((i = 0; i < 100; i++)); do
  state=$(peer_state)
  [ "$state" == up ] && break
  sleep 0.1
done
check "B (same CA) connects over TLS" up "$state"
body=""
for ((i = 0; i < 100; i++)); do
  body=$(curl -s -m 10 -X POST "${URL}api/servers/node-a:demo/tools/echo/call" -d '{"text":"over tls"}')
  [[ "$body" == *'"text":"over tls"'* ]] && break
  sleep 0.1
done
check_match "B calls A's demo server over TLS" '"text":"over tls"' "$body"

# -- the command line over TLS: caf-mcp call --node with the cluster's CA ---------------
out=$(timeout 30 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo --node-cert b.pem \
        --node-key b.key --node-cafile ca.pem echo '{"text":"cli over tls"}' 2>cli1.err)
check "call --node with a certificate of the CA exits 0" 0 "$?"
check "... and prints the result" "cli over tls" "$out"
timeout 30 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo --node-cert c.pem \
  --node-key c.key --node-cafile other-ca.pem --connect-timeout 2 echo '{}' >/dev/null 2>cli2.err
check "call --node with a certificate of another CA exits 3" 3 "$?"
check_match "... node_down" 'node_down' "$(cat cli2.err)"
timeout 30 "$BIN" call --node "127.0.0.1:$A_PORT" --server demo --connect-timeout 2 echo '{}' \
  >/dev/null 2>cli3.err
check "call --node without TLS to a TLS port exits 3" 3 "$?"

# -- C: another CA; D: no TLS ----------------------------------------------------------
for who in c d; do
  if [ "$who" == c ]; then
    start_peer c '{ "certificate": "c.pem", "key": "c.key", "cafile": "other-ca.pem" }'
  else
    start_peer d ""
  fi
  # Long enough for several attempts (backoff from 100 ms).
  seen_error=""
  for ((i = 0; i < 30; i++)); do
    nodes=$(curl -s -m 5 "${URL}api/nodes")
    [[ "$nodes" == *'"state":"up"'* ]] && break
    [[ "$nodes" == *'"last_error":"connect to'* ]] && seen_error=yes
    sleep 0.1
  done
  check "node $who is refused by A (never up)" "" "$(printf '%s' "$nodes" | grep -o '"state":"up"')"
  check "node $who says why (last_error)" yes "$seen_error"
done
check "A is still up after the refusals" 1 "$(curl -s -m 5 "$(grep -o 'http://[^ ]*' a.out)healthz" | grep -c ok)"

summary
