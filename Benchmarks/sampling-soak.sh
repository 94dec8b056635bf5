#!/usr/bin/env bash
# Soak benchmark: runs lampd on the simulated board with 40 channels polled
# at 1 Hz (every poll reported) for DURATION seconds and reports
#   - resident memory (VmRSS, VmHWM) sampled every 10 s,
#   - bytes written to disk per reading (from /proc/PID/io write_bytes),
#   - readings stored (from the spool).
# Usage: Benchmarks/sampling-soak.sh [DURATION_SECONDS] [BUILD_CONFIGURATION]
#        (defaults: 300 s, release)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-300}
configuration=${2:-release}
# Measure the binary as it ships (scripts/build-release); a debug build when asked.
if [[ $configuration == release ]]; then
    lampd="$(scripts/build-release)/lampd"
else
    swift build -c "$configuration" --static-swift-stdlib --product lampd >/dev/null
    lampd=".build/$configuration/lampd"
fi
(cd Benchmarks && swift build -c release --product spool-bench >/dev/null)
spool_bench="$PWD/Benchmarks/.build/release/spool-bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|STATE_DIR|$work/state|" Benchmarks/configs/sampling-40ch.toml > "$work/lampd.toml"
"$lampd" --config "$work/lampd.toml" --log-level warning > "$work/lampd.log" 2>&1 &
pid=$!
sleep 5   # start-up: open the spool, first polls
echo "t_s rss_kB hwm_kB"
for ((t = 0; t < duration; t += 10)); do
    sleep 10
    awk -v t=$((t + 10)) '/^VmRSS/ {rss=$2} /^VmHWM/ {hwm=$2} END {print t, rss, hwm}' /proc/$pid/status
done
end_write=$(awk '/^write_bytes/ {print $2}' /proc/$pid/io)
kill -TERM $pid
wait $pid || true
# Readings are packed in the spool's telemetry log: counted by opening the stopped spool. Counted from
# lampd's start (start-up writes included; a few kB against the whole soak).
readings=$("$spool_bench" count "$work/state/spool.sqlite" | sed 's/.*"readings": \([0-9]*\).*/\1/')
echo "readings stored since start: $readings"
echo "bytes written since start: $end_write"
awk -v b=$end_write -v r=$readings 'BEGIN { if (r > 0) printf "bytes written per reading: %.1f\n", b / r }'
