#!/usr/bin/env bash
# Benchmark: lampd's memory over hours, offline and online, side by side in one run.
#
# Two lampd processes (release build, Swift runtime linked statically as the package ships it,
# MALLOC_ARENA_MAX=1 as systemd/lampd.service sets it) run the 40-channel simulated board of
# Benchmarks/configs/sampling-40ch.toml (40 readings a second, every poll reported):
#   offline: [uplink] url points at a port where nothing listens (every send refused, retried);
#   online:  [uplink] url points at a lamp-ingest on loopback, which stores every batch.
# Every SAMPLE_SECONDS (default 60) it appends one line per process to memory.tsv:
#   t_s  run  VmRSS_kB  RssAnon_kB (Anonymous of /proc/PID/smaps_rollup)  VmHWM_kB
# and at the end prints a table every 10 minutes and, per run, the anonymous memory's range after
# the first 10 minutes (what "flat" means: within 1 MB).
# Usage: Benchmarks/memory-long.sh [DURATION_SECONDS] [OUT_DIR]   (defaults: 21600 = 6 h, a new temp dir)
#        MEMORY_NO_BUILD=1 uses the binaries already built (lampd by scripts/build-release, .build/debug/lampctl and lamp-ingest).
#        MEMORY_SPEEDUP=10 runs ten times faster what passes through lampd: the 40 channels polled
#        at 10 Hz, batches every 6 s instead of 60 s, retries of the refused uplink backing off to
#        at most 30 s instead of 5 min (initial 200 ms instead of 2 s). Two hours of it carry the
#        readings, frames, batches and failed attempts of twenty hours at the defaults; what follows
#        the wall clock (commit windows, the clock itself) is not sped up. N: 1 to 50, dividing 1000.
#        Benchmarks/memory-table.sh OUT_DIR prints the table of a run still going.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
duration=${1:-21600}
out=${2:-$(mktemp -d)}
sample=${SAMPLE_SECONDS:-60}
speedup=${MEMORY_SPEEDUP:-1}
if ! [[ $speedup =~ ^[1-9][0-9]?$ ]] || ((speedup > 50 || 1000 % speedup != 0)); then
    echo "MEMORY_SPEEDUP must be a whole number from 1 to 50 that divides 1000, not '$speedup'" >&2; exit 2
fi
poll=$( ((speedup == 1)) && echo 1s || echo $((1000 / speedup))ms )
mkdir -p "$out"
if [ -z "${MEMORY_NO_BUILD:-}" ]; then
    scripts/build-release >/dev/null
    swift build --product lampctl >/dev/null
    swift build --product lamp-ingest >/dev/null
fi
# Copies of the programs, so that building again while the run lasts hours changes nothing in it.
mkdir -p "$out/bin"
cp .build/release/lampd .build/debug/lampctl .build/debug/lamp-ingest "$out/bin/"
lampd=$out/bin/lampd
lampctl=$out/bin/lampctl
ingest=$out/bin/lamp-ingest
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# A board: its state directory, device key and configuration (uplink added below).
board() { # name
    local dir="$out/$1"
    mkdir -p "$dir/state"
    "$lampctl" identity init --state-dir "$dir/state" >/dev/null
    sed -e "s|STATE_DIR|$dir/state|" -e "s|^id = .*|id = \"memory-$1\"|" -e "s|^poll = \"1s\"|poll = \"$poll\"|" \
        Benchmarks/configs/sampling-40ch.toml > "$dir/lampd.toml"
}
uplink() { # name url
    printf '\n[uplink]\nurl = "%s"\n' "$2" >> "$out/$1/lampd.toml"
    ((speedup == 1)) || printf 'batch_interval = "%dms"\ninitial_backoff = "%dms"\nmax_backoff = "%dms"\n' \
        $((60000 / speedup)) $((2000 / speedup)) $((300000 / speedup)) >> "$out/$1/lampd.toml"
}
board offline
board online
uplink offline "http://127.0.0.1:9/v1/batches"

# The receiver of the online board.
start_ingest "$out" "$out/online/state" memory-online
uplink online "$ingest_url"

declare -A pid_of
for run in offline online; do
    # Each process runs its own copy of the program, as on a board where lampd runs once: pages of
    # one file mapped by two processes count in both and cannot be paged out by either
    # (lampd pages out its start-up code once it is ready, SystemSupport/ProgramPages.swift).
    # Written back before it starts, as an installed program is (dpkg syncs what it unpacks): the
    # page cache keeps dirty pages of a fresh copy, which lampd cannot give back.
    cp "$lampd" "$out/$run/lampd"
    sync "$out/$run/lampd"
    MALLOC_ARENA_MAX=1 "$out/$run/lampd" --config "$out/$run/lampd.toml" --log-level warning > "$out/$run/lampd.log" 2>&1 &
    pid_of[$run]=$!
    pids+=($!)
done

printf 't_s\trun\tVmRSS_kB\tRssAnon_kB\tVmHWM_kB\n' > "$out/memory.tsv"
started=$(date +%s)
while :; do
    now=$(( $(date +%s) - started ))
    for run in offline online; do
        pid=${pid_of[$run]}
        kill -0 "$pid" 2>/dev/null || { echo "lampd ($run) died at ${now} s:"; tail -20 "$out/$run/lampd.log"; exit 1; }
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
        hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
        anon=$(awk '/^Anonymous/ {print $2}' "/proc/$pid/smaps_rollup")
        printf '%s\t%s\t%s\t%s\t%s\n' "$now" "$run" "$rss" "$anon" "$hwm" >> "$out/memory.tsv"
    done
    [ "$now" -ge "$duration" ] && break
    sleep "$sample"
done
for run in offline online; do kill -TERM "${pid_of[$run]}"; done
wait "${pid_of[offline]}" "${pid_of[online]}" || true

echo "memory.tsv in $out"
Benchmarks/memory-table.sh "$out"
echo "online receiver: $("$ingest" status --db "$out/ingest.sqlite" 2>/dev/null | tail -1)"
