#!/usr/bin/env bash
# The kernel GPIO tests from the host: builds (or reuses) the UML kernel, boots it with
# the gpio-sim chips and runs kernel-tests.sh inside against lampctl and lampd.
#
# Usage: Tests/Kernel/run-kernel-tests.sh [-b BIN_DIR] [-o OUTDIR] [-t TIMEOUT_S] [GROUP...]
#   BIN_DIR  where lampctl and lampd are (default: .build/debug of this clone)
#   OUTDIR   results: console.log, test.log, status, timings (default: a temp dir)
#   GROUP    lampctl, lampd (default: both)
# Exit status: 0 all passed; 1 a test failed; 77 skipped because the host cannot run
# UML (one line "kernel GPIO tests skipped: <why>"); 124 timeout; 125 guest died;
# other: the kernel could not be built.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=$ROOT/.build/debug
OUTDIR=""
TIMEOUT=180
while getopts "b:o:t:" opt; do
    case $opt in
        b) BIN=$OPTARG ;;
        o) OUTDIR=$OPTARG ;;
        t) TIMEOUT=$OPTARG ;;
        *) sed -n '2,12p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
BIN=$(realpath "$BIN")
kernel=$("$HERE/build-kernel.sh" | tail -1)
args=(-k "$kernel" -t "$TIMEOUT")
[[ -z $OUTDIR ]] || args+=(-o "$OUTDIR")
exec "$HERE/run-in-uml.sh" "${args[@]}" "$HERE/kernel-tests.sh" "$BIN" "$@"
