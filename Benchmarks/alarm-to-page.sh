#!/usr/bin/env bash
# Benchmark: an alarm at the pole → visible on an open live-view page, p99 over ALARMS alarms
# (docs/performance.md, "Live view"). Real processes: a Modbus TCP DI module (Tests/Peers/
# modbus_server.py), lampd reading it through [modbus.traffic_box] and uploading (urgent send) to
# lamp-ingest serve --live-view (SQLite), and headless Chromium signed in on the map page;
# Benchmarks/alarm_to_page.py flips the contact and times the alarm until the page shows it.
# Usage: Benchmarks/alarm-to-page.sh [ALARMS] [BUILD_CONFIGURATION] [CONTACT] [BATCH_INTERVAL]
#        (defaults: 100, release, controller_fault, 2s). ALARM_NO_BUILD=1 uses the binaries already
#        built (lampd and lamp-ingest of BUILD_CONFIGURATION, lampctl of the debug build).
#        ALARM_POLL (250ms, lampd's default) and ALARM_DEBOUNCE_POLLS (2, the default) set the
#        DI module's poll.
# CONTACT door times the cabinet door instead (an alarm, sent at once, like the controller fault).
set -euo pipefail
cd "$(dirname "$0")/.."
alarms=${1:-100}
configuration=${2:-release}
contact=${3:-controller_fault}
interval=${4:-2s}
if [ -z "${ALARM_NO_BUILD:-}" ]; then
    nice swift build -c "$configuration" --product lampd >/dev/null
    nice swift build -c "$configuration" --product lamp-ingest >/dev/null
    nice swift build --product lampctl >/dev/null
fi
work=$(mktemp -d)
driver=
trap '[ -n "$driver" ] && kill "$driver" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "uptime before: $(uptime)"
python3 Benchmarks/alarm_to_page.py --bin ".build/$configuration" --lampctl .build/debug/lampctl --work "$work" \
    --alarms "$alarms" --contact "$contact" --batch-interval "$interval" \
    --poll "${ALARM_POLL:-250ms}" --debounce-polls "${ALARM_DEBOUNCE_POLLS:-2}" &
driver=$!
wait "$driver"
driver=
echo "uptime after: $(uptime)"
