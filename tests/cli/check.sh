# Shared by the CLI contract scripts (source it): pass/fail counters and
# the checks that count.
#   ok                        one more pass
#   bad MESSAGE               one more failure, printed as FAIL MESSAGE
#   check NAME EXPECTED ACTUAL
#   check_match NAME REGEX ACTUAL
#   summary                   prints "P passed, F failed"; status 0 if F = 0
#   give_up MESSAGE           bad MESSAGE, summary, exit 1 (cannot go on)
#   wait_for FILE STRING      until FILE holds STRING (STRING "": until it
#                             holds anything): status 0, or 1 after 100
#                             polls of 0.05 s
#   kill_ours SIGNAL PID...   SIGNAL to each PID that is still a child of
#                             this script (cleanups: a saved pid of a
#                             process that ended may belong to another
#                             process by now; pid_max can be 32768)
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
check() { # name expected actual
  if [ "$2" == "$3" ]; then ok; else bad "$1: expected [$2], got [$3]"; fi
}
check_match() { # name regex actual
  if [[ "$3" =~ $2 ]]; then ok; else bad "$1: [$3] does not match [$2]"; fi
}
summary() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
give_up() {
  bad "$*"
  summary
  exit 1
}
wait_for() { # file fixed_string
  local i
  for ((i = 0; i < 100; i++)); do
    grep -aqF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
kill_ours() { # SIGNAL PID...
  local sig="$1" p st
  shift
  for p in "$@"; do
    [ -n "$p" ] || continue
    { read -r st <"/proc/$p/stat"; } 2>/dev/null || continue
    st="${st##*) }" # state ppid pgrp ...
    set -- $st
    [ "$2" = "$$" ] && kill "-$sig" "$p" 2>/dev/null
  done
  return 0
}
