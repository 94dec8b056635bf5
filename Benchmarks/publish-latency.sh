#!/usr/bin/env bash
# Benchmark: publish-to-lamp latency with the board online (docs/downlink.md, "Long poll").
# lamp-ingest serve --desired-state on loopback; lampd on the simulated board with
# [downlink] long_poll = "600s" and a synchronised clock; COUNT times: `lamp-ingest publish` an
# operator override (levels alternate 70 % / 30 %), then wait for lampd's own log lines
# "desired state applied … version=N" and "lamp level … target=L". Latency = from the start of the
# publish command (its own process start, signing and durable write included) to the lamp's new
# level. Prints p50, p99 and max, and the publish command's own share.
# Usage: Benchmarks/publish-latency.sh [COUNT] [BUILD_CONFIGURATION]   (defaults: 1000, release)
#        PUBLISH_PAUSE=S waits S seconds between publishes (a pull held longer than the request timeout).
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh
count=${1:-1000}
configuration=${2:-release}
if [ -z "${PUBLISH_NO_BUILD:-}" ]; then
    build_lampd "$configuration"
    swift build -c "$configuration" --product lampctl >/dev/null
    swift build -c "$configuration" --product lamp-ingest >/dev/null
fi
bin=".build/$configuration"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/state" "$work/city-keys/operator"
# The operator role key (city side) and its public half pinned on the board.
openssl genpkey -algorithm ed25519 -out "$work/operator.key" 2>/dev/null
chmod 600 "$work/operator.key"
openssl pkey -in "$work/operator.key" -pubout -out "$work/city-keys/operator/city.pem" 2>/dev/null
lampctl=$bin/lampctl
ingest=$bin/lamp-ingest
"$lampctl" identity init --state-dir "$work/state" >/dev/null
enroll_boards "$work/keys" "$work/state" bench-pull
serve_ingest "$work" --db "$work/ingest.sqlite" --keys "$work/keys" --desired-state "$work/published.sqlite"
port=$ingest_port
cat > "$work/lampd.toml" <<TOML
[board]
kind = "simulated"
id = "bench-pull"
[storage]
directory = "$work/state"
[uplink]
url = "http://127.0.0.1:$port/v1/batches"
[lighting]
output = "relay+pwm"
[lighting.relay]
chip = "gpiochip0"
line = "LAMP_RELAY"
[lighting.pwm]
chip = 0
channel = 0
period = "1ms"
min_level = 10
[lighting.program]
from = "sunset+00:10"
to = "sunrise-00:10"
[lighting.program.switch_points]
"05:00" = 100
[site]
latitude = 50.85
longitude = 4.35
timezone = "Europe/Brussels"
[downlink]
keys_dir = "$work/city-keys"
long_poll = "600s"
max_override_duration = "7d"
TOML
python3 - "$bin" "$work" "$count" "${PUBLISH_PAUSE:-0}" <<'PY'
import re, subprocess, sys, threading, time
bin, work, count, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
lampd = subprocess.Popen([f"{bin}/lampd", "--simulate", "--simulate-synchronised-clock", "--config", f"{work}/lampd.toml",
                          "--socket", f"{work}/control.sock", "--log-level", "info"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
applied = {}
levels = []   # (time, level) of each "lamp level" line
tail = []     # lampd's last lines, for a failure
failed_pulls = 0
cond = threading.Condition()
def read():
    global failed_pulls
    for line in lampd.stdout:
        now = time.monotonic()
        if "desired-state pull failed" in line or "desired-state pull refused" in line:
            failed_pulls += 1
        tail.append(line.rstrip())
        del tail[:-20]
        m = re.search(r"version=(\d+).*desired state applied|desired state applied.*version=(\d+)", line)
        l = re.search(r"target=([0-9.]+).*lamp level$", line.strip()) if "lamp level" in line else None
        with cond:
            if m:
                applied[int(m.group(1) or m.group(2))] = now
            if l:
                levels.append((now, float(l.group(1))))
            cond.notify_all()
threading.Thread(target=read, daemon=True).start()
until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 86400))
latencies, publish_times = [], []
try:
    for version in range(1, count + 1):
        if version > 1 and pause > 0:
            time.sleep(pause)
        started = time.monotonic()
        level = 30 + version % 2 * 40
        subprocess.run([f"{bin}/lamp-ingest", "publish", "--key", f"{work}/operator.key", "--device", "bench-pull",
                        "--desired-state", f"{work}/published.sqlite", "--override", str(level),
                        "--until", until], check=True, stdout=subprocess.DEVNULL)
        published = time.monotonic()
        def lit():
            return next((t for t, l in levels if t >= started and l == level), None)
        with cond:
            if not cond.wait_for(lambda: (version in applied and lit() is not None) or lampd.poll() is not None, timeout=120):
                sys.exit(f"version {version} not applied and lit within 120 s (applied: {version in applied}); lampd's last lines:\n" + "\n".join(tail))
            if lampd.poll() is not None:
                sys.exit(f"lampd exited with {lampd.returncode}; its last lines:\n" + "\n".join(tail))
            latencies.append(lit() - started)
            publish_times.append(published - started)
            levels.clear()
finally:
    lampd.terminate()
    lampd.wait()
def pct(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]
print(f"{count} publishes, publish → applied on the board (ms): "
      f"p50 {pct(latencies, 50) * 1000:.0f}, p99 {pct(latencies, 99) * 1000:.0f}, max {max(latencies) * 1000:.0f}")
print(f"of which the publish command itself (ms): p50 {pct(publish_times, 50) * 1000:.0f}, p99 {pct(publish_times, 99) * 1000:.0f}")
print(f"pulls that failed or were refused: {failed_pulls}")
PY
