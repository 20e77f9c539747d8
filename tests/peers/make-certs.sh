#!/usr/bin/env bash
# make-certs.sh DIR: make a throw-away test CA and a server certificate signed
# by it, with the openssl CLI, into DIR (created if missing):
#   DIR/ca.crt  DIR/ca.key           the test CA (CN "caf-mcp test CA")
#   DIR/server.crt DIR/server.key    CN 127.0.0.1, SAN IP:127.0.0.1, DNS:localhost
# EC P-256 keys, valid 30 days. Run at test time; nothing here is committed.
set -euo pipefail

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
command -v openssl >/dev/null 2>&1 || {
  echo "make-certs.sh: openssl not found (deploy/packages.txt lists it; run ./deploy/test)" >&2
  exit 1
}
dir="$1"
mkdir -p "$dir"
cd "$dir"
umask 077

# run CMD...: run quietly; on failure show what openssl said.
run() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf 'make-certs.sh: failed: %s\n%s\n' "$*" "$out" >&2
    exit 1
  fi
}

run openssl ecparam -name prime256v1 -genkey -noout -out ca.key
run openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=caf-mcp test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out ca.crt

run openssl ecparam -name prime256v1 -genkey -noout -out server.key
run openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr
cat > server.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EXT
run openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days 30 -sha256 -extfile server.ext -out server.crt
rm -f server.csr server.ext ca.srl
chmod 644 ca.crt server.crt

run openssl verify -CAfile ca.crt server.crt
