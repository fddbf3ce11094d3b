# Sourced by the command-line test scripts. Needs $work (a scratch folder) and counts failures in $failures.
# expect STATUS PATTERN -- command...: runs the command, checks its status and that its output matches PATTERN.
expect() {
  status=$1; pattern=$2; shift 3
  "$@" >"$work/log" 2>&1
  got=$?
  if [ "$got" -ne "$status" ] || ! grep -q -- "$pattern" "$work/log"; then
    echo "FAIL: '$*' exited $got (expected $status) or lacks '$pattern':"; sed 's/^/  | /' "$work/log"
    failures=$((failures + 1))
  else
    echo "ok: $*"
  fi
}
