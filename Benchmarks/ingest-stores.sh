#!/usr/bin/env bash
# Benchmark: readings/s of lamp-ingest by store, in one run — SQLite (one process), PostgreSQL
# with one replica, PostgreSQL with two replicas behind nginx — each with the same fleet
# (lamp-fleet, BOARDS boards × MINUTES simulated minutes at MINUTE_MS real ms per minute: far more
# than any store takes, so each runs at its ceiling), through Benchmarks/fleet-sustain-postgres.sh.
# Usage: Benchmarks/ingest-stores.sh [BOARDS] [MINUTES] [MINUTE_MS]   (defaults: 6000, 5, 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
boards=${1:-6000}
minutes=${2:-5}
minute_ms=${3:-2000}
if [ -z "${FLEET_NO_BUILD:-}" ]; then
    swift build -c "${CONFIGURATION:-release}" --product lamp-ingest >/dev/null
    swift build -c "${CONFIGURATION:-release}" --product lamp-fleet >/dev/null
fi
export FLEET_NO_BUILD=1
for setup in "sqlite 1" "postgres 1" "postgres 2"; do
    set -- $setup
    echo "=== $1, $2 replica(s) ==="
    STORE=$1 REPLICAS=$2 Benchmarks/fleet-sustain-postgres.sh "$boards" "$minutes" "$minute_ms" 2>&1 |
        grep -v '^\s*$' || echo "(exited with $?)"
done
