#!/usr/bin/env bash
# Benchmark: lampd's CPU at 40 channels × 10 Hz, and where it goes (perf).
#
# lampd (release, Swift runtime linked statically as it ships) polls the 40 registers of the shared
# harness's configuration (../shared/peers/thingsboard-gateway/lampd-40ch.toml: 20 float32 holding,
# 20 u16 input registers) every 100 ms from the pymodbus peer Tests/Peers/modbus_server.py on TCP
# port 5020, every poll stored, no uplink. After 15 s of start-up it prints the CPU ticks
# (utime + stime), the readings stored and write_bytes over 120 s, then records a 60 s profile
# (perf record -F 999 -g) and prints it by DSO and by symbol.
# Usage: Benchmarks/sampling-10hz-profile.sh [OUT_DIR]      (needs perf: apt-get install linux-perf)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
out=${1:-$(mktemp -d)}
mkdir -p "$out/state"
scripts/build-release >/dev/null
swift build --product lampctl >/dev/null
lampd=.build/release/lampd
lampctl=.build/debug/lampctl
sed -e 's/^poll = "1s"/poll = "100ms"/' -e 's/^commit_window = .*//' -e "s|^directory = .*|directory = \"$out/state\"|" \
    ../shared/peers/thingsboard-gateway/lampd-40ch.toml > "$out/lampd.toml"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# The peer on the port of the harness's configuration.
start_modbus_peer "$out" 5020
"$lampd" --config "$out/lampd.toml" --socket "$out/ctl.sock" --log-level warning > "$out/lampd.log" 2>&1 &
pid=$!
pids+=($pid)
sleep 15
# lampctl status exits 1 when the pole needs attention (on a build machine: the clock is not
# NTP-synchronised); its JSON is whole then too.
sequence() { { "$lampctl" status --json --socket "$out/ctl.sock" || [ $? -eq 1 ]; } \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["spool"]["highestSequence"])'; }
t0=$(awk '{print $14 + $15}' /proc/$pid/stat); w0=$(awk '/^write_bytes/ {print $2}' /proc/$pid/io); s0=$(sequence)
sleep 120
t1=$(awk '{print $14 + $15}' /proc/$pid/stat); w1=$(awk '/^write_bytes/ {print $2}' /proc/$pid/io); s1=$(sequence)
ticks=$((t1 - t0)); readings=$((s1 - s0))
echo "CPU: $ticks ticks of $(getconf CLK_TCK)/s in 120 s; readings stored: $readings; write_bytes: $((w1 - w0)) ($((readings > 0 ? (w1 - w0) / readings : 0)) per reading)"
grep -E "VmRSS|RssAnon" /proc/$pid/status
perf record -F 999 -g -p "$pid" -o "$out/perf.data" -- sleep 60 2>&1 | tail -1
perf report -i "$out/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -n 1,12p
perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -n 1,25p
