#!/usr/bin/env bash
# How long the technician waits: lampctl commands against a running lampd on the
# simulated board, release binaries as shipped (static Swift runtime), timed with
# hyperfine (mean of many runs after warm-up).
# Usage: Benchmarks/lampctl-latency.sh [RUNS]      (default 30)
set -euo pipefail
command -v hyperfine >/dev/null || { echo "needs hyperfine: apt-get install hyperfine" >&2; exit 2; }
cd "$(dirname "$0")/.."
runs=${1:-30}
bin=$(scripts/build-release lampd lampctl)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
sed "s|\"\.lampd-state\"|\"$work/state\"|" deploy/examples/simulated.toml > "$work/lampd.toml"
cat >> "$work/lampd.toml" <<TOML

[control]
socket = "$work/control.sock"
TOML
"$bin/lampctl" identity init --state-dir "$work/state" >/dev/null
"$bin/lampd" --config "$work/lampd.toml" --log-level warning > "$work/lampd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
[ -S "$work/control.sock" ] || { cat "$work/lampd.log" >&2; echo "lampd did not open its socket" >&2; exit 1; }
sleep 3   # first polls, so status has readings to show
socket="--socket $work/control.sock"
commands=(
    "$bin/lampctl --version"
    "$bin/lampctl status $socket"
    "$bin/lampctl status $socket --json"
    "$bin/lampctl lamp explain $socket"
    "$bin/lampctl spool stats $socket"
    "$bin/lampctl events $socket --since 1h"
    "$bin/lampctl config check $work/lampd.toml"
    "$bin/lampctl selftest --config $work/lampd.toml $socket"
    "$bin/lampctl astro --lat 52.52 --lon 13.405 --tz Europe/Berlin"
)
# Each command must really answer (0, or 1 = "unhealthy" for status on the simulated board,
# whose clock counts as unsynchronised): a fast failure would time nothing.
for command in "${commands[@]}"; do
    status=0
    $command > "$work/answer" 2>&1 || status=$?
    if [ "$status" -gt 1 ]; then cat "$work/answer" >&2; echo "failed ($status): $command" >&2; exit 1; fi
done
hyperfine --shell=none --warmup 3 --runs "$runs" --ignore-failure --export-markdown "$work/result.md" "${commands[@]}" >&2
sed "s|$bin/||g; s|$work/control.sock|SOCK|g; s|$work/||g" "$work/result.md"
