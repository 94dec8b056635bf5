#!/usr/bin/env bash
# Benchmark: the largest fleet lamp-ingest (SQLite store) sustains. BOARDS simulated boards
# (lamp-fleet, docs/fleet-simulator.md) send one batch a minute each, in real time, for MINUTES
# minutes, to `lamp-ingest serve` on loopback. Prints lamp-fleet's report (batches/s,
# readings/s, acknowledgement p50/p99, counts, delay behind the clock), the CPU seconds of
# each process, and the store's own record count against the plan.
# Usage: Benchmarks/fleet-sustain.sh [BOARDS] [MINUTES] [BUILD_CONFIGURATION] [MINUTE_MS]
#        (defaults: 2000, 2, release, 60000)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
boards=${1:-2000}
minutes=${2:-2}
configuration=${3:-release}
minute_ms=${4:-60000}
if [ -z "${FLEET_NO_BUILD:-}" ]; then   # FLEET_NO_BUILD=1: use the binaries already built
    swift build -c "$configuration" --product lamp-ingest >/dev/null
    swift build -c "$configuration" --product lamp-fleet >/dev/null
fi
bin=".build/$configuration"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
options=(--boards "$boards" --minutes "$minutes" --seed 1)
"$bin/lamp-fleet" keys "${options[@]}" --out "$work/keys" >/dev/null
ingest=$bin/lamp-ingest
# lamp-ingest reads the enrolled keys before it listens (90 000 keys: 37 s before the key index of 2026-12-06, now under 1 s).
started=$(date +%s.%N)
serve_ingest "$work" --db "$work/ingest.sqlite" --keys "$work/keys"
port=$ingest_port
echo "lamp-ingest listening after $(echo "$(date +%s.%N) - $started" | bc) s ($boards enrolled keys)"
echo "plan: $("$bin/lamp-fleet" plan "${options[@]}")"
cpu() { awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
"$bin/lamp-fleet" run "${options[@]}" --url "http://127.0.0.1:$port/v1/batches" --minute-ms "$minute_ms" --concurrency "${FLEET_CONCURRENCY:-256}" &
fleet=$!
pids+=($fleet)
fleet_cpu=0
while kill -0 "$fleet" 2>/dev/null; do fleet_cpu=$(cpu "$fleet" 2>/dev/null || echo "$fleet_cpu"); sleep 1; done
wait "$fleet" || echo "lamp-fleet exited with $?"
echo "CPU seconds: lamp-ingest $(cpu "$ingest_pid"), lamp-fleet ${fleet_cpu} (sampled to its last second)"
"$bin/lamp-ingest" status --db "$work/ingest.sqlite" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("store: devices %d, batches %d, records %d, gaps %d" % (len(d), sum(x["batches"] for x in d), sum(x["records"] for x in d), sum(x["gaps"] for x in d)))'
