#!/usr/bin/env bash
# The live view under a reporting fleet, in headless Chromium (Benchmarks/live_view_updates.py).
#
# Benchmarks/live-view-updates.sh [BOARDS] [MINUTES] [MINUTE_MS] [BUILD_CONFIGURATION]
#   (defaults: 1000, 60, 1000, release) — the pole updates per second an open page absorbs while
#   BOARDS boards report (docs/performance.md, "Live view"): lamp-fleet's boards send one batch each
#   per simulated minute, MINUTE_MS real milliseconds a minute, to lamp-ingest serve --live-view
#   (SQLite) while the page is open; the page counts the server-sent events it applied per second,
#   their lag behind the batch's arrival, the handler's time; the driver times a DevTools round trip
#   and the page its animation-frame gaps.
# Benchmarks/live-view-updates.sh screenshots [BOARDS] [BUILD_CONFIGURATION] [OUT_DIR]
#   (defaults: 300, release, docs/images) — the screenshots of docs/live-view.md: BOARDS boards play
#   last night (19:00 to 07:00 UTC) quickly — the city programme's levels and reasons, doors, faults,
#   boards offline — then the map and the list, a pole page (one with an alarm), the energy page and
#   the list at 360 px.
# LIVE_VIEW_NO_BUILD=1 uses the binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = screenshots ]; then
    mode=screenshots
    arguments=(--boards "${2:-300}" --minutes 720 --out "${4:-docs/images}")
    configuration=${3:-release}
else
    mode=updates
    arguments=(--boards "${1:-1000}" --minutes "${2:-60}" --minute-ms "${3:-1000}")
    configuration=${4:-release}
fi
if [ -z "${LIVE_VIEW_NO_BUILD:-}" ]; then
    nice swift build -c "$configuration" --product lamp-ingest >/dev/null
    nice swift build -c "$configuration" --product lamp-fleet >/dev/null
fi
work=$(mktemp -d)
driver=
trap '[ -n "$driver" ] && kill "$driver" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "uptime before: $(uptime)"
python3 Benchmarks/live_view_updates.py "$mode" --bin ".build/$configuration" --work "$work" "${arguments[@]}" &
driver=$!
wait "$driver"
driver=
echo "uptime after: $(uptime)"
