#!/usr/bin/env bash
# stop.sh NAME STATE_DIR: stop the peer that start.sh started. SIGTERM to its
# process group, wait up to 5 s, then SIGKILL and wait up to 2 s more. Removes
# NAME.pid and NAME.url (and https.ca); keeps NAME.log for post-mortems.
# Exit status: 0 when it is gone (or was not running); 1 if it survives.
# A peer that had already exited is reported on stderr with its log tail.
set -euo pipefail

if [ "$#" -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: $0 NAME STATE_DIR" >&2
  exit 2
fi
NAME="$1"
STATE_DIR="$2"
pid_file="$STATE_DIR/$NAME.pid"
log_file="$STATE_DIR/$NAME.log"

cleanup_files() {
  rm -f "$pid_file" "$STATE_DIR/$NAME.url"
  if [ "$NAME" = https ]; then rm -f "$STATE_DIR/https.ca"; fi
}

if [ ! -f "$pid_file" ]; then
  echo "peer $NAME: not running (no $pid_file)"
  cleanup_files
  exit 0
fi
pid="$(tr -dc '0-9' <"$pid_file")"
if [ -z "$pid" ] || [ "$pid" -le 1 ]; then
  echo "peer $NAME: bad pid file $pid_file" >&2
  cleanup_files
  exit 1
fi

# /proc/PID/stat after the "(comm)": state ppid pgrp ...  (no ps/pgrep needed)
# read_stat PID: sets STAT to those fields; fails when PID does not exist.
read_stat() {
  local st
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  STAT="${st##*) }"
}
# Live (non-zombie) members of process group $pid, the leader included.
live_members() {
  local d n=0
  for d in /proc/[0-9]*; do
    read_stat "${d#/proc/}" || continue
    set -- $STAT
    if [ "$3" = "$pid" ] && [ "$1" != Z ]; then n=$((n + 1)); fi
  done
  echo "$n"
}
# Is it still our server? (pid reuse: the group leader must be a node process,
# or caf-mcp for the demo server of tests/integration/demo-start.sh,
# whose process group is its own pid.)
# A process that started more than 2 s after the pid file was written is
# another process that got the pid later (pid_max can be 32768), even if it
# is a caf-mcp too (another fixture's demo server, also a group leader).
started_after_pid_file() {
  local btime ticks mtime
  btime=$(awk '/^btime/ {print $2}' /proc/stat)
  ticks=$(getconf CLK_TCK)
  mtime=$(stat -c %Y "$pid_file")
  read_stat "$pid" || return 1
  set -- $STAT
  # $20 is field 22 of /proc/PID/stat: the start time in ticks since boot.
  [ $((btime + ${20} / ticks)) -gt $((mtime + 2)) ]
}
ours() {
  read_stat "$pid" || return 1
  set -- $STAT
  [ "$1" != Z ] && [ "$3" = "$pid" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE 'node|caf-mcp' || return 1
  ! started_after_pid_file
}
gone() { [ "$(live_members)" -eq 0 ]; }

if ! ours; then
  echo "peer $NAME: pid $pid had already exited before stop. Last output:" >&2
  tail -n 20 "$log_file" 2>/dev/null | sed -e 's/^/  | /' >&2 || true
  cleanup_files
  exit 0
fi

kill -TERM -- "-$pid" 2>/dev/null || true
for _ in $(seq 1 50); do
  gone && break
  sleep 0.1
done
if ! gone; then
  echo "peer $NAME: still running 5 s after SIGTERM; sending SIGKILL" >&2
  kill -KILL -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    gone && break
    sleep 0.1
  done
fi
if ! gone; then
  echo "peer $NAME: process group $pid survives SIGKILL" >&2
  exit 1
fi
cleanup_files
echo "peer $NAME: stopped (pid $pid)"
