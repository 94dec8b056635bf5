#!/usr/bin/env bash
# Benchmark: the live view's page load with POLES poles (docs/performance.md, "Live view").
# lamp-fleet writes POLES keys and the inventory, sends MINUTES simulated minutes of batches to
# `lamp-ingest serve --live-view` (SQLite store) as fast as it can, then a signed-in curl loads
# the map page (/) and /api/poles ROUNDS times each: p50 and the slowest, and the page's size.
# Also prints the live view's start-up rebuild time (lamp-ingest's "live view ready" line) after
# a restart over the filled store, and (with Debian's chromium and Leaflet installed) the time until
# headless Chromium shows all POLES markers clustered and the list after sign-in
# (Benchmarks/live_view_page.py clustered).
# Usage: Benchmarks/live-view.sh [POLES] [MINUTES] [BUILD_CONFIGURATION] [ROUNDS]
#        (defaults: 10000, 1, release, 20); LIVE_VIEW_NO_BUILD=1 uses the binaries already built.
# Alarm at the pole → visible on an open page: Benchmarks/alarm-to-page.sh; updates per second a page
# absorbs: Benchmarks/live-view-updates.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
poles=${1:-10000}
minutes=${2:-1}
configuration=${3:-release}
rounds=${4:-20}
if [ -z "${LIVE_VIEW_NO_BUILD:-}" ]; then
    swift build -c "$configuration" --product lamp-ingest >/dev/null
    swift build -c "$configuration" --product lamp-fleet >/dev/null
fi
bin=".build/$configuration"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
options=(--boards "$poles" --minutes "$minutes" --seed 1)
"$bin/lamp-fleet" keys "${options[@]}" --out "$work/keys" >/dev/null
"$bin/lamp-fleet" poles "${options[@]}" --out "$work/poles.csv" >/dev/null
printf 'bench-password\n' | "$bin/lamp-ingest" user add bench --role viewer --accounts "$work/accounts" >/dev/null
leaflet=/usr/share/javascript/leaflet
if [ ! -f "$leaflet/leaflet.markercluster.js" ]; then   # the page's HTML is measured, not Leaflet: stand-ins do
    leaflet="$work/leaflet"
    mkdir -p "$leaflet"
    for f in leaflet.js leaflet.css leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css; do : > "$leaflet/$f"; done
fi
ingest=$bin/lamp-ingest
serve() {
    serve_ingest "$work" --db "$work/ingest.sqlite" --keys "$work/keys" --live-view --poles "$work/poles.csv" \
        --accounts "$work/accounts" --leaflet-directory "$leaflet"
    port=$ingest_port
}
serve
"$bin/lamp-fleet" run "${options[@]}" --url "http://127.0.0.1:$port/v1/batches" --minute-ms 1 --concurrency 256 > "$work/fleet.log"
tail -3 "$work/fleet.log"
# Restart over the filled store: the start-up rebuild.
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
serve
grep 'live view ready' "$work/ingest.log" | sed 's/^[^ ]* //' || true
curl -s -o /dev/null -c "$work/cookies" -d 'name=bench&password=bench-password' "http://127.0.0.1:$port/login"
measure() {
    for _ in $(seq "$rounds"); do
        curl -s -b "$work/cookies" -o "$work/body" -w '%{time_total}\n' "http://127.0.0.1:$port$1"
    done | sort -n > "$work/times"
    awk -v path="$1" -v size="$(wc -c < "$work/body")" \
        '{ t[NR] = $1 } END { printf "%-11s %d loads: p50 %.0f ms, slowest %.0f ms, %.2f MB\n", path, NR, t[int((NR + 1) / 2)] * 1000, t[NR] * 1000, size / 1e6 }' "$work/times"
}
measure /
measure /api/poles
grep -c '"device"' <(curl -s -b "$work/cookies" "http://127.0.0.1:$port/api/poles" | tr '{' '\n') | sed 's/^/poles in \/api\/poles: /'
if command -v chromium >/dev/null && [ "$leaflet" = /usr/share/javascript/leaflet ]; then
    python3 Benchmarks/live_view_page.py clustered --url "http://127.0.0.1:$port" --user bench --password bench-password --poles "$poles"
fi
