#!/usr/bin/env bash
# Benchmark: backlog drain. A spool holding HOURS hours of 40 channels at 1 Hz (24 h ≈ 3.5 million
# readings) is drained by lampd into lamp-ingest on loopback, signed by the agent and verified and
# stored by the receiver. Reports the wall time from lampd's start until lamp-ingest holds every
# reading, and the readings per second.
# Usage: Benchmarks/uplink-drain.sh [HOURS] [BUILD_CONFIGURATION]   (defaults: 24, release)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
hours=${1:-24}
configuration=${2:-release}
if [ "$configuration" = release ]; then
    # As they ship (one release tree: a plain `swift build -c release` would relink it without the
    # shipped flags, scripts/build-release).
    bin=$(scripts/build-release lampd lampctl lamp-ingest)  # its compiler output stays on stderr
else
    for product in lampd lampctl lamp-ingest; do swift build -c "$configuration" --product $product >/dev/null; done
    bin=".build/$configuration"
fi
(cd Benchmarks && swift build -c release --product uplink-bench >/dev/null)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/state"
Benchmarks/.build/release/uplink-bench fill --spool "$work/state/spool.sqlite" --hours "$hours" --channels 40
expected=$((hours * 3600 * 40))
lampctl=$bin/lampctl
ingest=$bin/lamp-ingest
"$lampctl" identity init --state-dir "$work/state" >/dev/null
start_ingest "$work" "$work/state" bench-drain
cat > "$work/lampd.toml" <<TOML
[board]
kind = "simulated"
id = "bench-drain"
[storage]
directory = "$work/state"
spool_max_mb = 4096
[uplink]
url = "$ingest_url"
TOML
start=$(date +%s.%N)
"$bin/lampd" --simulate --config "$work/lampd.toml" --socket "$work/control.sock" --log-level warning > "$work/lampd.log" 2>&1 &
pids+=($!)
lampd_pid=$!
stored=0
while true; do
    sleep 1
    stored=$("$bin/lamp-ingest" status --db "$work/ingest.sqlite" --json 2>/dev/null \
        | python3 -c 'import json,sys
d=json.load(sys.stdin); d=d if isinstance(d,list) else d.get("devices",[])
print(sum(x["records"] for x in d))' 2>/dev/null || echo 0)
    [[ $stored -ge $expected ]] && break
    kill -0 "$lampd_pid" 2>/dev/null || { echo "lampd exited:"; tail "$work/lampd.log"; exit 1; }
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$stored" 'BEGIN { printf "drained %d records in %.1f s: %.0f records/s\n", n, e - s, n / (e - s) }'
grep -E "VmHWM" /proc/$lampd_pid/status | sed 's/^/lampd /'
"$bin/lamp-ingest" status --db "$work/ingest.sqlite"
