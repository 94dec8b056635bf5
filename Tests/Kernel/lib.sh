# Sourced by the kernel test scripts (inside the UML guest): a tiny assert helper.
#   pass/fail NAME [DETAIL]; expect_eq NAME WANT GOT; expect_match NAME REGEX TEXT;
#   run_cmd CMD... (sets OUT, ERR, RC); wait_for NAME SECONDS CMD... (polls every 0.1 s);
#   summary (prints "N passed, N failed", returns 1 when anything failed).
# Every wait is bounded; the whole run is bounded by run-in-uml.sh's timeout.
PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
FAILED_NAMES=${FAILED_NAMES:-}
# The chip tables from init.sh (associative arrays cannot be exported).
[[ -z ${SIM_TABLES:-} ]] || eval "$SIM_TABLES"

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() {
    FAILED=$((FAILED + 1)); FAILED_NAMES+="  $1"$'\n'
    echo "FAIL $1"
    [[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/       /'
}
expect_eq() {   # expect_eq NAME WANT GOT
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "want: $2"$'\n'"got:  $3"; fi
}
expect_match() {   # expect_match NAME EXTENDED-REGEX TEXT
    if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1" "want match: $2"$'\n'"got: $3"; fi
}
expect_no_match() {
    if [[ "$3" =~ $2 ]]; then fail "$1" "must not match: $2"$'\n'"got: $3"; else pass "$1"; fi
}
run_cmd() {   # run_cmd CMD...: OUT (stdout), ERR (stderr), RC
    local errfile; errfile=$(mktemp)
    OUT=$("$@" 2>"$errfile"); RC=$?
    ERR=$(cat "$errfile"); rm -f "$errfile"
}
wait_for() {   # wait_for SECONDS CMD...: true as soon as CMD succeeds, false after SECONDS
    local end=$(( ${EPOCHREALTIME/./} + $1 * 1000000 )); shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        (( ${EPOCHREALTIME/./} < end )) || return 1
        sleep 0.1
    done
}
file_has() { grep -qE -- "$2" "$1"; }            # file_has FILE REGEX
line_count() { grep -cE -- "$2" "$1" || true; }  # line_count FILE REGEX
# gpioinfo's direction word for a line: "input" or "output".
direction_of() {   # direction_of CHIP OFFSET
    gpioinfo "$1" | awk -v o="$2" '$1 == "line" && $2 == o":" { for (i = 3; i <= NF; i++) if ($i == "input" || $i == "output") { print $i; exit } }'
}
section() { echo; echo "== $*"; }
summary() {
    echo
    echo "$PASSED passed, $FAILED failed"
    [[ $FAILED == 0 ]] || { printf 'failed:\n%s' "$FAILED_NAMES"; return 1; }
}
