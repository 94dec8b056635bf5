#!/usr/bin/env bash
# Boot the UML kernel from build-kernel.sh with the host's / as a read-only
# root (hostfs), create the gpio-sim chips (init.sh), run one test script
# inside, power off. Adapted from the worked recipe in
# /work/shared/reference/uml-gpio/run-in-uml.sh.
#
# Usage: run-in-uml.sh -k KERNEL [-o OUTDIR] [-t TIMEOUT_S] [-m MEM] TEST_SCRIPT [ARG...]
#   -k  UML kernel binary (Tests/Kernel/build-kernel.sh prints its path)
#   -o  host directory for results (default: a new temp dir); gets
#       console.log (everything the guest printed), test.log, status, timings
#   -t  hard limit for the whole boot+test+poweroff (default 120 s)
#   -m  guest memory (default 512M)
#   UML_ROOT_RW=1 in the environment mounts the host's / read-write in the
#   guest (default read-only: the guest can write only to OUTDIR and tmpfs).
# TEST_SCRIPT runs as root inside the guest with bash; see init.sh for the
# environment it gets (chips, sim_pull, sim_value, ...). ARGs must not contain
# spaces (they travel on the kernel command line).
# Exit status: the test's exit status; 124 on timeout; 125 if the guest died
# without reporting one; 77 when this host cannot run UML (one line on stderr:
# "kernel GPIO tests skipped: <why>"); 2 on bad usage. Needs no TTY, no KVM and no root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
SKIPPED=77

KERNEL=""
OUTDIR=""
TIMEOUT=120
MEM=512M
while getopts "k:o:t:m:" opt; do
    case $opt in
        k) KERNEL=$OPTARG ;;
        o) OUTDIR=$OPTARG ;;
        t) TIMEOUT=$OPTARG ;;
        m) MEM=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 && -n $KERNEL ]] || usage
TEST=$(realpath "$1"); shift
KERNEL=$(realpath "$KERNEL")
[[ -x $KERNEL ]] || { echo "run-in-uml: no kernel at $KERNEL (run Tests/Kernel/build-kernel.sh)" >&2; exit 2; }
[[ -f $TEST ]] || { echo "run-in-uml: no test script $TEST" >&2; exit 2; }

# What UML 6.1 needs from the host: ptrace (it runs guest processes under ptrace)
# and a tmpfs that allows executable mappings (guest memory is a file in /dev/shm).
skip() { echo "kernel GPIO tests skipped: $*" >&2; exit $SKIPPED; }
host_problem=$(python3 - <<'PY' 2>&1
import ctypes, mmap, os, signal, sys, tempfile
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_TRACEME, PTRACE_CONT = 0, 7
pid = os.fork()
if pid == 0:
    if libc.ptrace(PTRACE_TRACEME, 0, None, None) != 0:
        os._exit(3)
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(0)
_, status = os.waitpid(pid, 0)
if os.WIFEXITED(status):
    print("ptrace is not allowed here (PTRACE_TRACEME failed; seccomp or Yama ptrace_scope=3?)"); sys.exit(0)
if libc.ptrace(PTRACE_CONT, pid, None, None) != 0:
    err = ctypes.get_errno(); os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
    print(f"ptrace is not allowed here ({os.strerror(err)}; seccomp or Yama ptrace_scope?)"); sys.exit(0)
os.waitpid(pid, 0)
try:
    with tempfile.TemporaryFile(dir="/dev/shm") as f:
        f.truncate(4096)
        mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC).close()
except OSError as e:
    print(f"/dev/shm does not allow executable mappings ({e.strerror}; mounted noexec?)")
PY
) || host_problem="cannot check the host (python3 failed: $(tail -n 1 <<<"$host_problem"))"
[[ -z $host_problem ]] || skip "$host_problem"

if [[ -z $OUTDIR ]]; then OUTDIR=$(mktemp -d "${TMPDIR:-/tmp}/uml-run.XXXXXX"); fi
mkdir -p "$OUTDIR"; OUTDIR=$(realpath "$OUTDIR")
rm -rf "$OUTDIR/status" "$OUTDIR/test.log" "$OUTDIR/timings" "$OUTDIR/uml-state"
mkdir -p "$OUTDIR/uml-state"
for p in "$TEST" "$OUTDIR" "$PWD" "$HERE" "$@"; do
    [[ $p != *[[:space:]]* ]] || { echo "run-in-uml: paths and args may not contain spaces: '$p'" >&2; exit 2; }
done

# UML keeps guest RAM in a (sparse, unlinked) file under TMPDIR; /dev/shm is fastest.
export TMPDIR=/dev/shm
# uml_dir: UML's pid file and mconsole socket go to OUTDIR, not ~/.uml (an
# unwritable HOME makes a 6.1 UML kernel panic in make_umid).
# con0 = no input, output to our stdout; every other console/serial line off.
# (console=tty0 given here, or UML appends it after "--" as an init argument.)
cmdline=(
    mem="$MEM"
    root=/dev/root rootfstype=hostfs rootflags=/ "$( [[ ${UML_ROOT_RW:-0} == 1 ]] && echo rw || echo ro )"
    init="$HERE/init.sh"
    console=tty0 con0=null,fd:1 con=null ssl=null
    loglevel=5
    uml_dir="$OUTDIR/uml-state/"
    UML_TEST="$TEST" UML_OUT="$OUTDIR" UML_CWD="$PWD"
)
[[ $# -eq 0 ]] || cmdline+=(-- "$@")

echo "run-in-uml: kernel $KERNEL, test $TEST, results in $OUTDIR"
start=$(date +%s.%N)
set +e
# timeout puts the kernel and all its helper processes in one process group and
# signals the whole group when the time is up.
timeout --kill-after=10 "$TIMEOUT" "$KERNEL" "${cmdline[@]}" </dev/null 2>&1 | tee "$OUTDIR/console.log"
krc=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
total=$(awk "BEGIN{printf \"%.1f\", $end - $start}")
echo "wall_s=$total" >> "$OUTDIR/timings"
echo "run-in-uml: kernel exited $krc after ${total}s; $(tr '\n' ' ' < "$OUTDIR/timings")"

if [[ $krc == 124 || $krc == 137 ]]; then
    echo "run-in-uml: TIMEOUT after ${TIMEOUT}s" >&2; exit 124
fi
if [[ ! -f $OUTDIR/status ]]; then
    echo "run-in-uml: guest ended without a test status (see $OUTDIR/console.log)" >&2; exit 125
fi
exit "$(cat "$OUTDIR/status")"
