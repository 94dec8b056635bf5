#!/usr/bin/env bash
# Benchmark: bytes on the wire per reading. lampd on the simulated board samples 40 channels at
# 1 Hz (Benchmarks/configs/sampling-40ch.toml) and sends them with the default [uplink] settings
# (60 s batches, deflate) through Tests/Peers/fault_proxy.py, which counts every byte of every
# request and response (request line, headers, body), to lamp-ingest. TLS record overhead is not
# included (plain HTTP on loopback; TLS adds about 30 bytes per request plus the handshake per
# connection).
# Usage: Benchmarks/uplink-wire.sh [DURATION_SECONDS] [BUILD_CONFIGURATION]   (defaults: 300, release)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
duration=${1:-300}
configuration=${2:-release}
build_lampd "$configuration"
for product in lampctl lamp-ingest; do swift build -c "$configuration" --product $product >/dev/null; done
bin=".build/$configuration"
lampctl=$bin/lampctl
ingest=$bin/lamp-ingest
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/state"
"$lampctl" identity init --state-dir "$work/state" >/dev/null
start_ingest "$work" "$work/state" bench-40ch
python3 Tests/Peers/fault_proxy.py --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$ingest_port" > "$work/proxy.log" 2>&1 &
pids+=($!)
wait_for "$work/proxy.log" "listening on" "$!" "the counting proxy"
proxy_port=$(listening_port "$work/proxy.log")
sed "s|STATE_DIR|$work/state|" Benchmarks/configs/sampling-40ch.toml > "$work/lampd.toml"
printf '\n[uplink]\nurl = "http://127.0.0.1:%s/v1/batches"\n' "$proxy_port" >> "$work/lampd.toml"
"$bin/lampd" --config "$work/lampd.toml" --socket "$work/control.sock" --log-level warning > "$work/lampd.log" 2>&1 &
pids+=($!)
sleep "$duration"
"$bin/lampctl" sync now --socket "$work/control.sock" >/dev/null || true
stats=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$proxy_port/_proxy/stats').read().decode())")
records=$("$bin/lamp-ingest" status --db "$work/ingest.sqlite" --json | python3 -c 'import json,sys
d=json.load(sys.stdin); d=d if isinstance(d,list) else d.get("devices",[])
print(sum(x["records"] for x in d))')
python3 - "$stats" "$records" <<'PY'
import json, sys
stats, records = json.loads(sys.argv[1]), int(sys.argv[2])
up, down = stats["bytes_from_clients"], stats["bytes_to_clients"]
print(f"requests {stats['forwarded']}, records stored {records}")
print(f"bytes on the wire: {up} up + {down} down = {up + down}")
print(f"bytes per record: {(up + down) / records:.2f} (up only {up / records:.2f})")
PY
