#!/usr/bin/env bash
# Benchmark: publish to a whole fleet and wait until every board has applied (issue 15's fleet
# case). BOARDS simulated boards (lamp-fleet run --pull-every-minutes PULL, docs/fleet-simulator.md)
# send one batch a minute each and pull their desired state every PULL minutes (each board at its
# own minute and second), verifying each document against the pinned city operator key, to
# `lamp-ingest serve --desired-state` (SQLite) on loopback. After WARMUP simulated minutes,
# `lamp-ingest publish --devices` signs one operator override per board; then
# `lamp-ingest downlink-status` is polled until every board's version is `applied` (the board's
# signed downlink.applied event stored). Prints the publish time, the time until all applied,
# and p50/p99 per board (from the publish start to the acknowledgement of the batch that carried
# the board's downlink.applied, from lamp-fleet's report).
# Usage: Benchmarks/fleet-publish.sh [BOARDS] [PULL_MINUTES] [BUILD_CONFIGURATION] [MINUTE_MS]
#        (defaults: 10000, 1, release, 60000). FLEET_NO_BUILD=1: use the binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
boards=${1:-10000}
pull=${2:-1}
configuration=${3:-release}
minute_ms=${4:-60000}
warmup=${WARMUP:-1}
# Long enough for every board to pull once after the publish, its batch to go out, and a margin.
minutes=$((warmup + pull + 2))
if [ -z "${FLEET_NO_BUILD:-}" ]; then
    swift build -c "$configuration" --product lamp-ingest >/dev/null
    swift build -c "$configuration" --product lamp-fleet >/dev/null
fi
bin=".build/$configuration"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/city-keys/operator"
openssl genpkey -algorithm ed25519 -out "$work/operator.key" 2>/dev/null
chmod 600 "$work/operator.key"
openssl pkey -in "$work/operator.key" -pubout -out "$work/city-keys/operator/city.pem" 2>/dev/null
# The boards' clock starts now: the document's expiry is checked against a true clock.
# No board goes offline (an offline board pulls when it is back: its minutes would be the figure).
options=(--boards "$boards" --minutes "$minutes" --seed 1 --offline-percent 0 --start-time "$(date +%s)")
"$bin/lamp-fleet" keys "${options[@]}" --out "$work/keys" >/dev/null
for ((i = 0; i < boards; i++)); do echo "fleet-$i"; done > "$work/devices.txt"
ingest=$bin/lamp-ingest
serve_ingest "$work" --db "$work/ingest.sqlite" --keys "$work/keys" --desired-state "$work/published.sqlite"
port=$ingest_port
echo "plan (without the pulls' events): $("$bin/lamp-fleet" plan "${options[@]}")"
"$bin/lamp-fleet" run "${options[@]}" --url "http://127.0.0.1:$port/v1/batches" --minute-ms "$minute_ms" \
    --concurrency "${FLEET_CONCURRENCY:-64}" --pull-every-minutes "$pull" --city-keys "$work/city-keys" --json \
    > "$work/fleet.json" 2> "$work/fleet.err" &
fleet=$!
pids+=($fleet)
sleep "$(echo "$warmup * $minute_ms / 1000" | bc -l)"
until=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
published=$(date +%s.%N)
"$bin/lamp-ingest" publish --key "$work/operator.key" --devices "$work/devices.txt" --desired-state "$work/published.sqlite" \
    --override 30 --until "$until" --reason benchmark > "$work/publish.log"
publish_done=$(date +%s.%N)
echo "publish of $boards documents: $(echo "$publish_done - $published" | bc) s"
applied=0
while [ "$applied" -lt "$boards" ]; do
    kill -0 "$fleet" 2>/dev/null || break
    sleep 2
    applied=$("$bin/lamp-ingest" downlink-status --desired-state "$work/published.sqlite" --ingest-store "$work/ingest.sqlite" --json |
        python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == "applied"))')
    echo "  $(echo "$(date +%s.%N) - $published" | bc) s: $applied of $boards applied"
done
all=$(date +%s.%N)
echo "$applied of $boards applied (downlink-status, polled every 2 s) after $(echo "$all - $published" | bc) s"
wait "$fleet" || { echo "lamp-fleet exited with $?"; cat "$work/fleet.err"; }
python3 - "$work/fleet.json" "$published" <<'PY'
import json, sys
report = json.load(open(sys.argv[1])); t0 = float(sys.argv[2])
def since(key):
    value = report.get(key)
    return "-" if value is None else "%.1f s" % (value - t0)
print("per board, publish → batch with downlink.applied acknowledged: first %s, p50 %s, p99 %s, last %s" % tuple(
    since(k) for k in ("appliedAcknowledgedFirstSeconds", "appliedAcknowledgedP50Seconds", "appliedAcknowledgedP99Seconds", "appliedAcknowledgedLastSeconds")))
print("pulls %d (failed %d), applied %d, refused %d; batches ack p50/p99 %.1f / %.1f ms, behind the clock %.2f s; stored records %d of expected %d" % (
    report["pulls"], report["pullFailures"], report["downlinkApplied"], report["downlinkRefused"],
    report.get("ackLatencyP50Milliseconds") or 0, report.get("ackLatencyP99Milliseconds") or 0, report["maxLagSeconds"],
    report["stored"]["readings"] + report["stored"]["events"], report["expected"]["readings"] + report["expected"]["events"]))
PY
