#!/bin/bash
# The kernel GPIO tests: run inside the UML guest by run-kernel-tests.sh.
# Usage (in the guest): kernel-tests.sh BIN_DIR [GROUP...]
#   BIN_DIR holds lampctl and lampd (e.g. the clone's .build/debug).
#   GROUP: lampctl, lampd (default both). Ends with "N passed, N failed".
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${1:?usage: kernel-tests.sh BIN_DIR [GROUP...]}; shift
LAMPCTL=$BIN/lampctl
LAMPD=$BIN/lampd
[[ -x $LAMPCTL && -x $LAMPD ]] || { echo "no lampctl/lampd in $BIN"; exit 2; }
source "$HERE/lib.sh"
groups=("$@"); [[ ${#groups[@]} -gt 0 ]] || groups=(lampctl lampd)
for group in "${groups[@]}"; do
    source "$HERE/test-$group.sh"
done
summary
