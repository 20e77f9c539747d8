# Shared by the CLI contract scripts (source it): pass/fail counters and
# the checks that count.
#   ok                        one more pass
#   bad MESSAGE               one more failure, printed as FAIL MESSAGE
#   check NAME EXPECTED ACTUAL
#   check_match NAME REGEX ACTUAL
#   summary                   prints "P passed, F failed"; status 0 if F = 0
#   give_up MESSAGE           bad MESSAGE, summary, exit 1 (cannot go on)
#   wait_for FILE STRING      until FILE holds STRING: status 0, or 1 after
#                             100 polls of 0.05 s
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
