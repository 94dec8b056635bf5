#!/usr/bin/env bash
# Writes deploy/lampd.order: the order in which the release link lays out lampd's functions, so
# the code lampd runs every poll sits together in a few hundred KiB of the program instead of
# being spread over its 34 MB (docs/performance.md, "Program pages: given back after start-up, and where the code lies").
#
# The kernel maps a program's code in 4 KiB pages, each with up to 60 KiB of neighbours
# ("fault-around") and reads ahead around it: a steady loop that touches 3 000 functions spread
# over the whole program keeps most of the program resident. Laid out together they cost a
# fraction of that.
#
# How: lampd (release, unstripped) runs under valgrind's callgrind in the two steady states that
# matter, each for STEADY_SECONDS (default 150) after start-up:
#   modbus: the shared harness's 40 Modbus TCP registers every 100 ms from the pymodbus peer, with
#           an uplink to a lamp-ingest on loopback that takes every batch (online);
#   refused: the 40-channel simulated board (Benchmarks/configs/sampling-40ch.toml) with an uplink
#           where nothing listens (offline: every send refused and retried, desired-state pulls).
# Callgrind counts are dumped once start-up is over ("lampd running") and once at the end. The
# order file lists first every function of lampd's own binary that ran in a steady state (by
# callgrind's cost, highest first), then those that ran only during start-up; functions that never
# ran follow in the linker's own order. One line per function section (".text.<symbol>"); the
# build (scripts/build-release) compiles every module with one section per function.
#
# A stale order file is harmless: a function renamed since is simply not placed early.
# Usage: deploy/program-order.sh [OUT_DIR]     (needs valgrind; about 10 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
out=${1:-$(mktemp -d)}
steady=${STEADY_SECONDS:-150}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
release=$(scripts/build-release)
swift build --product lampctl >/dev/null
swift build --product lamp-ingest >/dev/null
# valgrind 3.19 cannot read the DWARF 5 debug information Swift writes: a copy without it (the
# symbol table, which names the functions, stays).
lampd=$out/lampd
strip --strip-debug -o "$lampd" "$release/lampd"
bin=$(swift build --show-bin-path)
lampctl=$bin/lampctl
ingest=$bin/lamp-ingest
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# The Modbus peer.
start_modbus_peer "$out" 0

# The modbus run's board, and the lamp-ingest that takes its batches.
mkdir -p "$out/modbus/state" "$out/refused/state"
"$lampctl" identity init --state-dir "$out/modbus/state" >/dev/null
"$lampctl" identity init --state-dir "$out/refused/state" >/dev/null
sed -e 's/^poll = "1s"/poll = "100ms"/' -e "s|^directory = .*|directory = \"$out/modbus/state\"|" \
    -e "s|127.0.0.1:5020|127.0.0.1:$modbus_port|" -e 's/^id = .*/id = "order-modbus"/' \
    ../shared/peers/thingsboard-gateway/lampd-40ch.toml > "$out/modbus/lampd.toml"
start_ingest "$out" "$out/modbus/state" order-modbus
printf '\n[uplink]\nurl = "%s"\n' "$ingest_url" >> "$out/modbus/lampd.toml"
sed -e "s|STATE_DIR|$out/refused/state|" -e 's/^id = .*/id = "order-refused"/' \
    Benchmarks/configs/sampling-40ch.toml > "$out/refused/lampd.toml"
printf '\n[uplink]\nurl = "http://127.0.0.1:9/v1/batches"\n' >> "$out/refused/lampd.toml"

declare -A pid_of
for run in modbus refused; do
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$out/$run/callgrind.out" --dump-instr=no \
        "$lampd" --config "$out/$run/lampd.toml" --socket "$out/$run/ctl.sock" --log-level notice \
        > "$out/$run/lampd.log" 2>&1 &
    pid_of[$run]=$!
    pids+=($!)
done
for run in modbus refused; do
    wait_for "$out/$run/lampd.log" "lampd running" "${pid_of[$run]}" "lampd ($run)"
    callgrind_control --dump=start-up "${pid_of[$run]}" >/dev/null
done
echo "start-up over; steady state for $steady s"
sleep "$steady"
for run in modbus refused; do
    kill -0 "${pid_of[$run]}" || { echo "lampd ($run) died:" >&2; tail -20 "$out/$run/lampd.log" >&2; exit 1; }
    callgrind_control --dump=steady "${pid_of[$run]}" >/dev/null
    kill -TERM "${pid_of[$run]}"
done
wait "${pid_of[modbus]}" "${pid_of[refused]}" || true

python3 deploy/program_order.py "$lampd" "$out"/*/callgrind.out.* > deploy/lampd.order
echo "deploy/lampd.order: $(wc -l < deploy/lampd.order) functions (profiles in $out)"
